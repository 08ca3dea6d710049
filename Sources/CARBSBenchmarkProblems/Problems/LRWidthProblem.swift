import CARBSCore
import Foundation

/// `lr_width`: a learning rate and a width; wider costs more and does better.
///
/// - `learning_rate`: log space, search center 1e-5, no bounds besides > 0.
/// - `hidden_dim`: log space, integer, min 2, max 512, search center 32.
/// - output = `((log10(learning_rate) + 3)² + 0.2) · 512 / hidden_dim + U(0, 0.1)`; cost = `hidden_dim`.
/// - noise-free optimum at cost ≤ C: `0.2 · 512 / min(C, 512)` (learning_rate = 1e-3).
///
/// The noise-free output is the formula without the uniform term (its lower end).
public struct LRWidthProblem: BenchmarkProblem {
    public let name = "lr_width"

    public let parameters: [Parameter] = [
        Parameter(name: "learning_rate", space: .log(), center: 1e-5),
        Parameter(name: "hidden_dim", space: .log(min: 2, max: 512, integer: true), center: 32),
    ]

    public let costRange = (cheapest: 2.0, dearest: 512.0)

    /// Creates the problem.
    public init() {}

    public func evaluate(_ params: [String: Double], noise: inout SeededGenerator) -> (output: Double, cost: Double) {
        (noiseFreeOutput(params) + 0.1 * noise.nextUniform(), cost(params))
    }

    public func noiseFreeOutput(_ params: [String: Double]) -> Double {
        let learningRate = value("learning_rate", in: params)
        let hiddenDim = value("hidden_dim", in: params)
        let offset = log10(learningRate) + 3
        return (offset * offset + 0.2) * 512 / hiddenDim
    }

    public func cost(_ params: [String: Double]) -> Double {
        value("hidden_dim", in: params)
    }

    public func optimum(atCost cost: Double) -> Double {
        0.2 * 512 / min(cost, 512)
    }
}
