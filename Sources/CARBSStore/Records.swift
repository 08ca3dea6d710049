import CARBSMessaging
import Foundation
import GRDB

/// A suggestion with its current attempt, as stored in table `suggestion`.
public struct StoredSuggestion: Sendable, Hashable {
    /// The suggestion id (primary key).
    public var id: String
    public var params: [String: ParameterValue]
    public var createdAt: Date
    public var state: SuggestionState
    /// The current attempt number, from 1.
    public var attempt: Int
    /// How many attempts a worker started (sent `started` for).
    public var attemptsStarted: Int
    /// The worker running the current attempt.
    public var worker: String?
    /// When the current attempt was last heard from (`started`, `heartbeat`).
    public var lastHeardAt: Date?
    /// When the current attempt's lease runs out; nil while queued.
    public var leaseDeadline: Date?
    /// What the model predicted for this point when it was suggested, as the optimizer's own JSON (opaque to
    /// the store, kept as text).
    public var predicted: Data?
    /// How the point was chosen (`random`, `center`, `acquisition`…), free text.
    public var origin: String?

    public init(
        id: String, params: [String: ParameterValue], createdAt: Date, state: SuggestionState = .publishing,
        attempt: Int = 1, attemptsStarted: Int = 0, worker: String? = nil, lastHeardAt: Date? = nil,
        leaseDeadline: Date? = nil, predicted: Data? = nil, origin: String? = nil
    ) {
        self.id = id
        self.params = params
        self.createdAt = createdAt
        self.state = state
        self.attempt = attempt
        self.attemptsStarted = attemptsStarted
        self.worker = worker
        self.lastHeardAt = lastHeardAt
        self.leaseDeadline = leaseDeadline
        self.predicted = predicted
        self.origin = origin
    }
}

/// One attempt of a suggestion, as stored in table `attempt` (primary key: suggestion id and attempt).
public struct StoredAttempt: Sendable, Hashable {
    public var suggestionID: String
    public var attempt: Int
    public var issuedAt: Date
    /// When the queue confirmed the suggestion message.
    public var publishedAt: Date?
    /// When the worker's `started` message said the run began.
    public var startedAt: Date?
    public var finishedAt: Date?
    public var outcome: AttemptOutcome?
    /// The worker that started this attempt.
    public var worker: String?

    public init(
        suggestionID: String, attempt: Int, issuedAt: Date, publishedAt: Date? = nil, startedAt: Date? = nil,
        finishedAt: Date? = nil, outcome: AttemptOutcome? = nil, worker: String? = nil
    ) {
        self.suggestionID = suggestionID
        self.attempt = attempt
        self.issuedAt = issuedAt
        self.publishedAt = publishedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.worker = worker
    }
}

/// A received message and what was done with it, as stored in table `message_log`.
public struct LoggedMessage: Sendable, Hashable {
    /// Assigned when logged (autoincrement); nil before.
    public var id: Int64?
    public var receivedAt: Date
    /// Nil when the message could not be read far enough to know.
    public var suggestionID: String?
    public var attempt: Int?
    /// The `kind` field as received (it may be unknown).
    public var kind: String?
    public var status: String?
    /// The raw body (invalid UTF-8 replaced by U+FFFD).
    public var body: String
    public var disposition: MessageDisposition
    /// Why it was rejected, or any other note.
    public var reason: String?

    public init(
        id: Int64? = nil, receivedAt: Date, suggestionID: String? = nil, attempt: Int? = nil, kind: String? = nil,
        status: String? = nil, body: String, disposition: MessageDisposition, reason: String? = nil
    ) {
        self.id = id
        self.receivedAt = receivedAt
        self.suggestionID = suggestionID
        self.attempt = attempt
        self.kind = kind
        self.status = status
        self.body = body
        self.disposition = disposition
        self.reason = reason
    }

    /// A decoded worker message with its raw body.
    public init(
        _ message: WorkerMessage, body: Data, receivedAt: Date, disposition: MessageDisposition,
        reason: String? = nil
    ) {
        self.init(
            receivedAt: receivedAt, suggestionID: message.suggestionID, attempt: message.attempt,
            kind: message.kind.rawValue, status: message.status?.rawValue, body: String(decoding: body, as: UTF8.self),
            disposition: disposition, reason: reason)
    }

