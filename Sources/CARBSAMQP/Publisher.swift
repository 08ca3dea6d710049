import CARBSMessaging
import Logging
import Synchronization

/// A message to publish through the default exchange.
struct Publication: Sendable {
    var queue: String
    var message: OutboundMessage
    var headers: [(String, FieldValue)] = []
}

enum PublisherCommand: Sendable {
    case start(CheckedContinuation<Void, any Error>)
    case publish(id: UInt64, Publication, CheckedContinuation<Void, any Error>)
    case purge(queue: String, CheckedContinuation<Int, any Error>)
    case cancel(id: UInt64)
    case shutdown(CheckedContinuation<Void, Never>?)
}

/// The publishing connection: publisher confirms, pipelined (every publish waiting at the same time shares the
/// wait for confirms), retried after a reconnect until confirmed, held while the broker blocks the connection.
///
/// Publishes are mandatory: a message no queue takes (its queue was deleted) comes back with basic.return; it
/// is published again after a delay, and the optimizer redeclares its topology first.
final class PublisherThread: ConnectionThread<PublisherCommand>, @unchecked Sendable {
    private struct Pending {
        var id: UInt64
        var publication: Publication
        var continuation: CheckedContinuation<Void, any Error>?
        var wasReturned = false
    }

    /// Declared on every new connection and after a return (the optimizer); nil for workers.
    private let topology: Topology?
    /// Checked (passively) on every new connection (workers); nil for the optimizer.
    private let requiredQueues: Topology?
    private var waiting: [Pending] = []
    private var delayed: [(due: ContinuousClock.Instant, pending: Pending)] = []
    private var confirms = ConfirmTracker<Pending>()
    private var purges: [(queue: String, continuation: CheckedContinuation<Int, any Error>)] = []
    private var cancelledEarly: Set<UInt64> = []
    private var isBlocked = false
    private var needsTopology = false
    private var returnedContent: (routingKey: String, remaining: UInt64?)?
    private var returnAttempts = 0
    /// Unconfirmed publishes at most; more wait until confirms arrive.
    private let window = 4096

    init(settings: ConnectionSettings, logger: Logger, topology: Topology?, requiredQueues: Topology?) {
        self.topology = topology
        self.requiredQueues = requiredQueues
        super.init(settings: settings, logger: logger)
    }

    override func setUp(_ connection: Connection) throws(AMQPError) {
        try topology?.declare(on: connection)
        try requiredQueues?.checkWorkerQueues(on: connection)
        try connection.enablePublisherConfirms()
        isBlocked = false
        needsTopology = false
    }

    override func handle(_ command: PublisherCommand) {
        switch command {
        case .start(let continuation):
            requestStart(continuation)
        case .publish(let id, let publication, let continuation):
            if cancelledEarly.remove(id) != nil {
                continuation.resume(throwing: CancellationError())
            } else if !isStartRequested {
                continuation.resume(throwing: Self.notStartedError)
            } else {
                waiting.append(Pending(id: id, publication: publication, continuation: continuation))
            }
        case .purge(let queue, let continuation):
            if isStartRequested {
                purges.append((queue, continuation))
            } else {
                continuation.resume(throwing: Self.notStartedError)
            }
        case .cancel(let id):
            cancel(id)
        case .shutdown(let continuation):
            requestShutdown(continuation)
        }
    }

