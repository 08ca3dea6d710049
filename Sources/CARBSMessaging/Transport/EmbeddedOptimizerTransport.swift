import Foundation

/// The optimizer's side of a study's queues on an `EmbeddedBroker`.
///
/// Behaves as `OptimizerTransport` documents. `shutdown()` (or `simulateCrash()`) returns every unsettled result
/// to the queue, marked redelivered; `start()` after that opens a new connection generation, so receipts from
/// before are stale.
public struct EmbeddedOptimizerTransport: OptimizerTransport {
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

    /// Opens the connection and declares the study's queues.
    public func start() async throws {
        await broker.open(connection: connection, queues: queues, prefetch: nil)
    }

    /// Appends the suggestion to `carbs.<study>.suggestions`; it is queued when this returns.
    /// - Throws: `TransportError` `.notStarted` or `.closed`.
    public func publish(suggestion: OutboundMessage) async throws {
        try await broker.publish(suggestion, to: queues.suggestions, from: connection)
    }

    /// Waits up to `timeout` for results, returning the first ones to arrive with all others already queued, at
    /// most `maximum`; `[]` on timeout.
    /// - Throws: `TransportError` `.notStarted` or `.closed`; `CancellationError` (no message is kept).
    public func receiveResults(maximum: Int, timeout: Duration) async throws -> [InboundMessage] {
        try await broker.receive(from: queues.results, connection: connection, maximum: maximum, timeout: timeout)
    }

    /// Acknowledges results; stale or already settled receipts are ignored.
    public func acknowledge(_ messages: [InboundMessage]) async throws {
        for message in messages {
            await broker.settle(message.receipt, connection: connection, .acknowledge)
        }
    }

    /// Moves a result to `carbs.<study>.dead` with `reason` and settles it (nothing if the receipt is stale).
    public func deadLetter(_ message: InboundMessage, reason: String) async throws {
        await broker.settle(message.receipt, connection: connection, .deadLetter(reason: reason))
    }

    /// Empties `carbs.<study>.suggestions` of suggestions no worker has taken; returns how many were removed.
    public func withdrawQueuedSuggestions() async throws -> Int {
        try await broker.checkOpen(connection)
        return await broker.purge(queues.suggestions)
    }

    /// Closes the connection; unsettled results go back to the queue.
    public func shutdown() async {
        await broker.close(connection: connection)
    }

    /// Test hook: the optimizer process dies. Same effect as `shutdown()`, named for what a test means.
    public func simulateCrash() async {
        await broker.close(connection: connection)
    }

    /// Test hook: the connection drops and is re-established at once, as the AMQP transport does after a
    /// network error. Unsettled results are redelivered; receipts from before are stale.
    public func simulateReconnect() async {
        await broker.close(connection: connection)
        await broker.open(connection: connection, queues: queues, prefetch: nil)
    }
}
