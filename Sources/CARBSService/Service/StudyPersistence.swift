import CARBSMessaging
import Foundation

/// What the optimizer service needs from durable storage: one atomic write per step, and the state to resume
/// from. `SQLiteStudyPersistence` implements it over `CARBSStore`.
public protocol StudyPersistence: Sendable {
    /// The saved optimizer snapshot (JSON) and ledger, or nil for a new study.
    func resume() throws -> SavedStudy?
    /// Writes one step atomically: everything in it is durable when this returns, or nothing is.
    func commit(_ step: PersistenceStep) throws
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
        public enum Disposition: String, Sendable {
            case applied, duplicate, late, rejected, heartbeat, started, ignored
        }
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

    /// An attempt whose lease ran out (nothing heard from its worker in time).
    public struct ExpiredAttempt: Sendable, Hashable {
        public var id: String
        public var attempt: Int

        public init(id: String, attempt: Int) {
            self.id = id
            self.attempt = attempt
        }
    }

    public var newSuggestions: [NewSuggestion] = []
    /// Ledger entries whose phase, attempt, lease or worker changed.
    public var entries: [StudyLedger.Entry] = []
    public var messages: [ReceivedMessage] = []
    public var results: [CountedResult] = []
    /// Attempts closed because their lease ran out (recorded as expired rather than lost).
    public var expiredAttempts: [ExpiredAttempt] = []
    /// The optimizer snapshot after the step (JSON), when it changed.
    public var snapshot: Data?
    public var time: Date

    public init(time: Date) {
        self.time = time
    }

    public var isEmpty: Bool {
        newSuggestions.isEmpty && entries.isEmpty && messages.isEmpty && results.isEmpty && expiredAttempts.isEmpty
            && snapshot == nil
    }
}
