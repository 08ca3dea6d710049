import ArgumentParser
import CARBSAMQP
import CARBSCore
import CARBSMessaging
import Foundation
import Logging

/// `carbs-transport-bench run` (the default): every measurement, then Markdown tables on standard output.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Measure round trips per second and the answer to a burst; print Markdown.")

    @Option(help: "Worker process counts, comma-separated.")
    var workers: String = "1,8,32"

    @Option(help: "Warm-start observation counts n, comma-separated.")
    var observations: String = "100,1000"

    @Option(help: "Optimizer modes, comma-separated: carbs (suggestions from the fitted models) and random (no fit).")
    var modes: String = "carbs,random"

    @Option(help: "Seconds timed per configuration.")
    var seconds: Int = 15

    @Option(help: "Warm-start observations for the burst measurement (0 skips it).")
    var burstObservations: Int = 1000

    @Option(help: "Results per burst.")
    var burstSize: Int = 100

    @Option(help: "Bursts timed (after one untimed warm-up burst).")
    var bursts: Int = 5

    func run() async throws {
        // One thread for the linear algebra, as `carbs optimizer` uses by default.
        NumericThreads.set(1)
        let workerCounts = try Self.integers(workers, "--workers")
        let ns = try Self.integers(observations, "--observations")
        let chosenModes = try modes.split(separator: ",").map { text in
            guard let mode = BenchOptimizer.Mode(rawValue: String(text)) else {
                throw ValidationError("--modes: \"\(text)\" is not carbs or random")
            }
            return mode
        }
        var rows: [RoundTrips] = []
        for mode in chosenModes {
            for n in ns {
                for count in workerCounts {
                    log("round trips: \(mode), \(count) worker(s), n = \(n), \(seconds) s ...")
                    let row = try await RoundTrips.measure(
                        mode: mode, workers: count, warmStart: n, duration: .seconds(seconds))
                    log(String(format: "  %.0f round trips/s", row.perSecond))
                    rows.append(row)
                }
            }
        }
        var burst: Burst?
        if burstObservations > 0 {
            log("burst: \(burstSize) results at n = \(burstObservations), \(bursts) timed ...")
            burst = try await Burst.measure(warmStart: burstObservations, size: burstSize, repetitions: bursts)
        }
        print(report(rows, burst))
    }

    private func report(_ rows: [RoundTrips], _ burst: Burst?) -> String {
        var lines = [
            "### Round trips (suggestion → no-op worker → result → refit → next suggestion)", "",
            "| optimizer | workers | n (warm start) | max in flight | timed round trips | seconds | round trips/s "
                + "| refits | results per refit | results queue max | results queue final | commit p50 (ms) "
                + "| commit p90 (ms) | commit max (ms) | optimizer CPU per round trip (ms) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows {
            lines.append(
                "| \(row.mode) | \(row.workers) | \(row.warmStart) | \(row.maxInFlight) | \(row.runs) | "
                    + String(format: "%.2f", row.seconds) + " | " + String(format: "%.0f", row.perSecond)
                    + " | \(row.refits) | " + String(format: "%.1f", row.resultsPerRefit)
                    + " | \(row.maxDepth) | \(row.finalDepth) | " + String(format: "%.2f", row.commits.quantile(0.5))
                    + " | " + String(format: "%.2f", row.commits.quantile(0.9)) + " | "
                    + String(format: "%.1f", row.commits.max() ?? .nan) + " | "
                    + String(format: "%.2f", row.cpuSeconds * 1000 / Double(max(row.runs, 1))) + " |")
        }
        if let burst {
            lines += [
                "", "### A burst of \(burst.size) results at n = \(burst.warmStart)", "",
                "Time from the first result published until all \(burst.size) replacement suggestions are in the "
                    + "suggestions queue (publishing the burst with confirms included).", "",
                "| burst | published (ms) | answered (ms) | refits |", "|---:|---:|---:|---:|",
            ]
            for (index, timing) in burst.timings.enumerated() {
                lines.append(
                    "| \(index + 1) | " + String(format: "%.0f", timing.published * 1000) + " | "
                        + String(format: "%.0f", timing.answered * 1000) + " | \(timing.refits) |")
            }
            let answered = burst.timings.map(\.answered).sorted()
            lines.append("")
            lines.append(
                "Median " + String(format: "%.0f ms", answered[answered.count / 2] * 1000) + ", max "
                    + String(format: "%.0f ms", (answered.last ?? 0) * 1000) + ".")
        }
        lines += [
            "", "Commands:", "", "```",
            "swift build -c release --product carbs-transport-bench",
            "CARBS_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/%2f .build/release/carbs-transport-bench run "
                + "--modes \(modes) --workers \(workers) --observations \(observations) --seconds \(seconds)"
                + " --burst-observations \(burstObservations) --burst-size \(burstSize) --bursts \(bursts)",
            "```",
        ]
        return lines.joined(separator: "\n")
    }

    private static func integers(_ text: String, _ option: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 || $0 == 0 && option == "--observations" }) else {
            throw ValidationError("\(option): \"\(text)\" is not a comma-separated list of counts")
        }
        return values.map { $0! }
    }
}

func log(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// User plus system CPU time of this process so far, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func randomSuffix() -> String {
    String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF, radix: 16)
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// One round-trip measurement.
struct RoundTrips {
    var mode: BenchOptimizer.Mode
    var workers: Int
    var warmStart: Int
    var maxInFlight: Int
    var runs: Int
    var seconds: Double
    var refits: Int
    var maxDepth: Int
    var finalDepth: Int
    /// The durations (ms) of the commits made during the timed window.
    var commits: [Double]
    /// CPU time (user + system) this process — the optimizer service — used during the timed window.
    var cpuSeconds: Double

