import Foundation

/// A worker's side of a study's queues on an `EmbeddedBroker`, with prefetch 1.
///
/// Behaves as `WorkerTransport` documents, except that `start()` declares the study's queues itself instead of
/// waiting for the optimizer to declare them (in one process there is nothing to wait for).
public struct EmbeddedWorkerTransport: WorkerTransport {
    /// The broker this transport belongs to.
    public let broker: EmbeddedBroker
    /// The study's queue names.
    public let queues: QueueNames
    let connection: UInt64

    init(broker: EmbeddedBroker, connection: UInt64, queues: QueueNames) {
        self.broker = broker
        self.connection = connection
        self.queues = queues
    }

    /// Opens the connection (prefetch 1) and declares the study's queues.
    public func start() async throws {
        await broker.open(connection: connection, queues: queues, prefetch: 1)
    }

    /// Waits up to `timeout` for a suggestion. While this worker holds an unsettled suggestion no other is
    /// delivered to it (prefetch 1), so the call waits for the timeout.
    /// - Throws: `TransportError` `.notStarted` or `.closed`; `CancellationError` (no message is kept).
    public func receiveSuggestion(timeout: Duration) async throws -> InboundMessage? {
        try await broker.receive(from: queues.suggestions, connection: connection, maximum: 1, timeout: timeout)
            .first
    }

    /// Appends a worker message to `carbs.<study>.results`; it is queued when this returns.
    /// - Throws: `TransportError` `.notStarted` or `.closed`.
    public func publish(result: OutboundMessage) async throws {
        try await broker.publish(result, to: queues.results, from: connection)
    }

    /// Acknowledges a suggestion; a stale or already settled receipt is ignored.
    public func acknowledge(_ message: InboundMessage) async throws {
        await broker.settle(message.receipt, connection: connection, .acknowledge)
    }

    /// Puts a suggestion back at the front of the queue, marked redelivered.
    public func release(_ message: InboundMessage) async throws {
        await broker.settle(message.receipt, connection: connection, .requeue)
    }

    /// Closes the connection; an unsettled suggestion goes back to the queue.
    public func shutdown() async {
        await broker.close(connection: connection)
    }

    /// Test hook: the worker process dies (same effect as `shutdown()`).
    public func simulateCrash() async {
        await broker.close(connection: connection)
    }

    /// Test hook: the connection drops and is re-established at once; the held suggestion is redelivered
    /// (possibly to another worker) and its receipt is stale.
    public func simulateReconnect() async {
        await broker.close(connection: connection)
        await broker.open(connection: connection, queues: queues, prefetch: 1)
    }
}
