import CARBSMessaging
import CARBSStore
import Foundation
import GRDB
import TestSupport
import Testing

private let date = MessageFixtures.date
private let configuration = Data(#"{"name":"store-test","max_in_flight":4}"#.utf8)

private func makeSuggestion(_ id: String, state: SuggestionState = .publishing) -> StoredSuggestion {
    StoredSuggestion(
        id: id, params: ["hidden_dim": .integer(64), "learning_rate": .real(0.0012), "width": .real(64.0)],
        createdAt: date("2026-11-28T23:58:33.125Z"), state: state,
        predicted: Data(#"{"cost":12.5,"output":0.31}"#.utf8), origin: "acquisition")
}

private func makeObservation(_ id: String, output: Double? = 0.25, cost: Double? = 3.5) -> StoredObservation {
    StoredObservation(
        suggestionID: id, attempt: 1, output: output, cost: cost, isFailure: output == nil,
        params: ["hidden_dim": .integer(64), "learning_rate": .real(0.0012)], observedAt: date("2026-11-29T00:10:00Z"),
        worker: "worker-1", startedAt: date("2026-11-29T00:00:00.5Z"), finishedAt: date("2026-11-29T00:09:59Z"),
        message: output == nil ? "diverged" : nil, metrics: output == nil ? nil : ["epochs": 20, "loss": 0.271])
}

private struct Boom: Error {}

@Suite("Study store: records round trip")
struct StoreRoundTripTests {
    @Test("a suggestion and its attempts come back as stored")
    func suggestionsAndAttempts() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        var suggestion = makeSuggestion("a")
        let attempt = StoredAttempt(suggestionID: "a", attempt: 1, issuedAt: date("2026-11-28T23:58:33Z"))
        try store.write { tx in
            try tx.insert(suggestion)
            try tx.insert(attempt)
        }
        #expect(try store.read { try $0.suggestion(id: "a") } == suggestion)
        #expect(try store.read { try $0.attempt(1, ofSuggestion: "a") } == attempt)

        suggestion.state = .running
        suggestion.attempt = 2
        suggestion.attemptsStarted = 1
        suggestion.worker = "gpu-7"
        suggestion.lastHeardAt = date("2026-11-29T00:01:00.250Z")
        suggestion.leaseDeadline = date("2026-11-29T00:03:00.250Z")
        suggestion.predicted = nil
        suggestion.origin = nil
        var first = attempt
        first.publishedAt = date("2026-11-28T23:58:34Z")
        first.startedAt = date("2026-11-28T23:58:40Z")
        first.finishedAt = date("2026-11-29T00:00:40Z")
        first.outcome = .expired
        first.worker = "gpu-3"
        let second = StoredAttempt(suggestionID: "a", attempt: 2, issuedAt: date("2026-11-29T00:00:41Z"))
        try store.write { tx in
            try tx.update(suggestion)
            try tx.update(first)
            try tx.insert(second)
        }
        #expect(try store.read { try $0.suggestion(id: "a") } == suggestion)
        #expect(try store.read { try $0.attempts(ofSuggestion: "a") } == [first, second])
        #expect(try store.suggestions(in: [.running]) == [suggestion])
        #expect(try store.suggestions(in: [.queued, .publishing]).isEmpty)
    }

    @Test("parameters keep their kind; predictions and metrics are readable JSON text")
    func jsonColumns() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        try store.write { tx in
            try tx.insert(makeSuggestion("a"))
            var observation = makeObservation("a")
            observation.metrics = ["inf": .infinity, "loss": 0.5]
            try tx.insert(observation)
        }
        let stored = try #require(try store.suggestions().first)
        #expect(stored.params["width"] == .real(64.0))
        #expect(stored.params["hidden_dim"] == .integer(64))
        let columns = try store.read { tx in
            try tx.sqlite { db in
                try String.fetchAll(
                    db,
                    sql: "SELECT params FROM suggestion UNION ALL SELECT predicted FROM suggestion "
                        + "UNION ALL SELECT metrics FROM observation")
            }
        }
        #expect(
            columns == [
                #"{"hidden_dim":64,"learning_rate":0.0012,"width":64.0}"#, #"{"cost":12.5,"output":0.31}"#,
                #"{"inf":"inf","loss":0.5}"#,
            ])
        #expect(try store.observations().first?.metrics == ["inf": .infinity, "loss": 0.5])
    }

    @Test("observations come back in the order they counted")
    func observations() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        let ids = ["zeta", "alpha", "mid", "beta"]
        try store.write { tx in
            for (index, id) in ids.enumerated() {
                try tx.insert(makeObservation(id, output: index == 2 ? nil : Double(index), cost: Double(index + 1)))
            }
        }
        let observations = try store.observations()
        #expect(observations.map(\.suggestionID) == ids)
        #expect(observations[2] == makeObservation("mid", output: nil, cost: 3))
        #expect(observations[0] == makeObservation("zeta", output: 0, cost: 1))
        #expect(try store.read { try $0.observation(suggestionID: "beta") }?.output == 3)
        #expect(try store.read { try $0.observation(suggestionID: "none") } == nil)
    }

    @Test("logged messages get increasing ids; the log reads oldest first, filtered and limited")
    func messageLog() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        let success = MessageFixtures.success(study: "store-test", id: "a")
        let body = WireFormat.encode(success)
        let logged = try store.write { tx in
            [
                try tx.log(
                    LoggedMessage(
                        success, body: body, receivedAt: date("2026-11-29T00:00:01Z"), disposition: .applied)),
                try tx.log(
                    LoggedMessage(
                        success, body: body, receivedAt: date("2026-11-29T00:00:02Z"), disposition: .duplicate)),
                try tx.log(
                    LoggedMessage(
                        rejected: Data([0xFF, 0x7B]), receivedAt: date("2026-11-29T00:00:03Z"),
                        error: ProtocolError(.invalidJSON, "body is not valid JSON"))),
            ]
        }
        #expect(logged.map(\.id) == [1, 2, 3])
        #expect(try store.messageLog() == logged)
        #expect(try store.messageLog(limit: 2) == Array(logged.suffix(2)))
        #expect(try store.read { try $0.messageLog(suggestionID: "a") }.count == 2)
        #expect(logged[0].kind == "result")
        #expect(logged[0].status == "success")
        #expect(logged[0].attempt == 1)
        #expect(logged[0].body == String(decoding: body, as: UTF8.self))
        #expect(logged[2].reason == "invalid_json: body is not valid JSON")
        #expect(logged[2].body == "\u{FFFD}{")
        #expect(logged[2].suggestionID == nil)
    }

    @Test("snapshots replace each other and count versions")
    func snapshots() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        #expect(try store.loadSnapshot() == nil)
        #expect(try store.write { try $0.saveSnapshot(Data("one".utf8), at: date("2026-11-29T00:00:00Z")) } == 1)
        #expect(try store.write { try $0.saveSnapshot(Data("two".utf8), at: date("2026-11-29T00:00:05Z")) } == 2)
        #expect(
            try store.loadSnapshot()
                == OptimizerSnapshot(data: Data("two".utf8), updatedAt: date("2026-11-29T00:00:05Z"), version: 2))
    }

    @Test("the study row keeps its configuration until replaced")
    func study() throws {
        let store = try StudyStore.inMemory(
            study: "store-test", configuration: configuration, now: date("2026-11-28T12:00:00Z"))
        #expect(store.study == "store-test")
        #expect(store.path == nil)
        #expect(try store.studyConfiguration() == configuration)
        #expect(try store.read { try $0.studyCreatedAt() } == date("2026-11-28T12:00:00Z"))
        try store.write { try $0.replaceStudyConfiguration(Data("{}".utf8)) }
        #expect(try store.studyConfiguration() == Data("{}".utf8))
    }

    @Test("counts add up suggestions by state, observations, failures, cost and messages")
    func counts() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        try store.write { tx in
            try tx.insert(makeSuggestion("a", state: .queued))
            try tx.insert(makeSuggestion("b", state: .running))
            try tx.insert(makeSuggestion("c", state: .finished))
            try tx.insert(makeSuggestion("d", state: .failed))
            try tx.insert(makeObservation("c", cost: 2.5))
            try tx.insert(makeObservation("d", output: nil, cost: 1))
            try tx.log(LoggedMessage(receivedAt: date("2026-11-29T00:00:00Z"), body: "x", disposition: .rejected))
        }
        let counts = try store.counts()
        #expect(counts.suggestions == [.queued: 1, .running: 1, .finished: 1, .failed: 1])
        #expect(counts.inFlight == 2)
        #expect(counts.observations == 2)
        #expect(counts.failures == 1)
        #expect(counts.totalCost == 3.5)
        #expect(counts.messages == [.rejected: 1])
    }
}

