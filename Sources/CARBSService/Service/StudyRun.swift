import CARBSCore
import CARBSMessaging
import Foundation
import Logging
import ServiceLifecycle

/// One run of the optimizer service: the mutable state and the loop. Lives only inside `OptimizerService.run`.
struct StudyRun {
    let service: OptimizerService
    var optimizer: CARBSOptimizer
    var ledger: StudyLedger
    /// Ids whose ledger entry changed since the last commit.
    var dirty: Set<String> = []
    let started = ContinuousClock.now
    var draining = false
    var drainDeadline: Date?
    let integerParameters: Set<String>
    /// The optimizer's summary at the last report, with the counts it was built at: `report()` runs every loop
    /// turn, and building a summary walks every observation (the Pareto set), so it is rebuilt only when a
    /// suggestion was made, observed or forgotten since.
    var reportedSummary: (counts: [Int], summary: CARBSSummary)?

    var configuration: OptimizerService.Configuration { service.configuration }
    var logger: Logger { service.logger }

    init(service: OptimizerService) throws {
        self.service = service
        let leaseSeconds = Double(service.configuration.leaseSeconds)
        if let saved = try service.persistence.resume() {
            let snapshot = try SnapshotCoding.decode(saved.snapshot)
            optimizer = try CARBSOptimizer(restoring: snapshot)
            // Leases restart from now: heartbeats sent while the optimizer was down are still in the queue.
            let now = service.clock()
            let queuesSurvived = service.configuration.queuesSurviveRestart
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
            ledger = StudyLedger(entries: entries, leaseSeconds: leaseSeconds, maxAttempts: service.configuration.maxAttempts)
            service.logger.info(
                "resuming study",
                metadata: [
                    "study": "\(service.configuration.study)", "observations": "\(optimizer.summary.successCount)",
                    "in_flight": "\(ledger.inFlightCount)",
                ])
        } else {
            optimizer = try service.newOptimizer()
            ledger = StudyLedger(leaseSeconds: leaseSeconds, maxAttempts: service.configuration.maxAttempts)
            var step = PersistenceStep(time: service.clock())
            step.snapshot = try SnapshotCoding.encode(optimizer.snapshot)
            try service.persistence.commit(step)
        }
        integerParameters = Set(optimizer.parameters.filter(\.space.isInteger).map(\.name))
    }

    // MARK: - The loop

    mutating func run(stopRequested: () -> Bool) async throws {
        // An optimizer waiting for an unreachable broker must still stop on SIGTERM.
        do {
            let transport = service.transport
            try await cancelWhenGracefulShutdown { try await transport.start() }
        } catch where Task.isCancelled || Task.isShuttingDownGracefully || stopRequested() {
            try stop()
            await service.transport.shutdown()
            return
        }
        do {
            try await loop(stopRequested: stopRequested)
        } catch is CancellationError {
            // Cancelled (not a graceful shutdown): every step so far is committed; save the rest, hand the
            // unacknowledged results back to the queue, and stop as if asked to.
            try stop()
            await service.transport.shutdown()
        }
    }

    /// Stops on request: saves what is not saved yet; a later start resumes from there.
    mutating func stop() throws {
        try flush()
        logger.notice("stopping on request; the study resumes on the next start", metadata: ["study": "\(configuration.study)"])
        service.outcome.withLock { $0 = (.interrupted, optimizer.summary) }
        report(phase: .interrupted)
    }

    mutating func loop(stopRequested: () -> Bool) async throws {
        try await republishUnconfirmed()
        report()
        while true {
            if stopRequested() || Task.isCancelled {
                try stop()
                await service.transport.shutdown()
                return
            }
            if !draining && budgetReached {
                try await beginDraining()
            }
            if draining {
                let running = ledger.entries.values.filter { $0.phase == .running || $0.phase == .publishing }.count
                if running == 0 || service.clock() >= drainDeadline! {
                    try await finish()
                    return
                }
            } else {
                try await issueSuggestions()
            }
            var messages = try await service.transport.receiveResults(
                maximum: configuration.batchLimit, timeout: receiveTimeout())
            // A burst arrives over a few milliseconds: gather it, so that it costs one refit rather than several.
            while !messages.isEmpty, messages.count < configuration.batchLimit {
                let more = try await service.transport.receiveResults(
                    maximum: configuration.batchLimit - messages.count, timeout: configuration.gatherWindow)
                if more.isEmpty { break }
                messages += more
            }
            if !messages.isEmpty {
                try await handle(messages)
            }
            try await expireLeases()
            report()
        }
    }

