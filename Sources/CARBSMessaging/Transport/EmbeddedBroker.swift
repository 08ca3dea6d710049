import Foundation
import Synchronization

/// An in-process message broker with the queue semantics of the protocol's AMQP setup: the test double and the
/// transport of `carbs tune`.
///
/// Queues are named, live as long as the broker, and keep their messages in order. A consumer ("connection")
/// holds the messages it received unsettled until it acknowledges, dead-letters or releases them, or until it
/// shuts down, at which point they go back to the front of their queue marked as redelivered. Every connection
/// opening gets a new generation; a receipt from an earlier generation settles nothing.
///
/// ```swift
/// let broker = EmbeddedBroker()
/// let optimizer = try broker.optimizerTransport(study: "mlp-demo")
/// let worker = try broker.workerTransport(study: "mlp-demo")
/// ```
///
/// Waiting receivers are suspended on continuations and woken by the message that satisfies them; a cancelled
/// or timed-out receiver never keeps a message.
public actor EmbeddedBroker {
    /// Connection ids, handed out without a trip through the actor so that transports can be made synchronously.
    private let connectionIDs = Mutex<UInt64>(0)

    private var queues: [String: MessageQueue] = [:]
    private var connections: [UInt64: Connection] = [:]
    private var waiters: [UInt64: Waiter] = [:]
    private var nextWaiterID: UInt64 = 0
    private var lastGeneration: UInt64 = 0

    /// Creates an empty broker.
    public init() {}

    /// A transport for a study's optimizer (one per optimizer process; a new one after a simulated crash).
    /// - Throws: `ProtocolError` `.invalidStudyName` when `study` breaks the naming rules.
    public nonisolated func optimizerTransport(study: String) throws(ProtocolError) -> EmbeddedOptimizerTransport {
        EmbeddedOptimizerTransport(broker: self, connection: makeConnectionID(), queues: try QueueNames(study: study))
    }

    /// A transport for one worker of a study (prefetch 1).
    /// - Throws: `ProtocolError` `.invalidStudyName` when `study` breaks the naming rules.
    public nonisolated func workerTransport(study: String) throws(ProtocolError) -> EmbeddedWorkerTransport {
        EmbeddedWorkerTransport(broker: self, connection: makeConnectionID(), queues: try QueueNames(study: study))
    }

    /// A message in a study's dead-letter queue.
    public struct DeadLetter: Sendable {
        public var body: Data
        /// Why it was rejected (`x-carbs-reason` over AMQP).
        public var reason: String
        /// The rejected message's own ids, carried over unchanged.
        public var messageID: String?
        public var correlationID: String?
    }

    /// The messages dead-lettered for `study`, oldest first, with the reason each was rejected.
    public func deadLetters(study: String) -> [(body: Data, reason: String)] {
        deadLetterMessages(study: study).map { ($0.body, $0.reason) }
    }

    /// The messages dead-lettered for `study`, oldest first, with their ids and reasons.
    public func deadLetterMessages(study: String) -> [DeadLetter] {
        guard let queue = queues["carbs.\(study).dead"] else { return [] }
        return queue.messages.map {
            DeadLetter(
                body: $0.body, reason: $0.deadLetterReason ?? "", messageID: $0.messageID,
                correlationID: $0.correlationID)
        }
    }

    /// How many messages wait in `queue`, not counting those delivered and not yet settled (AMQP's
    /// "messages ready").
    public func queueDepth(_ queue: String) -> Int {
        queues[queue]?.count ?? 0
    }

    /// How many messages of `queue` are delivered to some consumer and not yet settled.
    public func unsettledCount(_ queue: String) -> Int {
        connections.values.reduce(0) { total, connection in
            total + connection.unsettled.values.count(where: { $0.queue == queue })
        }
    }

    /// The names of the queues declared so far.
    public func queueNames() -> [String] {
        queues.keys.sorted()
    }

    private nonisolated func makeConnectionID() -> UInt64 {
        connectionIDs.withLock { id in
            id += 1
            return id
        }
    }
}

// MARK: - State

extension EmbeddedBroker {
    /// A message as the broker keeps it.
    struct Message: Sendable {
        var body: Data
        var messageID: String?
        var correlationID: String?
        var isRedelivered = false
        var deadLetterReason: String?
    }

    /// One consumer's connection.
    struct Connection {
        var queues: QueueNames
        /// Set on every opening: receipts of other generations are stale.
        var generation: UInt64
        var isOpen = true
        /// At most this many unsettled deliveries (prefetch); nil for no limit.
        var prefetch: Int?
        var nextTag: UInt64 = 0
        var unsettled: [UInt64: (queue: String, message: Message)] = [:]

        var hasCapacity: Bool {
            prefetch.map { unsettled.count < $0 } ?? true
        }
    }

    /// A receiver waiting for messages.
    struct Waiter {
        enum State {
            /// Registered; the continuation is set once the receiver suspends.
            case waiting(CheckedContinuation<[InboundMessage], Never>?)
            /// Given messages (or nothing, on expiry) before the receiver suspended.
            case finished([InboundMessage])
        }
        var connection: UInt64
        var queue: String
        var maximum: Int
        var state: State
        var sequence: UInt64
    }

