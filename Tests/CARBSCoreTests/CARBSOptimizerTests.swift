import Foundation
import Testing
@testable import CARBSCore

/// The `lr_width` benchmark problem (docs/benchmarks.md), inlined so the core tests need nothing else.
enum LRWidth {
    static let parameters: [Parameter] = [
        .init(name: "learning_rate", space: .log(), center: 1e-5),
        .init(name: "hidden_dim", space: .log(min: 2, max: 512, integer: true), center: 32),
    ]

    static func noiseFree(_ p: [String: Double]) -> Double {
        let lr = p["learning_rate"]!
        let width = p["hidden_dim"]!
        return (pow(log10(lr) + 3, 2) + 0.2) * 512 / width
    }

    static func evaluate(_ p: [String: Double], noise: inout SeededGenerator) -> (output: Double, cost: Double) {
        (noiseFree(p) + 0.1 * noise.nextUniform(), p["hidden_dim"]!)
    }

    static func optimum(atCost cost: Double) -> Double { 0.2 * 512 / min(cost, 512) }

    /// Frontier regret over 20 log-spaced cost levels from 2 to 512 (docs/benchmarks.md).
    static func frontierRegret(_ runs: [(params: [String: Double], cost: Double)]) -> Double {
        var total = 0.0
        var levels = 0
        for i in 0..<20 {
            let level = exp(log(2.0) + Double(i) / 19 * (log(512.0) - log(2.0)))
            let affordable = runs.filter { $0.cost <= level * (1 + 1e-12) }
            guard let best = affordable.map({ noiseFree($0.params) }).min() else { continue }
            total += best - optimum(atCost: level)
            levels += 1
        }
        return levels == 0 ? .infinity : total / Double(levels)
    }
}

@Suite("CARBS optimizer")
struct CARBSOptimizerTests {
    func makeOptimizer(seed: UInt64 = 0, configure: (inout CARBSConfiguration) -> Void = { _ in }) throws
        -> CARBSOptimizer
    {
        var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
        configure(&configuration)
        return try CARBSOptimizer(configuration: configuration, parameters: LRWidth.parameters)
    }

    /// Runs `count` sequential observations of lr_width and returns the runs.
    func runSequential(_ optimizer: inout CARBSOptimizer, count: Int, noiseSeed: UInt64 = 1) throws
        -> [(params: [String: Double], cost: Double)]
    {
        var noise = SeededGenerator(seed: noiseSeed)
        var runs: [(params: [String: Double], cost: Double)] = []
        for _ in 0..<count {
            let suggestion = try optimizer.suggest()[0]
            let result = LRWidth.evaluate(suggestion.parameters, noise: &noise)
            try optimizer.observe(.success(id: suggestion.id, output: result.output, cost: result.cost))
            runs.append((suggestion.parameters, result.cost))
        }
        return runs
    }

    @Test("a seeded run repeats exactly")
    func seededRunRepeats() throws {
        var a = try makeOptimizer(seed: 42)
        var b = try makeOptimizer(seed: 42)
        let runsA = try runSequential(&a, count: 15)
        let runsB = try runSequential(&b, count: 15)
        #expect(runsA.map(\.params) == runsB.map(\.params))
        var c = try makeOptimizer(seed: 43)
        let runsC = try runSequential(&c, count: 15)
        #expect(runsA.map(\.params) != runsC.map(\.params))
    }

    @Test("a parallel batch of 8 has 8 distinct points, in the random phase and after it")
    func parallelBatchDistinct() throws {
        var optimizer = try makeOptimizer()
        let first = try optimizer.suggest(count: 8)
        #expect(first.allSatisfy { $0.origin == .random })
        #expect(Set(first.map(\.parameters)).count == 8)
        #expect(Set(first.map(\.id)).count == 8)
        var noise = SeededGenerator(seed: 5)
        for suggestion in first {
            let result = LRWidth.evaluate(suggestion.parameters, noise: &noise)
            try optimizer.observe(.success(id: suggestion.id, output: result.output, cost: result.cost))
        }
        let second = try optimizer.suggest(count: 8)
        #expect(Set(second.map(\.parameters)).count == 8)
        #expect(optimizer.fitCount == 1, "a batch fits the models once")
        #expect(optimizer.outstanding.count == 8)
    }

    @Test("observe is idempotent by suggestion id; unknown ids and bad costs are rejected")
    func observeIdempotent() throws {
        var optimizer = try makeOptimizer()
        let suggestion = try optimizer.suggest()[0]
        let firstOutcome = try optimizer.observe(.success(id: suggestion.id, output: 1, cost: 2))
        let secondOutcome = try optimizer.observe(.success(id: suggestion.id, output: 1, cost: 2))
        #expect(firstOutcome == .recorded)
        #expect(secondOutcome == .duplicate)
        #expect(optimizer.summary.successCount == 1)
        #expect(throws: CARBSError.self) { try optimizer.observe(.success(id: "nope", output: 1, cost: 1)) }
        let other = try optimizer.suggest()[0]
        #expect(throws: CARBSError.self) { try optimizer.observe(.success(id: other.id, output: 1, cost: 0)) }
        #expect(throws: CARBSError.self) { try optimizer.observe(.success(id: other.id, output: 1, cost: .nan)) }
        let nanOutcome = try optimizer.observe(.success(id: other.id, output: .nan, cost: 3))
        #expect(nanOutcome == .recorded)
        #expect(optimizer.summary.failureCount == 1, "a NaN output is a failure")
    }