    var observationCount: Int { optimizer.observationCount }

    var budgetReached: Bool {
        if let max = configuration.maxObservations, optimizer.observationCount >= max { return true }
        if let max = configuration.maxTotalCost, optimizer.cumulativeCost >= max { return true }
        return false
    }

    func receiveTimeout() -> Duration {
        var timeout = configuration.pollInterval
        if let deadline = ledger.nextLeaseDeadline {
            let seconds = max(deadline.timeIntervalSince(service.clock()), 0.01)
            timeout = min(timeout, .milliseconds(Int64(seconds * 1000)))
        }
        return timeout
    }

    // MARK: - Suggestions out

    /// Fills the free slots: one fit for the whole batch, each point chosen with the others fantasized.
    mutating func issueSuggestions() async throws {
        var count = configuration.maxInFlight - ledger.inFlightCount
        if let max = configuration.maxObservations {
            count = min(count, max - observationCount - ledger.inFlightCount)
        }
        guard count > 0 else { return }
        let fitsBefore = optimizer.fitCount
        let suggestions = try service.metrics.time(service.metrics.suggestLatency) {
            try optimizer.suggest(count: count)
        }
        if optimizer.fitCount > fitsBefore { service.refitCounter.withLock { $0 += 1 } }
        service.metrics.suggestionsIssued.increment(by: suggestions.count)
        service.metrics.fallbackSuggestions.increment(by: suggestions.filter { $0.origin == .fallback }.count)
        var step = PersistenceStep(time: service.clock())
        for suggestion in suggestions {
            ledger.issued(id: suggestion.id)
            dirty.insert(suggestion.id)
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
        try commit(&step, snapshot: true)
        try await publish(suggestions.map { ($0.id, 1) })
    }

    /// Publishes attempts concurrently (their confirms share the broker's round trips), then records them as
    /// queued. A crash before the record leaves them `publishing`: the next start publishes them again, and the
    /// protocol's idempotence absorbs a duplicate.
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
        for (id, _) in attempts {
            ledger.published(id: id)
            dirty.insert(id)
        }
    }

    /// After a restart: suggestions saved but maybe never confirmed by the queue are published again.
    mutating func republishUnconfirmed() async throws {
        let pending = ledger.entries.values.filter { $0.phase == .publishing }.sorted { $0.id < $1.id }
        guard !pending.isEmpty else { return }
        logger.info("publishing suggestions saved before the restart", metadata: ["count": "\(pending.count)"])
        try await publish(pending.map { ($0.id, $0.attempt) })
        try flush()
    }

    // MARK: - Results in

