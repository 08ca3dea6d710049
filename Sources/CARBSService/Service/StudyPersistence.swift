import CARBSMessaging
import CARBSStore
import Foundation

/// What the optimizer service needs from durable storage: one atomic write per cycle, and the state to resume
/// from. `SQLiteStudyPersistence` implements it over `CARBSStore`.
public protocol StudyPersistence: Sendable {
    /// The saved optimizer snapshot (JSON, the deltas applied) and ledger, or nil for a new study.
    func resume() throws -> SavedStudy?
    /// Writes one cycle atomically: everything in it is durable when this returns, or nothing is.
    func commit(_ step: PersistenceStep) async throws
}

/// What a study saved last.
public struct SavedStudy: Sendable {
    public var snapshot: Data
    public var entries: [StudyLedger.Entry]

    public init(snapshot: Data, entries: [StudyLedger.Entry]) {
        self.snapshot = snapshot
        self.entries = entries
    }
}

/// Everything one step of the service changes, written in one transaction.
public struct PersistenceStep: Sendable {
    /// A suggestion chosen in this step.
    public struct NewSuggestion: Sendable {
        public var id: String
        public var parameters: [String: ParameterValue]
        /// The optimizer's prediction for it, JSON (nil outside the acquisition phase).
        public var prediction: Data?
        public var origin: String
    }

    /// A message taken from the results queue and what became of it.
    public struct ReceivedMessage: Sendable {
        public typealias Disposition = MessageDisposition
        public var body: Data
        public var message: WorkerMessage?
        public var disposition: Disposition
        public var reason: String?
    }

    /// A result that counted.
    public struct CountedResult: Sendable {
        public var message: WorkerMessage
        public var parameters: [String: ParameterValue]
    }

    public var newSuggestions: [NewSuggestion] = []
    /// The ledger's transitions in this cycle, in order (appended to the event log).
    public var events: [StudyEvent] = []
    public var messages: [ReceivedMessage] = []
    public var results: [CountedResult] = []
    /// The complete optimizer snapshot after the cycle (JSON): written now and then, and on a new study's first
    /// commit.
    public var snapshot: Data?
    /// What changed in the optimizer since the last commit (a `CARBSOptimizer.SnapshotDelta`, JSON), when it
    /// changed and no complete snapshot is written.
    public var snapshotDelta: Data?
    public var time: Date

    public init(time: Date) {
        self.time = time
    }

    public var isEmpty: Bool {
        newSuggestions.isEmpty && events.isEmpty && messages.isEmpty && results.isEmpty && snapshot == nil
            && snapshotDelta == nil
    }
}
