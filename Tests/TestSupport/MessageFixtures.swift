import CARBSMessaging
import Foundation

/// Ready-made protocol messages for tests.
public enum MessageFixtures {
    /// A fixed instant: 2026-11-28T23:58:33Z.
    public static let epoch = Date(timeIntervalSince1970: 1_795_910_313)

    /// Parses an RFC 3339 time, trapping on a typo in the test.
    public static func date(_ text: String) -> Date {
        guard let date = WireFormat.parseDate(text) else { preconditionFailure("bad test date \(text)") }
        return date
    }

    /// A suggestion with two parameters (one integer, one real).
    public static func suggestion(
        study: String = "test-study", id: String = "s-1", attempt: Int = 1,
        params: [String: ParameterValue] = ["hidden_dim": .integer(64), "learning_rate": .real(0.0012)],
        issuedAt: Date = epoch
    ) -> SuggestionMessage {
        SuggestionMessage(
            study: study, suggestionID: id, attempt: attempt, params: params, issuedAt: issuedAt, leaseSeconds: 120,
            timeoutSeconds: 3600)
    }

    /// A successful result.
    public static func success(
        study: String = "test-study", id: String = "s-1", attempt: Int = 1, output: Double = 0.5,
        cost: Double = 10, worker: String = "worker-1", sentAt: Date = epoch
    ) -> WorkerMessage {
        WorkerMessage(
            kind: .result, study: study, suggestionID: id, attempt: attempt, worker: worker, sentAt: sentAt,
            status: .success, output: output, cost: cost)
    }

    /// A message body wrapped for publishing, with the protocol's message and correlation ids.
    public static func outbound(_ message: SuggestionMessage) -> OutboundMessage {
        OutboundMessage(
            body: WireFormat.encode(message), messageID: message.messageID, correlationID: message.suggestionID)
    }

    /// A worker message body wrapped for publishing.
    public static func outbound(_ message: WorkerMessage) -> OutboundMessage {
        OutboundMessage(
            body: WireFormat.encode(message), messageID: message.messageID, correlationID: message.suggestionID)
    }
}
