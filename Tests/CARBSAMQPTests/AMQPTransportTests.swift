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

    @Test("suggestion and result round trip with every property")
    func roundTrip() async throws {
        try await TestBroker.withStudy("roundtrip") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            let worker = try TestBroker.worker(study: study)
            try await optimizer.start()
            try await worker.start()

            // Properties on the wire, as another-language worker would see them.
            try await optimizer.publish(suggestion: TestBroker.message("peek"))
            let peeked = try #require(
                try AMQPAdministration.take(url: try TestBroker.url, queue: optimizer.names.suggestions))
            #expect(peeked.contentType == "application/json")
            #expect(peeked.isPersistent)
            #expect(peeked.messageID == "peek/1")
            #expect(peeked.correlationID == "peek")
            #expect(String(decoding: peeked.body, as: UTF8.self) == #"{"suggestion_id":"peek"}"#)

            try await optimizer.publish(suggestion: TestBroker.message("s1", attempt: 2))
            let suggestion = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            #expect(suggestion.text == #"{"suggestion_id":"s1"}"#)
            #expect(suggestion.messageID == "s1/2")
            #expect(suggestion.correlationID == "s1")
            #expect(!suggestion.isRedelivered)

            try await worker.publish(result: TestBroker.message("s1", attempt: 2, body: #"{"kind":"started"}"#))
            try await worker.acknowledge(suggestion)
            try await worker.publish(result: TestBroker.message("s1", attempt: 2, body: #"{"kind":"result"}"#))

            var results: [InboundMessage] = []
            while results.count < 2 {
                let batch = try await optimizer.receiveResults(maximum: 10, timeout: .seconds(5))
                try #require(!batch.isEmpty, "results did not arrive")
                results += batch
            }
            #expect(results.map(\.text) == [#"{"kind":"started"}"#, #"{"kind":"result"}"#])
            #expect(results.allSatisfy { $0.messageID == "s1/2" && $0.correlationID == "s1" && !$0.isRedelivered })
            try await optimizer.acknowledge(results)

            // Nothing left anywhere once both sides let go.
            await worker.shutdown()
            await optimizer.shutdown()
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 0)
            #expect(try TestBroker.readyCount(optimizer.names.results) == 0)
        }
    }

    @Test("an unacknowledged suggestion is redelivered after the worker shuts down")
    func redeliveryAfterShutdown() async throws {
        try await TestBroker.withStudy("redeliver") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            try await optimizer.start()
            try await optimizer.publish(suggestion: TestBroker.message("s1"))

            let first = try TestBroker.worker(study: study)
            try await first.start()
            let taken = try #require(try await first.receiveSuggestion(timeout: .seconds(5)))
            #expect(!taken.isRedelivered)
            await first.shutdown()

            let second = try TestBroker.worker(study: study)
            try await second.start()
            let again = try #require(try await second.receiveSuggestion(timeout: .seconds(5)))
            #expect(again.messageID == "s1/1")
            #expect(again.isRedelivered)
            try await second.acknowledge(again)
            // Settling a receipt of a transport that is gone is harmless.
            try await first.acknowledge(taken)
            await second.shutdown()
            await optimizer.shutdown()
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 0)
        }
    }

    @Test("release hands a suggestion back to the queue")
    func release() async throws {
        try await TestBroker.withStudy("release") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            try await optimizer.start()
            let worker = try TestBroker.worker(study: study)
            try await worker.start()
            try await optimizer.publish(suggestion: TestBroker.message("s1"))
            let taken = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            try await worker.release(taken)
            let again = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            #expect(again.messageID == "s1/1")
            #expect(again.isRedelivered)
            try await worker.acknowledge(again)
            await worker.shutdown()
            await optimizer.shutdown()
        }
    }

    @Test("dead-lettering carries the reason header, the body and the ids, and settles the original")
    func deadLetter() async throws {
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

            #expect(try TestBroker.readyCount(optimizer.names.results) == 0)
            let dead = try #require(try AMQPAdministration.take(url: try TestBroker.url, queue: optimizer.names.dead))
            #expect(String(decoding: dead.body, as: UTF8.self) == "not json {")
            #expect(dead.headers["x-carbs-reason"] == "invalid_json: the body is not JSON")
            #expect(dead.headers["x-carbs-source-queue"] == optimizer.names.results)
            #expect(dead.messageID == "s9/1")
            #expect(dead.correlationID == "s9")
            #expect(dead.isPersistent)
        }
    }

    @Test("withdrawing queued suggestions purges them and counts them")
    func purge() async throws {
        try await TestBroker.withStudy("purge") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            try await optimizer.start()
            for index in 0..<7 {
                try await optimizer.publish(suggestion: TestBroker.message("s\(index)"))
            }
            #expect(try await optimizer.withdrawQueuedSuggestions() == 7)
            #expect(try await optimizer.withdrawQueuedSuggestions() == 0)
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 0)
            // Publishing still works after the purges.
            try await optimizer.publish(suggestion: TestBroker.message("after"))
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 1)
            await optimizer.shutdown()
        }
    }

    @Test("500 results arrive in batches, each at most the maximum, none lost or doubled")
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

    @Test("prefetch 1: a worker never holds two suggestions, and holds none while it works")
    func prefetchOne() async throws {
        try await TestBroker.withStudy("prefetch") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            try await optimizer.start()
            for index in 0..<3 {
                try await optimizer.publish(suggestion: TestBroker.message("s\(index)"))
            }
            let first = try TestBroker.worker(study: study)
            let second = try TestBroker.worker(study: study)
            try await first.start()
            try await second.start()

            let held = try #require(try await first.receiveSuggestion(timeout: .seconds(5)))
            // While holding one, the worker gets no other.
            #expect(try await first.receiveSuggestion(timeout: .milliseconds(500)) == nil)
            let other = try #require(try await second.receiveSuggestion(timeout: .seconds(5)))
            #expect(held.correlationID != other.correlationID)
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 1)

            // Acknowledged ("started") and training: the third stays in the queue for whoever is free.
            try await first.acknowledge(held)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 1)
            try await second.acknowledge(other)
            let third = try #require(try await first.receiveSuggestion(timeout: .seconds(5)))
            #expect(![held.correlationID, other.correlationID].contains(third.correlationID))
            try await first.acknowledge(third)
            await first.shutdown()
            await second.shutdown()
            await optimizer.shutdown()
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 0)
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

    @Test("both sides recover when the broker closes their connections; stale receipts are harmless")
    func reconnect() async throws {
        try await TestBroker.withStudy("reconnect") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            let worker = try TestBroker.worker(study: study)
            try await optimizer.start()
            try await worker.start()
            try await optimizer.publish(suggestion: TestBroker.message("s1"))
            let suggestion = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            try await worker.publish(result: TestBroker.message("s1", body: "started"))
            let result = try #require(try await optimizer.receiveResults(maximum: 10, timeout: .seconds(5)).first)

            #expect(try TestBroker.closeConnections(study: study) == 4)

            // Stale receipts: no error, no effect (the broker redelivers).
            try await worker.acknowledge(suggestion)
            try await optimizer.acknowledge([result])

            let redeliveredSuggestion = try #require(try await worker.receiveSuggestion(timeout: .seconds(10)))
            #expect(redeliveredSuggestion.messageID == "s1/1")
            #expect(redeliveredSuggestion.isRedelivered)
            let redeliveredResult = try #require(
                try await optimizer.receiveResults(maximum: 10, timeout: .seconds(10)).first)
            #expect(redeliveredResult.text == "started")
            #expect(redeliveredResult.isRedelivered)

            // Both directions work on the new connections.
            try await worker.publish(result: TestBroker.message("s1", body: "result"))
            try await worker.acknowledge(redeliveredSuggestion)
            try await optimizer.publish(suggestion: TestBroker.message("s2"))
            let next = try #require(try await worker.receiveSuggestion(timeout: .seconds(5)))
            #expect(next.messageID == "s2/1")
            try await worker.acknowledge(next)
            let more = try await optimizer.receiveResults(maximum: 10, timeout: .seconds(5))
            #expect(more.map(\.text) == ["result"])
            try await optimizer.acknowledge([redeliveredResult] + more)

            await worker.shutdown()
            await optimizer.shutdown()
            #expect(try TestBroker.readyCount(optimizer.names.suggestions) == 0)
            #expect(try TestBroker.readyCount(optimizer.names.results) == 0)
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

    @Test("receiving is cancellation-safe: a cancelled receive loses no message")
    func cancellation() async throws {
        try await TestBroker.withStudy("cancelrx") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            let worker = try TestBroker.worker(study: study)
            try await optimizer.start()
            try await worker.start()
            let waiting = Task { try await optimizer.receiveResults(maximum: 10, timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(200))
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            try await worker.publish(result: TestBroker.message("s1"))
            let results = try await optimizer.receiveResults(maximum: 10, timeout: .seconds(5))
            #expect(results.map(\.correlationID) == ["s1"])
            try await optimizer.acknowledge(results)
            await worker.shutdown()
            await optimizer.shutdown()
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

    @Test("using a transport after shutdown throws instead of hanging")
    func afterShutdown() async throws {
        try await TestBroker.withStudy("after") { study in
            let optimizer = try TestBroker.optimizer(study: study)
            try await optimizer.start()
            await optimizer.shutdown()
            await #expect {
                try await optimizer.publish(suggestion: TestBroker.message("s1"))
            } throws: { error in
                (error as? AMQPError)?.code == .shutDown
            }
            await #expect {
                _ = try await optimizer.receiveResults(maximum: 1, timeout: .seconds(1))
            } throws: { error in
                (error as? AMQPError)?.code == .shutDown
            }
        }
    }
}

/// A flag shared between tasks.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