    /// A received body, decoded or not, and what became of it.
    public init(
        body: Data, message: WorkerMessage?, receivedAt: Date, disposition: MessageDisposition, reason: String? = nil
    ) {
        if let message {
            self.init(message, body: body, receivedAt: receivedAt, disposition: disposition, reason: reason)
        } else {
            self.init(
                receivedAt: receivedAt, body: String(decoding: body, as: UTF8.self), disposition: disposition,
                reason: reason)
        }
    }

    /// A message that was rejected before or while decoding it.
    public init(rejected body: Data, receivedAt: Date, error: ProtocolError, suggestionID: String? = nil) {
        self.init(
            receivedAt: receivedAt, suggestionID: suggestionID, body: String(decoding: body, as: UTF8.self),
            disposition: .rejected, reason: error.description)
    }
}

/// A result that counted, as stored in table `observation` (one per suggestion, in the order they counted).
public struct StoredObservation: Sendable, Hashable {
    public var suggestionID: String
    /// The attempt whose result counted.
    public var attempt: Int
    /// Set for a success.
    public var output: Double?
    /// Set for a success; may be set for a failure (what the failed run cost).
    public var cost: Double?
    public var isFailure: Bool
    public var params: [String: ParameterValue]
    public var observedAt: Date
    public var worker: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var message: String?
    public var metrics: [String: Double]?

    public init(
        suggestionID: String, attempt: Int, output: Double?, cost: Double?, isFailure: Bool,
        params: [String: ParameterValue], observedAt: Date, worker: String? = nil, startedAt: Date? = nil,
        finishedAt: Date? = nil, message: String? = nil, metrics: [String: Double]? = nil
    ) {
        self.suggestionID = suggestionID
        self.attempt = attempt
        self.output = output
        self.cost = cost
        self.isFailure = isFailure
        self.params = params
        self.observedAt = observedAt
        self.worker = worker
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.message = message
        self.metrics = metrics
    }
}

extension StoredObservation {
    /// The observation a counted `result` message makes (a `failure` or `lost` one counts as a failure).
    public init(result: WorkerMessage, params: [String: ParameterValue], observedAt: Date) {
        self.init(
            suggestionID: result.suggestionID, attempt: result.attempt, output: result.output, cost: result.cost,
            isFailure: result.status != .success, params: params, observedAt: observedAt, worker: result.worker,
            startedAt: result.startedAt, finishedAt: result.finishedAt, message: result.message,
            metrics: result.metrics)
    }
}

/// The optimizer's serialized state (opaque to the store) with its save time and version.
public struct OptimizerSnapshot: Sendable, Hashable {
    public var data: Data
    public var updatedAt: Date
    /// 1 for the first save, then one more for every save.
    public var version: Int64

    public init(data: Data, updatedAt: Date, version: Int64) {
        self.data = data
        self.updatedAt = updatedAt
        self.version = version
    }
}

/// Totals over the whole study, for budgets and progress.
public struct StudyCounts: Sendable, Hashable {
    /// Suggestions per state (states without any are absent).
    public var suggestions: [SuggestionState: Int]
    /// Observations that counted, failures included.
    public var observations: Int
    public var failures: Int
    /// The sum of `cost` over the observations that have one.
    public var totalCost: Double
    /// Logged messages per disposition.
    public var messages: [MessageDisposition: Int]

    public init(
        suggestions: [SuggestionState: Int] = [:], observations: Int = 0, failures: Int = 0, totalCost: Double = 0,
        messages: [MessageDisposition: Int] = [:]
    ) {
        self.suggestions = suggestions
        self.observations = observations
        self.failures = failures
        self.totalCost = totalCost
        self.messages = messages
    }

    /// Suggestions publishing, queued or running.
    public var inFlight: Int {
        suggestions.reduce(0) { $0 + ($1.key.isInFlight ? $1.value : 0) }
    }
}
