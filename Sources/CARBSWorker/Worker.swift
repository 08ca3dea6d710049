import CARBSMessaging
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A stateless worker: takes one suggestion at a time from a `WorkerTransport`, trains it and reports back.
///
/// For each suggestion: decode it, publish `started` (confirmed), acknowledge the suggestion, run the trainer
/// while publishing a `heartbeat` every `lease_seconds / 3`, publish the `result`. So a worker that dies before
/// `started` is out loses nothing (the queue redelivers the suggestion) and one that dies later is caught by
/// the optimizer's lease.
///
/// - Graceful shutdown (ServiceLifecycle, SIGTERM in the CLI): take no more work; finish the current run and
///   report it (or, with `abortOnShutdown`, stop it and report `lost`); hand back a suggestion received but not
///   started; then return.
/// - Cancellation: stop the trainer, report nothing, return (the queue or the lease takes care of the run).
/// - Transport errors are logged and retried with backoff.
/// - An undecodable suggestion is logged at error level, counted and acknowledged (releasing it would loop).
///
/// The worker owns its transport: `run()` calls `start()` first and `shutdown()` last.
public final class Worker: Service, Sendable {
    private let transport: any WorkerTransport
    private let trainer: any Trainer
    /// The worker's configuration.
    public let configuration: Configuration
    private let logger: Logger
    private let shutdown = ShutdownSignal()
    private let counters = Mutex(Statistics())

