import CARBSStore
import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The live view of a real fleet (issue 12): `carbs optimizer --http` against RabbitMQ with worker processes, the
/// dashboard rendered by headless Chromium (its JavaScript fetches the API, nothing is rendered by the test), and
/// `/metrics` read by Python's `prometheus_client` parser. Chromium and the parser are required: without them the
/// tests fail with the way to install them (`bash .ci/setup.sh --test`); they never skip.
@Suite("Fleet: the live view in headless Chromium, /metrics against the database", .timeLimit(.minutes(5)))
struct LiveViewFleetTests {
    init() throws {
        try FleetEnvironment.requireBroker()
        try FleetEnvironment.requireCarbs()
        _ = try ExternalTools.requireChromium()
    }

    /// One row of the in-flight table: as the page shows it, or as the database holds it.
    struct Run: Hashable, CustomStringConvertible {
        var id: String
        var attempt: Int
        var state: String
        var worker: String
        var description: String { "\(id.prefix(8))/\(attempt) \(state) on \(worker.isEmpty ? "-" : worker)" }
    }

    @Test(
        "the dashboard's plotted points grow as results arrive, its in-flight table matches the database, /metrics counts what the database holds"
    )
    func dashboard() async throws {
        let study = try FleetStudy("live", settings: .init(maxObservations: 16, maxInFlight: 3))
        defer { study.tearDown() }
        let token = "t-\(UUID().uuidString)"
        let optimizer = try study.startOptimizer(options: ["--http", "127.0.0.1:0", "--http-token", token])
        let base = try await liveViewURL(of: optimizer, study: study)
        let page = base + "/?token=" + token

        // Something for the counters beyond plain results: a dead letter and a duplicate result.
        try await Injector.with(study) { injector in
            try await injector.publish(Data("{ this is not JSON".utf8), id: "malformed")
            _ = try await injector.runOnce(output: 3.5, cost: 42, publishingResultTimes: 2)
        }
        for index in 1...2 { try study.startWorker("w\(index)", trainer: .sleeping(seconds: 0.3)) }
        try await study.waitUntil("4 observations are stored", timeout: .seconds(90)) {
            try study.observations().count >= 4
        }

        // Hold every run at the gate: once both workers wait there, the database stops changing.
        study.closeGate()
        let (quietObservations, quietRuns) = try await waitUntilQuiet(study)

        let first = try ExternalTools.renderedDOM(of: page)
        #expect(Self.refreshes(first) >= 1, "the page never loaded its data:\n\(first.prefix(3000))")
        #expect(Self.plottedPoints(first) == quietObservations, "plotted points vs observations in the database")
        #expect(Self.inFlightRows(first) == quietRuns, "the page's in-flight table vs the database")

        // /metrics: 401 without the token; with it, counters equal to the database's counts.
        #expect(try await Self.get(base + "/metrics").status == 401)
        let metrics = try await Self.get(base + "/metrics", token: token)
        #expect(metrics.status == 200)
        let samples = try ExternalTools.parsePrometheusText(metrics.text)
        let store = try study.store()
        let counts = try store.counts()
        let observations = try store.observations()
        let suggestions = try store.suggestions()
        #expect(samples.value("carbs_suggestions_issued_total") == Double(suggestions.count))
        #expect(
            samples.value("carbs_results_total", ["status": "success"])
                == Double(observations.filter { !$0.isFailure }.count))
        #expect(samples.value("carbs_results_total", ["status": "failure"]) == Double(counts.failures))
        #expect(samples.value("carbs_duplicate_results_total") == Double(counts.messages[.duplicate] ?? 0))
        #expect(samples.value("carbs_duplicate_results_total") == 1)
        #expect(samples.value("carbs_late_results_total") == Double(counts.messages[.late] ?? 0))
        #expect(samples.total("carbs_dead_letters_total") == Double(counts.messages[.rejected] ?? 0))
        #expect(samples.value("carbs_dead_letters_total", ["reason": "invalid_json"]) == 1)
        #expect(samples.value("carbs_reissues_total") == Double(suggestions.reduce(0) { $0 + $1.attempt - 1 }))
        #expect(samples.value("carbs_observations") == Double(counts.observations))
        #expect(samples.value("carbs_in_flight") == Double(counts.inFlight))
        #expect(try await Self.get(base + "/readyz").status == 200)

