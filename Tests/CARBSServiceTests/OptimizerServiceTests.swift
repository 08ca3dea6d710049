import CARBSCore
import CARBSMessaging
import CARBSStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import CARBSService

/// The optimizer service end to end over the embedded transport, with scripted workers that speak the wire protocol,
/// injected crashes, and a clock moved by hand. Every test is bounded in time: a hang fails instead of blocking CI.
@Suite("Optimizer service", .timeLimit(.minutes(5)))
struct OptimizerServiceTests {
    // MARK: - A whole study

    @Test("a study over the embedded transport finishes at its budget")
    func finishesAtBudget() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let progress = Mutex<[StudyProgress]>([])
        let configuration = fixture.configuration(maxInFlight: 4, maxObservations: 20)
        let service = fixture.service(
            configuration, persistence: try fixture.persistence(), transport: try fixture.transport(),
            onProgress: { report in progress.withLock { $0.append(report) } })
        let workers = try fixture.workers(4)
        try await withTimeLimit(.seconds(120), "the study") { try await fixture.run(service, with: workers) }

        try expectStudyComplete(fixture, budget: 20, service: service)
        let result = try #require(service.result)
        #expect(result.summary.successCount == 20)
        #expect(result.summary.failureCount == 0)
        let counts = try fixture.store().counts()
        #expect(counts.observations == 20)
        #expect(counts.failures == 0)
        #expect(abs(counts.totalCost - result.summary.cumulativeCost) < 1e-9)
        #expect(counts.suggestions == [.finished: 20], "every suggestion settled, none wasted")
        #expect(counts.messages[.applied] == 20)
        #expect(counts.messages[.started] == 20)
        #expect(await fixture.suggestionsQueued() == 0)
        #expect(await fixture.deadLetters().isEmpty)
        // 3 random samples, then the models: at least one refit, at most one per batch of results.
        #expect(service.refitCount >= 1)
        #expect(service.refitCount <= 17)
        #expect(try fixture.savedSnapshot().fitCount == service.refitCount)

