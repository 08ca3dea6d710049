import Foundation
import TestSupport
import Testing

@testable import CARBSMessaging

private func golden(_ name: String) throws -> Data {
    let directory = try #require(Bundle.module.url(forResource: "Golden", withExtension: nil))
    return try Data(contentsOf: directory.appendingPathComponent(name))
}

private let date = MessageFixtures.date

/// The JSON value with every number as a real, to compare numbers by value (`20` and `20.0` in metrics).
private func numbersAsReals(_ value: JSONValue) -> JSONValue {
    switch value {
    case .integer(let integer): .number(Double(integer))
    case .array(let elements): .array(elements.map(numbersAsReals))
    case .object(let members): .object(members.mapValues(numbersAsReals))
    default: value
    }
}
private let suggestionID = "2f6c9a1e-4b7d-4c1a-9e0f-5d3b2a1c0e9f"

@Suite("Wire format: golden messages")
struct GoldenMessageTests {
    static let workerMessages: [(file: String, expected: WorkerMessage)] = [
        (
            "started.json",
            WorkerMessage(
                kind: .started, study: "mlp-demo", suggestionID: suggestionID, attempt: 1,
                worker: "gpu-node-07/4242", sentAt: date("2026-11-28T23:58:35.250Z"))
        ),
        (
            "heartbeat.json",
            WorkerMessage(
                kind: .heartbeat, study: "mlp-demo", suggestionID: suggestionID, attempt: 2,
                worker: "gpu-node-07/4242", sentAt: date("2026-11-29T00:38:35Z"))
        ),
        (
            "result-success.json",
            WorkerMessage(
                kind: .result, study: "mlp-demo", suggestionID: suggestionID, attempt: 1,
                worker: "gpu-node-07/4242", sentAt: date("2026-11-29T00:11:06Z"), status: .success, output: 0.31,
                cost: 12.5, startedAt: date("2026-11-28T23:58:35Z"), finishedAt: date("2026-11-29T00:11:05.500Z"),
                message: "trained 20 epochs", metrics: ["epochs": 20, "train_loss": 0.271])
        ),
        (
            "result-failure.json",
            WorkerMessage(
                kind: .result, study: "mlp-demo", suggestionID: "7a0d3f52-1c8e-4e6b-b1a4-0f9e8d7c6b5a", attempt: 1,
                worker: "gpu-node-03/977", sentAt: date("2026-11-29T00:01:00Z"), status: .failure, cost: 3.25,
                message: "CUDA out of memory (exit code 1)")
        ),
        (
            "result-lost.json",
            WorkerMessage(
                kind: .result, study: "mlp-demo", suggestionID: "7a0d3f52-1c8e-4e6b-b1a4-0f9e8d7c6b5a", attempt: 3,
                worker: "spot-12/31", sentAt: date("2026-11-29T00:02:00Z"), status: .lost,
                message: "worker shutting down")
        ),
    ]

    @Test("worker messages decode to the expected values", arguments: workerMessages)
    func decodesWorkerMessage(file: String, expected: WorkerMessage) throws {
        let decoded = try WireFormat.decodeWorkerMessage(try golden(file), expectedStudy: "mlp-demo")
        #expect(decoded == expected)
    }

    @Test("worker messages re-encode to the same JSON", arguments: workerMessages.map(\.file))
    func reencodesWorkerMessage(file: String) throws {
        let body = try golden(file)
        let decoded = try WireFormat.decodeWorkerMessage(body)
        let reencoded = WireFormat.encode(decoded)
        #expect(try numbersAsReals(JSONValue.parse(reencoded)) == numbersAsReals(JSONValue.parse(body)))
        #expect(try WireFormat.decodeWorkerMessage(reencoded) == decoded)
    }

    @Test("the suggestion decodes, keeps integer and real parameters apart, and re-encodes to the same JSON")
    func suggestion() throws {
        let body = try golden("suggestion.json")
        let decoded = try WireFormat.decodeSuggestion(body, expectedStudy: "mlp-demo")
        let expected = SuggestionMessage(
            study: "mlp-demo", suggestionID: suggestionID, attempt: 1,
            params: ["hidden_dim": .integer(64), "learning_rate": .real(0.0012), "weight_decay": .real(1.0)],
            issuedAt: date("2026-11-28T23:58:33Z"), leaseSeconds: 120, timeoutSeconds: 3600)
        #expect(decoded == expected)
        let reencoded = WireFormat.encode(decoded)
        #expect(try JSONValue.parse(reencoded) == JSONValue.parse(body))
        let text = String(decoding: reencoded, as: UTF8.self)
        #expect(text.contains(#""hidden_dim":64,"#))
        #expect(text.contains(#""weight_decay":1.0"#))
    }

