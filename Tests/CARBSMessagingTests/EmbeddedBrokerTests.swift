import CARBSMessaging
import Foundation
import Synchronization
import TestSupport
import Testing

private let study = "broker-test"

private func suggestion(_ id: String) -> OutboundMessage {
    MessageFixtures.outbound(MessageFixtures.suggestion(study: study, id: id))
}

private func result(_ id: String) -> OutboundMessage {
    MessageFixtures.outbound(MessageFixtures.success(study: study, id: id))
}

private func suggestionID(of message: InboundMessage) throws -> String {
    try WireFormat.decodeSuggestion(message.body).suggestionID
}

/// A value shared by concurrent test tasks.
private final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result: Sendable>(_ body: (inout sending Value) -> sending Result) -> Result {
        mutex.withLock(body)
    }
}

/// A started optimizer transport and `count` started worker transports on a new broker.
private func makeStudy(
    workers count: Int = 1
) async throws -> (EmbeddedBroker, EmbeddedOptimizerTransport, [EmbeddedWorkerTransport]) {
    let broker = EmbeddedBroker()
    let optimizer = try broker.optimizerTransport(study: study)
    try await optimizer.start()
    var workers: [EmbeddedWorkerTransport] = []
    for _ in 0..<count {
        let worker = try broker.workerTransport(study: study)
        try await worker.start()
        workers.append(worker)
    }
    return (broker, optimizer, workers)
}

