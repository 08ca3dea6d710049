import CARBSHTTP
import CARBSService
import CARBSStore
import Foundation
import TestSupport
import Testing

/// The live view in process, over the embedded transport and a real SQLite database: its JSON against the
/// database, /metrics read by an independent parser against the database's counts, the token and bind rules,
/// readiness, and that nothing sent over HTTP changes the study.
@Suite("Live view: endpoints, metrics, token and bind rules", .timeLimit(.minutes(3)))
struct LiveViewServerTests {
    @Test("the JSON API says what the database holds")
    func jsonMatchesDatabase() async throws {
        try await LiveViewHarness.with { study in
            for _ in 0..<3 { try await study.runOnce() }
            try await study.runOnce(status: .failure)
            try await study.waitUntil("4 observations are stored") { try study.store.counts().observations == 4 }

            let observations = try await HTTP.json(study.baseURL + "/api/v1/observations")
            let stored = try study.store.observations()
            let items = try #require(observations["observations"] as? [[String: Any]])
            #expect(observations["count"] as? Int == 4)
            #expect(items.map { $0["suggestion_id"] as? String } == stored.map(\.suggestionID))
            #expect(items.map { $0["status"] as? String } == stored.map { $0.isFailure ? "failure" : "success" })
            #expect(items.map { $0["cost"] as? Double } == stored.map(\.cost))

            let inFlight = try await HTTP.json(study.baseURL + "/api/v1/in-flight")
            let open = try study.store.suggestions(in: [.publishing, .queued, .running])
            let runs = try #require(inFlight["runs"] as? [[String: Any]])
            #expect(Set(runs.compactMap { $0["suggestion_id"] as? String }) == Set(open.map(\.id)))
            #expect(!open.isEmpty, "the service keeps max_in_flight suggestions outstanding")

            let document = try await HTTP.json(study.baseURL + "/api/v1/study")
            let progress = try #require(document["progress"] as? [String: Any])
            #expect(document["study"] as? String == study.studyName)
            #expect(document["phase"] as? String == "running")
            #expect(progress["observations"] as? Int == 4)
            #expect(progress["failures"] as? Int == 1)
            #expect(progress["in_flight"] as? Int == open.count)
            let pareto = try #require(document["pareto"] as? [[String: Any]])
            #expect(!pareto.isEmpty && pareto.count <= 3)
            let rate = try #require(document["results_per_minute"] as? [String: Any])
            #expect(rate["last_minute"] as? Int == 4)

            let frontier = try await HTTP.request(study.baseURL + "/plots/frontier.svg")
            #expect(frontier.status == 200 && frontier.headers["content-type"] == "image/svg+xml")
            #expect(frontier.text.components(separatedBy: "class=\"observation").count - 1 == 4)
        }
    }

