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
        self.service = service
        let configuration = service.configuration
        let leaseSeconds = Double(configuration.leaseSeconds)
        let grace = configuration.drainGrace.components
        let settings = StudyMachine.Settings(
            maxInFlight: configuration.maxInFlight, maxObservations: configuration.maxObservations,
            maxTotalCost: configuration.maxTotalCost,
            drainGrace: Double(grace.seconds) + Double(grace.attoseconds) * 1e-18)
        let ledger: StudyLedger
        if let saved = try service.persistence.resume() {
            let snapshot = try SnapshotCoding.decode(saved.snapshot)
            optimizer = try CARBSOptimizer(restoring: snapshot)
            // Leases restart from now: heartbeats sent while the optimizer was down are still in the queue.
            let now = service.clock()
            let queuesSurvived = configuration.queuesSurviveRestart
            let entries = saved.entries.map { entry -> StudyLedger.Entry in
                var entry = entry
                switch entry.phase {
                case .running:
                    // With queues that died with the process, so did the workers: their runs are lost now (the
                    // first lease check re-issues them); otherwise they may still be training.
                    entry.leaseDeadline = queuesSurvived ? now.addingTimeInterval(leaseSeconds) : now
                case .queued where !queuesSurvived:
                    // The queue that held it is gone: publish it again.
                    entry.phase = .publishing
                default:
                    break
                }
                return entry
            }
            ledger = StudyLedger(entries: entries, leaseSeconds: leaseSeconds, maxAttempts: configuration.maxAttempts)
            service.logger.info(
                "resuming study",
                metadata: [
                    "study": "\(configuration.study)", "observations": "\(optimizer.observationCount)",
                    "in_flight": "\(ledger.inFlightCount)",
                ])
            // The first commit of this run writes a complete snapshot (`checkpoints` starts without one).
            optimizerChanged = true
        } else {
            optimizer = try service.newOptimizer()
            ledger = StudyLedger(leaseSeconds: leaseSeconds, maxAttempts: configuration.maxAttempts)
            var step = PersistenceStep(time: service.clock())
            let data = try SnapshotCoding.encode(optimizer.snapshot)
            step.snapshot = data
            try await service.persistence.commit(step)
            checkpoints.wroteSnapshot(bytes: data.count)
        }
        savedMark = optimizer.snapshotMark
        machine = StudyMachine(settings: settings, ledger: ledger)
        integerParameters = Set(optimizer.parameters.filter(\.space.isInteger).map(\.name))
    }

    // MARK: - The loop

    mutating func run(stopRequested: () -> Bool) async throws {
        // An optimizer waiting for an unreachable broker must still stop on SIGTERM.
        do {
            let transport = service.transport
            try await cancelWhenGracefulShutdown { try await transport.start() }
        } catch where Task.isCancelled || Task.isShuttingDownGracefully || stopRequested() {
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
        logger.notice("stopping on request; the study resumes on the next start", metadata: ["study": "\(configuration.study)"])
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
        if withdrawPending {
            withdrawPending = false
            try await withdrawQueued(into: &cycle)
        }
        // With free slots, suggestions go out at once; otherwise wait for results (or the next deadline).
        let timeout = machine.freeSlots(progress) > 0 ? Duration.zero : receiveTimeout()
        let messages = try await receiveBurst(timeout: timeout)
        try await take(messages, into: &cycle)
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
                    logger.error("the optimizer refused a result", metadata: ["suggestion.id": "\(id)", "error": "\(error)"])
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
                cycle.step.messages.append(.init(body: inbound.body, message: message, disposition: disposition, reason: reason))
                switch disposition {
                case .late: service.metrics.lateResults.increment()
                case .duplicate: service.metrics.duplicates.increment()
                default: break
                }
                if let reason {
                    logger.debug(
                        "message",
                        metadata: [
                            "suggestion.id": "\(message?.suggestionID ?? "?")", "disposition": "\(disposition.rawValue)",
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

    // MARK: - Suggestions out

    /// Chooses `count` suggestions: one fit for the whole batch, each point chosen with the others fantasized.
    /// If the optimizer fails (a numerical failure that the same data would repeat after every restart), the
    /// study goes on with model-free suggestions around the best point, and the failure is logged and counted.
    mutating func suggest(count: Int, into step: inout PersistenceStep) throws -> [Suggestion] {
        let fitsBefore = optimizer.fitCount
        let before = optimizer
        let started = ContinuousClock.now
        defer { lastSuggestDuration = ContinuousClock.now - started }
        var suggestions: [Suggestion]
        do {
            suggestions = try service.metrics.time(service.metrics.suggestLatency) {
                try service.suggester(&optimizer, count)
            }
        } catch {
            optimizer = before
            logger.warning(
                "the optimizer could not choose suggestions: using model-free ones around the best point",
                metadata: ["error": "\(error)", "count": "\(count)"])
            service.metrics.suggestFailures.increment()
            suggestions = optimizer.fallbackSuggestions(count: count)
        }
        optimizerChanged = true
        if optimizer.fitCount > fitsBefore { service.refitCounter.withLock { $0 += 1 } }
        service.metrics.suggestionsIssued.increment(by: suggestions.count)
        service.metrics.fallbackSuggestions.increment(by: suggestions.filter { $0.origin == .fallback }.count)
        for suggestion in suggestions {
            step.newSuggestions.append(
                .init(
                    id: suggestion.id, parameters: wireParameters(suggestion.parameters),
                    prediction: try suggestion.prediction.map { try SnapshotCoding.encode(value: $0) },
                    origin: suggestion.origin.rawValue))
            logger.debug(
                "suggestion",
                metadata: [
                    "suggestion.id": "\(suggestion.id)", "origin": "\(suggestion.origin.rawValue)",
                    "params": "\(suggestion.parameters)",
                ])
        }
        return suggestions
    }

    /// Publishes attempts concurrently (their confirms share the broker's round trips), then tells the machine
    /// (the confirmation is saved with the next commit). A crash before that leaves them `publishing`: the next
    /// start publishes them again, and the protocol's idempotence absorbs a duplicate.
    mutating func publish(_ attempts: [(id: String, attempt: Int)]) async throws {
        guard !attempts.isEmpty else { return }
        let now = service.clock()
        let outbound = try attempts.map { id, attempt -> OutboundMessage in
            let message = SuggestionMessage(
                study: configuration.study, suggestionID: id, attempt: attempt,
                params: wireParameters(optimizerParameters(of: id)), issuedAt: now,
                leaseSeconds: configuration.leaseSeconds, timeoutSeconds: configuration.timeoutSeconds)
            return OutboundMessage(body: WireFormat.encode(message), messageID: message.messageID, correlationID: id)
        }
        let transport = service.transport
        // A broker that refuses or cannot take the messages keeps a publish retrying; SIGTERM must still stop the
        // optimizer. Suggestions not confirmed stay `publishing` and go out again on the next start.
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for message in outbound {
                        group.addTask { try await transport.publish(suggestion: message) }
                    }
                    try await group.waitForAll()
                }
            }
        } catch where Task.isShuttingDownGracefully || Task.isCancelled {
            throw CancellationError()
        }
        machine.published(attempts)
    }

    /// After a restart: suggestions saved but maybe never confirmed by the queue are published again.
    mutating func republishUnconfirmed() async throws {
        let pending = machine.unconfirmed
        guard !pending.isEmpty else { return }
        logger.info("publishing suggestions saved before the restart", metadata: ["count": "\(pending.count)"])
        try await publish(pending)
        try await flush()
    }

    // MARK: - Helpers

    /// Commits the step with the machine's events and, if the optimizer changed, a delta of it (or, now and
    /// then, its complete snapshot).
    mutating func commit(_ step: inout PersistenceStep, completeSnapshot: Bool = false) async throws {
        step.events += machine.takeEvents()
        var snapshotBytes: Int?
        var deltaBytes: Int?
        if optimizerChanged || completeSnapshot {
            if checkpoints.wantsSnapshot || completeSnapshot {
                let data = try SnapshotCoding.encode(optimizer.snapshot)
                step.snapshot = data
                snapshotBytes = data.count
            } else {
                let data = try SnapshotCoding.encode(value: optimizer.snapshotDelta(since: savedMark))
                step.snapshotDelta = data
                deltaBytes = data.count
            }
        }
        guard !step.isEmpty else { return }
        let persistence = service.persistence
        let written = step
        do {
            let started = ContinuousClock.now
            // Not cancellable: a commit half-abandoned would leave the optimizer ahead of the store.
            try await Task { try await persistence.commit(written) }.value
            service.metrics.commitLatency.recordInterval(ContinuousClock.now - started)
        } catch {
            service.liveState.withLock { $0.lastCommitError = "\(error)" }
            throw error
        }
        service.liveState.withLock {
            $0.lastCommitAt = written.time
            $0.lastCommitError = nil
        }
        if let snapshotBytes { checkpoints.wroteSnapshot(bytes: snapshotBytes) }
        if let deltaBytes { checkpoints.wroteDelta(bytes: deltaBytes) }
        savedMark = optimizer.snapshotMark
        optimizerChanged = false
    }

    mutating func flush(completeSnapshot: Bool = false) async throws {
        var step = PersistenceStep(time: service.clock())
        try await commit(&step, completeSnapshot: completeSnapshot)
    }

    func optimizerParameters(of id: String) -> [String: Double] {
        optimizer.parameters(ofOutstanding: id) ?? [:]
    }

    func wireParameters(_ values: [String: Double]) -> [String: ParameterValue] {
        values.reduce(into: [:]) { result, pair in
            result[pair.key] = integerParameters.contains(pair.key) ? .integer(Int(pair.value.rounded())) : .real(pair.value)
        }
    }

    /// Tells `onProgress`, the live view and the gauges where the study stands.
    mutating func report(phase: LiveStudy.Phase? = nil) {
        let counts = [optimizer.observationCount, optimizer.outstandingCount, optimizer.suggestionCount]
        let summary: CARBSSummary
        let now = ContinuousClock.now
        if let cached = reportedSummary,
            cached.counts == counts || (phase == nil && now - cached.at < min(summaryBuildTime * 20, .seconds(1)))
        {
            summary = cached.summary
        } else {
            summary = optimizer.summary
            summaryBuildTime = ContinuousClock.now - now
            reportedSummary = (counts, now, summary)
        }
        let running = machine.ledger.entries.values.filter { $0.phase == .running }.count
        let queued = machine.ledger.entries.values.filter { $0.phase == .queued || $0.phase == .publishing }.count
        // Counts and cost are current; failures, the best point and the Pareto size come from the summary (at most
        // `summaryInterval` old while the study runs).
        let progress = StudyProgress(
            observations: optimizer.observationCount, maxObservations: configuration.maxObservations,
            totalCost: optimizer.cumulativeCost, maxTotalCost: configuration.maxTotalCost,
            inFlight: machine.ledger.inFlightCount, running: running, failures: summary.failureCount,
            bestOutput: summary.best?.output, bestCost: summary.best?.cost, paretoSize: summary.paretoSet.count,
            elapsed: ContinuousClock.now - started, isDraining: machine.isDraining)
        let metrics = service.metrics
        metrics.inFlight.record(progress.inFlight)
        metrics.queued.record(queued)
        metrics.observations.record(progress.observations)
        if let best = progress.bestOutput { metrics.bestOutput.record(best) }
        let parameters = optimizer.parameters
        let direction = optimizer.configuration.direction
        service.liveState.withLock { live in
            live.phase = phase ?? (machine.isDraining ? .draining : .running)
            live.progress = progress
            live.summary = summary
            live.parameters = parameters
            live.direction = direction
        }
        service.onProgress?(progress)
    }
}
