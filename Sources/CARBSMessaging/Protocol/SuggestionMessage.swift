import Foundation

/// Optimizer → worker: one point to train (protocol version 1).
///
/// ```json
/// {"protocol": 1, "kind": "suggestion", "study": "mlp-demo", "suggestion_id": "2f6c…", "attempt": 1,
///  "params": {"learning_rate": 0.0012, "hidden_dim": 64}, "issued_at": "2026-11-28T23:58:33Z",
///  "lease_seconds": 120, "timeout_seconds": 3600}
/// ```
///
/// On the wire, use `WireFormat` to encode and decode: it writes RFC 3339 times and keeps real parameters such
/// as `64.0` real, which a plain `JSONEncoder` (numeric dates, `64.0` written as `64`) does not.
public struct SuggestionMessage: Sendable, Hashable, Codable {
    public var protocolVersion: Int
    public var study: String
    public var suggestionID: String
    public var attempt: Int
    public var params: [String: ParameterValue]
    public var issuedAt: Date
    public var leaseSeconds: Int
    public var timeoutSeconds: Int

    public init(
        study: String, suggestionID: String, attempt: Int, params: [String: ParameterValue], issuedAt: Date,
        leaseSeconds: Int, timeoutSeconds: Int, protocolVersion: Int = WireFormat.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.study = study
        self.suggestionID = suggestionID
        self.attempt = attempt
        self.params = params
        self.issuedAt = issuedAt
        self.leaseSeconds = leaseSeconds
        self.timeoutSeconds = timeoutSeconds
    }

    /// `<suggestion id>/<attempt>`: the AMQP `message_id`.
    public var messageID: String { "\(suggestionID)/\(attempt)" }

    enum CodingKeys: String, CodingKey {
        case protocolVersion = "protocol"
        case kind
        case study
        case suggestionID = "suggestion_id"
        case attempt
        case params
        case issuedAt = "issued_at"
        case leaseSeconds = "lease_seconds"
        case timeoutSeconds = "timeout_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        protocolVersion = try container.decode(Int.self, forKey: .protocolVersion)
        let kind = try container.decode(String.self, forKey: .kind)
        guard kind == "suggestion" else {
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container, debugDescription: "expected kind \"suggestion\", got \"\(kind)\"")
        }
        study = try container.decode(String.self, forKey: .study)
        suggestionID = try container.decode(String.self, forKey: .suggestionID)
        attempt = try container.decode(Int.self, forKey: .attempt)
        params = try container.decode([String: ParameterValue].self, forKey: .params)
        issuedAt = try container.decode(Date.self, forKey: .issuedAt)
        leaseSeconds = try container.decode(Int.self, forKey: .leaseSeconds)
        timeoutSeconds = try container.decode(Int.self, forKey: .timeoutSeconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(protocolVersion, forKey: .protocolVersion)
        try container.encode("suggestion", forKey: .kind)
        try container.encode(study, forKey: .study)
        try container.encode(suggestionID, forKey: .suggestionID)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(params, forKey: .params)
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encode(leaseSeconds, forKey: .leaseSeconds)
        try container.encode(timeoutSeconds, forKey: .timeoutSeconds)
    }
}
