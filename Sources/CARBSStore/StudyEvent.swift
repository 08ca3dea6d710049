import Foundation
import GRDB

/// One step in the life of a suggestion, as the study's event log keeps it (table `study_event`, append-only).
///
/// The optimizer service's state machine makes these; `StoreTransaction.record(_:at:)` appends them and brings the
/// `suggestion` and `attempt` tables (the current state, for resuming, `status` and `export`) in line with each, by
/// one rule per kind.
public struct StudyEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable, DatabaseValueConvertible {
        /// Chosen and saved as attempt 1, not yet confirmed by the queue (`publishing`).
        case issued
        /// The queue confirmed the attempt (`queued`).
        case published
        /// A worker started the attempt: its lease runs (`running`).
        case started
        /// The attempt's worker extended its lease.
        case heartbeat
        /// A success result counted (`finished`).
        case succeeded
        /// A failure result counted (`failed`).
        case failed
        /// The worker reported the attempt lost.
        case lost
        /// The attempt's lease ran out: nothing was heard from its worker in time.
        case expired
        /// The next attempt goes out (`publishing` again, with the new attempt number).
        case reissued
        /// Given up without an observation (lost too often, or still running when the study ended).
        case forgotten
        /// Taken back from the queue before any worker started it.
        case withdrawn
    }

    public var kind: Kind
    public var suggestionID: String
    /// The attempt the event is about (for `reissued`, the new one).
    public var attempt: Int
    /// The worker that sent the message behind the event, if any.
    public var worker: String?
    /// The lease deadline a `started` or `heartbeat` set.
    public var leaseDeadline: Date?

    public init(_ kind: Kind, suggestionID: String, attempt: Int, worker: String? = nil, leaseDeadline: Date? = nil) {
        self.kind = kind
        self.suggestionID = suggestionID
        self.attempt = attempt
        self.worker = worker
        self.leaseDeadline = leaseDeadline
    }
}

/// A logged event with its place in the log.
public struct LoggedStudyEvent: Sendable, Hashable {
    /// The position in the log, from 1.
    public var sequence: Int64
    public var recordedAt: Date
    public var event: StudyEvent
}
