import CARBSAMQP
import CARBSMessaging
import CARBSStore
import Foundation
import Logging
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The real `carbs` binary as separate processes (one optimizer, several workers) against a real RabbitMQ broker:
/// crashes of every part, a broker restart, bad and duplicate messages, graceful stops (issue 4).
///
/// Each test has its own study (queues and database), kills its processes and deletes its queues when it ends,
/// and bounds every wait. Without a reachable broker the tests fail; they never skip.
@Suite("Fleet: carbs processes against a broker", .timeLimit(.minutes(3)))
struct FleetTests {
    init() throws {
        try FleetEnvironment.requireBroker()
        try FleetEnvironment.requireCarbs()
    }

    @Test("1. an optimizer and 4 worker processes finish a 40-observation study")
    func fourWorkers() async throws {
        let study = try FleetStudy("four", settings: .init(maxObservations: 40, maxInFlight: 4))
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer()
        for index in 1...4 { try study.startWorker("w\(index)") }

        try await study.expectCleanExit(optimizer, within: .seconds(90))
        let observations = try study.expectEveryObservationOnce(40)
        #expect(observations.allSatisfy { !$0.isFailure && $0.attempt == 1 })
        #expect(Set(observations.compactMap(\.worker)).isSubset(of: ["w1", "w2", "w3", "w4"]))
        #expect(try study.readyCount("results") == 0)
        #expect(try study.readyCount("suggestions") == 0)
        #expect(try study.readyCount("dead") == 0)
        try await study.stopWorkers()
    }