    @Test("forget drops an outstanding suggestion")
    func forget() throws {
        var optimizer = try makeOptimizer()
        let batch = try optimizer.suggest(count: 3)
        let first = optimizer.forget(batch[1].id)
        let second = optimizer.forget(batch[1].id)
        #expect(first)
        #expect(!second)
        #expect(optimizer.outstanding.map(\.id) == [batch[0].id, batch[2].id])
    }

    @Test("resampling happens on its cadence")
    func resampleCadence() throws {
        var optimizer = try makeOptimizer { $0.resampleFrequency = 5 }
        var noise = SeededGenerator(seed: 9)
        var origins: [Suggestion.Origin] = []
        for _ in 0..<21 {
            let suggestion = try optimizer.suggest()[0]
            origins.append(suggestion.origin)
            let result = LRWidth.evaluate(suggestion.parameters, noise: &noise)
            try optimizer.observe(.success(id: suggestion.id, output: result.output, cost: result.cost))
        }
        // After s successes, a resample is due when s > (resamples + 1) · 5: at s = 6, 11, 16, 21 → indices 6, 11, 16.
        let resampled = origins.indices.filter { origins[$0] == .resample }
        #expect(resampled == [6, 11, 16])
        #expect(optimizer.summary.resampleCount == 3)
        var none = try makeOptimizer { $0.resampleFrequency = 0 }
        _ = try runSequential(&none, count: 15)
        #expect(none.summary.resampleCount == 0)
    }

    @Test("snapshot round-trip gives the same next suggestion")
    func snapshotRoundTrip() throws {
        var optimizer = try makeOptimizer(seed: 11)
        _ = try runSequential(&optimizer, count: 12)
        _ = try optimizer.suggest(count: 2)
        let data = try JSONEncoder().encode(optimizer.snapshot)
        var restored = try CARBSOptimizer(restoring: JSONDecoder().decode(CARBSOptimizer.Snapshot.self, from: data))
        #expect(restored.snapshot == optimizer.snapshot)
        let next = try optimizer.suggest(count: 3)
        let restoredNext = try restored.suggest(count: 3)
        #expect(next == restoredNext)
    }

    @Test("near many failures the success probability falls")
    func failureModel() throws {
        var optimizer = try CARBSOptimizer(
            configuration: .init(direction: .minimize, seed: 1),
            parameters: [
                .init(name: "x", space: .linear(min: -5, max: 5), center: 0),
                .init(name: "y", space: .linear(min: -5, max: 5), center: 0),
            ])
        // A 7 × 7 grid over [−1, 1]²: runs fail wherever x > 0.
        var history: [HistoricalObservation] = []
        for i in 0..<7 {
            for j in 0..<7 {
                let x = -1 + Double(i) / 3
                let y = -1 + Double(j) / 3
                history.append(
                    x > 0
                        ? .init(parameters: ["x": x, "y": y], output: nil, cost: nil, isFailure: true)
                        : .init(parameters: ["x": x, "y": y], output: x * x + y * y, cost: 1 + abs(y)))
            }
        }
        try optimizer.warmStart(with: history)
        let models = try optimizer.fitSurrogates()
        let failure = try #require(models.failure)
        let posterior = failure.posterior(at: Matrix(rowVectors: [[0.8, 0.1], [-0.8, 0.1]]))
        let noise = failure.hyperparameters.noiseVariance
        let success = (0..<2).map { Normal.cdf(-posterior.mean[$0] / (posterior.variance[$0] + noise).squareRoot()) }
        #expect(success[0] < 0.2, "success probability amid failures: \(success[0])")
        #expect(success[1] > 0.8, "success probability amid successes: \(success[1])")
        // And the search itself leans away from the failing half: most of a batch lands where runs succeed.
        let next = try optimizer.suggest(count: 8)
        let safe = next.filter { ($0.parameters["x"] ?? 1) <= 0 }
        #expect(safe.count >= 5, "\(next.map { ($0.parameters, $0.prediction?.successProbability ?? -1) })")
    }

    @Test("max suggestion cost masks expensive candidates")
    func maxCostMasks() throws {
        var optimizer = try makeOptimizer { $0.maxSuggestionCost = 40 }
        let runs = try runSequential(&optimizer, count: 30)
        let modelled = runs.dropFirst(4)
        // Predictions can be off by a little; the bulk must respect the cap.
        let affordable = modelled.filter { $0.cost <= 48 }.count
        #expect(Double(affordable) >= 0.9 * Double(modelled.count))
    }

