import CARBSMessaging
import Foundation
import Testing

@testable import CARBSWorker

/// Returns `output` after `duration`; records nothing.
private struct QuickTrainer: Trainer {
    var duration: Duration = .milliseconds(20)

    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome {
        let startedAt = Date()
        try await Task.sleep(for: duration)
        let output = suggestion.params["hidden_dim"]?.doubleValue ?? .nan
        return TrainerOutcome(status: .success, output: output, startedAt: startedAt, finishedAt: Date())
    }
}

/// Collects worker messages from the results queue (acknowledging them) until `done` says so.
private func collectResults(
    _ optimizer: EmbeddedOptimizerTransport, timeout: Duration = .seconds(20),
    until done: ([WorkerMessage]) -> Bool
) async throws -> [WorkerMessage] {
    var messages: [WorkerMessage] = []
    let deadline = ContinuousClock.now + timeout
    while !done(messages) && ContinuousClock.now < deadline {
        let batch = try await optimizer.receiveResults(maximum: 100, timeout: .milliseconds(100))
        messages += try batch.map { try WireFormat.decodeWorkerMessage($0.body, expectedStudy: "unit-study") }
        try await optimizer.acknowledge(batch)
    }
    return messages
}

@Suite("Worker over the embedded broker", .timeLimit(.minutes(3)))
struct WorkerEmbeddedBrokerTests {
    private func publish(_ suggestions: [SuggestionMessage], to optimizer: EmbeddedOptimizerTransport) async throws {
        for suggestion in suggestions {
            try await optimizer.publish(
                suggestion: OutboundMessage(
                    body: WireFormat.encode(suggestion), messageID: suggestion.messageID,
                    correlationID: suggestion.suggestionID))
        }
    }

    private func worker(_ broker: EmbeddedBroker, id: String, trainer: any Trainer, abort: Bool = false) throws
        -> Worker
    {
        Worker(
            transport: try broker.workerTransport(study: "unit-study"), trainer: trainer,
            configuration: Worker.Configuration(
                workerID: id, study: "unit-study", abortOnShutdown: abort, pollInterval: .milliseconds(50)),
            logger: Fixtures.logger)
    }

    @Test("two workers train every suggestion exactly once; each result follows its started message")
    func twoWorkers() async throws {
        let broker = EmbeddedBroker()
        let optimizer = try broker.optimizerTransport(study: "unit-study")
        try await optimizer.start()
        let suggestions = (1...6).map {
            Fixtures.suggestion(id: "s\($0)", params: ["hidden_dim": .integer($0)])
        }
        try await publish(suggestions, to: optimizer)
        let workers = try ["w1", "w2"].map { try worker(broker, id: $0, trainer: QuickTrainer()) }

        let messages = try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.run() } }
            let messages = try await collectResults(optimizer) { $0.filter { $0.kind == .result }.count >= 6 }
            for worker in workers { worker.shutdownGracefully() }
            try await group.waitForAll()
            return messages
        }

        let results = messages.filter { $0.kind == .result }
        #expect(results.count == 6)
        #expect(Set(results.map(\.suggestionID)) == Set(suggestions.map(\.suggestionID)))
        #expect(results.allSatisfy { $0.status == .success && $0.output == Double($0.suggestionID.dropFirst())! })
        for result in results {
            let started = messages.firstIndex { $0.kind == .started && $0.suggestionID == result.suggestionID }
            #expect(started.map { $0 < messages.firstIndex(of: result)! } == true)
        }
        #expect(workers.map(\.statistics.runs).reduce(0, +) == 6)
        #expect(await broker.queueDepth("carbs.unit-study.suggestions") == 0)
        #expect(await broker.unsettledCount("carbs.unit-study.suggestions") == 0)
    }

    @Test("abort on shutdown reports the run lost and leaves the next suggestion queued")
    func abortLeavesQueueIntact() async throws {
        let broker = EmbeddedBroker()
        let optimizer = try broker.optimizerTransport(study: "unit-study")
        try await optimizer.start()
        try await publish([Fixtures.suggestion(id: "long"), Fixtures.suggestion(id: "next")], to: optimizer)
        let worker = try worker(broker, id: "w", trainer: QuickTrainer(duration: .seconds(100)), abort: true)

        let messages = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            _ = try await collectResults(optimizer) { $0.contains { $0.kind == .started } }
            worker.shutdownGracefully()
            try await group.waitForAll()
            return try await collectResults(optimizer, timeout: .milliseconds(300)) { _ in false }
        }

        let result = try #require(messages.last)
        #expect(result.kind == .result && result.suggestionID == "long" && result.status == .lost)
        #expect(await broker.queueDepth("carbs.unit-study.suggestions") == 1)
        #expect(await broker.unsettledCount("carbs.unit-study.suggestions") == 0)
    }

    @Test("a worker cancelled mid-run sends nothing more; its acknowledged suggestion is not redelivered")
    func cancelledMidRun() async throws {
        let broker = EmbeddedBroker()
        let optimizer = try broker.optimizerTransport(study: "unit-study")
        try await optimizer.start()
        try await publish([Fixtures.suggestion(id: "only")], to: optimizer)
        let worker = try worker(broker, id: "w", trainer: QuickTrainer(duration: .seconds(100)))

        let task = Task { try await worker.run() }
        let before = try await collectResults(optimizer) { $0.contains { $0.kind == .started } }
        task.cancel()
        try await task.value
        let after = try await collectResults(optimizer, timeout: .milliseconds(300)) { _ in false }

        #expect(before.map(\.kind) == [.started])
        #expect(after.isEmpty)
        #expect(await broker.queueDepth("carbs.unit-study.suggestions") == 0)
        #expect(await broker.unsettledCount("carbs.unit-study.suggestions") == 0)
    }
}
