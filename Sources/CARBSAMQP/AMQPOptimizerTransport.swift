import CARBSMessaging
import Logging

/// The optimizer's side of a study over RabbitMQ (rabbitmq-c): publishes suggestions with publisher confirms,
/// consumes results with a bounded prefetch, dead-letters rejected messages with their reason.
///
/// Two connections, each owned by its own thread: one publishes (suggestions, dead letters, purges), one
/// consumes results. Both reconnect on their own with capped exponential backoff and jitter, redeclare the
/// topology and (the consumer) resubscribe. See `OptimizerTransport` for the semantics.
public struct AMQPOptimizerTransport: OptimizerTransport {
    /// The study's queue names.
    public let names: QueueNames
    private let topology: Topology
    private let publisher: PublisherHandle
    private let consumer: ConsumerHandle

    /// Creates the transport; nothing connects before `start()`.
    /// - Throws: `AMQPError` `.invalidConfiguration` for a bad study name or out-of-range settings.
    public init(configuration: AMQPConfiguration, logger: Logger) throws(AMQPError) {
        try configuration.validate()
        do {
            names = try QueueNames(study: configuration.study)
        } catch {
            throw AMQPError(.invalidConfiguration, error.message)
        }
        var logger = logger
        logger[metadataKey: "study"] = "\(configuration.study)"
        let topology = Topology(
            names: names, queueType: configuration.queueType, deliveryLimit: configuration.deliveryLimit)
        self.topology = topology
        publisher = PublisherHandle(
            thread: PublisherThread(
                settings: ConnectionSettings(configuration: configuration, role: "optimizer-publisher"),
                logger: logger, topology: topology, requiredQueues: nil))
        consumer = ConsumerHandle(
            thread: ConsumerThread(
                settings: ConnectionSettings(configuration: configuration, role: "optimizer-consumer"),
                logger: logger, queue: names.results, prefetch: configuration.prefetch, isOnDemand: false,
                setUpTopology: { connection throws(AMQPError) in try topology.declare(on: connection) }))
    }

    /// Connects both connections and declares the study's queues (idempotent).
    /// - Throws: `AMQPError`: `.accessRefused`, `.topologyMismatch` (e.g. the queues exist with another queue
    ///   type) at once; `.timedOut` after `startTimeout` when the broker stays unreachable.
    public func start() async throws {
        try await publisher.start()
        try await consumer.start()
    }

    public func publish(suggestion: OutboundMessage) async throws {
        try await publisher.publish(Publication(queue: names.suggestions, message: suggestion))
    }

    public func receiveResults(maximum: Int, timeout: Duration) async throws -> [InboundMessage] {
        try await consumer.receive(maximum: maximum, timeout: timeout)
    }

    public func acknowledge(_ messages: [InboundMessage]) async throws {
        await consumer.settle(messages.map(\.receipt), .acknowledge)
    }

    /// Publishes the body to `carbs.<study>.dead` (confirmed) with headers `x-carbs-reason`,
    /// `x-carbs-source-queue`, and the original message and correlation ids; then acknowledges the original.
    ///
    /// A stale receipt (from before a reconnect) does nothing, as for every settlement: the broker redelivers the
    /// message and it is judged again, so publishing it to the dead queue now would leave a second copy there.
    /// (If the connection drops between the publish and the acknowledgement, the copy stays: at least once.)
    public func deadLetter(_ message: InboundMessage, reason: String) async throws {
        guard consumer.isCurrent(message.receipt) else { return }
        let dead = OutboundMessage(
            body: message.body, messageID: message.messageID ?? "", correlationID: message.correlationID ?? "")
        try await publisher.publish(
            Publication(
                queue: names.dead, message: dead,
                headers: [("x-carbs-reason", .string(reason)), ("x-carbs-source-queue", .string(names.results))]))
        await consumer.settle([message.receipt], .acknowledge)
    }

    /// Whether both connections (publishing and consuming) are up now; false before `start()` and while
    /// reconnecting. For readiness probes.
    public var isConnected: Bool { publisher.isConnected && consumer.isConnected }

    public func withdrawQueuedSuggestions() async throws -> Int {
        try await publisher.purge(queue: names.suggestions)
    }

    public func shutdown() async {
        await consumer.shutdown()
        await publisher.shutdown()
    }
}
