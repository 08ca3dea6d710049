import CARBSAMQP
import CARBSMessaging
import Foundation
import Synchronization
import Testing

/// Against the real broker at `CARBS_TEST_BROKER_URL`. Each test has its own study and deletes its queues.
@Suite("AMQP transport against a broker", .timeLimit(.minutes(2)))
struct AMQPTransportTests {
    @Test("the test broker is reachable (the suite fails, never skips, without one)")
    func brokerIsReachable() throws {
        // Passive declare of a queue that cannot exist: reaching the broker gives queueNotFound.
        #expect {
            _ = try AMQPAdministration.messageCount(url: try TestBroker.url, queue: "carbs.no-such-queue.\(UUID())")
        } throws: { error in
            (error as? AMQPError)?.code == .queueNotFound
        }
    }

    // Delivery, ids, ordering, prefetch 1, redelivery, release, dead letters, withdrawing, stale receipts after a
    // reconnect, cancellation, shutdown and study isolation are tested once for both transports in
    // `Tests/CARBSTransportConformanceTests`. What stays here is RabbitMQ's own: the AMQP properties on the wire,
    // reconnects under load, heartbeats, queue types, and failing to connect.

    @Test("suggestions and results go on the wire with the protocol's AMQP properties")
    func wireProperties() async throws {
        try await TestBroker.withStudy("wire") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            let worker = try TestBroker.worker(study: study)
            try await optimizer.start()
            try await worker.start()

            // As a worker or an optimizer written in another language would see them.
            try await optimizer.publish(suggestion: TestBroker.message("peek"))
            try await worker.publish(result: TestBroker.message("peek", attempt: 3, body: #"{"kind":"started"}"#))
            await worker.shutdown()
            await optimizer.shutdown()
            let suggestion = try #require(
                try AMQPAdministration.take(url: try TestBroker.url, queue: optimizer.names.suggestions))
            #expect(suggestion.contentType == "application/json")
            #expect(suggestion.isPersistent)
            #expect(suggestion.messageID == "peek/1")
            #expect(suggestion.correlationID == "peek")
            #expect(String(decoding: suggestion.body, as: UTF8.self) == #"{"suggestion_id":"peek"}"#)
            let result = try #require(
                try AMQPAdministration.take(url: try TestBroker.url, queue: optimizer.names.results))
            #expect(result.contentType == "application/json")
            #expect(result.isPersistent)
            #expect(result.messageID == "peek/3")
            #expect(result.correlationID == "peek")
        }
    }

    @Test("a dead letter is persistent and names its source queue in x-carbs-source-queue")
    func deadLetterHeaders() async throws {
        try await TestBroker.withStudy("dead") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            let worker = try TestBroker.worker(study: study)
            try await optimizer.start()
            try await worker.start()
            try await worker.publish(result: TestBroker.message("s9", body: "not json {"))
            let received = try await optimizer.receiveResults(maximum: 10, timeout: .seconds(5))
            let message = try #require(received.first)
            try await optimizer.deadLetter(message, reason: "invalid_json: the body is not JSON")
            await optimizer.shutdown()
            await worker.shutdown()

            let dead = try #require(try AMQPAdministration.take(url: try TestBroker.url, queue: optimizer.names.dead))
            #expect(dead.headers["x-carbs-reason"] == "invalid_json: the body is not JSON")
            #expect(dead.headers["x-carbs-source-queue"] == optimizer.names.results)
            #expect(dead.isPersistent)
            #expect(dead.contentType == "application/json")
        }
    }

    // Concurrent publishes on one transport share the wait for publisher confirms (pipelining), which only the
    // AMQP transport has; the shared suite publishes one at a time per transport.
    @Test("500 concurrent publishes on one transport arrive in batches of at most the maximum, none lost or doubled")
    func batches() async throws {
        try await TestBroker.withStudy("batch") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            let worker = try TestBroker.worker(study: study)
            try await optimizer.start()
            try await worker.start()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask { try await worker.publish(result: TestBroker.message("r\(index)")) }
                }
                try await group.waitForAll()
            }
            var seen = Set<String>()
            var batchSizes: [Int] = []
            while seen.count < 500 {
                let batch = try await optimizer.receiveResults(maximum: 100, timeout: .seconds(5))
                try #require(!batch.isEmpty, "only \(seen.count) results arrived")
                batchSizes.append(batch.count)
                for message in batch {
                    #expect(seen.insert(try #require(message.correlationID)).inserted)
                }
                try await optimizer.acknowledge(batch)
            }
            #expect(batchSizes.allSatisfy { $0 <= 100 })
            #expect(batchSizes.contains { $0 > 1 }, "results should come in batches: \(batchSizes)")
            #expect(try await optimizer.receiveResults(maximum: 100, timeout: .milliseconds(300)).isEmpty)
            await worker.shutdown()
            await optimizer.shutdown()
            #expect(try TestBroker.readyCount(optimizer.names.results) == 0)
        }
    }

    @Test("a worker started before the optimizer waits for the queues, then works")
    func workerBeforeOptimizer() async throws {
        try await TestBroker.withStudy("early") { study in
            let worker = try TestBroker.worker(study: study)
            let started = Flag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await worker.start()
                    started.value.store(true, ordering: .sequentiallyConsistent)
                }
                try await Task.sleep(for: .seconds(1))
                let startedEarly = started.value.load(ordering: .sequentiallyConsistent)
                #expect(!startedEarly, "start() must wait for the queues")
                let optimizer = try TestBroker.optimizer(study: study)
                try await optimizer.start()
                try await group.waitForAll()
                let startedLater = started.value.load(ordering: .sequentiallyConsistent)
                #expect(startedLater)
                try await optimizer.publish(suggestion: TestBroker.message("s1"))
                let suggestion = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
                try await worker.publish(result: TestBroker.message("s1"))
                try await worker.acknowledge(suggestion)
                let results = try await optimizer.receiveResults(maximum: 10, timeout: .seconds(5))
                #expect(results.map(\.correlationID) == ["s1"])
                try await optimizer.acknowledge(results)
                await optimizer.shutdown()
            }
            await worker.shutdown()
        }
    }

    @Test("heartbeats keep idle connections open: nothing reconnects during a quiet spell")
    func heartbeatsWhileIdle() async throws {
        try await TestBroker.withStudy("idle") { study in
            let optimizer = try TestBroker.optimizer(study: study) { $0.heartbeatSeconds = 1 }
            var workerConfiguration = try TestBroker.configuration(study: study)
            workerConfiguration.heartbeatSeconds = 1
            let worker = try AMQPWorkerTransport(configuration: workerConfiguration, logger: TestBroker.logger)
            try await optimizer.start()
            try await worker.start()
            try await optimizer.publish(suggestion: TestBroker.message("s1"))
            try await worker.publish(result: TestBroker.message("s1"))
            let before = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            let result = try #require(try await optimizer.receiveResults(maximum: 1, timeout: .seconds(5)).first)
            // A worker "training": it holds nothing and calls nothing for several heartbeat intervals.
            try await worker.acknowledge(before)
            try await Task.sleep(for: .seconds(5))
            try await optimizer.acknowledge([result])
            try await optimizer.publish(suggestion: TestBroker.message("s2"))
            try await worker.publish(result: TestBroker.message("s2"))
            let after = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            let resultAfter = try #require(try await optimizer.receiveResults(maximum: 1, timeout: .seconds(5)).first)
            #expect(after.messageID == "s2/1" && !after.isRedelivered)
            #expect(resultAfter.messageID == "s2/1" && !resultAfter.isRedelivered, "s1 must not come back")
            // Same connections as before the quiet spell.
            #expect(after.receipt.generation == before.receipt.generation)
            #expect(resultAfter.receipt.generation == result.receipt.generation)
            try await worker.acknowledge(after)
            try await optimizer.acknowledge([resultAfter])
            await worker.shutdown()
            await optimizer.shutdown()
        }
    }

    @Test("publishes in flight while the connection drops are retried, not lost")
    func publishDuringReconnect() async throws {
        try await TestBroker.withStudy("inflight") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            try await optimizer.start()
            let stop = Flag()
            let confirmed = try await withThrowingTaskGroup(of: Int.self) { group in
                // Sixteen publishers keep going through the forced close and the reconnect.
                for publisher in 0..<16 {
                    group.addTask {
                        var count = 0
                        while !stop.value.load(ordering: .relaxed) {
                            try await optimizer.publish(suggestion: TestBroker.message("p\(publisher)-\(count)"))
                            count += 1
                        }
                        return count
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                #expect(try TestBroker.closeConnections(study: study) == 2)
                try await Task.sleep(for: .milliseconds(500))
                stop.value.store(true, ordering: .relaxed)
                return try await group.reduce(0, +)
            }
            // At least once: every confirmed suggestion is in the queue (duplicates are allowed).
            #expect(confirmed > 0)
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) >= confirmed)
            await optimizer.shutdown()
        }
    }

    @Test("the optimizer recovers when its results queue is deleted under its consumer")
    func consumerCancelledByBroker() async throws {
        try await TestBroker.withStudy("cancel") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            let worker = try TestBroker.worker(study: study)
            try await optimizer.start()
            try await worker.start()
            try AMQPAdministration.deleteQueue(url: try TestBroker.url, name: optimizer.names.results)
            // The optimizer redeclares the queue and resubscribes; the worker's publish waits until it exists.
            try await worker.publish(result: TestBroker.message("s1"))
            let results = try await optimizer.receiveResults(maximum: 10, timeout: .seconds(10))
            #expect(results.map(\.correlationID) == ["s1"])
            try await optimizer.acknowledge(results)
            await worker.shutdown()
            await optimizer.shutdown()
        }
    }

    @Test("quorum queues: declarations are idempotent, and a conflicting queue type is a clear error")
    func quorumQueues() async throws {
        try await TestBroker.withStudy("quorum") { study in
            let first = try TestBroker.optimizer(study: study) { $0.queueType = .quorum }
            try await first.start()
            let again = try TestBroker.optimizer(study: study) { $0.queueType = .quorum }
            try await again.start()
            try await again.publish(suggestion: TestBroker.message("q1"))
            let worker = try TestBroker.worker(study: study)
            try await worker.start()
            let suggestion = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            try await worker.acknowledge(suggestion)
            let classic = try TestBroker.optimizer(study: study)
            await #expect {
                try await classic.start()
            } throws: { error in
                (error as? AMQPError)?.code == .topologyMismatch
            }
            await classic.shutdown()
            await worker.shutdown()
            await again.shutdown()
            await first.shutdown()
        }
    }

    @Test("an unreachable broker fails start() after startTimeout; bad credentials fail at once")
    func startFailures() async throws {
        var configuration = AMQPConfiguration(url: try BrokerURL("amqp://127.0.0.1:1/"), study: "unreachable")
        configuration.startTimeout = .seconds(1)
        configuration.reconnect = .init(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200))
        let unreachable = try AMQPOptimizerTransport(configuration: configuration, logger: TestBroker.logger)
        await #expect {
            try await unreachable.start()
        } throws: { error in
            (error as? AMQPError)?.code == .timedOut
        }
        await unreachable.shutdown()

        var wrong = try TestBroker.url
        wrong.password = "definitely-wrong"
        var badCredentials = AMQPConfiguration(url: wrong, study: "badcredentials")
        badCredentials.startTimeout = .seconds(30)
        let refused = try AMQPWorkerTransport(configuration: badCredentials, logger: TestBroker.logger)
        let clock = ContinuousClock()
        let elapsed = await clock.measure {
            await #expect {
                try await refused.start()
            } throws: { error in
                (error as? AMQPError)?.code == .accessRefused
                    && !(error as! AMQPError).description.contains("definitely-wrong")
            }
        }
        #expect(elapsed < .seconds(60))
        await refused.shutdown()
    }

    @Test("TLS: a missing CA file is a configuration error; a TLS handshake with a plain port fails to connect")
    func tlsFailures() async throws {
        let plain = try TestBroker.url
        var missingCA = AMQPConfiguration(
            url: try BrokerURL("amqps://\(plain.host):\(plain.port)/?cacertfile=/nonexistent/ca.pem"), study: "tls")
        missingCA.startTimeout = .seconds(30)
        let misconfigured = try AMQPOptimizerTransport(configuration: missingCA, logger: TestBroker.logger)
        await #expect {
            try await misconfigured.start()
        } throws: { error in
            let error = error as? AMQPError
            return error?.code == .invalidConfiguration && error?.message.contains("/nonexistent/ca.pem") == true
        }
        await misconfigured.shutdown()

        var handshake = AMQPConfiguration(
            url: try BrokerURL("amqps://\(plain.host):\(plain.port)/?verify=verify_none"), study: "tls")
        handshake.startTimeout = .seconds(1)
        let wrongPort = try AMQPWorkerTransport(configuration: handshake, logger: TestBroker.logger)
        await #expect {
            try await wrongPort.start()
        } throws: { error in
            (error as? AMQPError)?.code == .timedOut
        }
        await wrongPort.shutdown()
    }

}

/// A flag shared between tasks.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
