import CARBSMessaging
import CARBSStore
import Foundation

/// The bookkeeping of one study's suggestions as a pure state machine: each incoming message or clock tick goes
/// in, the decisions come out, and the service does the I/O. Testable without a store or a broker.
///
/// Rules (the protocol's guarantees):
/// - The first result for a suggestion id counts, whichever attempt sent it; later results are duplicates.
/// - `started` and `heartbeat` of the current attempt (re)arm its lease; a run whose lease runs out is lost.
/// - A lost run is re-issued as the next attempt of the same suggestion, up to `maxAttempts`, then forgotten; once
///   the study stopped issuing (`stopReissuing()`, the budget is reached) a lost run is forgotten at once.
public struct StudyLedger: Sendable {
    /// Where a suggestion stands: the store's states, so the ledger and its tables never need translating.
    public typealias Phase = SuggestionState

    /// One suggestion's ledger entry.
    public struct Entry: Sendable, Hashable, Codable {
        public var id: String
        public var attempt: Int
        public var phase: Phase
        /// When the current attempt's lease runs out (running only).
        public var leaseDeadline: Date?
        public var worker: String?

        public init(id: String, attempt: Int, phase: Phase, leaseDeadline: Date? = nil, worker: String? = nil) {
            self.id = id
            self.attempt = attempt
            self.phase = phase
            self.leaseDeadline = leaseDeadline
            self.worker = worker
        }
    }

    /// What to do about one message or one expired lease.
    public enum Decision: Sendable, Hashable {
        /// Feed the result to the optimizer (`observe`), and record it as the counting result.
        case observe(id: String, attempt: Int, status: WorkerMessage.Status)
        /// Publish the same point again as attempt `attempt`.
        case reissue(id: String, attempt: Int)
        /// Drop the suggestion from the optimizer (`forget`): lost `maxAttempts` times.
        case forget(id: String)
        /// A lease was started or extended: record it, nothing else to do.
        case leaseRenewed(id: String)
        /// A result for a suggestion already settled (or a stale attempt's message): record as duplicate.
        case duplicate(id: String, reason: String)
        /// Nothing to do beyond logging (a stale `started` or `heartbeat`, say).
        case ignore(id: String, reason: String)
        /// The message names no known suggestion: dead-letter it with the reason.
        case reject(reason: String)
    }

    public private(set) var entries: [String: Entry]
    public let leaseSeconds: Double
    public let maxAttempts: Int
    /// False once the study stopped issuing: lost runs are then forgotten instead of re-issued.
    public private(set) var reissuesLostRuns = true
    /// The changes since the last `takeEvents()`, in order.
    public private(set) var events: [StudyEvent] = []

