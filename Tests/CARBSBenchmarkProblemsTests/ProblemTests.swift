import CARBSBenchmarkProblems
import CARBSCore
import Foundation
import Testing

@Suite("Benchmark problems")
struct ProblemTests {
    @Test("lr_width output and cost at hand-checked points")
    func lrWidthFormulas() {
        let problem = LRWidthProblem()
        // learning_rate 1e-3: (0 + 0.2) · 512 / 64 = 1.6; learning_rate 1e-5: (4 + 0.2) · 512 / 32 = 67.2.
        #expect(abs(problem.noiseFreeOutput(["learning_rate": 1e-3, "hidden_dim": 64]) - 1.6) < 1e-12)
        #expect(abs(problem.noiseFreeOutput(["learning_rate": 1e-5, "hidden_dim": 32]) - 67.2) < 1e-9)
        #expect(problem.cost(["learning_rate": 1e-5, "hidden_dim": 32]) == 32)
        var noise = SeededGenerator(seed: 1)
        for _ in 0..<200 {
            let result = problem.evaluate(["learning_rate": 1e-3, "hidden_dim": 64], noise: &noise)
            #expect(result.output >= 1.6 && result.output < 1.7 + 1e-12)
            #expect(result.cost == 64)
        }
    }

    @Test("branin_cost output, cost and minimum")
    func braninFormulas() {
        let problem = BraninCostProblem()
        for (x1, x2) in [(-Double.pi, 12.275), (Double.pi, 2.275), (9.42478, 2.475)] {
            #expect(abs(BraninCostProblem.branin(x1, x2) - 0.397887) < 1e-6)
        }
        // At (0, 0): (−6)² + 10·(1 − 1/(8π)) + 10 = 55.602112642270262.
        #expect(abs(BraninCostProblem.branin(0, 0) - 55.602112642270262) < 1e-9)
        let params = ["x1": Double.pi, "x2": 2.275, "steps": 100.0]
        #expect(abs(problem.noiseFreeOutput(params) - (0.397887 + 5)) < 1e-6)
        #expect(problem.cost(params) == 100)
        var noise = SeededGenerator(seed: 2)
        let outputs = (0..<2000).map { _ in problem.evaluate(params, noise: &noise).output }
        let mean = outputs.reduce(0, +) / Double(outputs.count)
        let sd = (outputs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(outputs.count)).squareRoot()
        #expect(abs(mean - problem.noiseFreeOutput(params)) < 0.01)
        #expect(abs(sd - 0.1) < 0.01)
    }

    @Test("hartmann6_cost output, cost and minimum")
    func hartmannFormulas() {
        let problem = Hartmann6CostProblem()
        let best = Hartmann6CostProblem.hartmannMinimizer
        #expect(abs(Hartmann6CostProblem.hartmann6(best) - (-3.32237)) < 1e-5)
        // At the origin: −Σ αᵢ exp(−Σⱼ Aᵢⱼ Pᵢⱼ²), evaluated by hand-typed terms.
        let origin =
            -(1.0
            * exp(
                -(10 * 0.1312 * 0.1312 + 3 * 0.1696 * 0.1696 + 17 * 0.5569 * 0.5569
                    + 3.5 * 0.0124 * 0.0124 + 1.7 * 0.8283 * 0.8283 + 8 * 0.5886 * 0.5886))
            + 1.2
            * exp(
                -(0.05 * 0.2329 * 0.2329 + 10 * 0.4135 * 0.4135 + 17 * 0.8307 * 0.8307
                    + 0.1 * 0.3736 * 0.3736 + 8 * 0.1004 * 0.1004 + 14 * 0.9991 * 0.9991))
            + 3.0
            * exp(
                -(3 * 0.2348 * 0.2348 + 3.5 * 0.1451 * 0.1451 + 1.7 * 0.3522 * 0.3522
                    + 10 * 0.2883 * 0.2883 + 17 * 0.3047 * 0.3047 + 8 * 0.6650 * 0.6650))
            + 3.2
            * exp(
                -(17 * 0.4047 * 0.4047 + 8 * 0.8828 * 0.8828 + 0.05 * 0.8732 * 0.8732
                    + 10 * 0.5743 * 0.5743 + 0.1 * 0.1091 * 0.1091 + 14 * 0.0381 * 0.0381)))
        #expect(abs(Hartmann6CostProblem.hartmann6(Array(repeating: 0, count: 6)) - origin) < 1e-12)
        var params = Dictionary(uniqueKeysWithValues: zip(Hartmann6CostProblem.coordinateNames, best))
        params["steps"] = 400
        #expect(abs(problem.noiseFreeOutput(params) - (-3.32237 + 0.15)) < 1e-5)
        let mean = best.reduce(0, +) / 6
        #expect(abs(problem.cost(params) - 400 * (1 + mean)) < 1e-9)
    }

