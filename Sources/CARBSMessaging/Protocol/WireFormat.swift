import Foundation

/// JSON encoding and strict decoding of protocol messages.
///
/// Encoding writes compact JSON with sorted keys, RFC 3339 UTC times (`2026-11-28T23:58:33Z`, with milliseconds
/// only when they are not zero: `2026-11-28T23:58:33.250Z`) and omits absent optional fields. Integer parameters
/// are JSON integers (`"hidden_dim": 64`), real ones JSON numbers with a fraction or exponent (`64.0`, `0.0012`).
///
/// Decoding is strict about what the protocol requires and lenient about the rest: unknown fields are ignored,
/// an optional field set to `null` counts as absent, times may have any fraction and `Z` or a numeric offset.
/// Every rejection is a `ProtocolError` whose message names the field and what was wrong with it.
public enum WireFormat {
    /// The protocol version this build speaks.
    public static let protocolVersion = 1

    // MARK: Encoding

    /// Encodes a suggestion (optimizer → worker).
    ///
    /// A non-finite real parameter, which JSON cannot carry, is written as `null` (and rejected by the decoder).
    public static func encode(_ m: SuggestionMessage) -> Data {
        var object: [String: JSONValue] = [
            "protocol": .integer(m.protocolVersion),
            "kind": .string("suggestion"),
            "study": .string(m.study),
            "suggestion_id": .string(m.suggestionID),
            "attempt": .integer(m.attempt),
            "params": parametersJSON(m.params),
            "issued_at": .string(formatDate(m.issuedAt)),
            "lease_seconds": .integer(m.leaseSeconds),
            "timeout_seconds": .integer(m.timeoutSeconds),
        ]
        object.reserveCapacity(9)
        return JSONValue.object(object).serialized
    }

    /// Encodes a `started`, `heartbeat` or `result` message (worker → optimizer), omitting absent fields.
    ///
    /// Non-finite `output`, `cost` or metric values, which JSON cannot carry, are written as `null`; the
    /// decoder rejects them, so a worker should report such a run as a `failure` instead.
    public static func encode(_ m: WorkerMessage) -> Data {
        var object: [String: JSONValue] = [
            "protocol": .integer(m.protocolVersion),
            "kind": .string(m.kind.rawValue),
            "study": .string(m.study),
            "suggestion_id": .string(m.suggestionID),
            "attempt": .integer(m.attempt),
            "worker": .string(m.worker),
            "sent_at": .string(formatDate(m.sentAt)),
        ]
        if let status = m.status { object["status"] = .string(status.rawValue) }
        if let output = m.output { object["output"] = .number(output) }
        if let cost = m.cost { object["cost"] = .number(cost) }
        if let startedAt = m.startedAt { object["started_at"] = .string(formatDate(startedAt)) }
        if let finishedAt = m.finishedAt { object["finished_at"] = .string(formatDate(finishedAt)) }
        if let message = m.message { object["message"] = .string(message) }
        if let metrics = m.metrics { object["metrics"] = .object(metrics.mapValues { .number($0) }) }
        return JSONValue.object(object).serialized
    }

    /// Encodes a parameter assignment as a JSON object (sorted keys; integers stay integers), e.g. for storage
    /// or for a trainer's `CARBS_PARAMS`.
    public static func encodeParameters(_ params: [String: ParameterValue]) -> Data {
        parametersJSON(params).serialized
    }

    /// Formats a time as the protocol writes it: RFC 3339 in UTC, milliseconds only when not zero.
    public static func formatDate(_ date: Date) -> String {
        RFC3339.format(date)
    }

    /// Parses an RFC 3339 time with or without a fraction, with `Z` or a numeric offset; nil when malformed.
    public static func parseDate(_ text: String) -> Date? {
        RFC3339.parse(text)
    }

    static func parametersJSON(_ params: [String: ParameterValue]) -> JSONValue {
        .object(
            params.mapValues { value in
                switch value {
                case .integer(let integer): .integer(integer)
                case .real(let real): .number(real)
                }
            })
    }

    // MARK: Decoding

