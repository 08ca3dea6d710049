import CARBSMessaging
import Logging

/// A worker's side of a study over RabbitMQ (rabbitmq-c): takes one suggestion at a time, publishes
/// `started`, heartbeats and results with publisher confirms.
///
/// The worker subscribes to the suggestions queue only while it waits for work (prefetch 1) and cancels the
/// subscription as soon as a suggestion arrives: while it trains, it holds no other suggestion, so idle workers
/// get the queued ones and no delivery stays unacknowledged past the broker's `consumer_timeout`.
/// See `WorkerTransport` for the semantics.
public struct AMQPWorkerTransport: WorkerTransport {
    /// The study's queue names.
    public let names: QueueNames
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
        publisher = PublisherHandle(
            thread: PublisherThread(
                settings: ConnectionSettings(configuration: configuration, role: "worker-publisher"),
                logger: logger, topology: nil, requiredQueues: topology))
        consumer = ConsumerHandle(
            thread: ConsumerThread(
                settings: ConnectionSettings(configuration: configuration, role: "worker-consumer"),
                logger: logger, queue: names.suggestions, prefetch: 1, isOnDemand: true,
                setUpTopology: { connection throws(AMQPError) in try topology.checkWorkerQueues(on: connection) }))
    }

    /// Connects and waits (retrying with backoff, logging once) until the study's queues exist.
    /// - Throws: `AMQPError`: `.accessRefused` at once; `.timedOut` after `startTimeout`.
    public func start() async throws {
        try await consumer.start()
        try await publisher.start()
    }

    public func receiveSuggestion(timeout: Duration) async throws -> InboundMessage? {
        try await consumer.receive(maximum: 1, timeout: timeout).first
    }

    public func publish(result: OutboundMessage) async throws {
        try await publisher.publish(Publication(queue: names.results, message: result))
    }

    public func acknowledge(_ message: InboundMessage) async throws {
        await consumer.settle([message.receipt], .acknowledge)
    }

    public func release(_ message: InboundMessage) async throws {
        await consumer.settle([message.receipt], .requeue)
    }

    public func shutdown() async {
        await consumer.shutdown()
        await publisher.shutdown()
    }
}