@Suite("Embedded broker: queue semantics")
struct EmbeddedBrokerSemanticsTests {
    @Test("a suggestion reaches a worker with its body and ids, and acknowledging removes it")
    func deliverAndAcknowledge() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        let sent = suggestion("a")
        try await optimizer.publish(suggestion: sent)
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 1)

        let received = try #require(try await workers[0].receiveSuggestion(timeout: .seconds(1)))
        #expect(received.body == sent.body)
        #expect(received.messageID == "a/1")
        #expect(received.correlationID == "a")
        #expect(!received.isRedelivered)
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 0)
        #expect(await broker.unsettledCount("carbs.\(study).suggestions") == 1)

        try await workers[0].acknowledge(received)
        #expect(await broker.unsettledCount("carbs.\(study).suggestions") == 0)
        #expect(
            await broker.queueNames() == [
                "carbs.\(study).dead", "carbs.\(study).results", "carbs.\(study).suggestions",
            ])
    }

    @Test("results come in batches of at most the maximum, in order")
    func resultBatches() async throws {
        let (_, optimizer, workers) = try await makeStudy()
        for index in 0..<5 { try await workers[0].publish(result: result("r\(index)")) }
        let first = try await optimizer.receiveResults(maximum: 3, timeout: .seconds(1))
        let second = try await optimizer.receiveResults(maximum: 3, timeout: .seconds(1))
        #expect(first.map(\.correlationID) == ["r0", "r1", "r2"])
        #expect(second.map(\.correlationID) == ["r3", "r4"])
    }

    @Test("a receive with nothing to take returns empty at the timeout")
    func timeout() async throws {
        let (_, optimizer, workers) = try await makeStudy()
        let clock = ContinuousClock()
        let start = clock.now
        let results = try await optimizer.receiveResults(maximum: 10, timeout: .milliseconds(150))
        let elapsed = clock.now - start
        #expect(results.isEmpty)
        #expect(elapsed >= .milliseconds(140))
        // Only "it did not hang": a parallel test run on 2 cores can stall any task for seconds.
        #expect(elapsed < .seconds(60))
        #expect(try await workers[0].receiveSuggestion(timeout: .zero) == nil)
    }

    @Test("a waiting receiver is woken by the message, not by its timeout")
    func wakesOnPublish() async throws {
        let (_, optimizer, workers) = try await makeStudy()
        let clock = ContinuousClock()
        let start = clock.now
        async let received = workers[0].receiveSuggestion(timeout: .seconds(600))
        try await Task.sleep(for: .milliseconds(50))
        try await optimizer.publish(suggestion: suggestion("late"))
        let message = try #require(try await received)
        #expect(message.correlationID == "late")
        // Far below the 600 s timeout, with room for a busy machine stalling tasks for seconds.
        #expect(clock.now - start < .seconds(120))
    }

    @Test("a waiting optimizer gets the first result and everything queued with it")
    func batchAfterWait() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        // Queue results without waking anyone: publish while no receiver waits, then receive.
        for index in 0..<50 { try await workers[0].publish(result: result("r\(index)")) }
        let burst = try await optimizer.receiveResults(maximum: 100, timeout: .seconds(1))
        #expect(burst.count == 50)
        #expect(await broker.queueDepth("carbs.\(study).results") == 0)
    }

    @Test("prefetch 1: a worker holding a suggestion gets no other until it settles it")
    func prefetchOne() async throws {
        let (_, optimizer, workers) = try await makeStudy(workers: 2)
        for id in ["a", "b", "c"] { try await optimizer.publish(suggestion: suggestion(id)) }
        let first = try #require(try await workers[0].receiveSuggestion(timeout: .seconds(1)))
        #expect(try await workers[0].receiveSuggestion(timeout: .milliseconds(50)) == nil)
        let other = try #require(try await workers[1].receiveSuggestion(timeout: .seconds(1)))
        #expect([first.correlationID, other.correlationID] == ["a", "b"])

        // A receive that waits while the worker is full is served once the worker acknowledges.
        async let next = workers[0].receiveSuggestion(timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(30))
        try await workers[0].acknowledge(first)
        #expect(try await next?.correlationID == "c")
    }

    @Test("a worker that shuts down hands its suggestion back, redelivered, at the front of the queue")
    func redeliveryAfterShutdown() async throws {
        let (_, optimizer, workers) = try await makeStudy(workers: 2)
        for id in ["a", "b"] { try await optimizer.publish(suggestion: suggestion(id)) }
        let held = try #require(try await workers[0].receiveSuggestion(timeout: .seconds(1)))
        #expect(held.correlationID == "a")
        await workers[0].simulateCrash()

        let again = try #require(try await workers[1].receiveSuggestion(timeout: .seconds(1)))
        #expect(again.correlationID == "a")
        #expect(again.isRedelivered)
        #expect(again.body == held.body)
        // Settling through the dead connection does nothing.
        try await workers[0].acknowledge(held)
        try await workers[1].acknowledge(again)
        let next = try #require(try await workers[1].receiveSuggestion(timeout: .seconds(1)))
        #expect(next.correlationID == "b")
        #expect(!next.isRedelivered)
    }

    @Test("after a reconnect, settling with an old receipt is a no-op and the message comes again")
    func staleReceipt() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        try await workers[0].publish(result: result("r"))
        let old = try #require(try await optimizer.receiveResults(maximum: 10, timeout: .seconds(1)).first)
        await optimizer.simulateReconnect()
        try await optimizer.acknowledge([old])
        try await optimizer.deadLetter(old, reason: "stale")
        #expect(await broker.deadLetters(study: study).isEmpty)

        let again = try #require(try await optimizer.receiveResults(maximum: 10, timeout: .seconds(1)).first)
        #expect(again.isRedelivered)
        #expect(again.receipt.generation != old.receipt.generation)
        try await optimizer.acknowledge([again])
        try await optimizer.acknowledge([again])
        #expect(await broker.unsettledCount("carbs.\(study).results") == 0)
        #expect(try await optimizer.receiveResults(maximum: 10, timeout: .zero).isEmpty)
    }

    @Test("results left unsettled by a crashed optimizer go to the next one")
    func optimizerCrash() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        for index in 0..<3 { try await workers[0].publish(result: result("r\(index)")) }
        let taken = try await optimizer.receiveResults(maximum: 2, timeout: .seconds(1))
        try await optimizer.acknowledge([taken[0]])
        await optimizer.simulateCrash()

        let restarted = try broker.optimizerTransport(study: study)
        try await restarted.start()
        let rest = try await restarted.receiveResults(maximum: 10, timeout: .seconds(1))
        #expect(rest.map(\.correlationID) == ["r1", "r2"])
        #expect(rest.map(\.isRedelivered) == [true, false])
    }

    @Test("dead-lettering moves a message to the dead queue with its reason")
    func deadLetter() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        let garbage = OutboundMessage(body: Data("not json".utf8), messageID: "x/1", correlationID: "x")
        try await workers[0].publish(result: garbage)
        let message = try #require(try await optimizer.receiveResults(maximum: 1, timeout: .seconds(1)).first)
        try await optimizer.deadLetter(message, reason: "invalid_json: body is not valid JSON")
        let dead = await broker.deadLetters(study: study)
        #expect(dead.count == 1)
        #expect(dead.first?.body == garbage.body)
        #expect(dead.first?.reason == "invalid_json: body is not valid JSON")
        #expect(await broker.queueDepth("carbs.\(study).dead") == 1)
        #expect(await broker.unsettledCount("carbs.\(study).results") == 0)
    }

    @Test("withdrawing removes the queued suggestions but not the one a worker holds")
    func withdraw() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        for id in ["a", "b", "c"] { try await optimizer.publish(suggestion: suggestion(id)) }
        let held = try #require(try await workers[0].receiveSuggestion(timeout: .seconds(1)))
        #expect(try await optimizer.withdrawQueuedSuggestions() == 2)
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 0)
        #expect(try await optimizer.withdrawQueuedSuggestions() == 0)
        try await workers[0].release(held)
        let back = try #require(try await workers[0].receiveSuggestion(timeout: .seconds(1)))
        #expect(back.correlationID == "a")
        #expect(back.isRedelivered)
    }

    @Test("using a transport before start or after shutdown fails; start after shutdown reconnects")
    func lifecycle() async throws {
        let broker = EmbeddedBroker()
        let optimizer = try broker.optimizerTransport(study: study)
        let notStarted = await #expect(throws: TransportError.self) {
            try await optimizer.publish(suggestion: suggestion("a"))
        }
        #expect(notStarted?.code == .notStarted)
        try await optimizer.start()
        try await optimizer.start()
        await optimizer.shutdown()
        let closed = await #expect(throws: TransportError.self) {
            _ = try await optimizer.receiveResults(maximum: 1, timeout: .zero)
        }
        #expect(closed?.code == .closed)
        try await optimizer.start()
        try await optimizer.publish(suggestion: suggestion("a"))
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 1)
    }

    @Test("shutting down ends a pending receive with nothing")
    func shutdownWakesReceiver() async throws {
        let (_, _, workers) = try await makeStudy()
        async let pending = workers[0].receiveSuggestion(timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(30))
        await workers[0].shutdown()
        #expect(try await pending == nil)
    }

    @Test("study names are validated")
    func studyName() {
        let broker = EmbeddedBroker()
        #expect(throws: ProtocolError.self) { try broker.workerTransport(study: "bad name") }
        #expect(throws: ProtocolError.self) { try broker.optimizerTransport(study: "") }
    }
}