    @Test("offsets, long fractions, integer numbers, nulls and unknown fields are accepted")
    func lenientResult() throws {
        let decoded = try WireFormat.decodeWorkerMessage(try golden("lenient-result-success.json"))
        #expect(decoded.status == .success)
        #expect(decoded.output == 1)
        #expect(decoded.cost == 12)
        #expect(decoded.message == nil)
        #expect(decoded.metrics == nil)
        #expect(decoded.startedAt == date("2026-11-28T23:58:35Z"))
        let sentAt = try #require(decoded.sentAt.timeIntervalSince1970 as Double?)
        #expect(abs(sentAt - (date("2026-11-29T00:11:06Z").timeIntervalSince1970 + 0.123456)) < 1e-6)
    }
}

@Suite("Wire format: rejections")
struct RejectionTests {
    static let cases: [(file: String, code: ProtocolError.Code, message: String)] = [
        ("invalid-not-json.txt", .invalidJSON, "body is not valid JSON: invalid literal at byte 0"),
        ("invalid-array.json", .invalidJSON, "body is an array, not a JSON object"),
        (
            "invalid-protocol-2.json", .unsupportedProtocol,
            "protocol version 2 is not supported (this optimizer speaks 1)"
        ),
        ("invalid-missing-protocol.json", .missingField, "missing field \"protocol\""),
        (
            "invalid-unknown-kind.json", .unknownKind,
            "unknown kind \"checkpoint\" (a worker sends started, heartbeat or result)"
        ),
        (
            "invalid-unknown-status.json", .unknownKind,
            "unknown status \"cancelled\" (a result is success, failure or lost)"
        ),
        ("invalid-success-missing-cost.json", .missingField, "missing field \"cost\" for a success result"),
        ("invalid-success-zero-cost.json", .invalidField, "field \"cost\" must be > 0 for a success result, got 0.0"),
        (
            "invalid-success-output-string.json", .invalidField,
            "field \"output\" must be a finite number, got \"NaN\""
        ),
        ("invalid-attempt-zero.json", .invalidField, "field \"attempt\" must be an integer >= 1, got 0"),
        (
            "invalid-status-on-heartbeat.json", .invalidField,
            "field \"status\" is only allowed on a result, not a heartbeat"
        ),
        (
            "invalid-missing-suggestion-id.json", .missingField,
            "missing field \"suggestion_id\" for a heartbeat message"
        ),
        (
            "invalid-bad-date.json", .invalidField,
            "field \"sent_at\" must be an RFC 3339 time such as \"2026-11-28T23:58:33Z\", got \"29/11/2026 00:00\""
        ),
        (
            "invalid-metrics-not-numbers.json", .invalidField,
            "field \"metrics.loss\" must be a finite number, got \"diverged\""
        ),
    ]

    @Test("invalid worker messages are rejected with a precise reason", arguments: cases)
    func rejectsWorkerMessage(file: String, code: ProtocolError.Code, message: String) throws {
        let body = try golden(file)
        let error = #expect(throws: ProtocolError.self) { try WireFormat.decodeWorkerMessage(body) }
        #expect(error?.code == code)
        #expect(error?.message == message)
    }

    @Test(
        "invalid suggestions are rejected with a precise reason",
        arguments: [
            (
                "invalid-suggestion-param-string.json", ProtocolError.Code.invalidField,
                "field \"params.learning_rate\" must be a finite number, got \"0.001\""
            ),
            (
                "invalid-suggestion-missing-lease.json", .missingField,
                "missing field \"lease_seconds\" for a suggestion"
            ),
            ("started.json", .unknownKind, "unknown kind \"started\" (expected a suggestion)"),
        ])
    func rejectsSuggestion(file: String, code: ProtocolError.Code, message: String) throws {
        let body = try golden(file)
        let error = #expect(throws: ProtocolError.self) { try WireFormat.decodeSuggestion(body) }
        #expect(error?.code == code)
        #expect(error?.message == message)
    }