    mutating func handle(_ messages: [InboundMessage]) async throws {
        var step = PersistenceStep(time: service.clock())
        var accepted: [InboundMessage] = []
        var rejected: [(InboundMessage, String)] = []
        var reissues: [(id: String, attempt: Int)] = []
        var changedOptimizer = false
        for inbound in messages {
            let decoded: WorkerMessage
            do {
                decoded = try WireFormat.decodeWorkerMessage(inbound.body, expectedStudy: configuration.study)
            } catch {
                rejected.append((inbound, error.description))
                step.messages.append(.init(body: inbound.body, message: nil, disposition: .rejected, reason: error.description))
                continue
            }
            let decision = ledger.receive(decoded, now: service.clock())
            var disposition: PersistenceStep.ReceivedMessage.Disposition
            var reason: String?
            switch decision {
            case .observe(let id, _, let status):
                dirty.insert(id)
                let parameters = wireParameters(optimizerParameters(of: id))
                let observation: Observation =
                    status == .success
                    ? .success(id: id, output: decoded.output ?? .nan, cost: decoded.cost ?? .nan)
                    : .failure(id: id, cost: decoded.cost)
                do {
                    try optimizer.observe(observation)
                } catch {
                    // The ledger and the optimizer agree by construction; if they ever do not, keep running.
                    logger.error("the optimizer refused a result", metadata: ["suggestion.id": "\(id)", "error": "\(error)"])
                }
                changedOptimizer = true
                step.results.append(.init(message: decoded, parameters: parameters))
                disposition = .applied
                service.metrics.countResult(status)
            case .reissue(let id, let attempt):
                dirty.insert(id)
                reissues.append((id, attempt))
                disposition = .applied
                reason = "lost: re-issued as attempt \(attempt)"
                service.metrics.countResult(.lost)
                service.metrics.reissues.increment()
            case .forget(let id):
                dirty.insert(id)
                optimizer.forget(id)
                changedOptimizer = true
                disposition = .applied
                service.metrics.countResult(.lost)
                reason =
                    draining
                    ? "lost after the budget was reached: forgotten"
                    : "lost \(configuration.maxAttempts) times: forgotten"
            case .leaseRenewed(let id):
                dirty.insert(id)
                disposition = decoded.kind == .started ? .started : .heartbeat
            case .duplicate(_, let why):
                disposition = decoded.kind == .result && decoded.attempt < (ledger.entries[decoded.suggestionID]?.attempt ?? 0) ? .late : .duplicate
                reason = why
                (disposition == .late ? service.metrics.lateResults : service.metrics.duplicates).increment()
            case .ignore(_, let why):
                disposition = .ignored
                reason = why
            case .reject(let why):
                rejected.append((inbound, why))
                step.messages.append(.init(body: inbound.body, message: decoded, disposition: .rejected, reason: why))
                continue
            }
            if let reason {
                logger.debug(
                    "message", metadata: ["suggestion.id": "\(decoded.suggestionID)", "disposition": "\(disposition.rawValue)", "reason": "\(reason)"])
            }
            step.messages.append(.init(body: inbound.body, message: decoded, disposition: disposition, reason: reason))
            accepted.append(inbound)
        }
        try commit(&step, snapshot: changedOptimizer)
        // Durable: now the broker may forget them.
        try await service.transport.acknowledge(accepted)
        for (message, reason) in rejected {
            logger.warning("rejected a message", metadata: ["reason": "\(reason)"])
            try await service.transport.deadLetter(message, reason: reason)
            service.metrics.countDeadLetter(reason: reason)
        }
        try await publish(reissues)
    }

    mutating func expireLeases() async throws {
        let decisions = ledger.expireLeases(now: service.clock())
        guard !decisions.isEmpty else { return }
        var reissues: [(id: String, attempt: Int)] = []
        var changedOptimizer = false
        var step = PersistenceStep(time: service.clock())
        for decision in decisions {
            switch decision {
            case .reissue(let id, let attempt):
                logger.warning("lease expired: re-issuing", metadata: ["suggestion.id": "\(id)", "attempt": "\(attempt)"])
                service.metrics.leaseExpiries.increment()
                service.metrics.reissues.increment()
                reissues.append((id, attempt))
                dirty.insert(id)
                step.expiredAttempts.append(.init(id: id, attempt: attempt - 1))
            case .forget(let id):
                logger.warning(
                    draining ? "lease expired after the budget was reached: forgetting" : "lease expired too often: forgetting",
                    metadata: ["suggestion.id": "\(id)"])
                service.metrics.leaseExpiries.increment()
                optimizer.forget(id)
                changedOptimizer = true
                dirty.insert(id)
                step.expiredAttempts.append(.init(id: id, attempt: ledger.entries[id]?.attempt ?? 1))
            default:
                break
            }
        }
        try commit(&step, snapshot: changedOptimizer)
        try await publish(reissues)
    }

    // MARK: - The end

