import CARBSMessaging
import Foundation

/// An in-memory `WorkerTransport` that records everything a worker does to it, in order, and can be told to
/// fail. (The embedded broker tests the same semantics for real; this one makes order and failures visible.)
actor FakeWorkerTransport: WorkerTransport {
    enum Event: Sendable, Equatable {
        case started
        case published(WorkerMessage)
        case acknowledged(tag: UInt64)
        case released(tag: UInt64)
        case shutdown
    }

    struct InjectedFailure: Error {}

    private var queue: [InboundMessage] = []
    private var nextTag: UInt64 = 0
    private(set) var events: [Event] = []
    /// The next this many `receiveSuggestion` calls throw.
    var failingReceives = 0
    /// The next this many `publish` calls throw.
    var failingPublishes = 0
    /// Runs when a suggestion is handed out, before `receiveSuggestion` returns it.
    private var onDeliver: (@Sendable () async -> Void)?

    init(suggestions: [SuggestionMessage] = []) {
        for (index, suggestion) in suggestions.enumerated() {
            queue.append(
                InboundMessage(
                    body: WireFormat.encode(suggestion), receipt: DeliveryReceipt(generation: 1, tag: UInt64(index + 1))
                ))
        }
        nextTag = UInt64(suggestions.count)
    }

    func enqueue(_ body: Data) {
        nextTag += 1
        queue.append(InboundMessage(body: body, receipt: DeliveryReceipt(generation: 1, tag: nextTag)))
    }

    func enqueue(_ suggestion: SuggestionMessage) { enqueue(WireFormat.encode(suggestion)) }

    func setFailures(receives: Int = 0, publishes: Int = 0) {
        failingReceives = receives
        failingPublishes = publishes
    }

    func setOnDeliver(_ action: @escaping @Sendable () async -> Void) { onDeliver = action }

    /// The worker messages published so far.
    var published: [WorkerMessage] {
        events.compactMap { if case .published(let message) = $0 { message } else { nil } }
    }

    /// The index of the first event matching `predicate`.
    func index(where predicate: @Sendable (Event) -> Bool) -> Int? { events.firstIndex(where: predicate) }

    /// Waits until a message of `kind` was published; false after `timeout`.
    func waitForPublished(_ kind: WorkerMessage.Kind, timeout: Duration = .seconds(60)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if published.contains(where: { $0.kind == kind }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    // MARK: WorkerTransport

    func start() async throws { events.append(.started) }

    func receiveSuggestion(timeout: Duration) async throws -> InboundMessage? {
        if failingReceives > 0 {
            failingReceives -= 1
            throw InjectedFailure()
        }
        let deadline = ContinuousClock.now + timeout
        while queue.isEmpty {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
        let message = queue.removeFirst()
        await onDeliver?()
        return message
    }

    func publish(result: OutboundMessage) async throws {
        if failingPublishes > 0 {
            failingPublishes -= 1
            throw InjectedFailure()
        }
        // Everything a worker publishes must pass the optimizer's strict decoder.
        let message = try WireFormat.decodeWorkerMessage(result.body)
        precondition(result.messageID == message.messageID && result.correlationID == message.suggestionID)
        events.append(.published(message))
    }

    func acknowledge(_ message: InboundMessage) async throws {
        events.append(.acknowledged(tag: message.receipt.tag))
    }

    func release(_ message: InboundMessage) async throws {
        events.append(.released(tag: message.receipt.tag))
        queue.insert(message, at: 0)
    }

    func shutdown() async { events.append(.shutdown) }
}