    /// Creates a worker.
    /// - Parameters:
    ///   - transport: The study's queues, seen from a worker.
    ///   - trainer: What trains each suggestion (`CommandTrainer` for an external command).
    ///   - configuration: Identity, shutdown behaviour, limits, retry delays.
    ///   - logger: The worker's logger; it gets `worker.id` metadata, and `suggestion.id` per run.
    public init(
        transport: any WorkerTransport, trainer: any Trainer, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "carbs.worker")
    ) {
        self.transport = transport
        self.trainer = trainer
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerID)"
        self.logger = logger
    }

    /// What the worker has done so far.
    public var statistics: Statistics { counters.withLock { $0 } }

    /// Starts a graceful shutdown, as SIGTERM does under a `ServiceGroup`.
    public func shutdownGracefully() {
        shutdown.trigger()
    }

    /// Takes and runs suggestions until shut down, cancelled, or `maxRuns` runs are done.
    /// - Throws: What `transport.start()` throws; nothing later (transport errors are retried).
    public func run() async throws {
        // A worker waiting for an unreachable broker must still stop on SIGTERM.
        do {
            try await cancelWhenGracefulShutdown { [transport] in try await transport.start() }
        } catch where Task.isCancelled || Task.isShuttingDownGracefully {
            logger.notice("stopped before the broker could be reached")
            await transport.shutdown()
            return
        }
        logger.info("worker started", metadata: ["abort_on_shutdown": "\(configuration.abortOnShutdown)"])
        await withGracefulShutdownHandler {
            await takeSuggestions()
        } onGracefulShutdown: { [shutdown] in
            shutdown.trigger()
        }
        await transport.shutdown()
        let statistics = self.statistics
        logger.info(
            "worker stopped",
            metadata: [
                "runs": "\(statistics.runs)", "succeeded": "\(statistics.succeeded)",
                "failed": "\(statistics.failed)", "lost": "\(statistics.lost)",
                "undecodable": "\(statistics.undecodable)", "released": "\(statistics.released)",
            ])
    }

    // MARK: - The loop

    private func takeSuggestions() async {
        var failures = 0
        while !shutdown.isTriggered && !Task.isCancelled {
            if let maxRuns = configuration.maxRuns, statistics.runs >= maxRuns {
                logger.info("finished \(maxRuns) runs; stopping")
                return
            }
            let inbound: InboundMessage?
            do {
                inbound = try await transport.receiveSuggestion(timeout: configuration.pollInterval)
                failures = 0
            } catch {
                if Task.isCancelled { return }
                failures += 1
                countTransportError()
                let delay = configuration.retryBackoff.delay(attempt: failures)
                logger.warning("receiving a suggestion failed; retrying in \(delay)", metadata: ["error": "\(error)"])
                await shutdown.sleep(for: delay)
                continue
            }
            guard let inbound else { continue }
            guard !shutdown.isTriggered && !Task.isCancelled else {
                await release(inbound, because: "the worker is shutting down", logger: logger)
                return
            }
            await handle(inbound)
        }
    }

    private func handle(_ inbound: InboundMessage) async {
        let suggestion: SuggestionMessage
        do {
            suggestion = try WireFormat.decodeSuggestion(inbound.body, expectedStudy: configuration.study)
        } catch {
            counters.withLock { $0.undecodable += 1 }
            logger.error(
                "dropping an undecodable suggestion",
                metadata: [
                    "reason": "\(error)", "message.id": "\(inbound.messageID ?? "-")",
                    "body": "\(String(decoding: inbound.body.prefix(500), as: UTF8.self))",
                ])
            await retrying("acknowledge an undecodable suggestion", attempts: 3, logger: logger) {
                try await self.transport.acknowledge(inbound)
            }
            return
        }

        var logger = self.logger
        logger[metadataKey: "suggestion.id"] = "\(suggestion.suggestionID)"
        logger[metadataKey: "attempt"] = "\(suggestion.attempt)"
        logger[metadataKey: "study"] = "\(suggestion.study)"

        let started = message(.started, for: suggestion)
        let startedOut = await retrying(
            "publish started", attempts: configuration.startedAttempts, logger: logger
        ) {
            try await self.transport.publish(result: self.outbound(started))
        }
        guard startedOut else {
            await release(inbound, because: "its started message could not be published", logger: logger)
            return
        }
        await retrying("acknowledge the suggestion", attempts: 3, logger: logger) {
            try await self.transport.acknowledge(inbound)
        }
        logger.info("run started", metadata: ["params": "\(suggestion.params)"])

        guard let outcome = await train(suggestion, logger: logger) else {
            logger.notice("cancelled during the run: no result is sent (the lease will re-issue it)")
            return
        }
        let result = resultMessage(for: suggestion, outcome: outcome)
        let delivered = await retrying("publish the result", attempts: nil, logger: logger) {
            try await self.transport.publish(result: self.outbound(result))
        }
        guard delivered else {
            logger.notice("cancelled while publishing the result (the lease will re-issue the run)")
            return
        }
        counters.withLock { counters in
            counters.runs += 1
            switch result.status {
            case .success?: counters.succeeded += 1
            case .failure?: counters.failed += 1
            case .lost?, nil: counters.lost += 1
            }
        }
        logger.info(
            "run finished",
            metadata: [
                "status": "\(result.status?.rawValue ?? "-")", "output": "\(result.output.map { "\($0)" } ?? "-")",
                "cost": "\(result.cost.map { "\($0)" } ?? "-")", "message": "\(result.message ?? "")",
            ])
    }

    // MARK: - One run

    private enum RunEvent: Sendable {
        case finished(TrainerOutcome)
        case abortRequested
        case timedOut
        case helperStopped
    }

    /// Why the worker stopped a run itself.
    private enum Interruption {
        case aborted
        case timedOut
    }

    /// Runs the trainer with heartbeats alongside; `nil` when the worker's task was cancelled.
    ///
    /// Besides the heartbeats, two helpers may end the run early: graceful shutdown with `abortOnShutdown`
    /// (reported `lost`), and a backstop `timeoutGrace` after the suggestion's `timeout_seconds` for trainers that
    /// do not enforce the timeout themselves (reported `failure`; `CommandTrainer` stops its process earlier).
    private func train(_ suggestion: SuggestionMessage, logger: Logger) async -> TrainerOutcome? {
        let heartbeat = Heartbeat { [self] in await self.sendHeartbeat(for: suggestion, logger: logger) }
        let interval =
            configuration.heartbeatInterval
            ?? (suggestion.leaseSeconds > 0 ? .milliseconds(suggestion.leaseSeconds * 1000 / 3) : nil)
        let backstop: Duration? =
            suggestion.timeoutSeconds > 0 ? .seconds(suggestion.timeoutSeconds) + configuration.timeoutGrace : nil
        let startedAt = Date()
        let (outcome, interruption) = await withTaskGroup(of: RunEvent.self) {
            group -> (TrainerOutcome?, Interruption?) in
            group.addTask { [trainer] in
                do {
                    return .finished(try await trainer.train(suggestion, heartbeat: heartbeat))
                } catch is CancellationError {
                    return .finished(
                        TrainerOutcome(status: .lost, message: "cancelled", startedAt: startedAt, finishedAt: Date()))
                } catch {
                    return .finished(
                        TrainerOutcome(
                            status: .failure, message: "the trainer threw: \(error)", startedAt: startedAt,
                            finishedAt: Date()))
                }
            }
            if let interval {
                group.addTask {
                    while true {
                        do { try await Task.sleep(for: interval) } catch { break }
                        await heartbeat()
                    }
                    return .helperStopped
                }
            }
            if let backstop {
                group.addTask {
                    do { try await Task.sleep(for: backstop) } catch { return .helperStopped }
                    return .timedOut
                }
            }
            if configuration.abortOnShutdown {
                group.addTask { [shutdown] in
                    await shutdown.wait()
                    return Task.isCancelled ? .helperStopped : .abortRequested
                }
            }
            var outcome: TrainerOutcome?
            var interruption: Interruption?
            while let event = await group.next() {
                switch event {
                case .finished(let finished):
                    outcome = finished
                    group.cancelAll()
                case .abortRequested where outcome == nil && interruption == nil:
                    logger.notice("shutting down: aborting the run")
                    interruption = .aborted
                    group.cancelAll()
                case .timedOut where outcome == nil && interruption == nil:
                    logger.warning("the trainer ignored its timeout: cancelling it")
                    interruption = .timedOut
                    group.cancelAll()
                case .abortRequested, .timedOut, .helperStopped:
                    break
                }
            }
            return (outcome, interruption)
        }
        guard !Task.isCancelled, var outcome else { return nil }
        switch interruption {
        case .aborted? where outcome.status != .success:
            outcome.status = .lost
            outcome.message = "aborted: the worker is shutting down"
        case .timedOut? where outcome.status != .success:
            outcome.status = .failure
            outcome.message = "timed out after \(suggestion.timeoutSeconds) s"
        default:
            break
        }
        return outcome
    }

    private func sendHeartbeat(for suggestion: SuggestionMessage, logger: Logger) async {
        do {
            try await transport.publish(result: outbound(message(.heartbeat, for: suggestion)))
            counters.withLock { $0.heartbeats += 1 }
        } catch {
            if Task.isCancelled { return }
            countTransportError()
            logger.warning("publishing a heartbeat failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Messages

    private func message(_ kind: WorkerMessage.Kind, for suggestion: SuggestionMessage) -> WorkerMessage {
        WorkerMessage(
            kind: kind, study: suggestion.study, suggestionID: suggestion.suggestionID, attempt: suggestion.attempt,
            worker: configuration.workerID, sentAt: Date())
    }

    /// The `result` message for an outcome, made valid: a success needs a finite output and a finite cost > 0
    /// (the wall-clock seconds when the trainer gave none), numbers JSON cannot carry are left out.
    func resultMessage(for suggestion: SuggestionMessage, outcome: TrainerOutcome) -> WorkerMessage {
        var result = message(.result, for: suggestion)
        result.startedAt = outcome.startedAt
        result.finishedAt = outcome.finishedAt
        result.message = outcome.message
        result.output = outcome.output.flatMap { $0.isFinite ? $0 : nil }
        let metrics = outcome.metrics?.filter { $0.value.isFinite }
        result.metrics = metrics?.isEmpty == false ? metrics : nil
        let wallClock = max(outcome.wallClockSeconds, 1e-6)
        if let cost = outcome.cost, cost.isFinite, cost > 0 || (outcome.status != .success && cost == 0) {
            result.cost = cost
        } else if outcome.status == .success {
            result.cost = wallClock
        }
        result.status = outcome.status
        if outcome.status == .success && result.output == nil {
            result.status = .failure
            let reported = outcome.output.map { "\($0)" } ?? "none"
            result.message = "the trainer reported success without a finite output (output: \(reported))"
        }
        return result
    }

    private func outbound(_ message: WorkerMessage) -> OutboundMessage {
        OutboundMessage(
            body: WireFormat.encode(message), messageID: message.messageID, correlationID: message.suggestionID)
    }

    // MARK: - Transport helpers

    /// Runs `operation` until it succeeds, `attempts` run out (`nil`: never) or the task is cancelled.
    /// - Returns: Whether it succeeded.
    @discardableResult
    private func retrying(
        _ what: String, attempts: Int?, logger: Logger, _ operation: @Sendable () async throws -> Void
    ) async -> Bool {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                try await operation()
                return true
            } catch {
                if Task.isCancelled { return false }
                countTransportError()
                if let attempts, attempt >= attempts {
                    logger.error("could not \(what) after \(attempt) attempts", metadata: ["error": "\(error)"])
                    return false
                }
                let delay = configuration.retryBackoff.delay(attempt: attempt)
                logger.warning("could not \(what); retrying in \(delay)", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
            }
        }
        return false
    }

    private func release(_ inbound: InboundMessage, because reason: String, logger: Logger) async {
        do {
            try await transport.release(inbound)
            counters.withLock { $0.released += 1 }
            logger.info("handed a suggestion back to the queue: \(reason)")
        } catch {
            countTransportError()
            logger.warning(
                "could not hand a suggestion back (the queue redelivers it when the connection closes)",
                metadata: ["error": "\(error)"])
        }
    }

    private func countTransportError() {
        counters.withLock { $0.transportErrors += 1 }
    }
}
