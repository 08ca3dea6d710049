import CARBSCore

/// How a run asks for suggestions (`docs/benchmarks.md`, "Runs").
public enum BenchmarkMode: String, CaseIterable, Sendable, Codable {
    /// One suggestion at a time: suggest, observe, repeat.
    case sequential
    /// Eight runs always pending: ask for 8, then each time one result is observed, ask for one more.
    case parallel8 = "parallel-8"
    /// Thirty-two runs always pending (a fleet of 32 workers), the same protocol as parallel-8.
    case parallel32 = "parallel-32"

    /// How many suggestions are pending at once.
    public var pendingCount: Int {
        switch self {
        case .sequential: 1
        case .parallel8: 8
        case .parallel32: 32
        }
    }
}

/// Which optimizer a run measures; the name appears in record file names.
public enum BenchmarkVariant: String, CaseIterable, Sendable, Codable {
    /// CARBS with default settings.
    case carbs
    /// CARBS in `referenceParity` hyperparameter mode (the ablation).
    case parity
    /// The random-search baseline, ``RandomSearch``.
    case random
}

/// One benchmark run: a problem, a mode and a seed, driven against any ``BenchmarkOptimizer``.
///
/// The driver keeps `mode.pendingCount` suggestions pending: it asks for that many at once, then observes the
/// oldest pending suggestion first (FIFO, so a run is deterministic) and after each observation asks for one more,
/// until `observationCount` suggestions have been made; then it observes the rest. Each suggestion is evaluated
/// when it is made, with noise from the problem's own generator (seeded from the run's seed, independent of the
/// optimizer's). Times come from a monotonic clock; a batch's suggest time is split evenly over its suggestions.
public struct BenchmarkRun: Sendable {
    /// The problem.
    public var problem: any BenchmarkProblem
    /// The run mode.
    public var mode: BenchmarkMode
    /// The seed of the problem's noise (and, by convention, of the optimizer).
    public var seed: UInt64
    /// How many observations the run makes.
    public var observationCount: Int

    /// Creates a run of `observationCount` (default 100) observations.
    public init(problem: any BenchmarkProblem, mode: BenchmarkMode, seed: UInt64, observationCount: Int = 100) {
        precondition(observationCount > 0, "a run needs at least one observation")
        self.problem = problem
        self.mode = mode
        self.seed = seed
        self.observationCount = observationCount
    }

    /// The seed of the problem's noise generator for a run seed: distinct from the optimizer's seed.
    public static func noiseSeed(forRunSeed seed: UInt64) -> UInt64 {
        seed ^ 0x6E6F_6973_655F_5F5F  // "noise___"
    }

    /// Runs `optimizer` and returns one record per observation, in the order observed.
    ///
    /// - Throws: whatever the optimizer throws.
    public func run(_ optimizer: inout some BenchmarkOptimizer) throws -> [BenchmarkRecord] {
        var noise = SeededGenerator(seed: Self.noiseSeed(forRunSeed: seed))
        var pending: [PendingRun] = []
        var pendingStart = 0  // FIFO head: pending[pendingStart...] are outstanding
        var suggested = 0
        var records: [BenchmarkRecord] = []
        records.reserveCapacity(observationCount)
        let clock = ContinuousClock()

        func ask(_ count: Int) throws {
            let count = min(count, observationCount - suggested)
            guard count > 0 else { return }
            let start = clock.now
            let suggestions = try optimizer.suggest(count: count)
            let seconds = (clock.now - start).seconds / Double(count)
            precondition(suggestions.count == count, "asked for \(count) suggestions, got \(suggestions.count)")
            for suggestion in suggestions {
                let result = problem.evaluate(suggestion.parameters, noise: &noise)
                pending.append(
                    PendingRun(
                        suggestion: suggestion, output: result.output, cost: result.cost,
                        suggestSeconds: seconds))
            }
            suggested += count
        }

        try ask(mode.pendingCount)
        while pendingStart < pending.count {
            let oldest = pending[pendingStart]
            pendingStart += 1
            let start = clock.now
            try optimizer.observe(id: oldest.suggestion.id, output: oldest.output, cost: oldest.cost)
            let observeSeconds = (clock.now - start).seconds
            records.append(
                BenchmarkRecord(
                    problem: problem.name, mode: mode.rawValue, seed: seed, index: records.count,
                    params: oldest.suggestion.parameters, output: oldest.output, cost: oldest.cost, failed: false,
                    suggestSeconds: oldest.suggestSeconds, observeSeconds: observeSeconds
                ))
            try ask(1)
        }
        return records
    }
}

/// A suggestion handed out and evaluated, waiting to be observed.
private struct PendingRun {
    var suggestion: BenchmarkSuggestion
    var output: Double
    var cost: Double
    var suggestSeconds: Double
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