@Suite("Study store: transactions and errors")
struct StoreTransactionTests {
    @Test("a write whose body throws leaves nothing behind and passes the error through")
    func atomicity() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        #expect(throws: Boom.self) {
            try store.write { tx in
                try tx.insert(makeSuggestion("a"))
                try tx.insert(StoredAttempt(suggestionID: "a", attempt: 1, issuedAt: date("2026-11-29T00:00:00Z")))
                try tx.insert(makeObservation("a"))
                try tx.log(LoggedMessage(receivedAt: date("2026-11-29T00:00:00Z"), body: "{}", disposition: .applied))
                try tx.saveSnapshot(Data("s".utf8), at: date("2026-11-29T00:00:00Z"))
                throw Boom()
            }
        }
        #expect(try store.suggestions().isEmpty)
        #expect(try store.observations().isEmpty)
        #expect(try store.messageLog().isEmpty)
        #expect(try store.loadSnapshot() == nil)
        #expect(try store.read { try $0.attempts(ofSuggestion: "a") }.isEmpty)
    }

    @Test("a cycle that dies between two of its events leaves none of them, nor its delta, behind")
    func eventsAreAtomic() async throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        let t0 = date("2026-11-29T00:00:00Z")
        try await store.write { tx in
            try tx.insert(makeSuggestion("a"))
            try tx.record([StudyEvent(.issued, suggestionID: "a", attempt: 1)], at: t0)
            _ = try tx.saveSnapshot(Data("s".utf8), at: t0)
        }
        await #expect(throws: Boom.self) {
            try await store.write { tx in
                try tx.record([StudyEvent(.published, suggestionID: "a", attempt: 1)], at: t0)
                try tx.record([StudyEvent(.started, suggestionID: "a", attempt: 1, worker: "w")], at: t0)
                throw Boom()
            }
        }
        await #expect(throws: Boom.self) {
            try await store.write { tx in
                try tx.record([StudyEvent(.published, suggestionID: "a", attempt: 1)], at: t0)
                _ = try tx.appendSnapshotDelta(Data("{}".utf8), at: t0)
                throw Boom()
            }
        }
        #expect(try store.read { try $0.events() }.map(\.event.kind) == [.issued])
        #expect(try store.suggestions().map(\.state) == [.publishing])
        #expect(try store.read { try $0.snapshotDeltaCount() } == 0)
        #expect(try store.loadSnapshot()?.version == 1)
    }

    @Test("a second observation for a suggestion is a duplicate error and rolls the whole step back")
    func duplicateObservation() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        try store.write { try $0.insert(makeObservation("a")) }
        let error = #expect(throws: StoreError.self) {
            try store.write { tx in
                try tx.saveSnapshot(Data("s".utf8), at: date("2026-11-29T00:00:00Z"))
                try tx.insert(makeObservation("a", output: 9))
            }
        }
        #expect(error?.code == .duplicate)
        #expect(error?.message == "suggestion a already has an observation")
        #expect(try store.observations().map(\.output) == [0.25])
        #expect(try store.loadSnapshot() == nil)
    }

    @Test("inserting an existing suggestion or attempt is a duplicate; updating a missing one is not found")
    func insertAndUpdateErrors() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        try store.write { tx in
            try tx.insert(makeSuggestion("a"))
            try tx.insert(StoredAttempt(suggestionID: "a", attempt: 1, issuedAt: date("2026-11-29T00:00:00Z")))
        }
        let duplicate = #expect(throws: StoreError.self) { try store.write { try $0.insert(makeSuggestion("a")) } }
        #expect(duplicate?.code == .duplicate)
        let attempt = #expect(throws: StoreError.self) {
            try store.write {
                try $0.insert(StoredAttempt(suggestionID: "a", attempt: 1, issuedAt: date("2026-11-29T00:00:00Z")))
            }
        }
        #expect(attempt?.code == .duplicate)
        let missing = #expect(throws: StoreError.self) { try store.write { try $0.update(makeSuggestion("b")) } }
        #expect(missing?.code == .notFound)
        let state = #expect(throws: StoreError.self) {
            try store.write { try $0.setState(.queued, ofSuggestion: "b") }
        }
        #expect(state?.code == .notFound)
        // An attempt of an unknown suggestion breaks the foreign key.
        let orphan = #expect(throws: StoreError.self) {
            try store.write {
                try $0.insert(StoredAttempt(suggestionID: "zz", attempt: 1, issuedAt: date("2026-11-29T00:00:00Z")))
            }
        }
        #expect(orphan?.code == .database)
    }

    @Test("published moves a suggestion from publishing to queued, and leaves a started one running")
    func published() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        let t0 = date("2026-11-29T00:00:00Z")
        try store.write { tx in
            for id in ["a", "b"] {
                try tx.insert(makeSuggestion(id))
                try tx.record([StudyEvent(.issued, suggestionID: id, attempt: 1)], at: t0)
            }
            // b's worker was faster than the queue's confirmation.
            try tx.record([StudyEvent(.started, suggestionID: "b", attempt: 1, worker: "w1")], at: t0)
        }
        try store.write { tx in
            try tx.record(
                [
                    StudyEvent(.published, suggestionID: "a", attempt: 1),
                    StudyEvent(.published, suggestionID: "b", attempt: 1),
                ],
                at: t0.addingTimeInterval(1))
        }
        #expect(try store.suggestions().map(\.state) == [.queued, .running])
        #expect(try store.read { try $0.attempt(1, ofSuggestion: "a") }?.publishedAt == t0.addingTimeInterval(1))
        let error = #expect(throws: StoreError.self) {
            try store.write { try $0.record([StudyEvent(.published, suggestionID: "a", attempt: 2)], at: t0) }
        }
        #expect(error?.code == .notFound)
    }

    @Test("events keep the tables and the attempt history: start, heartbeat, lease expiry, re-issue, result")
    func events() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        let t0 = date("2026-11-29T00:00:00Z")
        func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
        try store.write { tx in
            try tx.insert(makeSuggestion("a"))
            try tx.record([StudyEvent(.issued, suggestionID: "a", attempt: 1)], at: t0)
            try tx.record([StudyEvent(.published, suggestionID: "a", attempt: 1)], at: at(1))
        }
        try store.write { tx in
            try tx.record(
                [StudyEvent(.started, suggestionID: "a", attempt: 1, worker: "w1", leaseDeadline: at(130))], at: at(10))
        }
        try store.write { tx in
            try tx.record(
                [StudyEvent(.heartbeat, suggestionID: "a", attempt: 1, worker: "w1", leaseDeadline: at(170))],
                at: at(50))
        }
        var suggestion = try #require(try store.suggestions().first)
        #expect(suggestion.state == .running)
        #expect(suggestion.attemptsStarted == 1)
        #expect(suggestion.lastHeardAt == at(50))
        #expect(suggestion.leaseDeadline == at(170))

        // The lease runs out: re-issued as attempt 2, which a second worker finishes.
        try store.write { tx in
            try tx.record(
                [
                    StudyEvent(.expired, suggestionID: "a", attempt: 1),
                    StudyEvent(.reissued, suggestionID: "a", attempt: 2),
                ],
                at: at(200))
        }
        try store.write { tx in
            try tx.record(
                [
                    StudyEvent(.started, suggestionID: "a", attempt: 2, worker: "w2", leaseDeadline: at(330)),
                    StudyEvent(.succeeded, suggestionID: "a", attempt: 2, worker: "w2"),
                ], at: at(300))
        }
        suggestion = try #require(try store.suggestions().first)
        #expect(suggestion.state == .finished)
        #expect(suggestion.attempt == 2)
        #expect(suggestion.attemptsStarted == 2)
        #expect(suggestion.leaseDeadline == nil)
        #expect(suggestion.params == makeSuggestion("a").params)
        let attempts = try store.read { try $0.attempts(ofSuggestion: "a") }
        #expect(
            attempts == [
                StoredAttempt(
                    suggestionID: "a", attempt: 1, issuedAt: t0, publishedAt: at(1), startedAt: at(10),
                    finishedAt: at(200), outcome: .expired, worker: "w1"),
                StoredAttempt(
                    suggestionID: "a", attempt: 2, issuedAt: at(200), startedAt: at(300), finishedAt: at(300),
                    outcome: .success, worker: "w2"),
            ])
        let log = try store.read { try $0.events(suggestionID: "a") }
        #expect(
            log.map(\.event.kind) == [
                .issued, .published, .started, .heartbeat, .expired, .reissued, .started, .succeeded,
            ])
        #expect(log.map(\.sequence) == Array(1...8))
        let missing = #expect(throws: StoreError.self) {
            try store.write { try $0.record([StudyEvent(.started, suggestionID: "b", attempt: 1)], at: t0) }
        }
        #expect(missing?.code == .notFound)
        #expect(try store.read { try $0.events() }.count == 8, "a refused event leaves nothing in the log")
    }

    @Test("forgotten and withdrawn settle a suggestion and close its open attempt")
    func settling() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        let t0 = date("2026-11-29T00:00:00Z")
        try store.write { tx in
            for id in ["a", "b"] {
                try tx.insert(makeSuggestion(id))
                try tx.record([StudyEvent(.issued, suggestionID: id, attempt: 1)], at: t0)
            }
            try tx.record(
                [
                    StudyEvent(.forgotten, suggestionID: "a", attempt: 1),
                    StudyEvent(.withdrawn, suggestionID: "b", attempt: 1),
                ],
                at: t0)
        }
        #expect(try store.suggestions().map(\.state) == [.forgotten, .withdrawn])
        #expect(try store.read { try $0.attempt(1, ofSuggestion: "a") }?.outcome == .lost)
        #expect(try store.read { try $0.attempt(1, ofSuggestion: "b") }?.outcome == .withdrawn)
    }

    @Test("a counted result becomes an observation; any received body becomes a log entry")
    func conveniences() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        var result = MessageFixtures.success(study: "store-test", id: "a", output: 0.7, cost: 4)
        result.metrics = ["loss": 0.1]
        result.startedAt = date("2026-11-29T00:00:00Z")
        let failure = WorkerMessage(
            kind: .result, study: "store-test", suggestionID: "b", attempt: 2, worker: "w",
            sentAt: MessageFixtures.epoch,
            status: .failure, message: "OOM")
        let heartbeat = WorkerMessage(
            kind: .heartbeat, study: "store-test", suggestionID: "a", attempt: 1, worker: "w",
            sentAt: MessageFixtures.epoch)
        let now = date("2026-11-29T00:10:00Z")
        try store.write { tx in
            try tx.insert(StoredObservation(result: result, params: ["x": .real(1)], observedAt: now))
            try tx.insert(StoredObservation(result: failure, params: ["x": .real(2)], observedAt: now))
            try tx.log(
                LoggedMessage(
                    body: WireFormat.encode(heartbeat), message: heartbeat, receivedAt: now, disposition: .ignored,
                    reason: "stale attempt"))
            try tx.log(
                LoggedMessage(
                    body: Data("oops".utf8), message: nil, receivedAt: now, disposition: .rejected, reason: "bad"))
        }
        let observations = try store.observations()
        #expect(observations.map(\.isFailure) == [false, true])
        #expect(observations[0].output == 0.7 && observations[0].cost == 4 && observations[0].metrics == ["loss": 0.1])
        #expect(observations[0].startedAt == date("2026-11-29T00:00:00Z"))
        #expect(observations[1].attempt == 2 && observations[1].message == "OOM" && observations[1].output == nil)
        let log = try store.messageLog()
        #expect(log.map(\.disposition) == [.ignored, .rejected])
        #expect(log[0].kind == "heartbeat" && log[0].suggestionID == "a" && log[0].reason == "stale attempt")
        #expect(log[1].body == "oops" && log[1].kind == nil)
        #expect(try store.counts().messages == [.ignored: 1, .rejected: 1])
    }

    @Test("writing inside a read fails")
    func readOnly() throws {
        let store = try StudyStore.inMemory(study: "store-test", configuration: configuration)
        let error = #expect(throws: StoreError.self) { try store.read { try $0.insert(makeSuggestion("a")) } }
        #expect(error?.code == .database)
    }
}

