import CARBSMessaging
import Foundation
import Logging
import Synchronization

enum ConsumerCommand: Sendable {
    enum Settlement: Sendable {
        case acknowledge
        case requeue
    }

    case start(CheckedContinuation<Void, any Error>)
    case receive(
        id: UInt64, maximum: Int, deadline: ContinuousClock.Instant, CheckedContinuation<[InboundMessage], any Error>)
    case settle([DeliveryReceipt], Settlement, CheckedContinuation<Void, any Error>)
    case cancel(id: UInt64)
    case shutdown(CheckedContinuation<Void, Never>?)
}

/// The consuming connection: `basic.qos`, `basic.consume` with manual acknowledgements, deliveries buffered
/// until a receiver takes them, acknowledgements batched into `multiple` acks where possible.
///
/// Two subscription styles:
/// - continuous (the optimizer's results): subscribed whenever connected;
/// - on demand (a worker's suggestions, prefetch 1): subscribed only while a receiver waits and nothing is
///   held, cancelled as soon as a suggestion arrives — so a worker that trains for hours holds no second
///   suggestion (other workers get it), and nothing stays unacknowledged past the broker's consumer timeout.
///
/// After a reconnect the generation changes: receipts of the old connection are stale and settling them does
/// nothing (the broker redelivers those messages).
final class ConsumerThread: ConnectionThread<ConsumerCommand>, @unchecked Sendable {
    private struct Receiver {
        var id: UInt64
        var maximum: Int
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<[InboundMessage], any Error>
    }

    private struct PartialDelivery {
        var tag: UInt64
        var isRedelivered: Bool
        var properties = MessageProperties()
        var bodySize: UInt64?
        var body = Data()
    }

    private let queue: String
    private let prefetch: Int
    private let isOnDemand: Bool
    private let setUpTopology: (Connection) throws(AMQPError) -> Void
    private var consumerTag: String?
    private var buffer: [InboundMessage] = []
    private var bufferStart = 0
    private var receivers: [Receiver] = []
    private var partial: PartialDelivery?
    private var unsettled = UnsettledDeliveries()
    private var cancelledEarly: Set<UInt64> = []

    /// - Parameters:
    ///   - setUpTopology: declares (optimizer) or checks (worker) the queues on each new connection.
    init(
        settings: ConnectionSettings, logger: Logger, queue: String, prefetch: Int, isOnDemand: Bool,
        setUpTopology: @escaping (Connection) throws(AMQPError) -> Void
    ) {
        self.queue = queue
        self.prefetch = prefetch
        self.isOnDemand = isOnDemand
        self.setUpTopology = setUpTopology
        super.init(settings: settings, logger: logger)
    }

    private var bufferedCount: Int { buffer.count - bufferStart }

    override func setUp(_ connection: Connection) throws(AMQPError) {
        try setUpTopology(connection)
        try connection.setPrefetch(prefetch)
        consumerTag = nil
        if !isOnDemand {
            consumerTag = try connection.consume(queue)
        }
    }

    override func handle(_ command: ConsumerCommand) {
        switch command {
        case .start(let continuation):
            requestStart(continuation)
        case .receive(let id, let maximum, let deadline, let continuation):
            if cancelledEarly.remove(id) != nil {
                continuation.resume(throwing: CancellationError())
            } else if !isStartRequested {
                continuation.resume(throwing: Self.notStartedError)
            } else {
                receivers.append(Receiver(id: id, maximum: maximum, deadline: deadline, continuation: continuation))
                serveReceivers()
            }
        case .settle(let receipts, let settlement, let continuation):
            settle(receipts, settlement)
            continuation.resume()
        case .cancel(let id):
            if let index = receivers.firstIndex(where: { $0.id == id }) {
                receivers.remove(at: index).continuation.resume(throwing: CancellationError())
            } else {
                cancelledEarly.insert(id)
            }
        case .shutdown(let continuation):
            requestShutdown(continuation)
        }
    }

    private func settle(_ receipts: [DeliveryReceipt], _ settlement: ConsumerCommand.Settlement) {
        guard let connection else { return }
        let tags = receipts.filter { $0.generation == generation }.map(\.tag)
        guard !tags.isEmpty else { return }
        do throws(AMQPError) {
            switch settlement {
            case .acknowledge:
                for frame in unsettled.acknowledge(tags) {
                    try connection.acknowledge(tag: frame.tag, multiple: frame.multiple)
                }
            case .requeue:
                for tag in tags where unsettled.remove(tag) {
                    try connection.reject(tag: tag, requeue: true)
                }
            }
        } catch {
            // The messages come back on the next connection; settling them again is harmless.
            lose(error)
        }
    }

    override var hasImmediateWork: Bool {
        isOnDemand && connection != nil && consumerTag == nil && !receivers.isEmpty && bufferedCount == 0
            && unsettled.isEmpty
    }

    override func work(on connection: Connection) throws(AMQPError) {
        if hasImmediateWork {
            consumerTag = try connection.consume(queue)
        }
    }

