import CARBSCore
import Foundation

/// A benchmark problem of `docs/benchmarks.md`: hyperparameters, an output to minimise and a cost that grows with
/// the "size" hyperparameters, like real training.
///
/// Every problem is minimised. Parameter values are passed by name, in parameter space, exactly as the optimizer
/// suggests them (integer parameters already rounded by the optimizer; problems never round again). A missing
/// parameter is a programming error and traps.
public protocol BenchmarkProblem: Sendable {
    /// The problem's name as it appears in records and file names, e.g. `branin_cost`.
    var name: String { get }

    /// The hyperparameters with their spaces, bounds and search centers.
    var parameters: [Parameter] { get }

    /// The cheapest and the dearest cost the frontier-regret levels span.
    var costRange: (cheapest: Double, dearest: Double) { get }

    /// Runs the "training job": the noisy output and the cost.
    ///
    /// - Parameters:
    ///   - params: parameter values by name, in parameter space.
    ///   - noise: the problem's own seeded generator; each call draws from it.
    /// - Returns: the output to minimise (noise included) and the cost.
    func evaluate(_ params: [String: Double], noise: inout SeededGenerator) -> (output: Double, cost: Double)

    /// The output without noise (with uniform noise, its lower end).
    func noiseFreeOutput(_ params: [String: Double]) -> Double

    /// The cost of a run with these parameters (cost is never noisy).
    func cost(_ params: [String: Double]) -> Double

    /// The best noise-free output any run with cost at most `cost` can reach.
    func optimum(atCost cost: Double) -> Double
}

/// The three problems of `docs/benchmarks.md`, and lookup by name.
public enum BenchmarkProblems {
    /// `lr_width`, `branin_cost` and `hartmann6_cost`, in that order.
    public static let all: [any BenchmarkProblem] = [LRWidthProblem(), BraninCostProblem(), Hartmann6CostProblem()]

    /// The problem called `name`, or `nil` when there is none.
    public static func named(_ name: String) -> (any BenchmarkProblem)? {
        all.first { $0.name == name }
    }

    /// Number of cost levels frontier regret is measured at.
    public static let costLevelCount = 20

    /// `count` levels log-spaced between `lower` and `upper`, both ends included exactly.
    public static func logSpacedLevels(from lower: Double, to upper: Double, count: Int = costLevelCount) -> [Double] {
        precondition(lower > 0 && upper > lower && count >= 2, "need 0 < lower < upper and count ≥ 2")
        let logLower = Foundation.log(lower)
        let logUpper = Foundation.log(upper)
        return (0..<count).map { index in
            if index == 0 { return lower }
            if index == count - 1 { return upper }
            return Foundation.exp(logLower + Double(index) / Double(count - 1) * (logUpper - logLower))
        }
    }
}

extension BenchmarkProblem {
    /// The 20 log-spaced cost levels (ends included) frontier regret is measured at.
    public var costLevels: [Double] {
        BenchmarkProblems.logSpacedLevels(from: costRange.cheapest, to: costRange.dearest)
    }

    /// The value of the parameter `name`; traps when it is missing.
    func value(_ name: String, in params: [String: Double]) -> Double {
        guard let value = params[name] else {
            preconditionFailure("\(self.name): parameter '\(name)' is missing from \(params.keys.sorted())")
        }
        return value
    }

    /// The capped-regret ceiling: the noise-free output of the search center (`docs/benchmarks.md`).
    public var regretCap: Double {
        noiseFreeOutput(Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.center) }))
    }

    /// Frontier regret and capped regret of a run (`docs/benchmarks.md`, "Quality figure" and "Capped regret").
    ///
    /// At each of the 20 cost levels `C`, the run's answer is its best noise-free output among successful
    /// observations with cost ≤ `C`; regret(C) = answer − `optimum(atCost: C)`. Frontier regret is the mean regret
    /// over the levels where some observation exists, plus the count of levels with none. Capped regret at every
    /// level is `max(0, min(answer, cap) − optimum(C))` with an empty level's answer taken as ∞, and its mean runs
    /// over all 20 levels. Failed observations are excluded. Costs are the recorded ones; outputs are recomputed
    /// noise-free from the recorded parameters.
    public func frontierRegret(observations: some Sequence<BenchmarkRecord>) -> FrontierRegret {
        let points = observations.compactMap { record -> (cost: Double, output: Double)? in
            guard !record.failed, let cost = record.cost else { return nil }
            return (cost, noiseFreeOutput(record.params))
        }
        let levels = costLevels
        let cap = regretCap
        var regrets: [Double?] = []
        var capped: [Double] = []
        for level in levels {
            let answer = points.lazy.filter { $0.cost <= level }.map(\.output).min()
            let optimum = optimum(atCost: level)
            regrets.append(answer.map { $0 - optimum })
            capped.append(max(0, min(answer ?? .infinity, cap) - optimum))
        }
        return FrontierRegret(levels: levels, regrets: regrets, cappedRegrets: capped)
    }
}
