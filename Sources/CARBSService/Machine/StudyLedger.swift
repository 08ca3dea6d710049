import CARBSMessaging
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
    /// Where a suggestion stands.
    public enum Phase: String, Sendable, Hashable, Codable {
        /// Chosen and saved, not yet confirmed by the queue.
        case publishing
        /// Waiting in the queue for a worker (no lease).
        case queued
        /// A worker started it; the lease runs.
        case running
        /// A success result counted.
        case finished
        /// A failure result counted.
        case failed
        /// Lost too often (or withdrawn after starting): dropped without an observation.
        case forgotten
        /// Taken back from the queue unstarted when the study ended.
        case withdrawn

        /// Whether the suggestion still occupies a slot (queued or running).
        public var isInFlight: Bool { self == .publishing || self == .queued || self == .running }
        /// Whether nothing will change it any more.
        public var isSettled: Bool { !isInFlight }
    }

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

    public init(entries: [Entry] = [], leaseSeconds: Double, maxAttempts: Int) {
        self.entries = Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0) })
        self.leaseSeconds = leaseSeconds
        self.maxAttempts = maxAttempts
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
    }

    /// The queue confirmed the suggestion's current attempt.
    public mutating func published(id: String) {
        guard entries[id]?.phase == .publishing else { return }
        entries[id]?.phase = .queued
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
                return .ignore(id: id, reason: "\(message.kind.rawValue) of attempt \(message.attempt) after the run settled or moved on")
            }
            entry.phase = .running
            entry.leaseDeadline = now.addingTimeInterval(leaseSeconds)
            entry.worker = message.worker
            entries[id] = entry
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
                return .observe(id: id, attempt: message.attempt, status: status)
            case .lost:
                guard message.attempt == entry.attempt else {
                    return .duplicate(id: id, reason: "lost report of attempt \(message.attempt), already re-issued")
                }
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
            decisions.append(.forget(id: id))
        }
        return decisions
    }

    private mutating func lose(_ entry: inout Entry) -> Decision {
        entry.leaseDeadline = nil
        if reissuesLostRuns && entry.attempt < maxAttempts {
            entry.attempt += 1
            entry.phase = .publishing
            entries[entry.id] = entry
            return .reissue(id: entry.id, attempt: entry.attempt)
        }
        entry.phase = .forgotten
        entries[entry.id] = entry
        return .forget(id: entry.id)
    }
}

extension StudyLedger {
    /// A queued suggestion was taken back from the queue unstarted (budget reached).
    public mutating func withdraw(id: String) {
        guard entries[id]?.phase == .queued || entries[id]?.phase == .publishing else { return }
        entries[id]?.phase = .withdrawn
    }
}
