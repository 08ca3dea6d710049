import CARBSCore
import CARBSMessaging
import CARBSStore
import Foundation
import Logging
import ServiceLifecycle

/// One run of the optimizer service: executes what the study's state machine decides. Lives only inside
/// `OptimizerService.run`.
///
/// A cycle: take in the results waiting (a burst is gathered, so it costs one refit), let the machine decide on
/// each and on the clock, carry out its actions on the optimizer (observe, forget, suggest), commit everything
/// the cycle changed in one transaction, and only then acknowledge, dead-letter and publish. A crash anywhere
/// loses nothing that was acknowledged and counts nothing twice: what was not committed is still in the queue.
struct StudyRun {
    let service: OptimizerService
    var optimizer: CARBSOptimizer
    var machine: StudyMachine
    var checkpoints = CheckpointSchedule()
    /// The optimizer's mark at the last commit that wrote it: the next delta starts there.
    var savedMark: CARBSOptimizer.SnapshotMark
    /// Whether the optimizer changed since it was last written.
    var optimizerChanged = false
    let started = ContinuousClock.now
    let integerParameters: Set<String>
    /// The optimizer's summary at the last report, with the counts and time it was built at: `report()` runs every
    /// cycle, and building a summary walks every observation (the Pareto set), so it is rebuilt only when a
    /// suggestion was made, observed or forgotten since, and then no more often than would spend a twentieth of
    /// the time on it (at n = 10,000, every few cycles; at small n, every cycle). The end or a stop always
    /// rebuilds it.
    var reportedSummary: (counts: [Int], at: ContinuousClock.Instant, summary: CARBSSummary)?
    var summaryBuildTime = Duration.zero
    /// The budget was reached in the last cycle: the queue is purged at the start of the next one, after that
    /// cycle's results were committed and acknowledged (a worker that took a suggestion just before has its
    /// `started` taken in first).
    var withdrawPending = false
    /// How long the last `suggest` took: the longest a burst is gathered for.
    var lastSuggestDuration = Duration.zero

    var configuration: OptimizerService.Configuration { service.configuration }
    var logger: Logger { service.logger }

    /// What one cycle does after its commit.
    struct Cycle {
        var step: PersistenceStep
        var messages: [InboundMessage] = []
        var decoded: [WorkerMessage?] = []
        var acknowledge: [Int] = []
        var deadLetters: [(message: Int, reason: String)] = []
        var publish: [(id: String, attempt: Int)] = []
        var finished = false

        init(time: Date) {
            step = PersistenceStep(time: time)
        }
    }

    init(service: OptimizerService) async throws {
        let configuration = service.configuration
        let leaseSeconds = Double(configuration.leaseSeconds)
        let grace = configuration.drainGrace.components
        let settings = StudyMachine.Settings(
            maxInFlight: configuration.maxInFlight, maxObservations: configuration.maxObservations,
            maxTotalCost: configuration.maxTotalCost,
            drainGrace: Double(grace.seconds) + Double(grace.attoseconds) * 1e-18)
        // Everything is worked out in locals and assigned at once, and the first commit waits until `self` is
        // whole: no suspension point while the struct is half initialized.
        let optimizer: CARBSOptimizer
        let ledger: StudyLedger
        let resumed: Bool
        if let saved = try service.persistence.resume() {
            optimizer = try CARBSOptimizer(restoring: try SnapshotCoding.decode(saved.snapshot))
            ledger = StudyLedger(
                entries: Self.restarted(saved.entries, configuration: configuration, now: service.clock()),
                leaseSeconds: leaseSeconds, maxAttempts: configuration.maxAttempts)
            service.logger.info(
                "resuming study",
                metadata: [
                    "study": "\(configuration.study)", "observations": "\(optimizer.observationCount)",
                    "in_flight": "\(ledger.inFlightCount)",
                ])
            resumed = true
        } else {
            optimizer = try service.newOptimizer()
            ledger = StudyLedger(leaseSeconds: leaseSeconds, maxAttempts: configuration.maxAttempts)
            resumed = false
        }
        self.service = service
        self.optimizer = optimizer
        savedMark = optimizer.snapshotMark
        machine = StudyMachine(settings: settings, ledger: ledger)
        integerParameters = Set(optimizer.parameters.filter(\.space.isInteger).map(\.name))
        // A new study is saved at once; a resumed one writes a complete snapshot with its first commit
        // (`checkpoints` starts without one), so a restart starts from a single snapshot.
        optimizerChanged = true
        if !resumed {
            try await flush(completeSnapshot: true)
        }
    }

