import Foundation

/// The optimizer's side of a study's queues. Implemented by the embedded (in-process) transport and by the
/// AMQP transport, with the same semantics:
///
/// - `publish(suggestion:)` returns only once the message is durably queued (publisher confirm over AMQP).
/// - Messages received with `receiveResults` stay unsettled until `acknowledge`, `deadLetter` or the end of the
///   connection; unsettled messages are redelivered (with `isRedelivered` set) to the next consumer.
/// - Settling a message whose receipt is stale (from before a reconnect) does nothing.
/// - Every method may be called from any task; implementations serialise access to their connections.
public protocol OptimizerTransport: Sendable {
    /// Connects and declares the study's queues (idempotent). Called once before anything else.
    func start() async throws

    /// Publishes one suggestion to `carbs.<study>.suggestions`; returns when the queue holds it durably.
    func publish(suggestion: OutboundMessage) async throws

    /// Waits up to `timeout` for the first message on `carbs.<study>.results`, then returns it together with
    /// every other message already received, at most `maximum` in all. Returns `[]` on timeout.
    func receiveResults(maximum: Int, timeout: Duration) async throws -> [InboundMessage]

    /// Acknowledges messages after their effect is durable.
    func acknowledge(_ messages: [InboundMessage]) async throws

    /// Moves a message to `carbs.<study>.dead` with `reason` (header `x-carbs-reason` over AMQP) and settles it.
    func deadLetter(_ message: InboundMessage, reason: String) async throws

    /// Removes every suggestion still waiting in `carbs.<study>.suggestions` (nobody started them); returns how
    /// many were removed.
    func withdrawQueuedSuggestions() async throws -> Int

    /// Closes the connections; unsettled messages go back to their queues.
    func shutdown() async
}

/// A worker's side of a study's queues, with the same semantics as `OptimizerTransport`.
public protocol WorkerTransport: Sendable {
    /// Connects; waits (retrying) until the study's queues exist. Called once before anything else.
    func start() async throws

    /// Waits up to `timeout` for one suggestion (prefetch 1: a worker holds at most one unsettled suggestion).
    func receiveSuggestion(timeout: Duration) async throws -> InboundMessage?

    /// Publishes a `started`, `heartbeat` or `result` message to `carbs.<study>.results`; returns once the queue
    /// holds it durably.
    func publish(result: OutboundMessage) async throws

    /// Acknowledges a suggestion (only after its `started` message is published).
    func acknowledge(_ message: InboundMessage) async throws

    /// Hands a suggestion back to the queue unstarted (requeue), e.g. when shutting down before starting it.
    func release(_ message: InboundMessage) async throws

    /// Closes the connections; an unsettled suggestion goes back to the queue.
    func shutdown() async
}
