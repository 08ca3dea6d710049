import CARBSBenchmarkProblems
import Testing

@Suite("Frontier regret")
struct FrontierRegretTests {
    func record(_ index: Int, _ params: [String: Double], cost: Double, failed: Bool = false) -> BenchmarkRecord {
        BenchmarkRecord(
            problem: "lr_width", mode: "sequential", seed: 0, index: index, params: params,
            output: failed ? nil : 0, cost: failed ? nil : cost, failed: failed)
    }

    @Test("an exactly optimal run has regret 0 at every level")
    func optimalRunHasZeroRegret() {
        let problem = LRWidthProblem()
        // hidden_dim equal to each level (not an integer: the formula allows it) at learning_rate 1e-3.
        let records = problem.costLevels.enumerated().map { index, level in
            record(index, ["learning_rate": 1e-3, "hidden_dim": level], cost: level)
        }
        let regret = problem.frontierRegret(observations: records)
        #expect(regret.emptyLevelCount == 0)
        #expect(regret.regrets.allSatisfy { abs($0!) < 1e-12 })
        #expect(abs(regret.mean) < 1e-12)
    }

    @Test("hand-made run: per-level regret, mean over non-empty levels, empty-level count, failures excluded")
    func handMadeRun() {
        let problem = LRWidthProblem()
        let levels = problem.costLevels  // 2, 2.67, 3.57, 4.76, 6.35, 8.47, 11.3, …, 512
        let records = [
            // cost 8: noise-free output (1 + 0.2) · 512 / 8 = 76.8 (learning_rate 1e-2).
            record(0, ["learning_rate": 1e-2, "hidden_dim": 8], cost: 8),
            // cost 16: (0 + 0.2) · 512 / 16 = 6.4.
            record(1, ["learning_rate": 1e-3, "hidden_dim": 16], cost: 16),
            // A failure that would have been perfect at every level: ignored.
            record(2, ["learning_rate": 1e-3, "hidden_dim": 2], cost: 2, failed: true),
            // cost 512, worse output than the cost-16 run: (4 + 0.2) · 1 = 4.2.
            record(3, ["learning_rate": 1e-5, "hidden_dim": 512], cost: 512),
        ]
        let regret = problem.frontierRegret(observations: records)
        // Levels below 8 (2 … 6.35: 5 levels) have no observation.
        #expect(regret.emptyLevelCount == 5)
        var expected: [Double?] = []
        for level in levels {
            let optimum = 0.2 * 512 / min(level, 512)
            if level < 8 {
                expected.append(nil)
            } else if level < 16 {
                expected.append(76.8 - optimum)
            } else if level < 512 {
                expected.append(6.4 - optimum)
            } else {
                expected.append(4.2 - optimum)
            }
        }
        for (got, want) in zip(regret.regrets, expected) {
            if let want {
                #expect(got != nil && abs(got! - want) < 1e-9)
            } else {
                #expect(got == nil)
            }
        }
        let present = expected.compactMap { $0 }
        #expect(abs(regret.mean - present.reduce(0, +) / Double(present.count)) < 1e-9)

        // Capped: the cap is the center's noise-free output, ((−5 + 3)² + 0.2) · 512 / 32 = 67.2. Empty levels
        // and the cost-8 answer (76.8, worse than the cap) are charged cap − optimum; the rest as above.
        #expect(abs(problem.regretCap - 67.2) < 1e-9)
        var cappedExpected: [Double] = []
        for (level, want) in zip(levels, expected) {
            let optimum = 0.2 * 512 / min(level, 512)
            cappedExpected.append(max(0, min(want.map { $0 + optimum } ?? .infinity, 67.2) - optimum))
        }
        for (got, want) in zip(regret.cappedRegrets, cappedExpected) {
            #expect(abs(got - want) < 1e-9)
        }
        #expect(abs(regret.cappedMean - cappedExpected.reduce(0, +) / 20) < 1e-9)
        #expect(regret.cappedMean > regret.mean)
    }

    @Test("the caps are the search centers' outputs from the benchmark page")
    func capsMatchThePage() {
        #expect(abs(LRWidthProblem().regretCap - 67.2) < 1e-9)
        #expect(abs(BraninCostProblem().regretCap - 29.13) < 0.01)
        #expect(abs(Hartmann6CostProblem().regretCap - -0.2053) < 0.001)
    }

    @Test("a run with no successful observation has infinite mean and 20 empty levels")
    func emptyRun() {
        let regret = BraninCostProblem().frontierRegret(observations: [BenchmarkRecord]())
        #expect(regret.emptyLevelCount == 20)
        #expect(regret.mean == .infinity)
        // Every level is charged cap − optimum, which is positive everywhere on branin_cost.
        #expect(regret.cappedRegrets.allSatisfy { $0 > 0 })
        #expect(regret.cappedMean.isFinite)
    }
}