@Suite("Study store: files")
struct StoreFileTests {
    @Test("a file database is in WAL mode and reads everything back after reopening")
    func reopen() throws {
        let directory = try TemporaryDirectory(prefix: "carbs-store")
        defer { directory.remove() }
        let path = directory.path("study.sqlite")
        let suggestion = makeSuggestion("a", state: .finished)
        let attempt = StoredAttempt(
            suggestionID: "a", attempt: 1, issuedAt: date("2026-11-29T00:00:00Z"),
            publishedAt: date("2026-11-29T00:00:00.5Z"), outcome: .success, worker: "w")
        let observation = makeObservation("a")
        let message = LoggedMessage(
            receivedAt: date("2026-11-29T00:10:00Z"), suggestionID: "a", attempt: 1, kind: "result",
            status: "success", body: "{}", disposition: .applied)

        do {
            let store = try StudyStore.open(path: path, study: "store-test", configuration: configuration)
            #expect(try store.journalMode() == "wal")
            #expect(store.path == path)
            try store.write { tx in
                try tx.insert(suggestion)
                try tx.insert(attempt)
                try tx.insert(observation)
                try tx.log(message)
                try tx.saveSnapshot(Data("state".utf8), at: date("2026-11-29T00:10:00Z"))
            }
        }

        let reopened = try StudyStore.open(path: path, study: "store-test", configuration: Data("ignored".utf8))
        #expect(try reopened.journalMode() == "wal")
        #expect(try reopened.studyConfiguration() == configuration)
        #expect(try reopened.suggestions() == [suggestion])
        #expect(try reopened.read { try $0.attempts(ofSuggestion: "a") } == [attempt])
        #expect(try reopened.observations() == [observation])
        var logged = message
        logged.id = 1
        #expect(try reopened.messageLog() == [logged])
        #expect(try reopened.loadSnapshot()?.data == Data("state".utf8))
        #expect(try reopened.loadSnapshot()?.version == 1)

        let anyStudy = try StudyStore.open(path: path)
        #expect(anyStudy.study == "store-test")
        #expect(try anyStudy.observations() == [observation])
    }

