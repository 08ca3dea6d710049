import CARBSMessaging
import Foundation
import TestSupport
import Testing

// What every transport promises (delivery, ids, ordering, prefetch 1, redelivery, dead letters, withdrawing,
// stale receipts, cancellation, shutdown, study isolation, load) is tested once for both backends in
// `Tests/CARBSTransportConformanceTests`. What stays here is the embedded broker's own: its introspection
// (`queueDepth`, `unsettledCount`, `queueNames`) and what only an in-process broker can promise.

private let study = "broker-test"

private func suggestion(_ id: String) -> OutboundMessage {
    MessageFixtures.outbound(MessageFixtures.suggestion(study: study, id: id))
}

private func result(_ id: String) -> OutboundMessage {
    MessageFixtures.outbound(MessageFixtures.success(study: study, id: id))
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

@Suite("Embedded broker: what only the in-process broker has")
struct EmbeddedBrokerSemanticsTests {
    // RabbitMQ counts unacknowledged messages only through its management interface, which the AMQP transport
    // does not use: these counters are the embedded broker's test API (the service tests rely on them).
    @Test("queue depth and unsettled count follow a delivery and its acknowledgement; three queues are declared")
    func deliverAndAcknowledge() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        try await optimizer.publish(suggestion: suggestion("a"))
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 1)

        let received = try #require(try await workers[0].receiveSuggestion(timeout: .seconds(1)))
        #expect(await broker.queueDepth("carbs.\(study).suggestions") == 0)
        #expect(await broker.unsettledCount("carbs.\(study).suggestions") == 1)

        try await workers[0].acknowledge(received)
        #expect(await broker.unsettledCount("carbs.\(study).suggestions") == 0)
        #expect(
            await broker.queueNames() == [
                "carbs.\(study).dead", "carbs.\(study).results", "carbs.\(study).suggestions",
            ])
    }

    // Exact batch sizes: in process, everything queued is available at once. Over RabbitMQ a batch holds what
    // the consumer has received so far, so the shared suite only checks "at most the maximum, in order".
    @Test("results come in batches of exactly the maximum while enough are queued, in order")
    func resultBatches() async throws {
        let (_, optimizer, workers) = try await makeStudy()
        for index in 0..<5 { try await workers[0].publish(result: result("r\(index)")) }
        let first = try await optimizer.receiveResults(maximum: 3, timeout: .seconds(1))
        let second = try await optimizer.receiveResults(maximum: 3, timeout: .seconds(1))
        #expect(first.map(\.correlationID) == ["r0", "r1", "r2"])
        #expect(second.map(\.correlationID) == ["r3", "r4"])
    }

    // Likewise exact: every queued result in one batch (RabbitMQ's consumer may not have received them all yet).
    @Test("a waiting optimizer gets the first result and everything queued with it")
    func batchAfterWait() async throws {
        let (broker, optimizer, workers) = try await makeStudy()
        // Queue results without waking anyone: publish while no receiver waits, then receive.
        for index in 0..<50 { try await workers[0].publish(result: result("r\(index)")) }
        let burst = try await optimizer.receiveResults(maximum: 100, timeout: .seconds(1))
        #expect(burst.count == 50)
        #expect(await broker.queueDepth("carbs.\(study).results") == 0)
    }

    // Nothing is delivered ahead of a receive here, so a result the crashed optimizer never took is not marked
    // redelivered; RabbitMQ's prefetch may have delivered it already (the shared suite checks the rest).
    @Test("a result the crashed optimizer never took reaches the next one not marked redelivered")
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

    // An AMQP transport is single-use (shutdown ends its connection threads); an embedded one can be started
    // again, which the service tests use to simulate an optimizer restarting.
    @Test("the errors before start and after shutdown are TransportError's; start after shutdown reconnects")
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

    // The shared suite accepts "nothing" or the backend's shut-down error (RabbitMQ's transport throws).
    @Test("shutting down ends a pending receive with nothing, not an error")
    func shutdownWakesReceiver() async throws {
        let (_, _, workers) = try await makeStudy()
        async let pending = workers[0].receiveSuggestion(timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(30))
        await workers[0].shutdown()
        #expect(try await pending == nil)
    }
}