        // Let some runs go, then hold them again (so that the study cannot end while the page loads): more points.
        study.openGate()
        try await study.waitUntil("3 more observations are stored", timeout: .seconds(90)) {
            try study.observations().count >= quietObservations + 3
        }
        study.closeGate()
        let (heldObservations, _) = try await waitUntilQuiet(study)
        let second = try ExternalTools.renderedDOM(of: page)
        #expect(Self.refreshes(second) >= 1, "the page never loaded its data:\n\(second.prefix(3000))")
        #expect(Self.plottedPoints(second) > Self.plottedPoints(first))
        #expect(Self.plottedPoints(second) == heldObservations)

        study.openGate()
        try await study.expectCleanExit(optimizer, within: .seconds(120))
        try study.expectEveryObservationOnce(16)
        try await study.stopWorkers()
    }

    @Test("carbs optimizer refuses --http on a public address without --http-token or --http-insecure (exit 64)")
    func publicAddressRefused() async throws {
        let study = try FleetStudy("live-bind", settings: .init(maxObservations: 4))
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer(options: ["--http", "0.0.0.0:0"])
        let status = try await optimizer.waitForExit(timeout: .seconds(60))
        #expect(status == 64, "exit status \(status)\n\(optimizer.logTail())")
        let log = try String(contentsOfFile: optimizer.logPath, encoding: .utf8)
        #expect(log.contains("--http-token") && log.contains("--http-insecure"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: study.databasePath), "nothing may start before the refusal")
    }

    // MARK: - Helpers

    /// Reads `carbs: live view at http://HOST:PORT/` from the optimizer's output.
    func liveViewURL(of optimizer: ChildProcess, study: FleetStudy) async throws -> String {
        var url: String?
        try await study.waitUntil("the optimizer announces its live view", timeout: .seconds(60)) {
            let log = try String(contentsOfFile: optimizer.logPath, encoding: .utf8)
            guard let range = log.range(of: #"live view at (http://[^ /]+)/"#, options: .regularExpression) else {
                return false
            }
            url = String(log[range].dropFirst("live view at ".count).dropLast())
            return true
        }
        return url!
    }

    /// Waits until two looks 1.5 s apart see the same observations and the same runs in flight, two of them
    /// running (both workers held at the gate).
    func waitUntilQuiet(_ study: FleetStudy) async throws -> (observations: Int, runs: Set<Run>) {
        func look() throws -> (Int, Set<Run>) {
            let store = try study.store()
            let runs = try store.suggestions(in: [.publishing, .queued, .running]).map {
                Run(id: $0.id, attempt: $0.attempt, state: $0.state.rawValue, worker: $0.worker ?? "")
            }
            return (try store.observations().count, Set(runs))
        }
        let deadline = ContinuousClock.now + .seconds(90)
        while true {
            let before = try look()
            try await Task.sleep(for: .milliseconds(1500))
            let after = try look()
            if before == after && after.1.filter({ $0.state == "running" }).count == 2 { return after }
            guard ContinuousClock.now < deadline else {
                throw FleetError("the study did not go quiet with both workers at the gate\n\(study.logs())")
            }
        }
    }

    /// Elements of class `observation` in the frontier plot (a circle per success, a cross per failure).
    static func plottedPoints(_ dom: String) -> Int {
        matches(of: #"class="observation( failure)?""#, in: dom).count
    }

    /// How many times the page's script loaded the API (`data-refreshes` on the body).
    static func refreshes(_ dom: String) -> Int {
        matches(of: #"data-refreshes="([0-9]+)""#, in: dom).first.flatMap { Int($0[1]) } ?? 0
    }

    /// The rows of the rendered in-flight table.
    static func inFlightRows(_ dom: String) -> Set<Run> {
        Set(
            matches(of: #"<tr class="run"[^>]*>"#, in: dom).map { match in
                let row = match[0]
                func attribute(_ name: String) -> String {
                    matches(of: "\(name)=\"([^\"]*)\"", in: row).first?[1] ?? ""
                }
                return Run(
                    id: attribute("data-suggestion-id"), attempt: Int(attribute("data-attempt")) ?? 0,
                    state: attribute("data-state"), worker: attribute("data-worker"))
            })
    }

    /// Every match of `pattern`, each as the whole match followed by its groups.
    static func matches(of pattern: String, in text: String) -> [[String]] {
        let expression = try! NSRegularExpression(pattern: pattern)
        let ns = text as NSString
        return expression.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { match in
            (0..<match.numberOfRanges).map { index in
                let range = match.range(at: index)
                return range.location == NSNotFound ? "" : ns.substring(with: range)
            }
        }
    }

    static func get(_ url: String, token: String? = nil) async throws -> (status: Int, text: String) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }
}