        let reports = progress.withLock { $0 }
        #expect(reports.map(\.inFlight).allSatisfy { $0 <= 4 }, "never more than max_in_flight outstanding")
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.observations <= $1.observations })
        let last = try #require(reports.last)
        #expect(last.observations == 20 && last.inFlight == 0 && last.isDraining)
        #expect(last.bestOutput == result.summary.best?.output)

        // Started again on the finished study (`carbs tune` run twice): it ends at once, issuing nothing.
        let again = fixture.service(
            configuration, persistence: try fixture.persistence(), transport: try fixture.transport())
        try await withTimeLimit(.seconds(60), "the finished study") { try await fixture.run(again, with: []) }
        #expect(again.result?.ending == .budgetReached)
        #expect(try fixture.store().suggestions().count == 20)
        try expectStudyComplete(fixture, budget: 20, service: again)
    }

    @Test("failures count toward the budget and are stored as failures")
    func failuresCount() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let service = fixture.service(
            fixture.configuration(maxInFlight: 3, maxObservations: 12), persistence: try fixture.persistence(),
            transport: try fixture.transport())
        // Runs with x > 0.5 (the search center) "diverge".
        let workers = try fixture.workers(3) { suggestion in
            (suggestion.params["x"]?.doubleValue ?? 0) > 0.5 ? .fail : .succeed
        }
        try await withTimeLimit(.seconds(120), "the study") { try await fixture.run(service, with: workers) }

        try expectStudyComplete(fixture, budget: 12, service: service)
        let observations = try fixture.store().observations()
        let failed = observations.filter(\.isFailure)
        #expect(!failed.isEmpty && failed.count < 12, "\(failed.count) failures")
        #expect(failed.allSatisfy { ($0.params["x"]?.doubleValue ?? 0) > 0.5 && $0.output == nil })
        #expect(observations.filter { !$0.isFailure }.allSatisfy { ($0.params["x"]?.doubleValue ?? 0) <= 0.5 })
        let result = try #require(service.result)
        #expect(result.summary.failureCount == failed.count)
        #expect(try fixture.store().counts().failures == failed.count)
        #expect(try fixture.savedSnapshot().failures.count == failed.count)
    }

    // MARK: - Crash and restart

    /// Where the first optimizer process dies.
    enum CrashPoint: Sendable, CustomTestStringConvertible {
        /// At the `occurrence`-th persistence step of `kind`, before its write or after it (between the commit and
        /// the acknowledge / publish that follow it).
        case commit(StepKind, occurrence: Int, afterWrite: Bool)
        /// At the n-th acknowledge: results committed, not acknowledged.
        case acknowledge(Int)
        /// At the n-th publish: suggestions committed as publishing, not queued.
        case publish(Int)

        var testDescription: String {
            switch self {
            case .commit(let kind, let occurrence, let afterWrite):
                "\(afterWrite ? "after" : "before") writing \(kind) step #\(occurrence)"
            case .acknowledge(let n): "acknowledge #\(n)"
            case .publish(let n): "publish #\(n)"
            }
        }

        static let all: [CrashPoint] =
            [
                (StepKind.firstSnapshot, 1), (.issue, 1), (.issue, 2), (.lease, 1), (.lease, 3), (.result, 1),
                (.result, 3), (.reissue, 1), (.other, 1),
            ].flatMap { kind, occurrence in
                [false, true].map { CrashPoint.commit(kind, occurrence: occurrence, afterWrite: $0) }
            } + [.acknowledge(1), .acknowledge(3), .publish(1), .publish(3)]
    }

    @Test(
        "a crash at any step of result handling: the restarted service finishes, nothing lost or counted twice",
        arguments: CrashPoint.all)
    func restartAfterCrash(at point: CrashPoint) async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let budget = 6
        let configuration = fixture.configuration(maxInFlight: 2, maxObservations: budget)
        // The second suggestion handed out is lost once (so a re-issue happens), the fourth fails; the rest succeed.
        let handedOut = Mutex(0)
        let workers = try fixture.workers(2, runTime: .milliseconds(5)) { suggestion in
            guard suggestion.attempt == 1 else { return .succeed }
            let n = handedOut.withLock { n -> Int in
                n += 1
                return n
            }
            return n == 2 ? .lose : n == 4 ? .fail : .succeed
        }
        let faulty: FaultyPersistence
        let transportFault: TestTransport.Fault?
        switch point {
        case .commit(let kind, let occurrence, let afterWrite):
            faulty = FaultyPersistence(
                try fixture.persistence(), crashAt: .init(kind: kind, occurrence: occurrence), afterWrite: afterWrite)
            transportFault = nil
        case .acknowledge(let n):
            faulty = FaultyPersistence(try fixture.persistence(), crashAt: nil)
            transportFault = .acknowledge(n)
        case .publish(let n):
            faulty = FaultyPersistence(try fixture.persistence(), crashAt: nil)
            transportFault = .publish(n)
        }
        let firstTransport = try fixture.transport(fault: transportFault)
        let first = fixture.service(configuration, persistence: faulty, transport: firstTransport)

        let second = try await withTimeLimit(.seconds(120), "crash and restart at \(point)") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers {
                    group.addTask { try await worker.run() }
                }
                do {
                    try await first.run()
                    Issue.record("the first service finished without crashing at \(point); steps: \(faulty.steps)")
                } catch is InjectedCrash {
                }
                // The process is gone: whatever it had not acknowledged goes back to the queue.
                await firstTransport.simulateCrash()
                try expectConsistentSavedState(fixture)
                let second = fixture.service(
                    configuration, persistence: try fixture.persistence(), transport: try fixture.transport())
                try await second.run()
                group.cancelAll()
                return second
            }
        }
        try expectStudyComplete(fixture, budget: budget, service: second)
        let store = try fixture.store()
        #expect(try store.observations().filter(\.isFailure).count <= 1)
        #expect(try store.observations().filter(\.isFailure).count == second.result?.summary.failureCount)
    }

    @Test("a transport reconnect mid-study: the redelivered messages change nothing", arguments: [1, 2, 3])
    func reconnectRedelivers(atAcknowledge n: Int) async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let budget = 8
        let service = fixture.service(
            fixture.configuration(maxInFlight: 2, maxObservations: budget), persistence: try fixture.persistence(),
            transport: try fixture.transport(fault: .reconnect(beforeAcknowledge: n)))
        let workers = try fixture.workers(2, runTime: .milliseconds(2))
        try await withTimeLimit(.seconds(120), "the study") { try await fixture.run(service, with: workers) }

        try expectStudyComplete(fixture, budget: budget, service: service)
        let counts = try fixture.store().counts()
        #expect(counts.messages[.applied] == budget)
        #expect(counts.suggestions == [.finished: budget])
        #expect(await fixture.deadLetters().isEmpty)
        // One started and one result per suggestion, and the batch acknowledged with stale receipts once more.
        #expect(counts.messages.values.reduce(0, +) > 2 * budget, "nothing was redelivered: \(counts.messages)")
    }

    // MARK: - Duplicates, late results, leases

    @Test("a result published twice counts once and is logged as a duplicate")
    func duplicateResultCountsOnce() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let budget = 5
        let service = fixture.service(
            fixture.configuration(maxInFlight: 2, maxObservations: budget), persistence: try fixture.persistence(),
            transport: try fixture.transport())
        let workers = try fixture.workers(2) { _ in .succeedTwice }
        try await withTimeLimit(.seconds(120), "the study") { try await fixture.run(service, with: workers) }

        try expectStudyComplete(fixture, budget: budget, service: service)
        let log = try fixture.store().messageLog()
        let applied = log.filter { $0.disposition == .applied }
        let duplicates = log.filter { $0.disposition == .duplicate }
        #expect(applied.count == budget)
        // Each counted suggestion's second result is a duplicate (the last ones may still be queued at the end).
        #expect(duplicates.count >= budget - 2)
        #expect(Set(duplicates.compactMap(\.suggestionID)).isSubset(of: Set(applied.compactMap(\.suggestionID))))
        #expect(duplicates.allSatisfy { $0.reason?.contains("already has its result") == true })
        #expect(await fixture.deadLetters().isEmpty, "duplicates are acknowledged, not rejected")
    }

    @Test(
        "a silent run's lease expires: attempt 2, same params; heartbeats renew it; attempt 1's late result is ignored")
    func leaseExpiryReissues() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let clock = ManualClock()
        let service = fixture.service(
            fixture.configuration(maxInFlight: 1, maxObservations: 2, leaseSeconds: 30),
            persistence: try fixture.persistence(), transport: try fixture.transport(), clock: clock)
        let silent = try await fixture.workerTransport()
        let other = try await fixture.workerTransport()
        let store = try fixture.store()

        try await withTimeLimit(.seconds(120), "the lease scenario") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }

                let first = try await receive(on: silent, fixture: fixture)
                #expect(first.messageID == "\(first.message.suggestionID)/1")
                let id = first.message.suggestionID
                try await silent.publish(result: WorkerProtocol.outbound(.init(first.message, .started, "silent")))
                try await silent.acknowledge(first.inbound)
                try await waitUntil("the run started") {
                    try store.read { try $0.suggestion(id: id)?.state } == .running
                }

                // A heartbeat renews the lease: 20 s + 20 s is past the first deadline but not the renewed one.
                clock.advance(seconds: 20)
                try await silent.publish(result: WorkerProtocol.outbound(.init(first.message, .heartbeat, "silent")))
                try await waitUntil("the heartbeat logged") {
                    try store.messageLog().contains { $0.disposition == .heartbeat }
                }
                clock.advance(seconds: 20)
                try await Task.sleep(for: .milliseconds(100))
                #expect(await fixture.suggestionsQueued() == 0, "re-issued although a heartbeat renewed the lease")

                // Then nothing more: the lease runs out and the same point comes back as attempt 2.
                clock.advance(seconds: 31)
                let second = try await receive(on: other, fixture: fixture)
                #expect(second.message.suggestionID == id)
                #expect(second.message.attempt == 2)
                #expect(second.messageID == "\(id)/2")
                #expect(second.message.params == first.message.params)
                try await other.publish(result: WorkerProtocol.outbound(.init(second.message, .started, "other")))
                try await other.acknowledge(second.inbound)
                try await other.publish(
                    result: WorkerProtocol.outbound(.init(second.message, .result, "other", status: .success)))

                // The silent worker wakes up and reports attempt 1: too late, the suggestion has its result.
                try await waitUntil("attempt 2 counted") { try store.observations().count == 1 }
                try await silent.publish(
                    result: WorkerProtocol.outbound(.init(first.message, .result, "silent", status: .success)))
                try await waitUntil("the late result logged") {
                    try store.messageLog().contains { $0.disposition == .late }
                }

                // The study's second suggestion, to finish.
                let last = try await receive(on: other, fixture: fixture)
                try await other.acknowledge(last.inbound)
                try await other.publish(
                    result: WorkerProtocol.outbound(.init(last.message, .result, "other", status: .success)))
                try await group.waitForAll()
            }
        }

        try expectStudyComplete(fixture, budget: 2, service: service)
        let observations = try store.observations()
        let reissued = try #require(observations.first)
        #expect(reissued.attempt == 2)
        #expect(reissued.worker == "other")
        let attempts = try store.read { try $0.attempts(ofSuggestion: reissued.suggestionID) }
        #expect(attempts.map(\.attempt) == [1, 2])
        #expect(attempts.first?.outcome == .expired)
        #expect(attempts.first?.worker == "silent")
        #expect(attempts.last?.outcome == .success)
        let late = try store.messageLog().filter { $0.disposition == .late }
        #expect(late.count == 1)
        #expect(late.first?.suggestionID == reissued.suggestionID)
        #expect(late.first?.attempt == 1)
        #expect(await fixture.deadLetters().isEmpty)
    }

    @Test(
        "a crash right at the lease expiry's re-issue: the restarted service still re-issues attempt 2",
        arguments: [false, true])
    func crashAtLeaseExpiry(afterWrite: Bool) async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let clock = ManualClock()
        let configuration = fixture.configuration(maxInFlight: 1, maxObservations: 1, leaseSeconds: 30)
        let faulty = FaultyPersistence(
            try fixture.persistence(), crashAt: .init(kind: .reissue, occurrence: 1), afterWrite: afterWrite)
        let firstTransport = try fixture.transport()
        let first = fixture.service(configuration, persistence: faulty, transport: firstTransport, clock: clock)
        let worker = try await fixture.workerTransport()
        let store = try fixture.store()

        let second = try await withTimeLimit(.seconds(120), "the lease crash scenario") {
            async let firstRun: Void = first.run()
            let attempt1 = try await receive(on: worker, fixture: fixture)
            try await worker.publish(result: WorkerProtocol.outbound(.init(attempt1.message, .started, "w")))
            try await worker.acknowledge(attempt1.inbound)
            try await waitUntil("the run started") {
                try store.read { try $0.suggestion(id: attempt1.message.suggestionID)?.state } == .running
            }
            clock.advance(seconds: 31)
            do {
                try await firstRun
                Issue.record("the first service did not crash at the re-issue")
            } catch is InjectedCrash {
            }
            await firstTransport.simulateCrash()

            let second = fixture.service(
                configuration, persistence: try fixture.persistence(), transport: try fixture.transport(), clock: clock)
            async let secondRun: Void = second.run()
            // Before the write, the restart re-arms the lease from its start; after it, attempt 2 is republished.
            // Move the clock past any lease the restarted service may have armed until attempt 2 shows up.
            var next: InboundMessage?
            let deadline = ContinuousClock.now + .seconds(60)
            while next == nil, ContinuousClock.now < deadline {
                clock.advance(seconds: 31)
                next = try await worker.receiveSuggestion(timeout: .milliseconds(50))
            }
            let inbound = try #require(next, "attempt 2 was never issued")
            let attempt2 = (
                message: try WireFormat.decodeSuggestion(inbound.body, expectedStudy: fixture.study),
                messageID: inbound.messageID, inbound: inbound
            )
            #expect(attempt2.messageID == "\(attempt1.message.suggestionID)/2")
            try await worker.acknowledge(attempt2.inbound)
            try await worker.publish(
                result: WorkerProtocol.outbound(.init(attempt2.message, .result, "w", status: .success)))
            try await secondRun
            return second
        }
        #expect(faulty.crashedAt?.contains(.reissue) == true)
        try expectStudyComplete(fixture, budget: 1, service: second)
        let id = try #require(try store.observations().first?.suggestionID)
        let attempts = try store.read { try $0.attempts(ofSuggestion: id) }
        #expect(attempts.map(\.attempt) == [1, 2])
        #expect(attempts.map(\.outcome) == [.expired, .success])
    }

    // MARK: - Batching

    @Test("a burst of 10 results is one refit and 10 new suggestions")
    func burstIsOneRefit() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let transport = try fixture.transport()
        let service = fixture.service(
            fixture.configuration(maxInFlight: 10, maxObservations: 20), persistence: try fixture.persistence(),
            transport: transport)
        let worker = try await fixture.workerTransport()
        let store = try fixture.store()

        try await withTimeLimit(.seconds(120), "the burst scenario") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                for round in 1...2 {
                    try await waitUntil("10 suggestions queued") { await fixture.suggestionsQueued() == 10 }
                    var taken: [SuggestionMessage] = []
                    for _ in 0..<10 {
                        let next = try await receive(on: worker, fixture: fixture)
                        try await worker.acknowledge(next.inbound)
                        taken.append(next.message)
                    }
                    if round == 1 {
                        // The first 10 are random samples: no model yet.
                        #expect(service.refitCount == 0)
                    }
                    transport.gatherNextBurst(of: 10)
                    for suggestion in taken {
                        try await worker.publish(
                            result: WorkerProtocol.outbound(.init(suggestion, .result, "w", status: .success)))
                    }
                    if round == 1 {
                        try await waitUntil("10 new suggestions") {
                            let queued = await fixture.suggestionsQueued()
                            return try store.suggestions().count == 20 && queued == 10
                        }
                        #expect(service.refitCount == 1)
                        #expect(try fixture.savedSnapshot().fitCount == 1)
                    }
                }
                try await group.waitForAll()
            }
        }
        try expectStudyComplete(fixture, budget: 20, service: service)
        #expect(service.refitCount == 1, "the last burst reached the budget: no refit needed")
        let observedAt = Set(try store.observations().prefix(10).map(\.observedAt))
        #expect(observedAt.count == 1, "the 10 results of the first burst were committed in one step")
    }

    // MARK: - Lost runs

    @Test("lost on every attempt with max_attempts 2: forgotten, and the core no longer has it outstanding")
    func lostTooOftenIsForgotten() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let journal = SuggestionJournal()
        let doomed = Mutex<String?>(nil)
        let service = fixture.service(
            fixture.configuration(maxInFlight: 1, maxObservations: 2, maxAttempts: 2),
            persistence: try fixture.persistence(), transport: try fixture.transport())
        let workers = try fixture.workers(1, journal: journal) { suggestion in
            let lose = doomed.withLock { doomed -> Bool in
                if doomed == nil { doomed = suggestion.suggestionID }
                return doomed == suggestion.suggestionID
            }
            return lose ? .lose : .succeed
        }
        try await withTimeLimit(.seconds(120), "the study") { try await fixture.run(service, with: workers) }

        try expectStudyComplete(fixture, budget: 2, service: service)
        let id = try #require(doomed.withLock { $0 })
        let attempts = journal.messages.filter { $0.suggestionID == id }
        #expect(attempts.map(\.attempt) == [1, 2], "lost twice, never a third attempt")
        #expect(attempts.first?.params == attempts.last?.params)
        #expect(journal.messageIDs.contains("\(id)/2"))
        let store = try fixture.store()
        let stored = try #require(try store.read { try $0.suggestion(id: id) })
        #expect(stored.state == .forgotten)
        #expect(try store.read { try $0.attempts(ofSuggestion: id) }.count == 2)
        #expect(try store.observations().allSatisfy { $0.suggestionID != id })
        let snapshot = try fixture.savedSnapshot()
        #expect(!snapshot.outstanding.contains { $0.id == id })
        #expect(!snapshot.observedIDs.contains(id))
    }

    @Test("lost once: attempt 2 is issued with the same params and its result counts")
    func lostOnceIsReissued() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let journal = SuggestionJournal()
        let service = fixture.service(
            fixture.configuration(maxInFlight: 2, maxObservations: 4, maxAttempts: 3),
            persistence: try fixture.persistence(), transport: try fixture.transport())
        let workers = try fixture.workers(2, journal: journal) { suggestion in
            suggestion.attempt == 1 && suggestion.suggestionID == journal.messages.first?.suggestionID
                ? .lose : .succeed
        }
        try await withTimeLimit(.seconds(120), "the study") { try await fixture.run(service, with: workers) }

        try expectStudyComplete(fixture, budget: 4, service: service)
        let id = try #require(journal.messages.first?.suggestionID)
        let attempts = journal.messages.filter { $0.suggestionID == id }
        #expect(attempts.map(\.attempt) == [1, 2])
        #expect(attempts.first?.params == attempts.last?.params)
        let store = try fixture.store()
        let observation = try #require(try store.read { try $0.observation(suggestionID: id) })
        #expect(observation.attempt == 2)
        #expect(try store.read { try $0.suggestion(id: id) }?.state == .finished)
        #expect(try store.read { try $0.attempts(ofSuggestion: id) }.map(\.outcome) == [.lost, .success])
        let log = try store.messageLog().filter { $0.suggestionID == id && $0.status == "lost" }
        #expect(log.count == 1)
        #expect(log.first?.reason?.contains("re-issued as attempt 2") == true)
    }

    // MARK: - Rejected messages

    @Test("malformed and unknown messages are dead-lettered with their reason, logged, and the study goes on")
    func rejectedMessages() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let sender = try await fixture.workerTransport()
        let valid: [String: Any] = [
            "protocol": 1, "kind": "result", "study": fixture.study,
            "suggestion_id": "00000000-0000-4000-8000-000000000000",
            "attempt": 1, "worker": "w", "sent_at": "2026-11-28T23:58:33Z", "status": "success", "output": 1.5,
            "cost": 2,
        ]
        func body(_ change: (inout [String: Any]) -> Void) throws -> Data {
            var object = valid
            change(&object)
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        }
        let bad: [(code: String, body: Data)] = [
            ("invalid_json", Data("{\"protocol\": 1, \"kind\": ".utf8)),
            ("invalid_json", Data("[1, 2, 3]".utf8)),
            ("missing_field", try body { $0["worker"] = nil }),
            ("missing_field", try body { $0["output"] = nil }),
            ("unsupported_protocol", try body { $0["protocol"] = 2 }),
            ("unknown_kind", try body { $0["kind"] = "progress" }),
            ("invalid_field", try body { $0["cost"] = -1 }),
            ("wrong_study", try body { $0["study"] = "another-study" }),
            ("unknown_suggestion", try body { _ in }),
        ]
        for (index, message) in bad.enumerated() {
            try await sender.publish(
                result: OutboundMessage(body: message.body, messageID: "bad/\(index)", correlationID: "bad"))
        }

        let service = fixture.service(
            fixture.configuration(maxInFlight: 2, maxObservations: 4), persistence: try fixture.persistence(),
            transport: try fixture.transport())
        let workers = try fixture.workers(2)
        try await withTimeLimit(.seconds(120), "the study") { try await fixture.run(service, with: workers) }

        try expectStudyComplete(fixture, budget: 4, service: service)
        let dead = await fixture.deadLetters()
        #expect(dead.count == bad.count)
        for (index, message) in bad.enumerated() where index < dead.count {
            #expect(dead[index].body == message.body)
            #expect(dead[index].reason.hasPrefix(message.code), "dead letter \(index): \(dead[index].reason)")
        }
        let rejected = try fixture.store().messageLog().filter { $0.disposition == .rejected }
        #expect(rejected.count == bad.count)
        for (index, message) in bad.enumerated() where index < rejected.count {
            #expect(rejected[index].reason?.hasPrefix(message.code) == true, "logged \(index): \(rejected[index])")
        }
        #expect(try fixture.store().counts().messages[.rejected] == bad.count)
    }

    // MARK: - Budget stop

    @Test(
        "max_total_cost reached: queued ones withdrawn; exit when the running one reports or the drain grace runs out",
        arguments: [true, false])
    func budgetStopWithdraws(runningReports: Bool) async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        // The drain grace runs on the service's clock: moved by hand, so the test does not race it.
        let clock = ManualClock()
        let service = fixture.service(
            fixture.configuration(maxInFlight: 4, maxTotalCost: 25, drainGrace: .milliseconds(400)),
            persistence: try fixture.persistence(), transport: try fixture.transport(), clock: clock)
        let w1 = try await fixture.workerTransport()
        let w2 = try await fixture.workerTransport()
        let store = try fixture.store()

        try await withTimeLimit(.seconds(120), "the budget scenario") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                try await waitUntil("4 suggestions queued") { await fixture.suggestionsQueued() == 4 }
                let a = try await receive(on: w1, fixture: fixture)
                let b = try await receive(on: w2, fixture: fixture)
                for (worker, run) in [(w1, a), (w2, b)] {
                    try await worker.publish(result: WorkerProtocol.outbound(.init(run.message, .started, "w")))
                    try await worker.acknowledge(run.inbound)
                }
                try await waitUntil("2 running") { try store.suggestions(in: [.running]).count == 2 }
                try await w1.publish(
                    result: WorkerProtocol.outbound(.init(a.message, .result, "w1", status: .success, cost: 30)))

                try await waitUntil("the queued ones withdrawn") { try store.suggestions(in: [.withdrawn]).count == 2 }
                #expect(await fixture.suggestionsQueued() == 0)
                // 0.3 s into a 0.4 s grace: still waiting for the running suggestion.
                clock.advance(seconds: 0.3)
                try await Task.sleep(for: .milliseconds(100))
                #expect(service.result == nil, "the service must wait for the running suggestion")
                if runningReports {
                    try await w2.publish(
                        result: WorkerProtocol.outbound(.init(b.message, .result, "w2", status: .success, cost: 5)))
                } else {
                    clock.advance(seconds: 0.2)
                }
                try await group.waitForAll()
            }
        }

        let result = try #require(service.result)
        #expect(result.ending == .budgetReached)
        #expect(await fixture.suggestionsQueued() == 0)
        let counts = try store.counts()
        #expect(counts.inFlight == 0)
        #expect(counts.suggestions[.withdrawn] == 2)
        #expect(counts.suggestions[.finished] == (runningReports ? 2 : 1))
        #expect(counts.suggestions[.forgotten] == (runningReports ? nil : 1))
        #expect(counts.observations == result.summary.successCount + result.summary.failureCount)
        #expect(try fixture.savedSnapshot().outstanding.isEmpty)
    }

    @Test("a run lost after the budget was reached is forgotten, not re-issued", arguments: [false, true])
    func lostWhileDrainingIsNotReissued(leaseExpires: Bool) async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let clock = ManualClock()
        let service = fixture.service(
            fixture.configuration(maxInFlight: 2, maxTotalCost: 25, leaseSeconds: 30, drainGrace: .seconds(100)),
            persistence: try fixture.persistence(), transport: try fixture.transport(), clock: clock)
        let w1 = try await fixture.workerTransport()
        let w2 = try await fixture.workerTransport()
        let store = try fixture.store()

        let b = try await withTimeLimit(.seconds(120), "the drain scenario") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                try await waitUntil("2 suggestions queued") { await fixture.suggestionsQueued() == 2 }
                let a = try await receive(on: w1, fixture: fixture)
                let b = try await receive(on: w2, fixture: fixture)
                for (worker, run) in [(w1, a), (w2, b)] {
                    try await worker.publish(result: WorkerProtocol.outbound(.init(run.message, .started, "w")))
                    try await worker.acknowledge(run.inbound)
                }
                try await waitUntil("2 running") { try store.suggestions(in: [.running]).count == 2 }
                try await w1.publish(
                    result: WorkerProtocol.outbound(.init(a.message, .result, "w1", status: .success, cost: 30)))
                try await waitUntil("draining") {
                    try store.read { try $0.suggestion(id: a.message.suggestionID) }?.state == .finished
                }
                if leaseExpires {
                    clock.advance(seconds: 31)
                } else {
                    try await w2.publish(
                        result: WorkerProtocol.outbound(.init(b.message, .result, "w2", status: .lost)))
                }
                try await group.waitForAll()
                return b.message
            }
        }
        #expect(service.result?.ending == .budgetReached)
        let attempts = try store.read { try $0.attempts(ofSuggestion: b.suggestionID) }
        #expect(attempts.count == 1, "re-issued after the budget was reached")
        #expect(attempts.first?.outcome == (leaseExpires ? .expired : .lost))
        #expect(try store.read { try $0.suggestion(id: b.suggestionID) }?.state == .forgotten)
        #expect(await fixture.suggestionsQueued() == 0)
        #expect(try fixture.savedSnapshot().outstanding.isEmpty)
    }

    @Test("a suggestion whose started message is waiting when the budget is reached is not withdrawn")
    func startedWhileBudgetReachedIsNotWithdrawn() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let transport = try fixture.transport()
        let service = fixture.service(
            fixture.configuration(maxInFlight: 3, maxTotalCost: 25), persistence: try fixture.persistence(),
            transport: transport)
        let w1 = try await fixture.workerTransport()
        let w2 = try await fixture.workerTransport()
        let store = try fixture.store()

        try await withTimeLimit(.seconds(120), "the budget race") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                try await waitUntil("3 suggestions queued") { await fixture.suggestionsQueued() == 3 }
                let a = try await receive(on: w1, fixture: fixture)
                try await w1.publish(result: WorkerProtocol.outbound(.init(a.message, .started, "w1")))
                try await w1.acknowledge(a.inbound)
                try await waitUntil("a running") { try store.suggestions(in: [.running]).count == 1 }
                // w2 takes b and says so just as a's result, which spends the budget, is being handled.
                let b = try await receive(on: w2, fixture: fixture)
                transport.onNextAcknowledge {
                    try await w2.publish(result: WorkerProtocol.outbound(.init(b.message, .started, "w2")))
                    try await w2.acknowledge(b.inbound)
                }
                try await w1.publish(
                    result: WorkerProtocol.outbound(.init(a.message, .result, "w1", status: .success, cost: 30)))
                try await waitUntil("the queued ones withdrawn") { try !store.suggestions(in: [.withdrawn]).isEmpty }
                #expect(try store.read { try $0.suggestion(id: b.message.suggestionID) }?.state == .running)
                try await w2.publish(
                    result: WorkerProtocol.outbound(.init(b.message, .result, "w2", status: .success, cost: 1)))
                try await group.waitForAll()
            }
        }
        let counts = try store.counts()
        #expect(counts.suggestions == [.finished: 2, .withdrawn: 1])
        #expect(counts.messages[.duplicate] == nil, "b's result was thrown away")
        #expect(try store.observations().map(\.worker) == ["w1", "w2"])
    }

    // MARK: - Shutdown

    enum Stop: String, Sendable, CaseIterable {
        case gracefulShutdown, cancellation
    }

    @Test(
        "graceful shutdown or cancellation: ending interrupted, state saved; a new service resumes and finishes",
        arguments: Stop.allCases)
    func shutdownAndResume(stop: Stop) async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let budget = 12
        let configuration = fixture.configuration(maxInFlight: 3, maxObservations: budget)
        let first = fixture.service(
            configuration, persistence: try fixture.persistence(), transport: try fixture.transport())
        let workers = try fixture.workers(3, runTime: .milliseconds(5))
        let store = try fixture.store()
        var logger = Logger(label: "carbs.service.test.group")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [first], logger: logger))

        let second = try await withTimeLimit(.seconds(120), "shutdown and resume") {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for worker in workers {
                    tasks.addTask { try await worker.run() }
                }
                let running = Task { try await group.run() }
                try await waitUntil("4 observations") { try store.observations().count >= 4 }
                switch stop {
                case .gracefulShutdown: await group.triggerGracefulShutdown()
                case .cancellation: running.cancel()
                }
                try await running.value
                let interrupted = try #require(first.result)
                #expect(interrupted.ending == .interrupted)
                let saved = try store.observations().count
                #expect(saved >= 4 && saved < budget)
                #expect(try fixture.savedSnapshot().successes.count == saved)

                let second = fixture.service(
                    configuration, persistence: try fixture.persistence(), transport: try fixture.transport())
                try await second.run()
                tasks.cancelAll()
                return second
            }
        }
        try expectStudyComplete(fixture, budget: budget, service: second)
    }

    // MARK: - Helpers

    /// Takes the next suggestion from a hand-played worker's transport (failing after 10 s).
    func receive(
        on transport: EmbeddedWorkerTransport, fixture: StudyFixture
    ) async throws -> (message: SuggestionMessage, messageID: String?, inbound: InboundMessage) {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let inbound = try await transport.receiveSuggestion(timeout: .milliseconds(100)) {
                let message = try WireFormat.decodeSuggestion(inbound.body, expectedStudy: fixture.study)
                return (message, inbound.messageID, inbound)
            }
        }
        throw TimeLimitExceeded(limit: .seconds(60), what: "a suggestion")
    }
}

extension WorkerMessage {
    /// A worker message about `suggestion` (success results carry `TestObjective`'s output and cost).
    init(
        _ suggestion: SuggestionMessage, _ kind: Kind, _ worker: String, status: Status? = nil, cost: Double? = nil
    ) {
        self = WorkerProtocol.message(kind, for: suggestion, worker: worker, status: status, cost: cost)
    }
}
