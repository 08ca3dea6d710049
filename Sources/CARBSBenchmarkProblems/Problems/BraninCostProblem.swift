import CARBSCore
import Foundation

/// `branin_cost`: the Branin function plus a term that shrinks with the number of steps.
///
/// - `x1`: linear, min −5, max 10, scale 5, center 2.5. `x2`: linear, min 0, max 15, scale 5, center 7.5.
/// - `steps`: log space, integer, min 10, max 10000, center 100.
/// - output = `branin(x1, x2) + 50 / sqrt(steps) + N(0, 0.1²)`; cost = `steps`.
/// - noise-free optimum at cost ≤ C: `0.397887 + 50 / sqrt(min(C, 10000))`.
public struct BraninCostProblem: BenchmarkProblem {
    public let name = "branin_cost"

    public let parameters: [Parameter] = [
        Parameter(name: "x1", space: .linear(min: -5, max: 10, scale: 5), center: 2.5),
        Parameter(name: "x2", space: .linear(min: 0, max: 15, scale: 5), center: 7.5),
        Parameter(name: "steps", space: .log(min: 10, max: 10000, integer: true), center: 100),
    ]

    public let costRange = (cheapest: 10.0, dearest: 10000.0)

    /// The global minimum of the Branin function, as `docs/benchmarks.md` states it.
    public static let braninMinimum = 0.397887

    /// Creates the problem.
    public init() {}

    /// The Branin–Hoo function:
    /// `(x2 − 5.1/(4π²)·x1² + 5/π·x1 − 6)² + 10·(1 − 1/(8π))·cos(x1) + 10`.
    public static func branin(_ x1: Double, _ x2: Double) -> Double {
        let inner = x2 - 5.1 / (4 * Double.pi * Double.pi) * x1 * x1 + 5 / Double.pi * x1 - 6
        return inner * inner + 10 * (1 - 1 / (8 * Double.pi)) * cos(x1) + 10
    }

    public func evaluate(_ params: [String: Double], noise: inout SeededGenerator) -> (output: Double, cost: Double) {
        (noiseFreeOutput(params) + 0.1 * noise.nextNormal(), cost(params))
    }

    public func noiseFreeOutput(_ params: [String: Double]) -> Double {
        let steps = value("steps", in: params)
        return Self.branin(value("x1", in: params), value("x2", in: params)) + 50 / steps.squareRoot()
    }

    public func cost(_ params: [String: Double]) -> Double {
        value("steps", in: params)
    }

    public func optimum(atCost cost: Double) -> Double {
        Self.braninMinimum + 50 / min(cost, 10000).squareRoot()
    }
}
