import ArgumentParser
import CARBSBenchmarkProblems
import CARBSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `carbs-bench latency`: suggest time and peak memory at a given history size, dimension and pending count.
struct LatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Time suggest(count: 1) with n observations, d dimensions and p pending runs.",
        discussion: """
            With none of --observations/--dims/--pending, runs the grid n ∈ {10, 100, 500, 1000, 2000} × \
            d ∈ {2, 7, 20} with 8 pending, then n ∈ {5000, 10000} × d ∈ {7, 20} × {8, 32} pending, each \
            configuration in a fresh child process (so its peak memory is its own). Each configuration prints one \
            JSON line: observations, dims, pending, batch, refit_interval, arrivals, timed (the calls timed), \
            p50_seconds, p95_seconds, mean_seconds, max_seconds, p50_cpu_seconds (the \
            calling thread's CPU time: all of it with one numeric thread, and less disturbed by other processes), \
            peak_rss_bytes, and restore_seconds (encoding the optimizer's snapshot as JSON, decoding it and restoring from it).

            A configuration builds CARBS on the synthetic problem of LatencyProblem.swift (dimensions cycling \
            through log unbounded, linear bounded, log integer bounded, linear unbounded), warm-starts it with n \
            random observations, draws (and forgets) the resamples such a history is owed, makes p suggestions \
            that stay pending, then times at least 10 further model-based suggest(count: 1) calls (3 when \
            n ≥ 1000), forgetting each suggestion right after, so n and p stay fixed. With --arrivals a new \
            random observation arrives after each timed call, so with --refit-interval K the calls between two \
            fits of the hyperparameters extend the kept factors, and the mean shows the cost amortised over a fit.
            """
    )

    /// The grid: (observations, dimensions, pending) in the order run.
    static var grid: [(Int, Int, Int)] {
        var grid: [(Int, Int, Int)] = []
        for dimensions in [2, 7, 20] {
            for observations in [10, 100, 500, 1000, 2000] { grid.append((observations, dimensions, 8)) }
        }
        for dimensions in [7, 20] {
            for observations in [5000, 10000] {
                for pending in [8, 32] { grid.append((observations, dimensions, pending)) }
            }
        }
        return grid
    }

    @Option(help: "Observations in the history (one configuration).")
    var observations: Int?

    @Option(help: "Dimensions of the synthetic problem (one configuration).")
    var dims: Int?

    @Option(help: "Pending suggestions while timing (one configuration).")
    var pending: Int?

    @Option(help: "Timed suggestions per configuration (default 10, or 3 at 1000 or more observations).")
    var repeats: Int?

    @Option(help: "Seed of the optimizer and of the synthetic history.")
    var seed: UInt64 = 0

    @Option(help: "Suggestions per timed suggest call (default 1): e.g. 32 times choosing a whole batch.")
    var batch = 1

    @Flag(help: "Fit the models to every observation (no local training set), for comparison.")
    var exact = false

    @Option(help: "refit_interval: fit the hyperparameters every K observations and extend the kept factors between.")
    var refitInterval = 1

    @Option(help: "refit_fraction (default: the optimizer's): keep the hyperparameters for this fraction of n.")
    var refitFraction: Double?

    @Flag(help: "One new observation arrives after every timed call (n grows by one each time), as in a live study.")
    var arrivals = false

    func validate() throws {
        if let observations, observations < 1 { throw ValidationError("--observations: \(observations) is below 1") }
        if let dims, dims < 1 { throw ValidationError("--dims: \(dims) is below 1") }
        if let pending, pending < 0 { throw ValidationError("--pending: \(pending) is below 0") }
        if let repeats, repeats < 1 { throw ValidationError("--repeats: \(repeats) is below 1") }
        guard batch >= 1 else { throw ValidationError("--batch: \(batch) is below 1") }
        guard refitInterval >= 1 else { throw ValidationError("--refit-interval: \(refitInterval) is below 1") }
    }

    func run() throws {
        // One thread for the linear algebra: reproducible records, and the figures are per core.
        NumericThreads.set(1)
        if observations == nil, dims == nil, pending == nil {
            try runGrid()
        } else {
            let line = try measure(observations: observations ?? 100, dimensions: dims ?? 7, pending: pending ?? 8)
            print(line)
        }
    }

    /// Runs each grid configuration in a child process of this executable and relays its JSON line.
    func runGrid() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for (observations, dimensions, pending) in Self.grid {
            var arguments = [
                "latency", "--observations", "\(observations)", "--dims", "\(dimensions)",
                "--pending", "\(pending)", "--seed", "\(seed)", "--batch", "\(batch)",
            ]
            if exact { arguments.append("--exact") }
            if arrivals { arguments.append("--arrivals") }
            arguments += ["--refit-interval", "\(refitInterval)"]
            if let refitFraction { arguments += ["--refit-fraction", "\(refitFraction)"] }
            if let repeats { arguments += ["--repeats", "\(repeats)"] }
            let child = Process()
            child.executableURL = executable
            child.arguments = arguments
            let output = Pipe()
            child.standardOutput = output
            child.standardError = FileHandle.standardError
            try child.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            guard child.terminationStatus == 0 else {
                throw ValidationError(
                    "latency n=\(observations) d=\(dimensions): child exited with \(child.terminationStatus)")
            }
            FileHandle.standardOutput.write(data)
        }
    }

    /// Measures one configuration and returns its JSON line.
    func measure(observations: Int, dimensions: Int, pending: Int) throws -> String {
        let problem = LatencyProblem(dimensions: dimensions)
        var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
        if exact { configuration.maxModelPoints = .max }
        configuration.refitInterval = refitInterval
        if let refitFraction { configuration.refitFraction = refitFraction }
        var optimizer = try CARBSOptimizer(configuration: configuration, parameters: problem.parameters)
        var history = RandomSearch(parameters: problem.parameters, seed: seed ^ 0x6869_7374)  // "hist"
        var noise = SeededGenerator(seed: seed ^ 0x6E6F_6973)  // "nois"
        for suggestion in history.suggest(count: observations) {
            let result = problem.evaluate(suggestion.parameters, noise: &noise)
            try optimizer.observe(parameters: suggestion.parameters, output: result.output, cost: result.cost)
        }
        // A warm-started history is owed resamples (one per `resample_frequency` successes) and pays them off
        // first; those suggestions fit no model, so draw them before timing anything.
        var drained = 0
        while drained <= observations, let first = try optimizer.suggest(count: 1).first {
            optimizer.forget(first.id)
            drained += 1
            if first.origin != .resample { break }
        }
        if pending > 0 { _ = try optimizer.suggest(count: pending) }

        let repeats = repeats ?? (observations >= 1000 ? 3 : 10)
        let clock = ContinuousClock()
        var seconds: [Double] = []
        var cpuSeconds: [Double] = []
        var attempts = 0
        while seconds.count < repeats, attempts < 10 * repeats {
            attempts += 1
            let start = clock.now
            let cpuStart = Self.threadCPUSeconds()
            let suggestion = try optimizer.suggest(count: batch)
            let cpuElapsed = Self.threadCPUSeconds() - cpuStart
            let elapsed = (clock.now - start).seconds
            for made in suggestion { optimizer.forget(made.id) }
            if arrivals, let next = history.suggest(count: 1).first {
                let result = problem.evaluate(next.parameters, noise: &noise)
                try optimizer.observe(parameters: next.parameters, output: result.output, cost: result.cost)
            }
            // Only model-based suggestions count: a resample or random-phase point would flatter the figure.
            if suggestion.allSatisfy({ $0.origin == .acquisition || $0.origin == .fallback }) {
                seconds.append(elapsed)
                cpuSeconds.append(cpuElapsed)
            }
        }
        guard !seconds.isEmpty else {
            throw ValidationError("latency n=\(observations) d=\(dimensions): no model-based suggestion to time")
        }
        let p50 = BenchmarkStatistics.quantile(seconds, 0.5)
        let p95 = BenchmarkStatistics.quantile(seconds, 0.95)
        let cpuP50 = BenchmarkStatistics.quantile(cpuSeconds, 0.5)
        let mean = seconds.reduce(0, +) / Double(seconds.count)
        let peak = Self.peakResidentBytes()
        // Restoring: the snapshot as JSON and back, then an optimizer from it (what a restarted service does).
        let start = clock.now
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(optimizer.snapshot)
        let restored = try CARBSOptimizer(restoring: decoder.decode(CARBSOptimizer.Snapshot.self, from: data))
        let restoreSeconds = (clock.now - start).seconds
        precondition(restored.snapshot == optimizer.snapshot, "the restored optimizer differs")
        return "{\"observations\":\(observations),\"dims\":\(dimensions),\"pending\":\(pending),\"batch\":\(batch),"
            + "\"refit_interval\":\(refitInterval),\"refit_fraction\":\(configuration.refitFraction),\"arrivals\":\(arrivals),\"timed\":\(seconds.count),"
            + "\"p50_seconds\":\(p50),\"p95_seconds\":\(p95),\"mean_seconds\":\(mean),\"max_seconds\":\(seconds.max()!),"
            + "\"p50_cpu_seconds\":\(cpuP50),"
            + "\"peak_rss_bytes\":\(peak),"
            + "\"restore_seconds\":\(restoreSeconds)}"
    }

    /// CPU time of the calling thread: with one numeric thread, the time the optimizer itself computed, which
    /// other processes on a shared machine inflate far less than the wall time.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return .nan }
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// The process's peak resident set size in bytes (`getrusage`'s `ru_maxrss` is in kibibytes on Linux).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return -1 }
        return Int(usage.ru_maxrss) * 1024
    }
}