    @Test("a message for another study is rejected when the study is checked")
    func wrongStudy() throws {
        let body = try golden("result-success.json")
        let error = #expect(throws: ProtocolError.self) {
            try WireFormat.decodeWorkerMessage(body, expectedStudy: "other")
        }
        #expect(error?.code == .wrongStudy)
        #expect(error?.message == "message is for study \"mlp-demo\", this is study \"other\"")
        #expect(throws: ProtocolError.self) {
            try WireFormat.decodeSuggestion(try golden("suggestion.json"), expectedStudy: "x")
        }
    }

    @Test("a suggestion is not a worker message")
    func suggestionIsNotWorkerMessage() throws {
        let error = #expect(throws: ProtocolError.self) {
            try WireFormat.decodeWorkerMessage(try golden("suggestion.json"))
        }
        #expect(error?.code == .unknownKind)
    }

    @Test("failure and lost results need neither output nor cost, but reject invalid ones")
    func failureFields() throws {
        var message = WorkerMessage(
            kind: .result, study: "s", suggestionID: "id", attempt: 1, worker: "w", sentAt: MessageFixtures.epoch,
            status: .failure)
        #expect(try WireFormat.decodeWorkerMessage(WireFormat.encode(message)) == message)
        message.status = .lost
        #expect(try WireFormat.decodeWorkerMessage(WireFormat.encode(message)) == message)
        message.cost = -1
        let error = #expect(throws: ProtocolError.self) {
            try WireFormat.decodeWorkerMessage(WireFormat.encode(message))
        }
        #expect(error?.message == "field \"cost\" must be >= 0 for a lost result, got -1.0")
    }

    @Test("a non-finite output written by a careless worker is rejected, not read as a number")
    func nonFiniteOutput() throws {
        let message = MessageFixtures.success(output: .nan)
        let body = WireFormat.encode(message)
        #expect(String(decoding: body, as: UTF8.self).contains(#""output":null"#))
        let error = #expect(throws: ProtocolError.self) { try WireFormat.decodeWorkerMessage(body) }
        #expect(error?.message == "missing field \"output\" for a success result")
    }

    @Test("bodies that are not JSON objects", arguments: ["", "42", "\"text\"", "{\"a\":1", "{} {}", "\u{FF}"])
    func notObjects(text: String) {
        let error = #expect(throws: ProtocolError.self) { try WireFormat.decodeWorkerMessage(Data(text.utf8)) }
        #expect(error?.code == .invalidJSON)
    }
}

@Suite("Wire format: encoding details")
struct EncodingTests {
    @Test("dates are RFC 3339 UTC, with milliseconds only when not zero")
    func dates() {
        #expect(WireFormat.formatDate(date("2026-11-28T23:58:33Z")) == "2026-11-28T23:58:33Z")
        #expect(WireFormat.formatDate(date("2026-11-28T23:58:33.25Z")) == "2026-11-28T23:58:33.250Z")
        #expect(WireFormat.formatDate(date("2026-11-29T01:58:33+02:00")) == "2026-11-28T23:58:33Z")
        #expect(WireFormat.formatDate(date("2026-11-28T18:58:33.5-05:00")) == "2026-11-28T23:58:33.500Z")
        #expect(WireFormat.formatDate(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(WireFormat.formatDate(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(WireFormat.formatDate(date("2028-02-29T12:00:00Z")) == "2028-02-29T12:00:00Z")
        #expect(WireFormat.formatDate(Date(timeIntervalSince1970: 1_795_910_313.9996)) == "2026-11-28T23:58:34Z")
    }

    @Test(
        "malformed dates are not parsed",
        arguments: [
            "2026-11-28", "2026-11-28T23:58:33", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
            "2026-11-28T24:00:00Z", "2026-11-28T23:58:33.Z", "2026-11-28T23:58:33+0200", "2026-11-28T23:58:33Zjunk",
        ])
    func malformedDates(text: String) {
        #expect(WireFormat.parseDate(text) == nil)
    }

    @Test("dates agree with Foundation's ISO 8601 formatter")
    func datesAgreeWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for seconds in stride(from: -2_000_000_000.0, through: 4_000_000_000.0, by: 86_400 * 37.3) {
            let date = Date(timeIntervalSince1970: seconds.rounded())
            #expect(WireFormat.formatDate(date) == formatter.string(from: date))
            #expect(WireFormat.parseDate(formatter.string(from: date)) == date)
        }
    }

    @Test("keys are sorted, absent optionals omitted, strings escaped")
    func layout() throws {
        let message = WorkerMessage(
            kind: .heartbeat, study: "s", suggestionID: "id \"1\"\n", attempt: 1, worker: "w\u{1}é",
            sentAt: MessageFixtures.epoch)
        let text = String(decoding: WireFormat.encode(message), as: UTF8.self)
        #expect(
            text == #"{"attempt":1,"kind":"heartbeat","protocol":1,"sent_at":"2026-11-28T23:58:33Z","study":"s","#
                + #""suggestion_id":"id \"1\"\n","worker":"w\u0001é"}"#)
        #expect(try WireFormat.decodeWorkerMessage(Data(text.utf8)) == message)
    }

    @Test(
        "parameters round-trip with their kind",
        arguments: [
            ["a": ParameterValue.real(64.0), "b": .integer(64)],
            ["tiny": .real(1e-7), "huge": .real(1.5e300), "negative": .integer(-3), "zero": .real(-0.0)],
            [:],
        ])
    func parameters(params: [String: ParameterValue]) throws {
        #expect(try WireFormat.decodeParameters(WireFormat.encodeParameters(params)) == params)
        let suggestion = MessageFixtures.suggestion(params: params)
        #expect(try WireFormat.decodeSuggestion(WireFormat.encode(suggestion)) == suggestion)
    }

    @Test("unicode escapes, including surrogate pairs, are decoded")
    func unicodeEscapes() throws {
        let value = try JSONValue.parse(Data(#"{"k":"\u00e9\ud83d\ude00\/"}"#.utf8))
        #expect(value == .object(["k": .string("é😀/")]))
    }
}
