import CARBSCore
import Foundation

/// `hartmann6_cost`: the 6-dimensional Hartmann function plus a step term; the cost depends on `x` too.
///
/// - `x1` … `x6`: linear, min 0, max 1, scale 0.3, center 0.5.
/// - `steps`: log space, integer, min 10, max 10000, center 100.
/// - output = `hartmann6(x) + 3 / sqrt(steps) + N(0, 0.02²)`; cost = `steps · (1 + mean(x))`.
/// - noise-free optimum at cost ≤ C: no closed form; see ``optimumTable``.
public struct Hartmann6CostProblem: BenchmarkProblem {
    public let name = "hartmann6_cost"

    /// The names of the six Hartmann coordinates, `x1` … `x6`.
    public static let coordinateNames = (1...6).map { "x\($0)" }

    public let parameters: [Parameter] =
        coordinateNames.map { Parameter(name: $0, space: .linear(min: 0, max: 1, scale: 0.3), center: 0.5) }
        + [Parameter(name: "steps", space: .log(min: 10, max: 10000, integer: true), center: 100)]

    public let costRange = (cheapest: 10.0, dearest: 20000.0)

    /// The global minimum of hartmann6 (Surjanovic & Bingham's virtual library of simulation experiments).
    public static let hartmannMinimum = -3.32237
    /// Where hartmann6 takes its global minimum.
    public static let hartmannMinimizer = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]

    private static let alpha = [1.0, 1.2, 3.0, 3.2]
    private static let a: [[Double]] = [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
    private static let p: [[Double]] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ]

    /// Creates the problem.
    public init() {}

    /// The standard 6-dimensional Hartmann function `−Σᵢ αᵢ exp(−Σⱼ Aᵢⱼ (xⱼ − Pᵢⱼ)²)` on [0, 1]⁶.
    public static func hartmann6(_ x: [Double]) -> Double {
        precondition(x.count == 6, "hartmann6 takes 6 coordinates, got \(x.count)")
        var total = 0.0
        for i in 0..<4 {
            var exponent = 0.0
            for j in 0..<6 {
                let d = x[j] - p[i][j]
                exponent += a[i][j] * d * d
            }
            total -= alpha[i] * exp(-exponent)
        }
        return total
    }

    public func evaluate(_ params: [String: Double], noise: inout SeededGenerator) -> (output: Double, cost: Double) {
        (noiseFreeOutput(params) + 0.02 * noise.nextNormal(), cost(params))
    }

    public func noiseFreeOutput(_ params: [String: Double]) -> Double {
        let x = Self.coordinateNames.map { value($0, in: params) }
        return Self.hartmann6(x) + 3 / value("steps", in: params).squareRoot()
    }

    public func cost(_ params: [String: Double]) -> Double {
        let mean = Self.coordinateNames.reduce(0) { $0 + value($1, in: params) } / 6
        return value("steps", in: params) * (1 + mean)
    }

    /// The tabulated optimum at the 20 cost levels; between levels, interpolated linearly in log cost (the optimum
    /// falls monotonically with cost, so this is close but not exact off the levels). Below the cheapest level it
    /// is `+infinity` when no run can be that cheap (cost < 10), and the table's first value otherwise.
    public func optimum(atCost cost: Double) -> Double {
        let levels = costLevels
        let table = Self.optimumTable
        if cost < 10 { return .infinity }
        if cost <= levels[0] { return table[0] }
        if cost >= levels[levels.count - 1] { return table[table.count - 1] }
        let upper = levels.firstIndex { $0 >= cost }!
        if levels[upper] == cost { return table[upper] }
        let lower = upper - 1
        let t = (log(cost) - log(levels[lower])) / (log(levels[upper]) - log(levels[lower]))
        return table[lower] + t * (table[upper] - table[lower])
    }
}