    @Test("parameters are as the benchmark page gives them")
    func parameterDefinitions() {
        let lrWidth = LRWidthProblem().parameters
        #expect(lrWidth.map(\.name) == ["learning_rate", "hidden_dim"])
        #expect(lrWidth[0].center == 1e-5 && lrWidth[1].center == 32)
        #expect(lrWidth[1].space.isInteger && !lrWidth[0].space.isInteger)
        #expect(lrWidth[0].space.basicBounds.upper == .infinity)
        #expect(abs(lrWidth[1].space.basic(fromParameter: 32) - log10(32)) < 1e-12)

        let branin = BraninCostProblem().parameters
        #expect(branin.map(\.name) == ["x1", "x2", "steps"])
        #expect(abs(branin[0].space.basicBounds.lower - (-1)) < 1e-12)
        #expect(abs(branin[1].space.basicBounds.upper - 3) < 1e-12)
        #expect(branin[2].space.isInteger)

        let hartmann = Hartmann6CostProblem().parameters
        #expect(hartmann.map(\.name) == ["x1", "x2", "x3", "x4", "x5", "x6", "steps"])
        #expect(hartmann.allSatisfy { $0.name == "steps" ? $0.center == 100 : $0.center == 0.5 })
        #expect(abs(hartmann[0].space.basicBounds.upper - 1 / 0.3) < 1e-12)

        #expect(BenchmarkProblems.all.map(\.name) == ["lr_width", "branin_cost", "hartmann6_cost"])
        #expect(BenchmarkProblems.named("branin_cost")?.name == "branin_cost")
        #expect(BenchmarkProblems.named("nope") == nil)
    }

    @Test("cost levels: 20, log-spaced, ends included exactly")
    func costLevels() {
        for (problem, range) in zip(BenchmarkProblems.all, [(2.0, 512.0), (10.0, 10000.0), (10.0, 20000.0)]) {
            let levels = problem.costLevels
            #expect(levels.count == 20)
            #expect(levels.first == range.0 && levels.last == range.1)
            let ratios = zip(levels.dropFirst(), levels).map { $0 / $1 }
            let expected = pow(range.1 / range.0, 1.0 / 19)
            #expect(ratios.allSatisfy { abs($0 - expected) < 1e-9 })
        }
    }

    @Test("optimum at cost: closed forms and the hartmann6 table")
    func optimumAtCost() {
        let lrWidth = LRWidthProblem()
        #expect(abs(lrWidth.optimum(atCost: 2) - 51.2) < 1e-12)
        #expect(abs(lrWidth.optimum(atCost: 64) - 1.6) < 1e-12)
        #expect(abs(lrWidth.optimum(atCost: 10_000) - 0.2) < 1e-12)

        let branin = BraninCostProblem()
        #expect(abs(branin.optimum(atCost: 100) - 5.397887) < 1e-12)
        #expect(abs(branin.optimum(atCost: 1e6) - 0.897887) < 1e-12)

        let hartmann = Hartmann6CostProblem()
        #expect(Hartmann6CostProblem.optimumTable.count == 20)
        // Non-increasing in cost: a bigger budget never does worse.
        let table = Hartmann6CostProblem.optimumTable
        #expect(zip(table.dropFirst(), table).allSatisfy { $0 <= $1 })
        // Cheapest level: steps 10 and x = 0 is the only run that fits.
        #expect(
            abs(
                hartmann.optimum(atCost: 10)
                    - (Hartmann6CostProblem.hartmann6([0, 0, 0, 0, 0, 0])
                        + 3 / 10.0.squareRoot())) < 1e-5)
        // Dearest level: the global minimum at steps 10000 (cost 13455 ≤ 20000).
        #expect(abs(hartmann.optimum(atCost: 20000) - (-3.32237 + 0.03)) < 1e-5)
        // Where the unconstrained minimiser fits at the best steps, the optimum is −3.32237 + 3/sqrt(steps):
        // at C = 22.2575, steps = 16 costs 16 · 1.34548 = 21.53.
        #expect(abs(hartmann.optimum(atCost: hartmann.costLevels[2]) - (-3.32237 + 0.75)) < 1e-5)
        // The table value is reachable: a run at the minimiser with steps 16 achieves it within the budget.
        var params = Dictionary(
            uniqueKeysWithValues: zip(
                Hartmann6CostProblem.coordinateNames,
                Hartmann6CostProblem.hartmannMinimizer))
        params["steps"] = 16
        #expect(hartmann.cost(params) <= hartmann.costLevels[2])
        #expect(abs(hartmann.noiseFreeOutput(params) - hartmann.optimum(atCost: hartmann.costLevels[2])) < 1e-5)
        // Between levels: interpolated, between its neighbours.
        let between = hartmann.optimum(atCost: 1000)
        #expect(between < table[11] && between > table[12])
        #expect(hartmann.optimum(atCost: 5) == .infinity)
    }
}
