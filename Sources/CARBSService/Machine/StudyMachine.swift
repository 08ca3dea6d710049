import CARBSMessaging
import CARBSStore
import Foundation

/// Every decision of one study's service, as a pure state machine: the service tells it what happened (messages
/// arrived, the clock moved, suggestions were chosen or published, the queue was purged) and carries out the
/// actions it returns. No I/O and no clock of its own, so drain, budget, late and duplicate handling are tested
/// without a broker, a store or time passing.
///
/// The ledger inside it writes every change down as a `StudyEvent` (`takeEvents()`); the service persists those
/// with the cycle's other writes in one transaction before it acknowledges or publishes anything.
public struct StudyMachine: Sendable {
    /// The study's limits.
    public struct Settings: Sendable, Hashable {
        public var maxInFlight: Int
        public var maxObservations: Int?
        public var maxTotalCost: Double?
        /// How long to wait for the runs in flight once the budget is reached.
        public var drainGrace: TimeInterval

        public init(
            maxInFlight: Int, maxObservations: Int? = nil, maxTotalCost: Double? = nil, drainGrace: TimeInterval
        ) {
            self.maxInFlight = maxInFlight
            self.maxObservations = maxObservations
            self.maxTotalCost = maxTotalCost
            self.drainGrace = drainGrace
        }
    }

    /// What the optimizer holds: the budget is counted in it.
    public struct Progress: Sendable, Hashable {
        public var observations: Int
        public var totalCost: Double

        public init(observations: Int, totalCost: Double) {
            self.observations = observations
            self.totalCost = totalCost
        }
    }

    /// A message taken from the results queue: decoded, or the reason it could not be.
    public enum Received: Sendable, Hashable {
        case message(WorkerMessage)
        case undecodable(reason: String)
    }

    /// What the service is to do. `message` is the index of a message in the batch given to `received`.
    public enum Action: Sendable, Hashable {
        /// Feed the message's result to the optimizer and store it as the suggestion's counting result.
        case observe(message: Int, id: String, status: WorkerMessage.Status)
        /// Drop the suggestion from the optimizer without an observation.
        case forget(id: String, reason: String)
        /// A run was lost: its worker reported it, or its lease ran out (`leaseExpired`).
        case lost(id: String, attempt: Int, leaseExpired: Bool)
        /// Store the message in the message log.
        case log(message: Int, disposition: MessageDisposition, reason: String?)
        /// Acknowledge the message (after the cycle is committed).
        case acknowledge(message: Int)
        /// Dead-letter the message with the reason (after the cycle is committed).
        case deadLetter(message: Int, reason: String)
        /// Choose this many new suggestions (then tell `issued(_:)`).
        case suggest(count: Int)
        /// Publish this attempt of the suggestion (after the cycle is committed; then tell `published(_:)`).
        case publish(id: String, attempt: Int)
        /// Take back from the queue every suggestion no worker took; then receive what is waiting and call
        /// `withdrawQueued()`.
        case withdrawQueued
        /// The budget is spent and nothing is in flight any more (or the grace ran out): the study is over.
        case finish
    }

    public let settings: Settings
    public private(set) var ledger: StudyLedger
    /// True once the budget was reached: no more suggestions, lost runs are forgotten.
    public private(set) var isDraining = false
    public private(set) var drainDeadline: Date?
    public private(set) var isFinished = false

    public init(settings: Settings, ledger: StudyLedger) {
        self.settings = settings
        self.ledger = ledger
    }

    /// The changes since the last call, as events to persist.
    public mutating func takeEvents() -> [StudyEvent] {
        ledger.takeEvents()
    }

    // MARK: - Inputs

    /// Messages arrived from the results queue.
    public mutating func received(_ batch: [Received], now: Date) -> [Action] {
        var actions: [Action] = []
        for (index, received) in batch.enumerated() {
            guard case .message(let message) = received else {
                if case .undecodable(let reason) = received {
                    actions += [
                        .log(message: index, disposition: .rejected, reason: reason),
                        .deadLetter(message: index, reason: reason),
                    ]
                }
                continue
            }
            let currentAttempt = ledger.entries[message.suggestionID]?.attempt ?? 0
            switch ledger.receive(message, now: now) {
            case .observe(let id, _, let status):
                actions += [
                    .observe(message: index, id: id, status: status),
                    .log(message: index, disposition: .applied, reason: nil),
                ]
            case .reissue(let id, let attempt):
                actions += [
                    .lost(id: id, attempt: attempt - 1, leaseExpired: false),
                    .log(message: index, disposition: .applied, reason: "lost: re-issued as attempt \(attempt)"),
                    .publish(id: id, attempt: attempt),
                ]
            case .forget(let id):
                let reason =
                    isDraining
                    ? "lost after the budget was reached: forgotten" : "lost \(ledger.maxAttempts) times: forgotten"
                actions += [
                    .lost(id: id, attempt: message.attempt, leaseExpired: false), .forget(id: id, reason: reason),
                    .log(message: index, disposition: .applied, reason: reason),
                ]
            case .leaseRenewed:
                actions.append(
                    .log(message: index, disposition: message.kind == .started ? .started : .heartbeat, reason: nil))
            case .duplicate(_, let reason):
                let late = message.kind == .result && message.attempt < currentAttempt
                actions.append(.log(message: index, disposition: late ? .late : .duplicate, reason: reason))
            case .ignore(_, let reason):
                actions.append(.log(message: index, disposition: .ignored, reason: reason))
            case .reject(let reason):
                actions += [
                    .log(message: index, disposition: .rejected, reason: reason),
                    .deadLetter(message: index, reason: reason),
                ]
                continue
            }
            actions.append(.acknowledge(message: index))
        }
        return actions
    }