    /// Ledger entries as a restart finds them. Leases restart from now: heartbeats sent while the optimizer was
    /// down are still in the queue. With queues that died with the process (`carbs tune`), so did the workers:
    /// their runs are lost now (the first lease check re-issues them), and queued suggestions are published again.
    static func restarted(
        _ entries: [StudyLedger.Entry], configuration: OptimizerService.Configuration, now: Date
    ) -> [StudyLedger.Entry] {
        let queuesSurvived = configuration.queuesSurviveRestart
        return entries.map { entry in
            var entry = entry
            switch entry.phase {
            case .running:
                entry.leaseDeadline = queuesSurvived ? now.addingTimeInterval(Double(configuration.leaseSeconds)) : now
            case .queued where !queuesSurvived:
                entry.phase = .publishing
            default:
                break
            }
            return entry
        }
    }

    // MARK: - The loop

    mutating func run(stopRequested: () -> Bool) async throws {
        // An optimizer waiting for an unreachable broker must still stop on SIGTERM.
        do {
            let transport = service.transport
            try await cancelWhenGracefulShutdown { try await transport.start() }
        } catch  where Task.isCancelled || Task.isShuttingDownGracefully || stopRequested() {
            try await stop()
            await service.transport.shutdown()
            return
        }
        do {
            try await loop(stopRequested: stopRequested)
        } catch is CancellationError {
            // Cancelled (not a graceful shutdown): every cycle so far is committed; save the rest, hand the
            // unacknowledged results back to the queue, and stop as if asked to.
            try await stop()
            await service.transport.shutdown()
        }
    }

    /// Stops on request: saves what is not saved yet; a later start resumes from there.
    mutating func stop() async throws {
        try await flush()
        logger.notice(
            "stopping on request; the study resumes on the next start", metadata: ["study": "\(configuration.study)"])
        service.outcome.withLock { $0 = (.interrupted, optimizer.summary) }
        report(phase: .interrupted)
    }

    mutating func loop(stopRequested: () -> Bool) async throws {
        try await republishUnconfirmed()
        report()
        while true {
            if stopRequested() || Task.isCancelled {
                try await stop()
                await service.transport.shutdown()
                return
            }
            if try await cycle() {
                report(phase: .finished)
                service.outcome.withLock { $0 = (.budgetReached, optimizer.summary) }
                await service.transport.shutdown()
                return
            }
            report()
        }
    }

    var progress: StudyMachine.Progress {
        StudyMachine.Progress(observations: optimizer.observationCount, totalCost: optimizer.cumulativeCost)
    }

    /// One turn: results in, decisions, one commit, then acknowledgements and publishes. Returns true when the
    /// study finished.
    mutating func cycle() async throws -> Bool {
        var cycle = Cycle(time: service.clock())
        // Once the machine has taken a message in, nothing may suspend (and so be cancelled) before the commit:
        // the optimizer and the machine would be ahead of the store. So a withdrawing cycle receives nothing else.
        if withdrawPending {
            withdrawPending = false
            try await withdrawQueued(into: &cycle)
        } else {
            // With free slots, suggestions go out at once; otherwise wait for results (or the next deadline).
            let timeout = machine.freeSlots(progress) > 0 ? Duration.zero : receiveTimeout()
            try await take(receiveBurst(timeout: timeout), into: &cycle)
        }
        try await carry(machine.tick(now: service.clock(), progress: progress), into: &cycle)
        try await commit(&cycle.step)
        // Durable: now the broker may forget them, and the workers may have them.
        if !cycle.acknowledge.isEmpty {
            try await service.transport.acknowledge(cycle.acknowledge.map { cycle.messages[$0] })
        }
        for (index, reason) in cycle.deadLetters {
            logger.warning("rejected a message", metadata: ["reason": "\(reason)"])
            try await service.transport.deadLetter(cycle.messages[index], reason: reason)
            service.metrics.countDeadLetter(reason: reason)
        }
        if cycle.finished {
            _ = try await service.transport.withdrawQueuedSuggestions()
            // A finished study's database holds one complete snapshot: `status` and `report` read it fast.
            try await flush(completeSnapshot: true)
            return true
        }
        try await publish(cycle.publish)
        return false
    }

    /// Waits up to `timeout` for results, then gathers the rest of a burst for at most `gatherWindow` after the
    /// first, so that it costs one refit rather than several. The window is a deadline, not a gap: with results
    /// arriving steadily, a gap-based window would hold the cycle (and the next suggestions) until the queue of
    /// suggestions ran dry and every worker idled.
    ///
    /// Gathering saves refits, so it never waits longer than the last `suggest` took: a study whose suggestions
    /// are cheap (the random phase, small n) answers at once instead.
    func receiveBurst(timeout: Duration) async throws -> [InboundMessage] {
        var messages = try await service.transport.receiveResults(maximum: configuration.batchLimit, timeout: timeout)
        let deadline = ContinuousClock.now + min(configuration.gatherWindow, max(lastSuggestDuration, .milliseconds(1)))
        while !messages.isEmpty, messages.count < configuration.batchLimit {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            let more = try await service.transport.receiveResults(
                maximum: configuration.batchLimit - messages.count, timeout: left)
            if more.isEmpty { break }
            messages += more
        }
        return messages
    }