    @Test("2. kill -9 of a worker mid-run: the lease re-issues its run, observed exactly once")
    func workerKilled() async throws {
        let study = try FleetStudy("kill-worker", settings: .init(maxObservations: 6, maxInFlight: 2, leaseSeconds: 3))
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer()
        let victim = try study.startWorker("victim", trainer: .sleeping(seconds: 2))
        let run = try await study.waitForRun(of: "victim")
        victim.send(SIGKILL)
        _ = try await victim.waitForExit(timeout: .seconds(10))
        try study.startWorker("steady", trainer: .sleeping(seconds: 0.5))
        try study.startWorker("spare", trainer: .sleeping(seconds: 0.5))

        try await study.expectCleanExit(optimizer, within: .seconds(90))
        let observations = try study.expectEveryObservationOnce(6)
        let rerun = try #require(
            observations.first { $0.suggestionID == run.suggestionID },
            "the killed run \(run.suggestionID) was never observed\n\(study.logs())")
        #expect(rerun.attempt >= 2, "the killed run counted from attempt \(rerun.attempt)")
        #expect(rerun.worker != "victim")
        try await study.stopWorkers()
    }

    @Test("3. kill -9 of the optimizer mid-study, restarted on the same database: nothing lost or doubled")
    func optimizerKilled() async throws {
        let study = try FleetStudy("kill-optimizer", settings: .init(maxObservations: 24, maxInFlight: 4))
        defer { study.tearDown() }
        let first = try study.startOptimizer()
        // Runs of 1 s on 3 workers: 24 observations take at least 8 s, so the kill lands mid-study.
        for index in 1...3 { try study.startWorker("w\(index)", trainer: .sleeping(seconds: 1)) }
        try await study.waitUntil("6 observations are in", timeout: .seconds(60)) {
            try study.observations().count >= 6
        }
        first.send(SIGKILL)
        #expect(try await first.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
        let before = try study.observations().count
        #expect(before < 24, "the study finished before the optimizer was killed")
        // The workers go on: results pile up in the queue while no optimizer is there.
        try await Task.sleep(for: .seconds(1))

        let second = try study.startOptimizer()
        try await study.expectCleanExit(second, within: .seconds(90))
        try study.expectEveryObservationOnce(24)
        #expect(try study.readyCount("results") == 0)
        #expect(try study.readyCount("dead") == 0)
        try await study.stopWorkers()
    }

    @Test("4. a broker restart mid-study: both sides reconnect, every observation counted once")
    func brokerRestart() async throws {
        let broker = try await TestBrokerNode()
        defer { broker.stop() }
        let study = try FleetStudy(
            "restart", settings: .init(maxObservations: 16, maxInFlight: 4), brokerURLText: broker.urlText)
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer()
        for index in 1...2 { try study.startWorker("w\(index)", trainer: .sleeping(seconds: 0.3)) }
        try await study.waitUntil("4 observations are in", timeout: .seconds(60)) {
            try study.observations().count >= 4
        }
        // Hold the runs that start from now on, so that the study is surely mid-way when the broker goes down
        // (rabbitmqctl may take many seconds on a busy machine). Released while the broker is down, they finish
        // and their results wait in the workers until the broker is back.
        study.closeGate()
        try await broker.stopApplication()
        study.openGate()
        try await Task.sleep(for: .seconds(2))
        #expect(try study.observations().count < 16, "the study finished before the broker went down")
        try await broker.startApplication()

        try await study.expectCleanExit(optimizer, within: .seconds(120))
        try study.expectEveryObservationOnce(16)
        try await study.stopWorkers()
    }

    @Test("5. malformed, unknown-suggestion and protocol-2 results are dead-lettered with a reason")
    func badMessages() async throws {
        let study = try FleetStudy("bad", settings: .init(maxObservations: 6, maxInFlight: 2))
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer()
        var future = WorkerMessage(
            kind: .result, study: study.name, suggestionID: "from-the-future", attempt: 1, worker: "test",
            sentAt: Date(), status: .success, output: 1, cost: 1)
        future.protocolVersion = 2
        let unknown = WorkerMessage(
            kind: .result, study: study.name, suggestionID: "never-issued", attempt: 1, worker: "test",
            sentAt: Date(), status: .success, output: 1, cost: 1)
        try await Injector.with(study) { injector in
            try await injector.publish(Data("{ this is not JSON".utf8), id: "malformed")
            try await injector.publish(WireFormat.encode(unknown), id: "never-issued")
            try await injector.publish(WireFormat.encode(future), id: "from-the-future")
        }
        try await study.waitUntil("3 messages are dead-lettered", timeout: .seconds(30)) {
            try study.readyCount("dead") == 3
        }

        for index in 1...2 { try study.startWorker("w\(index)") }
        try await study.expectCleanExit(optimizer, within: .seconds(90))
        try study.expectEveryObservationOnce(6)

        let url = try BrokerURL(study.brokerURLText)
        var reasons: [String: String] = [:]
        while let dead = try AMQPAdministration.take(url: url, queue: "carbs.\(study.name).dead") {
            reasons[dead.correlationID ?? "?"] = dead.headers["x-carbs-reason"]
            #expect(dead.headers["x-carbs-source-queue"] == "carbs.\(study.name).results")
        }
        #expect(reasons.count == 3, "dead letters: \(reasons)")
        #expect(reasons["malformed"]?.hasPrefix("invalid_json") == true, "\(reasons)")
        #expect(reasons["never-issued"]?.hasPrefix("unknown_suggestion") == true, "\(reasons)")
        #expect(reasons["from-the-future"]?.hasPrefix("unsupported_protocol") == true, "\(reasons)")
        let rejected = try study.messageLog().filter { $0.disposition == .rejected }
        #expect(rejected.count == 3)
        try await study.stopWorkers()
    }

    @Test("6. a result published twice counts once; the message log records the duplicate")
    func duplicateResult() async throws {
        let study = try FleetStudy("duplicate", settings: .init(maxObservations: 4, maxInFlight: 2))
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer()
        // The test is the worker of one run: started, acknowledge, then the same result twice.
        let id = try await Injector.with(study) { injector in
            try await injector.runOnce(output: 3.5, cost: 42, publishingResultTimes: 2)
        }
        try await study.waitUntil("both copies of the result are logged", timeout: .seconds(30)) {
            try study.messageLog().filter { $0.suggestionID == id && $0.kind == "result" }.count == 2
        }
        try study.startWorker("w1")
        try await study.expectCleanExit(optimizer, within: .seconds(90))

        let observations = try study.expectEveryObservationOnce(4)
        let observed = try #require(observations.first { $0.suggestionID == id })
        #expect(observed.output == 3.5 && observed.cost == 42 && observed.worker == "injector")
        let copies = try study.messageLog().filter { $0.suggestionID == id && $0.kind == "result" }
        #expect(copies.map(\.disposition) == [.applied, .duplicate])
        try await study.stopWorkers()
    }

    @Test("7a. SIGTERM of a worker mid-run: it finishes the run, reports it, exits 0")
    func gracefulStop() async throws {
        let study = try FleetStudy("sigterm", settings: .init(maxObservations: 3, maxInFlight: 1))
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer()
        let worker = try study.startWorker("graceful", trainer: .sleeping(seconds: 2))
        let run = try await study.waitForRun(of: "graceful")
        worker.send(SIGTERM)
        try await study.expectCleanExit(worker, within: .seconds(20))
        try await study.waitUntil("the finished run is observed", timeout: .seconds(20)) {
            try study.observations().contains { $0.suggestionID == run.suggestionID }
        }
        try study.startWorker("finisher")
        try await study.expectCleanExit(optimizer, within: .seconds(90))

        let observations = try study.expectEveryObservationOnce(3)
        let finished = try #require(observations.first { $0.suggestionID == run.suggestionID })
        #expect(finished.attempt == 1 && finished.worker == "graceful" && !finished.isFailure)
        try await study.stopWorkers()
    }

    @Test("7b. SIGTERM with --abort-on-shutdown: the run is reported lost, the worker exits 0, attempt 2 runs")
    func abortingStop() async throws {
        let study = try FleetStudy("abort", settings: .init(maxObservations: 3, maxInFlight: 1))
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer()
        let worker = try study.startWorker(
            "aborter", trainer: .sleeping(seconds: 30), options: ["--abort-on-shutdown"])
        let run = try await study.waitForRun(of: "aborter")
        worker.send(SIGTERM)
        try await study.expectCleanExit(worker, within: .seconds(20))
        try study.startWorker("finisher")
        try await study.expectCleanExit(optimizer, within: .seconds(90))

        let observations = try study.expectEveryObservationOnce(3)
        let rerun = try #require(observations.first { $0.suggestionID == run.suggestionID })
        #expect(rerun.attempt == 2 && rerun.worker == "finisher")
        let lost = try study.messageLog().filter {
            $0.suggestionID == run.suggestionID && $0.kind == "result" && $0.status == "lost"
        }
        #expect(lost.count == 1 && lost.first?.attempt == 1 && lost.first?.disposition == .applied)
        try await study.stopWorkers()
    }

    @Test("8. a worker started before the optimizer waits for the queues, then works")
    func workerFirst() async throws {
        let study = try FleetStudy("early", settings: .init(maxObservations: 5, maxInFlight: 2))
        defer { study.tearDown() }
        let worker = try study.startWorker("early")
        try await Task.sleep(for: .seconds(2))
        #expect(worker.isRunning, "the worker gave up before the optimizer came\n\(study.logs())")
        #expect(throws: AMQPError.self) { try study.readyCount("suggestions") }

        let optimizer = try study.startOptimizer()
        try await study.expectCleanExit(optimizer, within: .seconds(90))
        let observations = try study.expectEveryObservationOnce(5)
        #expect(observations.allSatisfy { $0.worker == "early" })
        try await study.stopWorkers()
    }
}