    /// What `settle` does with a message.
    enum Settlement {
        case acknowledge
        case deadLetter(reason: String)
        case requeue
    }

    /// The outcome of asking for messages: some at once, or a waiter to suspend on.
    enum Reception {
        case messages([InboundMessage])
        case wait(UInt64)
    }
}

// MARK: - Operations used by the transports

extension EmbeddedBroker {
    /// Opens (or, after a shutdown, reopens) a connection with a new generation and declares the study's queues.
    func open(connection id: UInt64, queues names: QueueNames, prefetch: Int?) {
        for name in [names.suggestions, names.results, names.dead] where queues[name] == nil {
            queues[name] = MessageQueue()
        }
        if let existing = connections[id], existing.isOpen { return }
        lastGeneration += 1
        connections[id] = Connection(queues: names, generation: lastGeneration, prefetch: prefetch)
    }

    /// Closes a connection: its unsettled messages go back to the front of their queues marked redelivered,
    /// and its waiting receivers return empty-handed.
    func close(connection id: UInt64) {
        guard var connection = connections[id], connection.isOpen else { return }
        connection.isOpen = false
        let unsettled = connection.unsettled.sorted { $0.key < $1.key }
        connection.unsettled = [:]
        connections[id] = connection

        for (waiterID, waiter) in waiters where waiter.connection == id {
            switch waiter.state {
            case .waiting: finish(waiter: waiterID, with: [])
            // Given messages it has not picked up yet: they are requeued below, so it gets none.
            case .finished: waiters[waiterID]?.state = .finished([])
            }
        }
        var touched: Set<String> = []
        for (_, entry) in unsettled.reversed() {
            var message = entry.message
            message.isRedelivered = true
            queues[entry.queue, default: MessageQueue()].pushFront(message)
            touched.insert(entry.queue)
        }
        for queue in touched { dispatch(queue) }
    }

    /// Fails unless the connection was started and not shut down.
    func checkOpen(_ id: UInt64) throws(TransportError) {
        guard let connection = connections[id] else {
            throw TransportError(.notStarted, "the embedded transport was used before start()")
        }
        guard connection.isOpen else {
            throw TransportError(.closed, "the embedded transport was used after shutdown()")
        }
    }

    /// Appends a message to a queue and hands it to a waiting receiver if there is one.
    func publish(_ message: OutboundMessage, to queue: String, from connection: UInt64) throws(TransportError) {
        try checkOpen(connection)
        queues[queue, default: MessageQueue()].append(
            Message(body: message.body, messageID: message.messageID, correlationID: message.correlationID))
        dispatch(queue)
    }

    /// Takes up to `maximum` waiting messages, or registers a waiter when there are none (and `wait` is true).
    func request(
        from queue: String, connection id: UInt64, maximum: Int, wait: Bool
    ) throws(TransportError) -> Reception {
        try checkOpen(id)
        let messages = take(from: queue, connection: id, maximum: maximum)
        if !messages.isEmpty || !wait { return .messages(messages) }
        nextWaiterID += 1
        waiters[nextWaiterID] = Waiter(
            connection: id, queue: queue, maximum: maximum, state: .waiting(nil), sequence: nextWaiterID)
        return .wait(nextWaiterID)
    }

    /// Suspends until the waiter is given messages or expires; then adds whatever else is already waiting in
    /// the queue, up to the waiter's maximum.
    func suspend(waiter id: UInt64) async -> [InboundMessage] {
        guard let waiter = waiters[id] else { return [] }
        var messages: [InboundMessage]
        if case .finished(let result) = waiter.state {
            waiters[id] = nil
            messages = result
        } else {
            messages = await withCheckedContinuation { continuation in
                waiters[id]?.state = .waiting(continuation)
            }
        }
        if !messages.isEmpty, messages.count < waiter.maximum, connections[waiter.connection]?.isOpen == true {
            messages += take(
                from: waiter.queue, connection: waiter.connection, maximum: waiter.maximum - messages.count)
        }
        return messages
    }

    /// Ends a wait with nothing (timeout or cancellation); does nothing if the waiter already got messages.
    func expire(waiter id: UInt64) {
        guard let waiter = waiters[id], case .waiting = waiter.state else { return }
        finish(waiter: id, with: [])
    }

    /// Acknowledges, dead-letters or requeues a delivery; a stale or already settled receipt does nothing.
    func settle(_ receipt: DeliveryReceipt, connection id: UInt64, _ settlement: Settlement) {
        guard var connection = connections[id], connection.isOpen, connection.generation == receipt.generation,
            let entry = connection.unsettled.removeValue(forKey: receipt.tag)
        else { return }
        connections[id] = connection
        switch settlement {
        case .acknowledge:
            break
        case .deadLetter(let reason):
            var message = entry.message
            message.deadLetterReason = reason
            queues[connection.queues.dead, default: MessageQueue()].append(message)
        case .requeue:
            var message = entry.message
            message.isRedelivered = true
            queues[entry.queue, default: MessageQueue()].pushFront(message)
        }
        // A settled delivery frees a prefetch slot; a requeued one is a message to hand out.
        dispatch(entry.queue)
    }