    var perSecond: Double { Double(runs) / seconds }
    var resultsPerRefit: Double { refits > 0 ? Double(runs) / Double(refits) : .nan }

    /// `workers` no-op worker processes against an optimizer holding `warmStart` observations: counts the
    /// results taken in during `duration`, after `2 × workers` (at least 10) untimed ones.
    static func measure(
        mode: BenchOptimizer.Mode, workers: Int, warmStart: Int, duration: Duration
    ) async throws -> RoundTrips {
        let warmup = max(10, 2 * workers)
        let maxInFlight = 2 * workers
        let optimizer = try BenchOptimizer(
            study: "bench-rt-\(mode)-\(workers)w-\(warmStart)n-\(randomSuffix())", mode: mode, warmStart: warmStart,
            maxInFlight: maxInFlight, maxObservations: nil)
        let processes = WorkerProcesses()
        defer { processes.terminate() }
        let (start, end, depths, commits, cpu) = try await optimizer.run {
            () async throws -> (BenchOptimizer.Sample, BenchOptimizer.Sample, [QueueDepthSampler.Sample], [Double], Double) in
            try processes.start(count: workers, study: optimizer.study)
            let start = try await optimizer.waitForProgress(observations: warmStart + warmup, timeout: .seconds(300))
            let commitsBefore = optimizer.commitTimes.milliseconds.count
            let sampler = try QueueDepthSampler(queue: optimizer.names.results)
            let cpuBefore = processCPUSeconds()
            try await Task.sleep(for: duration)
            let cpu = processCPUSeconds() - cpuBefore
            let depths = sampler.stop()
            let end = optimizer.progress.last ?? start
            let commits = Array(optimizer.commitTimes.milliseconds.dropFirst(commitsBefore))
            // Before the queues go away with the study.
            processes.terminate()
            return (start, end, depths, commits, cpu)
        }
        return RoundTrips(
            mode: mode, workers: workers, warmStart: warmStart, maxInFlight: maxInFlight,
            runs: end.observations - start.observations, seconds: (end.instant - start.instant).seconds,
            refits: end.refits - start.refits, maxDepth: depths.map(\.depth).max() ?? 0,
            finalDepth: depths.last?.depth ?? 0, commits: commits, cpuSeconds: cpu)
    }
}

/// The burst measurement: the optimizer holds `size` suggestions in flight; the benchmark takes them all, then
/// publishes all their results at once and times until `size` new suggestions are queued.
struct Burst {
    struct Timing {
        /// Seconds until every result of the burst was confirmed by the broker.
        var published: Double
        /// Seconds until the suggestions queue held `size` new suggestions.
        var answered: Double
        /// Model fits the optimizer made meanwhile (1 when the whole burst went into one batch).
        var refits: Int
    }

    var warmStart: Int
    var size: Int
    var timings: [Timing]

    static func measure(warmStart: Int, size: Int, repetitions: Int) async throws -> Burst {
        let optimizer = try BenchOptimizer(
            study: "bench-burst-\(warmStart)n-\(randomSuffix())", mode: .carbs, warmStart: warmStart,
            maxInFlight: size,
            maxObservations: warmStart + size * (repetitions + 3))
        let url = try benchBrokerURL()
        let timings = try await optimizer.run { () async throws -> [Timing] in
            let worker = try AMQPWorkerTransport(
                configuration: AMQPConfiguration(url: url, study: optimizer.study),
                logger: benchLogger("carbs.bench.burst"))
            try await worker.start()
            var timings: [Timing] = []
            do {
                for round in 0...repetitions {
                    try await waitForQueued(size, url: url, queue: optimizer.names.suggestions, timeout: .seconds(300))
                    var results: [OutboundMessage] = []
                    for _ in 0..<size {
                        guard let inbound = try await worker.receiveSuggestion(timeout: .seconds(30)) else {
                            throw BenchError("a queued suggestion did not arrive")
                        }
                        let suggestion = try WireFormat.decodeSuggestion(inbound.body)
                        try await worker.acknowledge(inbound)
                        results.append(result(for: suggestion))
                    }
                    let refitsBefore = optimizer.service.refitCount
                    let started = ContinuousClock.now
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for message in results { group.addTask { try await worker.publish(result: message) } }
                        try await group.waitForAll()
                    }
                    let published = ContinuousClock.now
                    try await waitForQueued(size, url: url, queue: optimizer.names.suggestions, timeout: .seconds(300))
                    let answered = ContinuousClock.now
                    if round > 0 {
                        timings.append(
                            Timing(
                                published: (published - started).seconds, answered: (answered - started).seconds,
                                refits: optimizer.service.refitCount - refitsBefore))
                    }
                }
            } catch {
                await worker.shutdown()
                throw error
            }
            await worker.shutdown()
            return timings
        }
        return Burst(warmStart: warmStart, size: size, timings: timings)
    }

    private static func result(for suggestion: SuggestionMessage) -> OutboundMessage {
        let now = Date()
        let message = WorkerMessage(
            kind: .result, study: suggestion.study, suggestionID: suggestion.suggestionID, attempt: suggestion.attempt,
            worker: "bench-burst", sentAt: now, status: .success, output: 1, cost: 1, startedAt: now, finishedAt: now)
        return OutboundMessage(
            body: WireFormat.encode(message), messageID: message.messageID, correlationID: message.suggestionID)
    }

    /// Polls the queue's ready count (every 2 ms) until it reaches `count`.
    private static func waitForQueued(_ count: Int, url: BrokerURL, queue: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while (try? AMQPAdministration.messageCount(url: url, queue: queue)) ?? 0 < count {
            guard ContinuousClock.now < deadline else {
                throw BenchError("\(queue) did not reach \(count) messages within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