    /// Decodes and validates a message sent by a worker.
    ///
    /// - Parameters:
    ///   - body: The raw message body.
    ///   - expectedStudy: When given, a message naming another study is rejected with `.wrongStudy`.
    /// - Returns: The message; for a `result`, `status` is set, and for a successful one `output` and `cost`
    ///   are set, finite, and `cost > 0`.
    /// - Throws: `ProtocolError`: `.invalidJSON` (not JSON, not an object), `.unsupportedProtocol`,
    ///   `.unknownKind` (also an unknown `status`), `.missingField`, `.invalidField`, `.wrongStudy`.
    public static func decodeWorkerMessage(
        _ body: Data, expectedStudy: String? = nil
    ) throws(ProtocolError) -> WorkerMessage {
        var fields = try Fields(body: body)
        let version = try fields.protocolVersion()
        let kindText = try fields.requiredString("kind")
        guard let kind = WorkerMessage.Kind(rawValue: kindText) else {
            throw ProtocolError(
                .unknownKind, "unknown kind \"\(kindText)\" (a worker sends started, heartbeat or result)")
        }
        fields.context = "for a \(kind.rawValue) message"
        let study = try fields.study(expected: expectedStudy)
        let suggestionID = try fields.suggestionID()
        let attempt = try fields.positiveInteger("attempt")
        let worker = try fields.requiredString("worker")
        let sentAt = try fields.requiredDate("sent_at")
        var message = WorkerMessage(
            kind: kind, study: study, suggestionID: suggestionID, attempt: attempt, worker: worker, sentAt: sentAt,
            protocolVersion: version)

        guard kind == .result else {
            if fields.value("status") != nil {
                throw ProtocolError(.invalidField, "field \"status\" is only allowed on a result, not a \(kind)")
            }
            return message
        }
        fields.context = "for a result"
        let statusText = try fields.requiredString("status")
        guard let status = WorkerMessage.Status(rawValue: statusText) else {
            throw ProtocolError(
                .unknownKind, "unknown status \"\(statusText)\" (a result is success, failure or lost)")
        }
        message.status = status
        fields.context = "for a \(status.rawValue) result"
        if status == .success {
            message.output = try fields.requiredFiniteNumber("output")
            let cost = try fields.requiredFiniteNumber("cost")
            guard cost > 0 else {
                throw ProtocolError(.invalidField, "field \"cost\" must be > 0 \(fields.context), got \(cost)")
            }
            message.cost = cost
        } else {
            message.output = try fields.optionalFiniteNumber("output")
            message.cost = try fields.optionalFiniteNumber("cost")
            if let cost = message.cost, cost < 0 {
                throw ProtocolError(.invalidField, "field \"cost\" must be >= 0 \(fields.context), got \(cost)")
            }
        }
        message.startedAt = try fields.optionalDate("started_at")
        message.finishedAt = try fields.optionalDate("finished_at")
        message.message = try fields.optionalString("message")
        message.metrics = try fields.optionalMetrics("metrics")
        return message
    }

    /// Decodes and validates a suggestion (what a worker receives).
    ///
    /// - Parameters:
    ///   - body: The raw message body.
    ///   - expectedStudy: When given, a suggestion naming another study is rejected with `.wrongStudy`.
    /// - Throws: `ProtocolError` with the same codes as `decodeWorkerMessage(_:expectedStudy:)`; parameters must
    ///   be finite numbers, `lease_seconds` and `timeout_seconds` positive integers.
    public static func decodeSuggestion(
        _ body: Data, expectedStudy: String? = nil
    ) throws(ProtocolError) -> SuggestionMessage {
        var fields = try Fields(body: body)
        let version = try fields.protocolVersion()
        let kind = try fields.requiredString("kind")
        guard kind == "suggestion" else {
            throw ProtocolError(.unknownKind, "unknown kind \"\(kind)\" (expected a suggestion)")
        }
        fields.context = "for a suggestion"
        let study = try fields.study(expected: expectedStudy)
        let suggestionID = try fields.suggestionID()
        let attempt = try fields.positiveInteger("attempt")
        let params = try fields.parameters("params")
        let issuedAt = try fields.requiredDate("issued_at")
        let leaseSeconds = try fields.positiveInteger("lease_seconds")
        let timeoutSeconds = try fields.positiveInteger("timeout_seconds")
        return SuggestionMessage(
            study: study, suggestionID: suggestionID, attempt: attempt, params: params, issuedAt: issuedAt,
            leaseSeconds: leaseSeconds, timeoutSeconds: timeoutSeconds, protocolVersion: version)
    }

    /// Decodes a parameter assignment written by `encodeParameters(_:)` (a JSON object of finite numbers).
    /// - Throws: `ProtocolError` `.invalidJSON` or `.invalidField`.
    public static func decodeParameters(_ data: Data) throws(ProtocolError) -> [String: ParameterValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw ProtocolError(.invalidJSON, "parameters are not valid JSON: \(error)")
        }
        var fields = Fields(object: ["params": value])
        fields.context = "in a parameter object"
        return try fields.parameters("params")
    }
}

// MARK: - Field validation

/// The fields of a decoded JSON object, read with precise error messages.
private struct Fields {
    let object: [String: JSONValue]
    /// Appended to "missing field" messages: "for a success result".
    var context = ""