    public init(entries: [Entry] = [], leaseSeconds: Double, maxAttempts: Int) {
        self.entries = Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0) })
        self.leaseSeconds = leaseSeconds
        self.maxAttempts = maxAttempts
    }

    /// Returns the changes made since the last call, and forgets them.
    public mutating func takeEvents() -> [StudyEvent] {
        defer { events.removeAll() }
        return events
    }

    /// Suggestions occupying a slot (publishing, queued or running).
    public var inFlightCount: Int { entries.values.filter(\.phase.isInFlight).count }

    /// The study stops issuing (its budget is reached): from now on a lost run is forgotten, not re-issued.
    public mutating func stopReissuing() {
        reissuesLostRuns = false
    }

    /// Adds a newly chosen suggestion (attempt 1, publishing).
    public mutating func issued(id: String) {
        entries[id] = Entry(id: id, attempt: 1, phase: .publishing)
        events.append(StudyEvent(.issued, suggestionID: id, attempt: 1))
    }

    /// The queue confirmed the suggestion's current attempt.
    public mutating func published(id: String) {
        guard let entry = entries[id], entry.phase == .publishing else { return }
        entries[id]?.phase = .queued
        events.append(StudyEvent(.published, suggestionID: id, attempt: entry.attempt))
    }

    /// Applies one decoded worker message.
    public mutating func receive(_ message: WorkerMessage, now: Date) -> Decision {
        let id = message.suggestionID
        guard var entry = entries[id] else {
            return .reject(reason: "unknown_suggestion: suggestion \(id) was never issued by this study")
        }
        if message.attempt > entry.attempt {
            return .reject(
                reason: "invalid_field: attempt \(message.attempt) of suggestion \(id) was never issued "
                    + "(current attempt \(entry.attempt))")
        }
        switch message.kind {
        case .started, .heartbeat:
            guard message.attempt == entry.attempt, entry.phase.isInFlight else {
                return .ignore(
                    id: id,
                    reason: "\(message.kind.rawValue) of attempt \(message.attempt) after the run settled or moved on")
            }
            entry.phase = .running
            entry.leaseDeadline = now.addingTimeInterval(leaseSeconds)
            entry.worker = message.worker
            entries[id] = entry
            events.append(
                StudyEvent(
                    message.kind == .started ? .started : .heartbeat, suggestionID: id, attempt: entry.attempt,
                    worker: message.worker, leaseDeadline: entry.leaseDeadline))
            return .leaseRenewed(id: id)
        case .result:
            guard entry.phase.isInFlight else {
                return .duplicate(id: id, reason: "suggestion \(id) already has its result (\(entry.phase.rawValue))")
            }
            let status = message.status ?? .failure
            switch status {
            case .success, .failure:
                entry.phase = status == .success ? .finished : .failed
                entry.leaseDeadline = nil
                entry.worker = message.worker
                entries[id] = entry
                events.append(
                    StudyEvent(
                        status == .success ? .succeeded : .failed, suggestionID: id, attempt: entry.attempt,
                        worker: message.worker))
                return .observe(id: id, attempt: message.attempt, status: status)
            case .lost:
                guard message.attempt == entry.attempt else {
                    return .duplicate(id: id, reason: "lost report of attempt \(message.attempt), already re-issued")
                }
                events.append(StudyEvent(.lost, suggestionID: id, attempt: entry.attempt, worker: message.worker))
                return lose(&entry)
            }
        }
    }

    /// Treats every running suggestion whose lease ran out as lost.
    /// - Returns: the re-issues and forgets to carry out, in id order (deterministic).
    public mutating func expireLeases(now: Date) -> [Decision] {
        let expired = entries.values.filter { $0.phase == .running && ($0.leaseDeadline ?? .distantFuture) < now }
        return expired.sorted { $0.id < $1.id }.map { entry in
            var entry = entry
            events.append(StudyEvent(.expired, suggestionID: entry.id, attempt: entry.attempt, worker: entry.worker))
            return lose(&entry)
        }
    }

    /// The earliest lease deadline among running suggestions.
    public var nextLeaseDeadline: Date? {
        entries.values.compactMap { $0.phase == .running ? $0.leaseDeadline : nil }.min()
    }

    /// The study ended: queued suggestions are withdrawn, running ones forgotten.
    public mutating func withdrawAll() -> [Decision] {
        var decisions: [Decision] = []
        for id in entries.keys.sorted() {
            guard var entry = entries[id], entry.phase.isInFlight else { continue }
            entry.phase = entry.phase == .running ? .forgotten : .withdrawn
            entry.leaseDeadline = nil
            entries[id] = entry
            events.append(
                StudyEvent(
                    entry.phase == .forgotten ? .forgotten : .withdrawn, suggestionID: id, attempt: entry.attempt))
            decisions.append(.forget(id: id))
        }
        return decisions
    }

    private mutating func lose(_ entry: inout Entry) -> Decision {
        entry.leaseDeadline = nil
        if reissuesLostRuns && entry.attempt < maxAttempts {
            entry.attempt += 1
            entry.phase = .publishing
            entry.worker = nil
            entries[entry.id] = entry
            events.append(StudyEvent(.reissued, suggestionID: entry.id, attempt: entry.attempt))
            return .reissue(id: entry.id, attempt: entry.attempt)
        }
        entry.phase = .forgotten
        entries[entry.id] = entry
        events.append(StudyEvent(.forgotten, suggestionID: entry.id, attempt: entry.attempt))
        return .forget(id: entry.id)
    }
}

extension StudyLedger {
    /// A queued suggestion was taken back from the queue unstarted (budget reached).
    public mutating func withdraw(id: String) {
        guard let entry = entries[id], entry.phase == .queued || entry.phase == .publishing else { return }
        entries[id]?.phase = .withdrawn
        events.append(StudyEvent(.withdrawn, suggestionID: id, attempt: entry.attempt))
    }
}