    /// Budget reached: stop issuing, withdraw what nobody started, wait (up to the grace) for the runs in flight.
    mutating func beginDraining() async throws {
        draining = true
        ledger.stopReissuing()
        let grace = configuration.drainGrace.components
        drainDeadline = service.clock().addingTimeInterval(Double(grace.seconds) + Double(grace.attoseconds) * 1e-18)
        let removed = try await service.transport.withdrawQueuedSuggestions()
        // A worker may have taken a suggestion just before the purge: its `started` may already be waiting. Take in
        // what is waiting first, so that such a run counts as running (and its result is awaited) instead of being
        // withdrawn while it trains.
        let waiting = try await service.transport.receiveResults(
            maximum: configuration.batchLimit, timeout: .milliseconds(10))
        if !waiting.isEmpty {
            try await handle(waiting)
        }
        var changed = false
        for (id, entry) in ledger.entries where entry.phase == .queued {
            ledger.withdraw(id: id)
            optimizer.forget(id)
            dirty.insert(id)
            changed = true
        }
        var step = PersistenceStep(time: service.clock())
        try commit(&step, snapshot: changed)
        logger.info("budget reached: waiting for the runs in flight", metadata: ["withdrawn": "\(removed)"])
    }

    mutating func finish() async throws {
        for decision in ledger.withdrawAll() {
            if case .forget(let id) = decision {
                optimizer.forget(id)
                dirty.insert(id)
            }
        }
        _ = try await service.transport.withdrawQueuedSuggestions()
        var step = PersistenceStep(time: service.clock())
        try commit(&step, snapshot: true)
        report(phase: .finished)
        service.outcome.withLock { $0 = (.budgetReached, optimizer.summary) }
        await service.transport.shutdown()
    }

    // MARK: - Helpers

    /// Commits a step with the dirty ledger entries and, if asked, the optimizer snapshot.
    mutating func commit(_ step: inout PersistenceStep, snapshot: Bool) throws {
        step.entries = dirty.sorted().compactMap { ledger.entries[$0] }
        if snapshot { step.snapshot = try SnapshotCoding.encode(optimizer.snapshot) }
        guard !step.isEmpty else { return }
        let persistence = service.persistence
        do {
            try service.metrics.time(service.metrics.commitLatency) { try persistence.commit(step) }
        } catch {
            service.liveState.withLock { $0.lastCommitError = "\(error)" }
            throw error
        }
        service.liveState.withLock {
            $0.lastCommitAt = step.time
            $0.lastCommitError = nil
        }
        dirty.removeAll()
    }

    mutating func flush() throws {
        var step = PersistenceStep(time: service.clock())
        try commit(&step, snapshot: true)
    }

    func optimizerParameters(of id: String) -> [String: Double] {
        if let outstanding = optimizer.outstanding.first(where: { $0.id == id }) { return outstanding.parameters }
        return [:]
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
        if let cached = reportedSummary, cached.counts == counts {
            summary = cached.summary
        } else {
            summary = optimizer.summary
            reportedSummary = (counts, summary)
        }
        let running = ledger.entries.values.filter { $0.phase == .running }.count
        let queued = ledger.entries.values.filter { $0.phase == .queued || $0.phase == .publishing }.count
        let progress = StudyProgress(
            observations: summary.successCount + summary.failureCount, maxObservations: configuration.maxObservations,
            totalCost: summary.cumulativeCost, maxTotalCost: configuration.maxTotalCost,
            inFlight: ledger.inFlightCount, running: running, failures: summary.failureCount,
            bestOutput: summary.best?.output, bestCost: summary.best?.cost, paretoSize: summary.paretoSet.count,
            elapsed: ContinuousClock.now - started, isDraining: draining)
        let metrics = service.metrics
        metrics.inFlight.record(progress.inFlight)
        metrics.queued.record(queued)
        metrics.observations.record(progress.observations)
        if let best = progress.bestOutput { metrics.bestOutput.record(best) }
        let parameters = optimizer.parameters
        let direction = optimizer.configuration.direction
        service.liveState.withLock { live in
            live.phase = phase ?? (draining ? .draining : .running)
            live.progress = progress
            live.summary = summary
            live.parameters = parameters
            live.direction = direction
        }
        service.onProgress?(progress)
    }
}
