import CARBSMessaging
import CARBSService
import Foundation
import Synchronization

/// The optimizer process "dies" here (thrown by the fault-injecting wrappers).
struct InjectedCrash: Error, CustomStringConvertible {
    var place: String
    var description: String { "injected crash at \(place)" }
}

/// What a persistence step did, to tell which step of result handling a crash interrupted (a step that took in a
/// batch of messages may be several at once).
enum StepKind: String, Sendable, Hashable, CaseIterable {
    /// The new study's first snapshot.
    case firstSnapshot
    /// New suggestions chosen (saved as publishing).
    case issue
    /// A result counted.
    case result
    /// A lost run re-issued as the next attempt (a `lost` report or an expired lease).
    case reissue
    /// A `started` or `heartbeat` taken in (a lease armed or renewed).
    case lease
    /// Anything else (suggestions confirmed by the queue, duplicates, withdrawals, the final save).
    case other

    /// The kinds of `step`; `isFirst` when it is the first step of a new study.
    static func kinds(of step: PersistenceStep, isFirst: Bool) -> Set<StepKind> {
        var kinds: Set<StepKind> = []
        if !step.newSuggestions.isEmpty { kinds.insert(.issue) }
        if !step.results.isEmpty { kinds.insert(.result) }
        if step.events.contains(where: { $0.kind == .reissued }) { kinds.insert(.reissue) }
        if step.messages.contains(where: { $0.disposition == .started || $0.disposition == .heartbeat }) {
            kinds.insert(.lease)
        }
        if isFirst && step.events.isEmpty && step.messages.isEmpty && step.snapshot != nil {
            kinds.insert(.firstSnapshot)
        }
        return kinds.isEmpty ? [.other] : kinds
    }
}

/// A `StudyPersistence` that passes steps through to another and "crashes" at the n-th step of a kind: either
/// before the step is written (the step is lost) or after it is durable but before the service hears of it (a crash
/// between the commit and the acknowledge or publish that follow it).
final class FaultyPersistence: StudyPersistence {
    /// Which step to crash at: the `occurrence`-th one of `kind`.
    struct Trigger: Sendable, Hashable {
        var kind: StepKind
        var occurrence: Int
    }

    let base: any StudyPersistence
    let trigger: Trigger?
    let afterWrite: Bool
    private let state = Mutex<(isNewStudy: Bool, steps: [Set<StepKind>], crashedAt: Set<StepKind>?)>((false, [], nil))

    init(_ base: any StudyPersistence, crashAt trigger: Trigger?, afterWrite: Bool = false) {
        self.base = base
        self.trigger = trigger
        self.afterWrite = afterWrite
    }

    /// The kinds of the steps committed (or attempted) so far, in order.
    var steps: [Set<StepKind>] { state.withLock { $0.steps } }
    /// The kinds of the step the crash interrupted, once it happened.
    var crashedAt: Set<StepKind>? { state.withLock { $0.crashedAt } }

    func resume() throws -> SavedStudy? {
        let saved = try base.resume()
        state.withLock { $0.isNewStudy = saved == nil }
        return saved
    }

    func commit(_ step: PersistenceStep) async throws {
        let crash = state.withLock { state -> Bool in
            let kinds = StepKind.kinds(of: step, isFirst: state.isNewStudy && state.steps.isEmpty)
            state.steps.append(kinds)
            guard let trigger, state.crashedAt == nil, kinds.contains(trigger.kind),
                state.steps.count(where: { $0.contains(trigger.kind) }) == trigger.occurrence
            else { return false }
            state.crashedAt = kinds
            return true
        }
        let place = "\(trigger.map { "\($0.kind) step #\($0.occurrence)" } ?? "")"
        if crash && !afterWrite { throw InjectedCrash(place: "\(place), before the write") }
        try await base.commit(step)
        if crash { throw InjectedCrash(place: "\(place), after the write") }
    }
}

/// An `OptimizerTransport` around another that can crash at the k-th `acknowledge` or `publish`, and can gather a
/// burst of results into one batch (as a real broker does when results pile up while the optimizer is busy).
final class TestTransport: OptimizerTransport {
    enum Fault: Sendable, Hashable {
        /// Throw instead of acknowledging (the results are committed but still unacknowledged).
        case acknowledge(Int)
        /// Throw instead of publishing (the suggestion is committed as publishing but not queued).
        case publish(Int)
        /// The connection drops and comes back just before the n-th acknowledge: its receipts are stale, so the
        /// results are redelivered to the same, still running, service.
        case reconnect(beforeAcknowledge: Int)
    }

    let base: EmbeddedOptimizerTransport
    let fault: Fault?
    private let counts = Mutex<(acknowledge: Int, publish: Int)>((0, 0))
    /// When set, the next `receiveResults` that gets anything waits until it has this many results in hand.
    private let burst = Mutex<Int?>(nil)
    /// Runs once, at the next non-empty `acknowledge`, before it (while the service is between steps).
    private let beforeAcknowledge = Mutex<(@Sendable () async throws -> Void)?>(nil)

    init(_ base: EmbeddedOptimizerTransport, fault: Fault? = nil) {
        self.base = base
        self.fault = fault
    }

    /// Makes the next non-empty receive return exactly `size` results (waiting up to 5 s for them).
    func gatherNextBurst(of size: Int) {
        burst.withLock { $0 = size }
    }

    /// Runs `action` once, at the next acknowledge of a non-empty batch, before acknowledging it: something that
    /// happens while the service is between its commit and its next receive.
    func onNextAcknowledge(_ action: @escaping @Sendable () async throws -> Void) {
        beforeAcknowledge.withLock { $0 = action }
    }

    func start() async throws { try await base.start() }

    func publish(suggestion: OutboundMessage) async throws {
        let count = counts.withLock { counts -> Int in
            counts.publish += 1
            return counts.publish
        }
        if case .publish(count) = fault { throw InjectedCrash(place: "publish \(count)") }
        try await base.publish(suggestion: suggestion)
    }

    func receiveResults(maximum: Int, timeout: Duration) async throws -> [InboundMessage] {
        var messages = try await base.receiveResults(maximum: maximum, timeout: timeout)
        guard !messages.isEmpty, let size = burst.withLock({ $0 }) else { return messages }
        let deadline = ContinuousClock.now + .seconds(30)
        while messages.count < min(size, maximum), ContinuousClock.now < deadline {
            messages += try await base.receiveResults(
                maximum: min(size, maximum) - messages.count, timeout: .milliseconds(50))
        }
        burst.withLock { $0 = nil }
        return messages
    }

    func acknowledge(_ messages: [InboundMessage]) async throws {
        let count = counts.withLock { counts -> Int in
            counts.acknowledge += 1
            return counts.acknowledge
        }
        if case .acknowledge(count) = fault { throw InjectedCrash(place: "acknowledge \(count)") }
        if case .reconnect(beforeAcknowledge: count) = fault { await base.simulateReconnect() }
        if !messages.isEmpty, let action = beforeAcknowledge.withLock({ $0.take() }) {
            try await action()
        }
        try await base.acknowledge(messages)
    }

    func deadLetter(_ message: InboundMessage, reason: String) async throws {
        try await base.deadLetter(message, reason: reason)
    }

    func withdrawQueuedSuggestions() async throws -> Int {
        try await base.withdrawQueuedSuggestions()
    }

    func shutdown() async {
        await base.shutdown()
    }

    /// The optimizer process died: unsettled results go back to the queue.
    func simulateCrash() async {
        await base.simulateCrash()
    }
}
