import CARBSMessaging
import Foundation

/// Synchronous administration of a study's queues, for tests and tools (`carbs` maintenance commands).
/// Each call opens its own short-lived connection; do not call it from Swift's cooperative pool in a hot path.
public enum AMQPAdministration {
    /// A message fetched with `basic.get`.
    public struct Message: Sendable {
        public var body: Data
        public var messageID: String?
        public var correlationID: String?
        /// String headers (e.g. `x-carbs-reason`).
        public var headers: [String: String]
        public var contentType: String?
        /// `delivery_mode` 2.
        public var isPersistent: Bool
        public var isRedelivered: Bool
    }

    /// Deletes the study's three queues and its dead-letter exchange (missing ones are skipped).
    public static func deleteStudyQueues(url: BrokerURL, study: String) throws(AMQPError) {
        let names = try queueNames(study)
        let connection = try connect(url, role: "admin")
        defer { connection.close() }
        for queue in [names.suggestions, names.results, names.dead] {
            try connection.deleteQueue(queue)
        }
        try connection.deleteExchange("carbs.\(study).dlx")
    }

    /// Deletes one queue (tests use it to make the broker cancel consumers).
    public static func deleteQueue(url: BrokerURL, name: String) throws(AMQPError) {
        let connection = try connect(url, role: "admin")
        defer { connection.close() }
        try connection.deleteQueue(name)
    }

    /// The number of ready messages in a queue. The corresponding rabbitmq-c call is `amqp_queue_declare`
    /// (passive).
    /// - Throws: `AMQPError` `.queueNotFound` when the queue does not exist.
    public static func messageCount(url: BrokerURL, queue: String) throws(AMQPError) -> Int {
        let connection = try connect(url, role: "admin")
        defer { connection.close() }
        return Int(try connection.declareQueue(queue, passive: true))
    }

    /// Takes one message from a queue and acknowledges it (nil when the queue is empty).
    public static func take(url: BrokerURL, queue: String) throws(AMQPError) -> Message? {
        let connection = try connect(url, role: "admin")
        defer { connection.close() }
        guard let (message, tag) = try connection.get(queue) else { return nil }
        try connection.acknowledge(tag: tag, multiple: false)
        return message
    }

    private static func queueNames(_ study: String) throws(AMQPError) -> QueueNames {
        do {
            return try QueueNames(study: study)
        } catch {
            throw AMQPError(.invalidConfiguration, error.message)
        }
    }

    private static func connect(_ url: BrokerURL, role: String) throws(AMQPError) -> Connection {
        let configuration = AMQPConfiguration(url: url, study: "admin")
        return try Connection(
            url: url, tls: configuration.tls, heartbeatSeconds: 0, name: "carbs/admin/\(role)")
    }
}