    /// Puts messages a cancelled receiver never saw back at the front of their queue, unchanged.
    func giveBack(_ messages: [InboundMessage], connection id: UInt64) {
        guard var connection = connections[id], connection.isOpen else { return }
        var returned: [(queue: String, message: Message)] = []
        for inbound in messages where inbound.receipt.generation == connection.generation {
            if let entry = connection.unsettled.removeValue(forKey: inbound.receipt.tag) {
                returned.append(entry)
            }
        }
        connections[id] = connection
        for entry in returned.reversed() {
            queues[entry.queue, default: MessageQueue()].pushFront(entry.message)
        }
        for queue in Set(returned.map(\.queue)) { dispatch(queue) }
    }

    /// Removes every waiting message of a queue; returns how many.
    func purge(_ queue: String) -> Int {
        let count = queues[queue]?.count ?? 0
        queues[queue]?.removeAll()
        return count
    }

    /// Delivers up to `maximum` messages of `queue` to a connection, within its prefetch.
    private func take(from queue: String, connection id: UInt64, maximum: Int) -> [InboundMessage] {
        guard var connection = connections[id], connection.isOpen else { return [] }
        var delivered: [InboundMessage] = []
        while delivered.count < maximum, connection.hasCapacity, let message = queues[queue]?.popFirst() {
            connection.nextTag += 1
            connection.unsettled[connection.nextTag] = (queue, message)
            delivered.append(
                InboundMessage(
                    body: message.body, messageID: message.messageID, correlationID: message.correlationID,
                    isRedelivered: message.isRedelivered,
                    receipt: DeliveryReceipt(generation: connection.generation, tag: connection.nextTag)))
        }
        connections[id] = connection
        return delivered
    }

    /// Hands waiting messages of `queue` to its waiters, oldest waiter first, skipping those at their prefetch.
    private func dispatch(_ queue: String) {
        guard let depth = queues[queue]?.count, depth > 0 else { return }
        let candidates = waiters.filter { $0.value.queue == queue }.sorted { $0.value.sequence < $1.value.sequence }
        for (id, waiter) in candidates {
            guard case .waiting = waiter.state else { continue }
            guard queues[queue]?.isEmpty == false else { return }
            let messages = take(from: queue, connection: waiter.connection, maximum: waiter.maximum)
            if !messages.isEmpty { finish(waiter: id, with: messages) }
        }
    }

    /// Gives a waiter its result: resumes it if suspended, else leaves the result for it to pick up.
    private func finish(waiter id: UInt64, with messages: [InboundMessage]) {
        guard case .waiting(let continuation) = waiters[id]?.state else { return }
        if let continuation {
            waiters[id] = nil
            continuation.resume(returning: messages)
        } else {
            waiters[id]?.state = .finished(messages)
        }
    }
}

// MARK: - Receiving with a timeout

extension EmbeddedBroker {
    /// Waits up to `timeout` for messages of `queue`: returns at once with what is waiting, else the first
    /// message(s) to arrive, else `[]` at the timeout.
    ///
    /// Cancellation-safe: a cancelled receiver puts back any message it was given and throws
    /// `CancellationError`. The timeout is a child task sleeping next to the suspended receiver, so nothing
    /// polls.
    nonisolated func receive(
        from queue: String, connection: UInt64, maximum: Int, timeout: Duration
    ) async throws -> [InboundMessage] {
        precondition(maximum >= 1, "maximum must be at least 1")
        try Task.checkCancellation()
        let reception = try await request(from: queue, connection: connection, maximum: maximum, wait: timeout > .zero)
        guard case .wait(let waiter) = reception else {
            guard case .messages(let messages) = reception else { return [] }
            return messages
        }
        let messages = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                await self.expire(waiter: waiter)
            }
            let messages = await self.suspend(waiter: waiter)
            group.cancelAll()
            return messages
        }
        if Task.isCancelled {
            await giveBack(messages, connection: connection)
            throw CancellationError()
        }
        return messages
    }
}

// MARK: - Queue storage

/// A FIFO of messages with cheap removal at the front and requeueing at the front.
struct MessageQueue {
    private var storage: [EmbeddedBroker.Message] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { count == 0 }
    var messages: ArraySlice<EmbeddedBroker.Message> { storage[head...] }

    mutating func append(_ message: EmbeddedBroker.Message) {
        storage.append(message)
    }

    mutating func pushFront(_ message: EmbeddedBroker.Message) {
        if head > 0 {
            head -= 1
            storage[head] = message
        } else {
            storage.insert(message, at: 0)
        }
    }

    mutating func popFirst() -> EmbeddedBroker.Message? {
        guard head < storage.count else { return nil }
        let message = storage[head]
        head += 1
        if head >= 1024, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return message
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}