    private func cancel(_ id: UInt64) {
        if let index = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: index).continuation?.resume(throwing: CancellationError())
        } else if let index = delayed.firstIndex(where: { $0.pending.id == id }) {
            delayed.remove(at: index).pending.continuation?.resume(throwing: CancellationError())
        } else if let tag = confirms.unconfirmed.first(where: { $0.item.id == id })?.tag {
            // Already on the wire: the confirm will be ignored.
            confirms.update(tag: tag) { pending in
                pending.continuation?.resume(throwing: CancellationError())
                pending.continuation = nil
            }
        } else {
            // The publish command has not arrived yet (the task was cancelled before it was posted).
            cancelledEarly.insert(id)
        }
    }

    override var hasImmediateWork: Bool {
        connection != nil && ((!waiting.isEmpty && !isBlocked && confirms.count < window) || !purges.isEmpty)
    }

    override func work(on connection: Connection) throws(AMQPError) {
        if needsTopology, let topology {
            try topology.declare(on: connection)
            needsTopology = false
        }
        while !purges.isEmpty {
            let (queue, continuation) = purges.removeFirst()
            do throws(AMQPError) {
                continuation.resume(returning: try connection.purgeQueue(queue))
            } catch {
                continuation.resume(throwing: error)
                if error.code != .queueNotFound { throw error }
                // The channel was closed by the broker (queue missing) and answered: reopen it.
                try connection.reopenChannel()
                try connection.enablePublisherConfirms()
                waiting.insert(contentsOf: confirms.reset(), at: 0)
            }
        }
        guard !isBlocked else { return }
        var sent = 0
        while sent < waiting.count && confirms.count < window {
            var pending = waiting[sent]
            sent += 1
            if pending.continuation == nil { continue }
            pending.wasReturned = false
            do throws(AMQPError) {
                try connection.publish(
                    to: pending.publication.queue, pending.publication.message, headers: pending.publication.headers,
                    mandatory: true)
            } catch {
                waiting.removeFirst(sent - 1)
                throw error
            }
            _ = confirms.published(pending)
        }
        waiting.removeFirst(sent)
    }

    override func handle(_ frame: Frame, on connection: Connection) throws(AMQPError) {
        switch frame {
        case .acknowledged(let tag, let multiple):
            for pending in confirms.settle(tag: tag, multiple: multiple) {
                if pending.wasReturned {
                    retryLater(pending)
                } else {
                    pending.continuation?.resume()
                }
            }
        case .rejected(let tag, let multiple):
            for pending in confirms.settle(tag: tag, multiple: multiple) {
                pending.continuation?.resume(
                    throwing: AMQPError(
                        .publishRejected, "the broker refused a message for \(pending.publication.queue) (basic.nack)"))
            }
        case .returned(let code, let text, let routingKey):
            logger.warning(
                "a message came back unroutable; will publish it again",
                metadata: ["queue": "\(routingKey)", "reply": "\(code) \(text)"])
            returnedContent = (routingKey, nil)
        case .header(let bodySize, let properties):
            guard let returned = returnedContent else { return }
            markReturned(routingKey: returned.routingKey, messageID: properties.messageID)
            returnedContent = bodySize == 0 ? nil : (returned.routingKey, bodySize)
        case .body(let data):
            guard let returned = returnedContent, let remaining = returned.remaining else { return }
            let left = remaining - min(remaining, UInt64(data.count))
            returnedContent = left == 0 ? nil : (returned.routingKey, left)
        case .blocked(let reason):
            isBlocked = true
            logger.warning("the broker blocked publishing (resource alarm); waiting", metadata: ["reason": "\(reason)"])
        case .unblocked:
            isBlocked = false
            logger.info("the broker unblocked publishing")
        default:
            break
        }
    }

    private func markReturned(routingKey: String, messageID: String?) {
        guard
            let tag = confirms.unconfirmed.first(where: {
                !$0.item.wasReturned && $0.item.publication.queue == routingKey
                    && $0.item.publication.message.messageID == messageID
            })?.tag
        else { return }
        confirms.update(tag: tag) { $0.wasReturned = true }
    }

    private func retryLater(_ pending: Pending) {
        guard pending.continuation != nil else { return }
        if topology != nil { needsTopology = true }
        let delay = settings.reconnect.delay(attempt: returnAttempts, random: Double.random(in: 0...1))
        returnAttempts = min(returnAttempts + 1, 30)
        delayed.append((.now + delay, pending))
    }

    override func fireTimers(now: ContinuousClock.Instant) {
        guard !delayed.isEmpty else { return }
        var index = 0
        while index < delayed.count {
            if delayed[index].due <= now {
                waiting.append(delayed.remove(at: index).pending)
            } else {
                index += 1
            }
        }
        if delayed.isEmpty && waiting.isEmpty { returnAttempts = 0 }
    }

    override var nextTimer: ContinuousClock.Instant? { delayed.map(\.due).min() }

    override func connectionLost() {
        // At least once: everything not confirmed is published again on the next connection.
        waiting.insert(contentsOf: confirms.reset(), at: 0)
        returnedContent = nil
        isBlocked = false
    }

    override func failAll(_ error: AMQPError) {
        for pending in confirms.reset() + waiting + delayed.map(\.pending) {
            pending.continuation?.resume(throwing: error)
        }
        waiting = []
        delayed = []
        for (_, continuation) in purges { continuation.resume(throwing: error) }
        purges = []
    }

    override func reject(_ command: PublisherCommand, _ error: AMQPError) {
        switch command {
        case .start(let continuation): continuation.resume(throwing: error)
        case .publish(_, _, let continuation): continuation.resume(throwing: error)
        case .purge(_, let continuation): continuation.resume(throwing: error)
        case .cancel: break
        case .shutdown(let continuation): continuation?.resume()
        }
    }
}

/// The Sendable face of a `PublisherThread`: async methods that post commands and await the thread's answer.
final class PublisherHandle: Sendable {
    private let thread: PublisherThread
    private let ids = Atomic<UInt64>(0)

    init(thread: PublisherThread) {
        self.thread = thread
        thread.launch()
    }

    /// Whether the connection is up now.
    var isConnected: Bool { thread.isConnected }

    deinit {
        _ = thread.mailbox.post(.shutdown(nil))
    }

    /// Connects (retrying until the broker answers). Cancelling the calling task gives up: the connection's
    /// thread stops and `start` throws.
    func start() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                post(.start(continuation)) { continuation.resume(throwing: $0) }
            }
        } onCancel: {
            _ = thread.mailbox.post(.shutdown(nil))
        }
    }

    /// Publishes and waits for the broker's confirm; retried across reconnects.
    func publish(_ publication: Publication) async throws {
        let id = ids.add(1, ordering: .relaxed).newValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                post(.publish(id: id, publication, continuation)) { continuation.resume(throwing: $0) }
            }
        } onCancel: {
            _ = thread.mailbox.post(.cancel(id: id))
        }
    }

    func purge(queue: String) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            post(.purge(queue: queue, continuation)) { continuation.resume(throwing: $0) }
        }
    }

    func shutdown() async {
        await withCheckedContinuation { continuation in
            if !thread.mailbox.post(.shutdown(continuation)) { continuation.resume() }
        }
    }

    private func post(_ command: PublisherCommand, orElse fail: (AMQPError) -> Void) {
        if !thread.mailbox.post(command) {
            fail(AMQPError(.shutDown, "the AMQP transport was shut down"))
        }
    }
}