    func receiveTimeout() -> Duration {
        var timeout = configuration.pollInterval
        if let deadline = machine.nextDeadline {
            let seconds = max(deadline.timeIntervalSince(service.clock()), 0.01)
            timeout = min(timeout, .milliseconds(Int64(seconds * 1000)))
        }
        return timeout
    }

    /// Decodes messages, gives them to the machine and carries out its decisions.
    mutating func take(_ messages: [InboundMessage], into cycle: inout Cycle) async throws {
        guard !messages.isEmpty else { return }
        let offset = cycle.messages.count
        var batch: [StudyMachine.Received] = []
        for inbound in messages {
            do {
                let message = try WireFormat.decodeWorkerMessage(inbound.body, expectedStudy: configuration.study)
                batch.append(.message(message))
                cycle.decoded.append(message)
            } catch {
                batch.append(.undecodable(reason: error.description))
                cycle.decoded.append(nil)
            }
        }
        cycle.messages += messages
        try await carry(machine.received(batch, now: service.clock()), into: &cycle, offset: offset)
    }

    /// Carries out the machine's actions (`offset`: where the batch they index starts in the cycle's messages).
    mutating func carry(_ actions: [StudyMachine.Action], into cycle: inout Cycle, offset: Int = 0) async throws {
        for action in actions {
            switch action {
            case .observe(let index, let id, let status):
                guard let message = cycle.decoded[offset + index] else { continue }
                let parameters = wireParameters(optimizerParameters(of: id))
                let observation: Observation =
                    status == .success
                    ? .success(id: id, output: message.output ?? .nan, cost: message.cost ?? .nan)
                    : .failure(id: id, cost: message.cost)
                do {
                    try optimizer.observe(observation)
                } catch {
                    // The ledger and the optimizer agree by construction; if they ever do not, keep running.
                    logger.error(
                        "the optimizer refused a result", metadata: ["suggestion.id": "\(id)", "error": "\(error)"])
                }
                optimizerChanged = true
                cycle.step.results.append(.init(message: message, parameters: parameters))
                service.metrics.countResult(status)
            case .forget(let id, let reason):
                if optimizer.forget(id) { optimizerChanged = true }
                logger.debug("forgetting a suggestion", metadata: ["suggestion.id": "\(id)", "reason": "\(reason)"])
            case .lost(let id, let attempt, let leaseExpired):
                if leaseExpired {
                    logger.warning("lease expired", metadata: ["suggestion.id": "\(id)", "attempt": "\(attempt)"])
                    service.metrics.leaseExpiries.increment()
                } else {
                    service.metrics.countResult(.lost)
                }
            case .log(let index, let disposition, let reason):
                let inbound = cycle.messages[offset + index]
                let message = cycle.decoded[offset + index]
                cycle.step.messages.append(
                    .init(body: inbound.body, message: message, disposition: disposition, reason: reason))
                switch disposition {
                case .late: service.metrics.lateResults.increment()
                case .duplicate: service.metrics.duplicates.increment()
                default: break
                }
                if let reason {
                    logger.debug(
                        "message",
                        metadata: [
                            "suggestion.id": "\(message?.suggestionID ?? "?")",
                            "disposition": "\(disposition.rawValue)",
                            "reason": "\(reason)",
                        ])
                }
            case .acknowledge(let index):
                cycle.acknowledge.append(offset + index)
            case .deadLetter(let index, let reason):
                cycle.deadLetters.append((offset + index, reason))
            case .suggest(let count):
                let suggestions = try suggest(count: count, into: &cycle.step)
                try await carry(machine.issued(suggestions.map(\.id)), into: &cycle)
            case .publish(let id, let attempt):
                if attempt > 1 { service.metrics.reissues.increment() }
                cycle.publish.append((id, attempt))
            case .withdrawQueued:
                withdrawPending = true
            case .finish:
                cycle.finished = true
            }
        }
    }

    /// Budget reached: takes back from the queue what nobody started, and waits (up to the grace) for the runs in
    /// flight.
    mutating func withdrawQueued(into cycle: inout Cycle) async throws {
        let removed = try await service.transport.withdrawQueuedSuggestions()
        // A worker may have taken a suggestion just before the purge: its `started` may already be waiting. Take in
        // what is waiting first, so that such a run counts as running (and its result is awaited) instead of being
        // withdrawn while it trains.
        let waiting = try await service.transport.receiveResults(
            maximum: configuration.batchLimit, timeout: .milliseconds(10))
        try await take(waiting, into: &cycle)
        try await carry(machine.withdrawQueued(), into: &cycle)
        logger.info("budget reached: waiting for the runs in flight", metadata: ["withdrawn": "\(removed)"])
    }
}