    init(object: [String: JSONValue]) {
        self.object = object
    }

    init(body: Data) throws(ProtocolError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
        } catch {
            throw ProtocolError(.invalidJSON, "body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw ProtocolError(.invalidJSON, "body is \(value.typeName), not a JSON object")
        }
        self.object = object
    }

    /// The field's value; nil when absent or `null`.
    func value(_ name: String) -> JSONValue? {
        switch object[name] {
        case .none, .null?: nil
        case .some(let value): value
        }
    }

    func missing(_ name: String) -> ProtocolError {
        ProtocolError(.missingField, "missing field \"\(name)\"" + (context.isEmpty ? "" : " \(context)"))
    }

    func invalid(_ name: String, _ value: JSONValue, expected: String) -> ProtocolError {
        ProtocolError(.invalidField, "field \"\(name)\" must be \(expected), got \(describe(value))")
    }

    func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let integer): String(integer)
        case .number(let number): JSONValue.literal(for: number)
        case .string(let string): "\"\(string.count > 60 ? String(string.prefix(60)) + "…" : string)\""
        case .bool(let bool): String(bool)
        default: value.typeName
        }
    }

    func protocolVersion() throws(ProtocolError) -> Int {
        guard let value = value("protocol") else { throw missing("protocol") }
        guard case .integer(let version) = value else {
            throw invalid("protocol", value, expected: "an integer")
        }
        guard version == WireFormat.protocolVersion else {
            throw ProtocolError(
                .unsupportedProtocol,
                "protocol version \(version) is not supported (this optimizer speaks \(WireFormat.protocolVersion))")
        }
        return version
    }

    func requiredString(_ name: String) throws(ProtocolError) -> String {
        guard let value = value(name) else { throw missing(name) }
        guard case .string(let string) = value else { throw invalid(name, value, expected: "a string") }
        return string
    }

    func optionalString(_ name: String) throws(ProtocolError) -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let string) = value else { throw invalid(name, value, expected: "a string") }
        return string
    }

    func study(expected: String?) throws(ProtocolError) -> String {
        let study = try requiredString("study")
        if let expected, study != expected {
            throw ProtocolError(.wrongStudy, "message is for study \"\(study)\", this is study \"\(expected)\"")
        }
        return study
    }

    func suggestionID() throws(ProtocolError) -> String {
        let id = try requiredString("suggestion_id")
        guard !id.isEmpty else {
            throw ProtocolError(.invalidField, "field \"suggestion_id\" must not be empty")
        }
        return id
    }

    func positiveInteger(_ name: String) throws(ProtocolError) -> Int {
        guard let value = value(name) else { throw missing(name) }
        guard case .integer(let integer) = value, integer >= 1 else {
            throw invalid(name, value, expected: "an integer >= 1")
        }
        return integer
    }

    func requiredDate(_ name: String) throws(ProtocolError) -> Date {
        guard let date = try optionalDate(name) else { throw missing(name) }
        return date
    }

    func optionalDate(_ name: String) throws(ProtocolError) -> Date? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value, let date = RFC3339.parse(text) else {
            throw invalid(name, value, expected: "an RFC 3339 time such as \"2026-11-28T23:58:33Z\"")
        }
        return date
    }

    func requiredFiniteNumber(_ name: String) throws(ProtocolError) -> Double {
        guard let number = try optionalFiniteNumber(name) else { throw missing(name) }
        return number
    }

    func optionalFiniteNumber(_ name: String) throws(ProtocolError) -> Double? {
        guard let value = value(name) else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw invalid(name, value, expected: "a finite number")
        }
        return number
    }

    func optionalMetrics(_ name: String) throws(ProtocolError) -> [String: Double]? {
        guard let value = value(name) else { return nil }
        guard case .object(let members) = value else {
            throw invalid(name, value, expected: "an object of numbers")
        }
        var metrics: [String: Double] = [:]
        for (key, member) in members {
            guard let number = member.doubleValue, number.isFinite else {
                throw invalid("\(name).\(key)", member, expected: "a finite number")
            }
            metrics[key] = number
        }
        return metrics
    }

    func parameters(_ name: String) throws(ProtocolError) -> [String: ParameterValue] {
        guard let value = value(name) else { throw missing(name) }
        guard case .object(let members) = value else {
            throw invalid(name, value, expected: "an object of numbers")
        }
        var params: [String: ParameterValue] = [:]
        for (key, member) in members {
            switch member {
            case .integer(let integer):
                params[key] = .integer(integer)
            case .number(let number) where number.isFinite:
                params[key] = .real(number)
            default:
                throw invalid("\(name).\(key)", member, expected: "a finite number")
            }
        }
        return params
    }
}
