import CARBSCore
import CARBSMessaging
import CARBSReport
import CARBSService
import CARBSStore
import Foundation

/// The JSON documents of `/api/v1/…` (snake_case keys, RFC 3339 times; a field without a value, or with a
/// non-finite number, is left out), built from one read transaction of the database and the service's live view.
enum LiveViewDocuments {
    /// `/api/v1/study`: where the study stands.
    struct Study: Encodable {
        struct Budget: Encodable {
            var maxObservations: Int?
            var maxTotalCost: Double?
        }
        struct Progress: Encodable {
            var observations: Int
            var failures: Int
            var totalCost: Double
            var inFlight: Int
            var running: Int
            var queued: Int
            /// The larger of observations / max_observations and total_cost / max_total_cost, in [0, 1].
            var budgetFraction: Double?
        }
        struct Point: Encodable {
            var cost: Double?
            var output: Double?
            var runs: Int
            var parameters: [String: Double]
        }
        struct Law: Encodable {
            var parameter: String
            var exponent: Double?
            var coefficient: Double?
            var rSquared: Double?
            var points: Int
            var text: String
        }
        struct Rate: Encodable {
            /// Results that counted in the last 60 s.
            var lastMinute: Int
            /// Mean per minute over the last 10 minutes (or since the first result, if later).
            var lastTenMinutes: Double
            /// Counts per minute over the last 30 minutes, oldest first (the last entry is the current minute).
            var perMinute: [Int]
        }
        struct DeadLetter: Encodable {
            var receivedAt: Date
            var reason: String
            var reasonCode: String
            /// The first 200 characters of the body.
            var body: String
        }
        struct DeadLetters: Encodable {
            var total: Int
            var byReason: [String: Int]
            /// The latest 20, newest first.
            var recent: [DeadLetter]
        }

        var study: String
        var phase: String
        var direction: String
        var now: Date
        var startedAt: Date
        var elapsedSeconds: Double
        var lastCommitAt: Date?
        var budget: Budget
        var progress: Progress
        var suggestions: [String: Int]
        var messages: [String: Int]
        var best: Point?
        var pareto: [Point]
        var scalingLaws: [Law]
        var scalingWarnings: [String]
        var resultsPerMinute: Rate
        var deadLetters: DeadLetters
    }

    /// `/api/v1/observations`: every result that counted, in order.
    struct Observations: Encodable {
        struct Item: Encodable {
            var index: Int
            var suggestionId: String
            var attempt: Int
            var status: String
            var output: Double?
            var cost: Double?
            var params: [String: ParameterValue]
            var worker: String?
            var observedAt: Date
            var startedAt: Date?
            var finishedAt: Date?
        }
        var count: Int
        var observations: [Item]
    }

    /// `/api/v1/in-flight`: the suggestions publishing, queued or running.
    struct InFlight: Encodable {
        struct Run: Encodable {
            var suggestionId: String
            var attempt: Int
            var state: String
            var worker: String?
            var createdAt: Date
            var startedAt: Date?
            var lastHeartbeatAt: Date?
            var leaseDeadline: Date?
            var leaseSecondsLeft: Double?
        }
        var now: Date
        var count: Int
        var runs: [Run]
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func finite(_ value: Double?) -> Double? {
        guard let value, value.isFinite else { return nil }
        return value
    }

    // MARK: - Building

    /// Everything the documents and pictures need, read in one transaction.
    struct Snapshot {
        var live: LiveStudy
        var configuration: OptimizerService.Configuration
        var counts: StudyCounts
        var observations: [StoredObservation]
        var inFlight: [(suggestion: StoredSuggestion, attempt: StoredAttempt?)]
        var deadLetters: [LoggedMessage]
        var now: Date

        init(source: LiveViewSource, now: Date = Date()) throws {
            live = source.service.live
            configuration = source.service.configuration
            self.now = now
            (counts, observations, inFlight, deadLetters) = try source.store.read { tx in
                let open = try tx.suggestions(in: [.publishing, .queued, .running])
                return (
                    try tx.counts(), try tx.observations(),
                    try open.map { ($0, try tx.attempt($0.attempt, ofSuggestion: $0.id)) },
                    try tx.messageLog(disposition: .rejected)
                )
            }
        }

        var report: StudyReport {
            let observations = observations.map {
                ReportObservation(
                    parameters: $0.params.mapValues(\.doubleValue), output: $0.output, cost: $0.cost,
                    isFailure: $0.isFailure)
            }
            return StudyReport(
                study: configuration.study, direction: live.direction, parameters: live.parameters,
                observations: observations, summary: live.summary)
        }
    }