    @Test("EI in logs is finite for z down to −1000 and σ down to 1e-12")
    func logEIStable() {
        for z in stride(from: -1000.0, through: 5, by: 0.5) {
            for sd in [1e-12, 1e-6, 1, 100] {
                let value = Acquisition.logExpectedImprovement(mean: z * sd, standardDeviation: sd, threshold: 0)
                #expect(value.isFinite, "z \(z) σ \(sd)")
            }
        }
        // Matches the direct formula where it is accurate.
        for z in [-5.0, -1, 0, 0.5, 3] {
            let direct = Normal.density(z) + z * Normal.cdf(z)
            let value = Acquisition.logExpectedImprovement(mean: z, standardDeviation: 1, threshold: 0)
            #expect(abs(exp(value) - direct) <= 1e-10 * max(direct, 1e-300) + 1e-14)
        }
        // Monotone in z far in the tail.
        let a = Acquisition.logExpectedImprovement(mean: -500, standardDeviation: 1, threshold: 0)
        let b = Acquisition.logExpectedImprovement(mean: -400, standardDeviation: 1, threshold: 0)
        #expect(a < b)
    }

    @Test("warm start moves the center to the best input and fills new parameters")
    func warmStart() throws {
        var optimizer = try makeOptimizer()
        try optimizer.warmStart(
            with: [
                .init(parameters: ["learning_rate": 1e-3], output: 3.2, cost: 32),
                .init(parameters: ["learning_rate": 1e-2], output: 9, cost: 32),
                .init(parameters: ["learning_rate": 1e-1], output: nil, cost: nil, isFailure: true),
            ], fixedValues: ["hidden_dim": 32])
        #expect(optimizer.summary.successCount == 2)
        #expect(optimizer.summary.failureCount == 1)
        #expect(abs(optimizer.snapshot.searchCenter[0] + 3) < 1e-12)
        #expect(throws: CARBSError.self) {
            try optimizer.warmStart(with: [.init(parameters: ["momentum": 0.9], output: 1, cost: 1)])
        }
    }

    @Test("a warm start of many runs is not followed by a burst of resamples")
    func warmStartResampleCadence() throws {
        var optimizer = try makeOptimizer { $0.resampleFrequency = 5 }
        var noise = SeededGenerator(seed: 4)
        var generator = SeededGenerator(seed: 8)
        let history = (0..<40).map { _ -> HistoricalObservation in
            let params = [
                "learning_rate": pow(10, -5 + 3 * generator.nextUniform()),
                "hidden_dim": (8 + 200 * generator.nextUniform()).rounded(),
            ]
            let result = LRWidth.evaluate(params, noise: &noise)
            return .init(parameters: params, output: result.output, cost: result.cost)
        }
        try optimizer.warmStart(with: history)
        var origins: [Suggestion.Origin] = []
        for _ in 0..<6 {
            let suggestion = try optimizer.suggest()[0]
            origins.append(suggestion.origin)
            let result = LRWidth.evaluate(suggestion.parameters, noise: &noise)
            try optimizer.observe(.success(id: suggestion.id, output: result.output, cost: result.cost))
        }
        // The cadence carries on: the first resample comes after 41 successes, then none for five more.
        #expect(origins.filter { $0 == .resample }.count == 1)
        #expect(origins[0] != .resample)
    }

    @Test("lr_width: within 100 observations CARBS beats random search clearly (median of seeds 0–2)")
    func lrWidthQuality() throws {
        var carbs: [Double] = []
        var random: [Double] = []
        for seed: UInt64 in 0..<3 {
            var optimizer = try makeOptimizer(seed: seed)
            carbs.append(LRWidth.frontierRegret(try runSequential(&optimizer, count: 100, noiseSeed: seed + 100)))
            // Random search in the same neighbourhood: uniform over ±2 decades of the centers, within bounds.
            var generator = SeededGenerator(seed: seed)
            var noise = SeededGenerator(seed: seed + 100)
            var runs: [(params: [String: Double], cost: Double)] = []
            for _ in 0..<100 {
                let params = [
                    "learning_rate": pow(10, -7 + 4 * generator.nextUniform()),
                    "hidden_dim": min(512, max(2, pow(10, log10(32) - 2 + 4 * generator.nextUniform()).rounded())),
                ]
                runs.append((params, LRWidth.evaluate(params, noise: &noise).cost))
            }
            random.append(LRWidth.frontierRegret(runs))
        }
        let carbsMedian = carbs.sorted()[1]
        let randomMedian = random.sorted()[1]
        #expect(carbsMedian < 10, "CARBS \(carbs), random \(random)")
        #expect(carbsMedian < 0.5 * randomMedian, "CARBS \(carbs), random \(random)")
    }
}