    @Test("/metrics parses with prometheus_client and its counters equal the database's counts")
    func metricsMatchDatabase() async throws {
        try await LiveViewHarness.with { study in
            try await study.runOnce()
            try await study.runOnce(status: .failure)
            try await study.runOnce(copies: 2)  // one duplicate
            try await study.publishGarbage("{ not json")
            try await study.publishGarbage(#"{"protocol": 7, "kind": "result"}"#)
            try await study.waitUntil("3 observations, a duplicate and 2 dead letters are logged") {
                let counts = try study.store.counts()
                return counts.observations == 3 && counts.messages[.duplicate] == 1 && counts.messages[.rejected] == 2
                    && counts.inFlight == 2
            }
            // The counters move after the commit; the dead letters after the broker took them.
            let deadline = ContinuousClock.now + .seconds(30)
            var samples: [ExternalTools.PrometheusSample] = []
            repeat {
                let reply = try await HTTP.request(study.baseURL + "/metrics")
                #expect(reply.status == 200)
                #expect(reply.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
                samples = try ExternalTools.parsePrometheusText(reply.text)
                if samples.total("carbs_dead_letters_total") == 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < deadline

            let counts = try study.store.counts()
            let observations = try study.store.observations()
            let suggestions = try study.store.suggestions()
            #expect(samples.value("carbs_suggestions_issued_total") == Double(suggestions.count))
            #expect(
                samples.value("carbs_results_total", ["status": "success"])
                    == Double(observations.filter { !$0.isFailure }.count))
            #expect(samples.value("carbs_results_total", ["status": "failure"]) == Double(counts.failures))
            #expect(samples.value("carbs_results_total", ["status": "lost"]) == 0)
            #expect(samples.value("carbs_duplicate_results_total") == Double(counts.messages[.duplicate] ?? 0))
            #expect(samples.value("carbs_late_results_total") == Double(counts.messages[.late] ?? 0))
            #expect(samples.total("carbs_dead_letters_total") == Double(counts.messages[.rejected] ?? 0))
            #expect(samples.value("carbs_dead_letters_total", ["reason": "invalid_json"]) == 1)
            #expect(samples.value("carbs_dead_letters_total", ["reason": "unsupported_protocol"]) == 1)
            #expect(samples.value("carbs_reissues_total") == Double(suggestions.reduce(0) { $0 + $1.attempt - 1 }))
            #expect(samples.value("carbs_lease_expiries_total") == 0)
            #expect(samples.value("carbs_observations") == Double(counts.observations))
            #expect(samples.value("carbs_suggest_duration_seconds_count") ?? 0 >= 1)
            #expect(samples.value("carbs_commit_duration_seconds_count") ?? 0 >= 3)
            // Labels are bounded: no sample carries a suggestion id.
            let ids = Set(suggestions.map(\.id))
            #expect(samples.allSatisfy { $0.labels.values.allSatisfy { !ids.contains($0) } })
        }
    }

    @Test("lease expiries, re-issues and lost results are counted as the database records them")
    func lostRuns() async throws {
        // The silent run's lease runs out after 3 s; every other run reports within milliseconds of starting.
        try await LiveViewHarness.with(leaseSeconds: 3) { study in
            // A run that goes silent: its lease runs out and it is re-issued as attempt 2.
            let silent = try await study.start()
            try await study.waitUntil("the silent run is re-issued") {
                try study.store.suggestions().first { $0.id == silent.suggestionID }?.attempt == 2
            }
            // A run reported lost: re-issued as its next attempt.
            try await study.runOnce(status: .lost)
            try await study.waitUntil("the lost report is logged and nothing runs") {
                let lost = try study.store.messageLog().filter { $0.kind == "result" && $0.status == "lost" }
                let running = try study.store.suggestions(in: [.running])
                let reissues = try study.store.suggestions().reduce(0) { $0 + $1.attempt - 1 }
                return lost.count == 1 && running.isEmpty && reissues >= 2
            }
            let samples = try ExternalTools.parsePrometheusText(try await HTTP.request(study.baseURL + "/metrics").text)
            let suggestions = try study.store.suggestions()
            let expired = try study.store.read { tx in
                try suggestions.flatMap { try tx.attempts(ofSuggestion: $0.id) }.filter { $0.outcome == .expired }.count
            }
            let lost = try study.store.messageLog().filter {
                $0.kind == "result" && $0.status == "lost" && $0.disposition == .applied
            }
            #expect(expired >= 1)
            #expect(samples.value("carbs_lease_expiries_total") == Double(expired))
            #expect(samples.value("carbs_reissues_total") == Double(suggestions.reduce(0) { $0 + $1.attempt - 1 }))
            #expect(samples.value("carbs_results_total", ["status": "lost"]) == Double(lost.count))
            #expect(lost.count == 1)
            #expect(samples.value("carbs_results_total", ["status": "success"]) == 0)
            #expect(samples.value("carbs_suggestions_issued_total") == Double(suggestions.count))
        }
    }

    @Test("with a token: 401 without it or with a wrong one; the header or ?token= opens; the probes stay open")
    func bearerToken() async throws {
        let token = "s3cret-\(UUID().uuidString)"
        try await LiveViewHarness.with(configuration: .init(token: token)) { study in
            for path in [
                "/", "/api/v1/study", "/api/v1/observations", "/api/v1/in-flight", "/metrics", "/plots/frontier.svg",
            ] {
                let bare = try await HTTP.request(study.baseURL + path)
                #expect(bare.status == 401, "\(path) without a token: \(bare.status)")
                #expect(bare.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                let wrong = try await HTTP.request(study.baseURL + path, headers: ["Authorization": "Bearer x" + token])
                #expect(wrong.status == 401, "\(path) with a wrong token: \(wrong.status)")
                let header = try await HTTP.request(study.baseURL + path, headers: ["Authorization": "Bearer " + token])
                #expect(header.status == 200, "\(path) with the token: \(header.status)")
                let query = try await HTTP.request(study.baseURL + path + "?token=" + token)
                #expect(query.status == 200, "\(path) with ?token=: \(query.status)")
            }
            #expect(try await HTTP.request(study.baseURL + "/healthz").status == 200)
            #expect(try await HTTP.request(study.baseURL + "/readyz").status == 200)
        }
    }

    @Test("/readyz is 503 with the reason while the broker is not connected; /healthz stays 200")
    func readiness() async throws {
        try await LiveViewHarness.with(brokerConnected: { false }) { study in
            let ready = try await HTTP.request(study.baseURL + "/readyz")
            #expect(ready.status == 503)
            #expect(ready.text.contains("broker: not connected"))
            #expect(try await HTTP.request(study.baseURL + "/healthz").status == 200)
        }
    }

    @Test("read-only: POST, PUT, DELETE and PATCH change nothing")
    func readOnly() async throws {
        try await LiveViewHarness.with { study in
            try await study.runOnce()
            try await study.waitUntil("the observation is stored and the next 2 suggestions are saved") {
                let counts = try study.store.counts()
                return counts.observations == 1 && counts.inFlight == 2
            }
            // Nothing arrives while the test sends its requests, so the database must stay exactly as it is.
            let before = try (study.store.counts(), study.store.loadSnapshot()?.version, study.store.messageLog().count)
            for method in ["POST", "PUT", "DELETE", "PATCH"] {
                for path in ["/", "/api/v1/study", "/api/v1/observations", "/api/v1/in-flight", "/metrics"] {
                    let reply = try await HTTP.request(study.baseURL + path, method: method)
                    #expect(!(200..<300).contains(reply.status), "\(method) \(path) answered \(reply.status)")
                }
            }
            let after = try (study.store.counts(), study.store.loadSnapshot()?.version, study.store.messageLog().count)
            #expect(before.0 == after.0 && before.1 == after.1 && before.2 == after.2)
        }
    }

    @Test("an address in use: run() throws cannotListen naming the address")
    func addressInUse() async throws {
        try await LiveViewHarness.with { study in
            let port = try #require(Int(study.baseURL.split(separator: ":").last ?? ""))
            let second = try LiveViewServer(
                configuration: .init(address: .init(host: "127.0.0.1", port: port)),
                source: LiveViewSource(
                    service: study.service, store: study.store, registry: LiveViewMetrics().registry,
                    isBrokerConnected: { true }),
                logger: .init(label: "carbs.http.test.second"))
            do {
                try await second.run()
                Issue.record("a second server listened on port \(port)")
            } catch let error as LiveViewError {
                #expect(error.code == .cannotListen)
                #expect(error.message.contains("127.0.0.1:\(port)"), "\(error)")
            }
        }
    }

    @Test(
        "a non-loopback address needs a token or --http-insecure",
        arguments: [
            ("127.0.0.1:8080", nil, false, true), ("localhost:0", nil, false, true), ("[::1]:9", nil, false, true),
            ("0.0.0.0:9100", nil, false, false), ("10.1.2.3:80", nil, false, false), ("[::]:80", nil, false, false),
            ("0.0.0.0:9100", "token", false, true), ("0.0.0.0:9100", nil, true, true),
        ] as [(String, String?, Bool, Bool)])
    func bindRules(address: String, token: String?, insecure: Bool, allowed: Bool) throws {
        let configuration = LiveViewServer.Configuration(
            address: try ListenAddress(parsing: address), token: token, allowsInsecure: insecure)
        if allowed {
            try configuration.validate()
        } else {
            #expect(throws: LiveViewError.self) { try configuration.validate() }
            do {
                try configuration.validate()
            } catch {
                #expect(error.code == .unprotectedPublicAddress)
                #expect(error.message.contains("--http-token") && error.message.contains("--http-insecure"))
            }
        }
    }

    @Test("HOST:PORT parsing names what is wrong", arguments: ["8080", "host:", ":80", "host:99999", "[::1", "a:b:c"])
    func badAddresses(text: String) {
        #expect(throws: LiveViewError.self) { try ListenAddress(parsing: text) }
    }
}