    static func study(_ snapshot: Snapshot) -> Study {
        let live = snapshot.live
        let configuration = snapshot.configuration
        let counts = snapshot.counts
        let report = snapshot.report
        var fractions: [Double] = []
        if let max = configuration.maxObservations, max > 0 {
            fractions.append(Double(counts.observations) / Double(max))
        }
        if let max = configuration.maxTotalCost, max > 0 { fractions.append(counts.totalCost / max) }
        let running = counts.suggestions[.running] ?? 0
        let point = { (cost: Double?, output: Double?, runs: Int, parameters: [String: Double]) in
            Study.Point(
                cost: finite(cost), output: finite(output), runs: runs,
                parameters: parameters.compactMapValues { finite($0) })
        }
        let best = live.summary?.best.map { point($0.cost, $0.output, 1, $0.parameters) }
        return Study(
            study: configuration.study, phase: live.phase.rawValue,
            direction: live.direction == .minimize ? "minimize" : "maximize", now: snapshot.now,
            startedAt: live.startedAt, elapsedSeconds: snapshot.now.timeIntervalSince(live.startedAt),
            lastCommitAt: live.lastCommitAt,
            budget: .init(maxObservations: configuration.maxObservations, maxTotalCost: configuration.maxTotalCost),
            progress: .init(
                observations: counts.observations, failures: counts.failures, totalCost: counts.totalCost,
                inFlight: counts.inFlight, running: running, queued: counts.inFlight - running,
                budgetFraction: fractions.max().map { min($0, 1) }),
            suggestions: Dictionary(uniqueKeysWithValues: counts.suggestions.map { ($0.key.rawValue, $0.value) }),
            messages: Dictionary(uniqueKeysWithValues: counts.messages.map { ($0.key.rawValue, $0.value) }),
            best: best,
            pareto: report.frontier.map { point($0.cost, $0.output, $0.count, $0.parameters) },
            scalingLaws: report.scalingLaws.map {
                Study.Law(
                    parameter: $0.parameter, exponent: finite($0.exponent), coefficient: finite($0.coefficient),
                    rSquared: finite($0.rSquared), points: $0.pointCount, text: $0.description)
            },
            scalingWarnings: report.frontier.isEmpty ? [] : report.scalingWarnings,
            resultsPerMinute: rate(of: snapshot.observations.map(\.observedAt), now: snapshot.now),
            deadLetters: deadLetters(snapshot.deadLetters))
    }

    static func rate(of times: [Date], now: Date) -> Study.Rate {
        var perMinute = Array(repeating: 0, count: 30)
        for time in times {
            let minutesAgo = Int(now.timeIntervalSince(time) / 60)
            if (0..<30).contains(minutesAgo) { perMinute[29 - minutesAgo] += 1 }
        }
        let lastMinute = times.filter { now.timeIntervalSince($0) < 60 }.count
        let recent = times.filter { now.timeIntervalSince($0) < 600 }
        let span = recent.min().map { max(now.timeIntervalSince($0), 60) } ?? 600
        return Study.Rate(
            lastMinute: lastMinute, lastTenMinutes: Double(recent.count) / (span / 60), perMinute: perMinute)
    }

    static func deadLetters(_ messages: [LoggedMessage]) -> Study.DeadLetters {
        var byReason: [String: Int] = [:]
        for message in messages { byReason[OptimizerMetrics.reasonLabel(message.reason ?? ""), default: 0] += 1 }
        let recent = messages.suffix(20).reversed().map {
            Study.DeadLetter(
                receivedAt: $0.receivedAt, reason: $0.reason ?? "",
                reasonCode: OptimizerMetrics.reasonLabel($0.reason ?? ""),
                body: String($0.body.prefix(200)))
        }
        return Study.DeadLetters(total: messages.count, byReason: byReason, recent: Array(recent))
    }

    static func observations(_ snapshot: Snapshot) -> Observations {
        let items = snapshot.observations.enumerated().map { index, o in
            Observations.Item(
                index: index, suggestionId: o.suggestionID, attempt: o.attempt,
                status: o.isFailure ? "failure" : "success",
                output: finite(o.output), cost: finite(o.cost), params: o.params, worker: o.worker,
                observedAt: o.observedAt, startedAt: o.startedAt, finishedAt: o.finishedAt)
        }
        return Observations(count: items.count, observations: items)
    }

    static func inFlight(_ snapshot: Snapshot) -> InFlight {
        let runs = snapshot.inFlight.sorted {
            ($0.suggestion.createdAt, $0.suggestion.id) < ($1.suggestion.createdAt, $1.suggestion.id)
        }
        .map { suggestion, attempt in
            InFlight.Run(
                suggestionId: suggestion.id, attempt: suggestion.attempt, state: suggestion.state.rawValue,
                worker: suggestion.worker, createdAt: suggestion.createdAt, startedAt: attempt?.startedAt,
                lastHeartbeatAt: suggestion.lastHeardAt, leaseDeadline: suggestion.leaseDeadline,
                leaseSecondsLeft: suggestion.leaseDeadline.map { max($0.timeIntervalSince(snapshot.now), 0) })
        }
        return InFlight(now: snapshot.now, count: runs.count, runs: runs)
    }
}