/// The test acting as a worker through the AMQP transport: publishes hand-made messages onto the results queue.
struct Injector {
    let study: FleetStudy
    let transport: AMQPWorkerTransport

    /// Runs `body` with an injector connected to the study's queues (once the optimizer declared them), and
    /// disconnects it afterwards.
    static func with<T>(_ study: FleetStudy, _ body: (Injector) async throws -> T) async throws -> T {
        let injector = try Injector(study: study)
        do {
            try await injector.transport.start()
            let result = try await body(injector)
            await injector.transport.shutdown()
            return result
        } catch {
            await injector.transport.shutdown()
            throw error
        }
    }

    private init(study: FleetStudy) throws {
        self.study = study
        var configuration = AMQPConfiguration(url: try BrokerURL(study.brokerURLText), study: study.name)
        configuration.startTimeout = .seconds(30)
        var logger = Logger(label: "carbs.fleet-tests")
        logger.logLevel = .critical
        transport = try AMQPWorkerTransport(configuration: configuration, logger: logger)
    }

    func publish(_ body: Data, id: String) async throws {
        try await transport.publish(result: OutboundMessage(body: body, messageID: "\(id)/1", correlationID: id))
    }

    /// Takes one suggestion, publishes `started`, acknowledges it, then publishes the same success result
    /// `publishingResultTimes` times.
    /// - Returns: The suggestion id.
    func runOnce(output: Double, cost: Double, publishingResultTimes: Int) async throws -> String {
        var inbound: InboundMessage?
        let deadline = ContinuousClock.now + .seconds(30)
        while inbound == nil && ContinuousClock.now < deadline {
            inbound = try await transport.receiveSuggestion(timeout: .seconds(1))
        }
        let message = try #require(inbound, "no suggestion arrived")
        let suggestion = try WireFormat.decodeSuggestion(message.body, expectedStudy: study.name)
        func send(_ kind: WorkerMessage.Kind) async throws {
            var reply = WorkerMessage(
                kind: kind, study: study.name, suggestionID: suggestion.suggestionID, attempt: suggestion.attempt,
                worker: "injector", sentAt: Date())
            if kind == .result {
                reply.status = .success
                reply.output = output
                reply.cost = cost
            }
            try await transport.publish(
                result: OutboundMessage(
                    body: WireFormat.encode(reply), messageID: reply.messageID, correlationID: reply.suggestionID))
        }
        try await send(.started)
        try await transport.acknowledge(message)
        for _ in 0..<publishingResultTimes { try await send(.result) }
        return suggestion.suggestionID
    }
}
