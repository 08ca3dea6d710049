import GRDB

/// Where a suggestion is in its life.
public enum SuggestionState: String, Sendable, Hashable, Codable, CaseIterable, DatabaseValueConvertible {
    /// Stored, not yet confirmed in the queue: after a crash it is published again.
    case publishing
    /// In the suggestions queue, waiting for a worker; no lease.
    case queued
    /// A worker sent `started`; the lease runs.
    case running
    /// A success result counted.
    case finished
    /// A failure result counted.
    case failed
    /// Lost too often (`max_attempts`): given up, no observation.
    case forgotten
    /// Removed from the queue unstarted (budget reached).
    case withdrawn

    /// Queued or running (or about to be queued): counts against `max_in_flight` and is fantasized.
    public var isInFlight: Bool {
        switch self {
        case .publishing, .queued, .running: true
        case .finished, .failed, .forgotten, .withdrawn: false
        }
    }
}

/// How one attempt of a suggestion ended.
public enum AttemptOutcome: String, Sendable, Hashable, Codable, CaseIterable, DatabaseValueConvertible {
    case success
    case failure
    /// The worker reported `lost`.
    case lost
    /// The lease ran out: nothing was heard from the worker in time.
    case expired
    /// Withdrawn from the queue before any worker started it.
    case withdrawn
}

/// What the optimizer did with a received message.
public enum MessageDisposition: String, Sendable, Hashable, Codable, CaseIterable, DatabaseValueConvertible {
    /// A result that counted.
    case applied
    /// A second result for a suggestion that already has one.
    case duplicate
    /// A message of an attempt that is no longer current (re-issued after a lease expired, say).
    case late
    /// Invalid, or naming an unknown suggestion: dead-lettered with `reason`.
    case rejected
    /// A heartbeat that extended a lease.
    case heartbeat
    /// A `started` message that began a lease.
    case started
    /// Valid but without effect (a stale attempt's `started` or `heartbeat`, say); `reason` says why.
    case ignored
}
