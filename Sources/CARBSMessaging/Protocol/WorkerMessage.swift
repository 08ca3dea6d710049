import Foundation

/// Worker → optimizer (protocol version 1): `started`, `heartbeat` or `result`.
///
/// On the wire, use `WireFormat` to encode and decode: it writes RFC 3339 times and keeps real parameters such
/// as `64.0` real, which a plain `JSONEncoder` (numeric dates, `64.0` written as `64`) does not.
public struct WorkerMessage: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case started, heartbeat, result
    }

    /// The outcome of a run, in a `result` message.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// The run finished: `output` and `cost` are set.
        case success
        /// The hyperparameters made the run fail (out of memory, divergence, NaN); feeds the failure model.
        case failure
        /// The run was lost for reasons unrelated to its hyperparameters (preemption, node loss, shutdown).
        case lost
    }

    public var protocolVersion: Int
    public var kind: Kind
    public var study: String
    public var suggestionID: String
    public var attempt: Int
    /// Free text identifying the worker (host and process, say).
    public var worker: String
    public var sentAt: Date
    /// Set for `result` messages only.
    public var status: Status?
    public var output: Double?
    public var cost: Double?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Human text, e.g. the error of a failed run.
    public var message: String?
    public var metrics: [String: Double]?

    public init(
        kind: Kind, study: String, suggestionID: String, attempt: Int, worker: String, sentAt: Date,
        status: Status? = nil, output: Double? = nil, cost: Double? = nil, startedAt: Date? = nil,
        finishedAt: Date? = nil, message: String? = nil, metrics: [String: Double]? = nil,
        protocolVersion: Int = WireFormat.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.kind = kind
        self.study = study
        self.suggestionID = suggestionID
        self.attempt = attempt
        self.worker = worker
        self.sentAt = sentAt
        self.status = status
        self.output = output
        self.cost = cost
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.message = message
        self.metrics = metrics
    }

    /// `<suggestion id>/<attempt>`: the AMQP `message_id`.
    public var messageID: String { "\(suggestionID)/\(attempt)" }

    enum CodingKeys: String, CodingKey {
        case protocolVersion = "protocol"
        case kind, study
        case suggestionID = "suggestion_id"
        case attempt, worker
        case sentAt = "sent_at"
        case status, output, cost
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case message, metrics
    }
}