    /// The clock moved (once per cycle, after the messages): leases that ran out, the budget, and what to do
    /// next — suggest into the free slots, begin draining, or finish.
    public mutating func tick(now: Date, progress: Progress) -> [Action] {
        var actions: [Action] = []
        for decision in ledger.expireLeases(now: now) {
            switch decision {
            case .reissue(let id, let attempt):
                actions += [
                    .lost(id: id, attempt: attempt - 1, leaseExpired: true), .publish(id: id, attempt: attempt),
                ]
            case .forget(let id):
                let attempt = ledger.entries[id]?.attempt ?? 1
                let reason =
                    isDraining
                    ? "lease expired after the budget was reached: forgotten" : "lease expired too often: forgotten"
                actions += [.lost(id: id, attempt: attempt, leaseExpired: true), .forget(id: id, reason: reason)]
            default:
                break
            }
        }
        guard !isFinished else { return actions }
        if !isDraining && budgetReached(progress) {
            isDraining = true
            ledger.stopReissuing()
            drainDeadline = now.addingTimeInterval(settings.drainGrace)
            return actions + [.withdrawQueued]
        }
        if isDraining {
            let busy = ledger.entries.values.contains { $0.phase == .running || $0.phase == .publishing }
            if !busy || now >= drainDeadline! {
                isFinished = true
                for case .forget(let id) in ledger.withdrawAll() {
                    actions.append(.forget(id: id, reason: "still in flight when the study ended"))
                }
                actions.append(.finish)
            }
            return actions
        }
        let count = freeSlots(progress)
        if count > 0 { actions.append(.suggest(count: count)) }
        return actions
    }

    /// After `withdrawQueued`: the queue was purged and the messages waiting were taken in; what is still queued
    /// was withdrawn.
    public mutating func withdrawQueued() -> [Action] {
        ledger.entries.values.filter { $0.phase == .queued }.map(\.id).sorted().map { id in
            ledger.withdraw(id: id)
            return .forget(id: id, reason: "withdrawn from the queue: the budget was reached")
        }
    }

    /// The optimizer chose these suggestions (after `suggest`): they are saved with this cycle, then published.
    public mutating func issued(_ ids: [String]) -> [Action] {
        ids.map { id in
            ledger.issued(id: id)
            return .publish(id: id, attempt: 1)
        }
    }

    /// The queue confirmed these attempts.
    public mutating func published(_ attempts: [(id: String, attempt: Int)]) {
        for (id, attempt) in attempts where ledger.entries[id]?.attempt == attempt {
            ledger.published(id: id)
        }
    }

    // MARK: - Questions

    /// How many suggestions to choose now.
    public func freeSlots(_ progress: Progress) -> Int {
        guard !isDraining, !isFinished else { return 0 }
        var count = settings.maxInFlight - ledger.inFlightCount
        if let max = settings.maxObservations {
            count = min(count, max - progress.observations - ledger.inFlightCount)
        }
        return Swift.max(count, 0)
    }

    public func budgetReached(_ progress: Progress) -> Bool {
        if let max = settings.maxObservations, progress.observations >= max { return true }
        if let max = settings.maxTotalCost, progress.totalCost >= max { return true }
        return false
    }

    /// Attempts saved as publishing that the queue has not confirmed (after a restart: to publish again).
    public var unconfirmed: [(id: String, attempt: Int)] {
        ledger.entries.values.filter { $0.phase == .publishing }.sorted { $0.id < $1.id }.map { ($0.id, $0.attempt) }
    }

    /// When the machine wants to be ticked at the latest: the next lease deadline, or the drain deadline.
    public var nextDeadline: Date? {
        [ledger.nextLeaseDeadline, isDraining ? drainDeadline : nil].compactMap { $0 }.min()
    }
}