@Suite("Embedded broker: cancellation and concurrency")
struct EmbeddedBrokerConcurrencyTests {
    @Test("a cancelled receiver does not swallow the next message")
    func cancelledReceiver() async throws {
        let (broker, optimizer, workers) = try await makeStudy(workers: 2)
        let waiting = Task { try await workers[0].receiveSuggestion(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(30))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }

        try await optimizer.publish(suggestion: suggestion("a"))
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 1)
        let message = try #require(try await workers[1].receiveSuggestion(timeout: .seconds(1)))
        #expect(message.correlationID == "a")
        #expect(!message.isRedelivered)
    }

    @Test("cancellation racing a delivery: the message is returned or put back, never lost", arguments: 0..<4)
    func cancellationRace(seed: Int) async throws {
        for round in 0..<50 {
            let (broker, optimizer, workers) = try await makeStudy()
            let waiting = Task { try await workers[0].receiveSuggestion(timeout: .seconds(30)) }
            if (round + seed) % 3 == 0 { await Task.yield() }
            try await optimizer.publish(suggestion: suggestion("a"))
            waiting.cancel()
            let outcome = await waiting.result
            let queued = await broker.queueDepth("carbs.\(study).suggestions")
            let unsettled = await broker.unsettledCount("carbs.\(study).suggestions")
            switch outcome {
            case .success(let message?):
                #expect(message.correlationID == "a")
                #expect(queued == 0 && unsettled == 1)
            case .success(nil):
                Issue.record("a receive with a 30 s timeout returned nothing")
            case .failure:
                #expect(queued == 1 && unsettled == 0)
            }
        }
    }

    @Test("many workers, some crashing: every suggestion is acknowledged exactly once")
    func manyWorkers() async throws {
        let total = 400
        let workerCount = 8
        let (broker, optimizer, workers) = try await makeStudy(workers: workerCount)
        let acknowledged = Locked<[String: Int]>([:])
        let redeliveries = Locked(0)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<total {
                    try await optimizer.publish(suggestion: suggestion("s\(index)"))
                    if index % 50 == 0 { await Task.yield() }
                }
            }
            for (number, worker) in workers.enumerated() {
                group.addTask {
                    var transport = worker
                    var handled = 0
                    while true {
                        let done = acknowledged.withLock { $0.count } == total
                        if done { return }
                        guard let message = try await transport.receiveSuggestion(timeout: .milliseconds(20)) else {
                            continue
                        }
                        if message.isRedelivered { redeliveries.withLock { $0 += 1 } }
                        handled += 1
                        // Workers 0 and 1 crash on every 7th suggestion and come back as new workers.
                        if number < 2, handled % 7 == 0 {
                            await transport.simulateCrash()
                            transport = try broker.workerTransport(study: study)
                            try await transport.start()
                            continue
                        }
                        let id = try suggestionID(of: message)
                        try await transport.acknowledge(message)
                        acknowledged.withLock { $0[id, default: 0] += 1 }
                    }
                }
            }
            try await group.waitForAll()
        }

        let counts = acknowledged.withLock { $0 }
        #expect(counts.count == total)
        #expect(counts.values.allSatisfy { $0 == 1 })
        #expect(redeliveries.withLock { $0 } > 0)
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 0)
        #expect(await broker.unsettledCount("carbs.\(study).suggestions") == 0)
    }

    @Test("many publishers, one optimizer receiving in batches: every result exactly once, in publish order per worker")
    func manyPublishers() async throws {
        let perWorker = 200
        let (_, optimizer, workers) = try await makeStudy(workers: 6)
        let received = try await withThrowingTaskGroup(of: Void.self) { group in
            var received: [String] = []
            for (number, worker) in workers.enumerated() {
                group.addTask {
                    for index in 0..<perWorker { try await worker.publish(result: result("w\(number)-\(index)")) }
                }
            }
            while received.count < perWorker * workers.count {
                let batch = try await optimizer.receiveResults(maximum: 64, timeout: .seconds(5))
                #expect(!batch.isEmpty)
                #expect(batch.count <= 64)
                received += batch.compactMap(\.correlationID)
                try await optimizer.acknowledge(batch)
            }
            try await group.waitForAll()
            return received
        }
        #expect(Set(received).count == perWorker * workers.count)
        for number in workers.indices {
            let mine = received.filter { $0.hasPrefix("w\(number)-") }
            #expect(mine == (0..<perWorker).map { "w\(number)-\($0)" })
        }
    }
}
