import CARBSMessaging
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import CARBSWorker

/// An in-process trainer: waits `duration` (cancellably), then returns `output`.
private struct SleepingTrainer: Trainer {
    var duration: Duration = .zero
    var output: Double = 0.5
    var started: (@Sendable () -> Void)? = nil

    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome {
        let startedAt = Date()
        started?()
        try await Task.sleep(for: duration)
        return TrainerOutcome(status: .success, output: output, startedAt: startedAt, finishedAt: Date())
    }
}

/// Trains until the transport has seen two heartbeats (or 60 s pass).
private struct HeartbeatWaitingTrainer: Trainer {
    let transport: FakeWorkerTransport

    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome {
        let startedAt = Date()
        let deadline = ContinuousClock.now + .seconds(60)
        while await transport.published.filter({ $0.kind == .heartbeat }).count < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return TrainerOutcome(status: .success, output: 0.5, startedAt: startedAt, finishedAt: Date())
    }
}

private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }

    func wait(timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isSet { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

private func worker(
    _ transport: FakeWorkerTransport, trainer: any Trainer, abortOnShutdown: Bool = false, maxRuns: Int? = nil
) -> Worker {
    Worker(
        transport: transport, trainer: trainer,
        configuration: Worker.Configuration(
            workerID: "test-worker", abortOnShutdown: abortOnShutdown, maxRuns: maxRuns,
            pollInterval: .milliseconds(50), retryBackoff: .init(initial: .milliseconds(5), maximum: .milliseconds(20))),
        logger: Fixtures.logger)
}

/// Runs `worker` in a `ServiceGroup` (SIGTERM semantics without the signal) while `body` drives it.
private func withServiceGroup(
    _ worker: Worker, _ body: @Sendable (ServiceGroup) async throws -> Void
) async throws {
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(services: [worker], logger: Fixtures.logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        try await body(group)
        try await tasks.waitForAll()
    }
}

@Suite("Worker", .timeLimit(.minutes(3)))
struct WorkerTests {
    @Test("publishes started before acknowledging, then the result; every message passes the strict decoder")
    func startedBeforeAcknowledge() async throws {
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion(id: "a"), Fixtures.suggestion(id: "b")])
        let worker = worker(transport, trainer: SleepingTrainer(output: 0.25), maxRuns: 2)
        try await worker.run()

        let events = await transport.events
        #expect(events.first == .started && events.last == .shutdown)
        for (tag, id) in [(UInt64(1), "a"), (2, "b")] {
            let started = try #require(
                events.firstIndex {
                    if case .published(let m) = $0 { m.kind == .started && m.suggestionID == id } else { false }
                })
            let acknowledged = try #require(events.firstIndex(of: .acknowledged(tag: tag)))
            let result = try #require(
                events.firstIndex {
                    if case .published(let m) = $0 { m.kind == .result && m.suggestionID == id } else { false }
                })
            #expect(started < acknowledged && acknowledged < result)
        }
        let results = await transport.published.filter { $0.kind == .result }
        #expect(results.map(\.status) == [.success, .success])
        #expect(results.allSatisfy { $0.output == 0.25 && ($0.cost ?? 0) > 0 && $0.worker == "test-worker" })
        #expect(results.allSatisfy { $0.startedAt != nil && $0.finishedAt != nil && $0.study == "unit-study" })
        #expect(worker.statistics.runs == 2 && worker.statistics.succeeded == 2)
    }

    @Test("sends heartbeats every lease/3 while a run lasts longer than that")
    func heartbeats() async throws {
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion(leaseSeconds: 1)])
        // The run lasts until two heartbeats went out (at most 60 s), so a busy machine cannot make it too short.
        let worker = worker(transport, trainer: HeartbeatWaitingTrainer(transport: transport), maxRuns: 1)
        let started = ContinuousClock.now
        try await worker.run()
        let elapsed = ContinuousClock.now - started

        let kinds = await transport.published.map(\.kind)
        #expect(kinds.first == .started && kinds.last == .result)
        let heartbeats = kinds.filter { $0 == .heartbeat }.count
        #expect(heartbeats >= 2)
        // Every lease/3 ≈ 333 ms, never faster (stalls only make the gaps longer).
        #expect(elapsed >= .milliseconds(600))
        #expect(Double(heartbeats) <= elapsed / .milliseconds(333) + 1)
        #expect(worker.statistics.heartbeats == heartbeats)
    }

    @Test("graceful shutdown lets the current run finish and report, then returns")
    func gracefulShutdownFinishesTheRun() async throws {
        let transport = FakeWorkerTransport(
            suggestions: [Fixtures.suggestion(id: "running"), Fixtures.suggestion(id: "waiting")])
        let running = Flag()
        let worker = worker(
            transport, trainer: SleepingTrainer(duration: .milliseconds(500), output: 0.75, started: running.set))
        try await withServiceGroup(worker) { group in
            #expect(await running.wait())
            await group.triggerGracefulShutdown()
        }
        let results = await transport.published.filter { $0.kind == .result }
        #expect(results.map(\.suggestionID) == ["running"])
        #expect(results.first?.status == .success && results.first?.output == 0.75)
        #expect(await transport.events.last == .shutdown)
    }

    @Test("with abortOnShutdown, shutdown stops the trainer process and reports the run lost")
    func abortOnShutdownReportsLost() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            open(os.path.join(os.environ["SCRATCH"], "running"), "w").close()
            time.sleep(1000)
            """)
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion(id: "doomed")])
        let worker = worker(
            transport, trainer: CommandTrainer(command: command, logger: Fixtures.logger), abortOnShutdown: true)
        let started = ContinuousClock.now
        try await withServiceGroup(worker) { group in
            #expect(await scratch.waitFor("running"))
            await group.triggerGracefulShutdown()
        }
        #expect(ContinuousClock.now - started < .seconds(90))
        let result = try #require(await transport.published.last)
        #expect(result.kind == .result && result.suggestionID == "doomed")
        #expect(result.status == .lost)
        #expect(result.message == "aborted: the worker is shutting down")
    }

    @Test("a suggestion received when shutdown has begun is handed back unstarted")
    func unstartedSuggestionIsReleased() async throws {
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion(id: "late")])
        let worker = worker(transport, trainer: SleepingTrainer())
        await transport.setOnDeliver { worker.shutdownGracefully() }
        try await worker.run()

        let events = await transport.events
        #expect(events == [.started, .released(tag: 1), .shutdown])
        #expect(worker.statistics.released == 1 && worker.statistics.runs == 0)
    }

    @Test("an undecodable suggestion is acknowledged, counted and skipped")
    func undecodableSuggestion() async throws {
        let transport = FakeWorkerTransport()
        await transport.enqueue(Data("not json".utf8))
        await transport.enqueue(Data(#"{"protocol": 2, "kind": "suggestion"}"#.utf8))
        await transport.enqueue(Fixtures.suggestion(id: "good"))
        let worker = worker(transport, trainer: SleepingTrainer(), maxRuns: 1)
        try await worker.run()

        let events = await transport.events
        #expect(events.prefix(3) == [.started, .acknowledged(tag: 1), .acknowledged(tag: 2)])
        #expect(await transport.published.filter { $0.kind == .result }.map(\.suggestionID) == ["good"])
        #expect(worker.statistics.undecodable == 2 && worker.statistics.runs == 1)
    }

    @Test("transport errors are retried with backoff")
    func transportErrorsAreRetried() async throws {
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion(id: "x")])
        await transport.setFailures(receives: 3, publishes: 2)
        let worker = worker(transport, trainer: SleepingTrainer(), maxRuns: 1)
        try await worker.run()

        let kinds = await transport.published.map(\.kind)
        #expect(kinds == [.started, .result])
        #expect(worker.statistics.transportErrors == 5 && worker.statistics.runs == 1)
    }

    @Test("a suggestion whose started message cannot be published is handed back")
    func startedNotPublishedIsReleased() async throws {
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion(id: "x")])
        await transport.setFailures(publishes: 5)
        let worker = worker(transport, trainer: SleepingTrainer(), maxRuns: 1)
        try await worker.run()

        let events = await transport.events
        let released = try #require(events.firstIndex(of: .released(tag: 1)))
        let acknowledged = try #require(events.firstIndex(of: .acknowledged(tag: 1)))
        #expect(released < acknowledged)
        #expect(await transport.published.map(\.kind) == [.started, .result])
    }

    @Test("cancellation stops the trainer and publishes nothing more")
    func cancellationPublishesNothing() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            open(os.path.join(os.environ["SCRATCH"], "running"), "w").close()
            time.sleep(1000)
            """)
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion()])
        let worker = worker(transport, trainer: CommandTrainer(command: command, logger: Fixtures.logger))
        let task = Task { try await worker.run() }
        #expect(await scratch.waitFor("running"))
        task.cancel()
        try await task.value
        #expect(await transport.published.map(\.kind) == [.started])
        #expect(await transport.events.last == .shutdown)
    }

    @Test("a command trainer's result reaches the results queue")
    func commandTrainerEndToEnd() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            lr, hidden = float(sys.argv[1]), int(sys.argv[2])
            print(json.dumps({"output": lr * hidden, "cost": 2.0, "metrics": {"hidden": hidden}}))
            """, arguments: ["{learning_rate}", "{hidden_dim}"])
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion()])
        let worker = worker(transport, trainer: CommandTrainer(command: command, logger: Fixtures.logger), maxRuns: 1)
        try await worker.run()

        let result = try #require(await transport.published.last)
        #expect(result.status == .success)
        #expect(result.output == 0.0012 * 64)
        #expect(result.cost == 2.0)
        #expect(result.metrics == ["hidden": 64])
    }

    @Test("result messages are made valid: a success needs a finite output; cost defaults to wall time")
    func resultMessageValidation() {
        let worker = worker(FakeWorkerTransport(), trainer: SleepingTrainer())
        let start = Date()
        let suggestion = Fixtures.suggestion()
        let noOutput = worker.resultMessage(
            for: suggestion,
            outcome: TrainerOutcome(status: .success, output: .nan, startedAt: start, finishedAt: start + 3))
        #expect(noOutput.status == .failure && noOutput.output == nil)
        let noCost = worker.resultMessage(
            for: suggestion,
            outcome: TrainerOutcome(
                status: .success, output: 1, metrics: ["a": 1, "b": .infinity], startedAt: start, finishedAt: start + 3)
        )
        #expect(noCost.status == .success && noCost.cost == 3 && noCost.metrics == ["a": 1])
    }
}

@Suite("Worker timeouts", .timeLimit(.minutes(3)))
struct WorkerTimeoutTests {
    @Test("an in-process trainer that ignores its timeout is cancelled after the grace and reported failed")
    func inProcessTimeoutBackstop() async throws {
        let transport = FakeWorkerTransport(suggestions: [Fixtures.suggestion(timeoutSeconds: 1)])
        let worker = Worker(
            transport: transport, trainer: SleepingTrainer(duration: .seconds(100)),
            configuration: Worker.Configuration(
                workerID: "w", maxRuns: 1, pollInterval: .milliseconds(50), timeoutGrace: .milliseconds(200)),
            logger: Fixtures.logger)
        let started = ContinuousClock.now
        try await worker.run()
        #expect(ContinuousClock.now - started < .seconds(60))
        let result = try #require(await transport.published.last)
        #expect(result.kind == .result && result.status == .failure)
        #expect(result.message == "timed out after 1 s")
    }
}