    override func handle(_ frame: Frame, on connection: Connection) throws(AMQPError) {
        switch frame {
        case .deliver(_, let tag, let isRedelivered):
            partial = PartialDelivery(tag: tag, isRedelivered: isRedelivered)
        case .header(let bodySize, let properties):
            guard partial != nil else { return }
            partial!.properties = properties
            partial!.bodySize = bodySize
            if bodySize > 0 {
                partial!.body.reserveCapacity(Int(bodySize))
            } else {
                try complete(on: connection)
            }
        case .body(let data):
            guard partial != nil, let size = partial!.bodySize else { return }
            if partial!.body.isEmpty && UInt64(data.count) == size {
                partial!.body = data
            } else {
                partial!.body.append(data)
            }
            if UInt64(partial!.body.count) >= size {
                try complete(on: connection)
            }
        case .cancelledByBroker(let tag):
            logger.warning(
                "the broker cancelled the consumer (queue deleted?); recovering", metadata: ["consumer": "\(tag)"])
            throw AMQPError(.closedByBroker, "consumer of \(queue) cancelled by the broker")
        default:
            break
        }
    }

    private func complete(on connection: Connection) throws(AMQPError) {
        guard let delivery = partial else { return }
        partial = nil
        unsettled.delivered(delivery.tag)
        buffer.append(
            InboundMessage(
                body: delivery.body, messageID: delivery.properties.messageID,
                correlationID: delivery.properties.correlationID, isRedelivered: delivery.isRedelivered,
                receipt: DeliveryReceipt(generation: generation, tag: delivery.tag)))
        if isOnDemand, let tag = consumerTag {
            // Prefetch 1: nothing else can arrive before this one is settled, and once cancelled nothing will.
            consumerTag = nil
            try connection.cancel(consumerTag: tag)
        }
    }

    override func framesHandled() {
        // After the whole burst that arrived together: one batch, one refit.
        serveReceivers()
    }

    private func serveReceivers() {
        while bufferedCount > 0 && !receivers.isEmpty {
            let receiver = receivers.removeFirst()
            let count = min(receiver.maximum, bufferedCount)
            let batch = Array(buffer[bufferStart..<bufferStart + count])
            bufferStart += count
            if bufferStart == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                bufferStart = 0
            }
            receiver.continuation.resume(returning: batch)
        }
    }

    override func fireTimers(now: ContinuousClock.Instant) {
        guard !receivers.isEmpty else { return }
        var index = 0
        while index < receivers.count {
            if receivers[index].deadline <= now {
                receivers.remove(at: index).continuation.resume(returning: [])
            } else {
                index += 1
            }
        }
    }

    override var nextTimer: ContinuousClock.Instant? { receivers.map(\.deadline).min() }

    override func connectionLost() {
        // Undelivered and unsettled messages of the old connection come back (redelivered) on the new one.
        buffer = []
        bufferStart = 0
        partial = nil
        unsettled.reset()
        consumerTag = nil
    }

    override func failAll(_ error: AMQPError) {
        for receiver in receivers { receiver.continuation.resume(throwing: error) }
        receivers = []
    }

    override func reject(_ command: ConsumerCommand, _ error: AMQPError) {
        switch command {
        case .start(let continuation): continuation.resume(throwing: error)
        case .receive(_, _, _, let continuation): continuation.resume(throwing: error)
        case .settle(_, _, let continuation): continuation.resume()
        case .cancel: break
        case .shutdown(let continuation): continuation?.resume()
        }
    }
}

/// The Sendable face of a `ConsumerThread`.
final class ConsumerHandle: Sendable {
    private let thread: ConsumerThread
    private let ids = Atomic<UInt64>(0)

    init(thread: ConsumerThread) {
        self.thread = thread
        thread.launch()
    }

    /// Whether the connection is up now.
    var isConnected: Bool { thread.isConnected }

    /// Whether `receipt` is of the connection that is up now (settling it can have an effect).
    func isCurrent(_ receipt: DeliveryReceipt) -> Bool { thread.isCurrent(generation: receipt.generation) }

    deinit {
        _ = thread.mailbox.post(.shutdown(nil))
    }

    /// Connects (retrying until the broker answers). Cancelling the calling task gives up: the connection's
    /// thread stops and `start` throws.
    func start() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if !thread.mailbox.post(.start(continuation)) { continuation.resume(throwing: Self.shutDown) }
            }
        } onCancel: {
            _ = thread.mailbox.post(.shutdown(nil))
        }
    }

    /// Waits up to `timeout` for the first message, then returns it with every message already buffered.
    func receive(maximum: Int, timeout: Duration) async throws -> [InboundMessage] {
        precondition(maximum > 0, "maximum must be positive")
        let id = ids.add(1, ordering: .relaxed).newValue
        let deadline = ContinuousClock.now + timeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if !thread.mailbox.post(.receive(id: id, maximum: maximum, deadline: deadline, continuation)) {
                    continuation.resume(throwing: Self.shutDown)
                }
            }
        } onCancel: {
            _ = thread.mailbox.post(.cancel(id: id))
        }
    }

    /// Acknowledges or requeues; stale receipts are ignored. Returns once the frames are written.
    func settle(_ receipts: [DeliveryReceipt], _ settlement: ConsumerCommand.Settlement) async {
        // Settling is not interrupted by cancellation: the thread always answers promptly.
        try? await withCheckedThrowingContinuation { continuation in
            if !thread.mailbox.post(.settle(receipts, settlement, continuation)) { continuation.resume() }
        }
    }

    func shutdown() async {
        await withCheckedContinuation { continuation in
            if !thread.mailbox.post(.shutdown(continuation)) { continuation.resume() }
        }
    }

    private static var shutDown: AMQPError { AMQPError(.shutDown, "the AMQP transport was shut down") }
}