    @Test("opening another study's database fails with a clear error")
    func studyMismatch() throws {
        let directory = try TemporaryDirectory(prefix: "carbs-store")
        defer { directory.remove() }
        let path = directory.path("study.sqlite")
        _ = try StudyStore.open(path: path, study: "first", configuration: configuration)
        let error = #expect(throws: StoreError.self) {
            try StudyStore.open(path: path, study: "second", configuration: configuration)
        }
        #expect(error?.code == .studyMismatch)
        #expect(error?.message == "\(path) belongs to study \"first\", not \"second\"; use another database file")
    }

    @Test("opening a database that does not exist, or is not SQLite, fails")
    func missingOrGarbage() throws {
        let directory = try TemporaryDirectory(prefix: "carbs-store")
        defer { directory.remove() }
        let missing = #expect(throws: StoreError.self) { try StudyStore.open(path: directory.path("none.sqlite")) }
        #expect(missing?.code == .noStudy)
        let garbage = directory.path("garbage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: garbage))
        let error = #expect(throws: StoreError.self) {
            try StudyStore.open(path: garbage, study: "s", configuration: configuration)
        }
        #expect(error?.code == .database)
        let noDirectory = #expect(throws: StoreError.self) {
            try StudyStore.open(path: directory.path("no/such/dir.sqlite"), study: "s", configuration: configuration)
        }
        #expect(noDirectory?.code == .database)
    }

    @Test("a second connection (as `carbs status` would open) sees committed writes")
    func concurrentReader() throws {
        let directory = try TemporaryDirectory(prefix: "carbs-store")
        defer { directory.remove() }
        let path = directory.path("study.sqlite")
        let writer = try StudyStore.open(path: path, study: "store-test", configuration: configuration)
        let reader = try StudyStore.open(path: path)
        for index in 0..<20 {
            try writer.write { try $0.insert(makeObservation("s\(index)")) }
            #expect(try reader.counts().observations == index + 1)
        }
    }
}
