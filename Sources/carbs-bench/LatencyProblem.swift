import CARBSBenchmarkProblems
import CARBSCore
import Foundation

/// The synthetic d-dimensional problem `carbs-bench latency` times suggestions on.
///
/// Parameter `pK` (K = 0, 1, …) has one of four kinds, by `K mod 4`, so every d ≥ 4 mixes log and linear,
/// bounded and unbounded, real and integer dimensions:
/// - 0: log, unbounded, center 1e-3 (a learning rate);
/// - 1: linear, min 0, max 1, scale 0.3, center 0.5 (a fraction);
/// - 2: log, integer, min 1, max 1000, center 32 (a size);
/// - 3: linear, unbounded, scale 1, center 0.
/// With `b` the basic vector and `c` the center's basic vector, the output is the smooth
/// `mean((b − c − 0.5)²) + 1 / sqrt(cost) + N(0, 0.01²)` and the cost `10 · exp(mean(b − c))`, so larger values
/// cost more and, up to a point, do better.
struct LatencyProblem {
    let parameters: [Parameter]
    private let centers: [Double]

    init(dimensions: Int) {
        precondition(dimensions >= 1, "at least one dimension")
        parameters = (0..<dimensions).map { index in
            let name = "p\(index)"
            switch index % 4 {
            case 0: return Parameter(name: name, space: .log(), center: 1e-3)
            case 1: return Parameter(name: name, space: .linear(min: 0, max: 1, scale: 0.3), center: 0.5)
            case 2: return Parameter(name: name, space: .log(min: 1, max: 1000, integer: true), center: 32)
            default: return Parameter(name: name, space: .linear(), center: 0)
            }
        }
        centers = parameters.map { $0.space.basic(fromParameter: $0.center) }
    }

    /// Output and cost of a run with `params` (parameter space).
    func evaluate(_ params: [String: Double], noise: inout SeededGenerator) -> (output: Double, cost: Double) {
        var squares = 0.0
        var offsets = 0.0
        for (parameter, center) in zip(parameters, centers) {
            let offset = parameter.space.basic(fromParameter: params[parameter.name]!) - center
            squares += (offset - 0.5) * (offset - 0.5)
            offsets += offset
        }
        let count = Double(parameters.count)
        let cost = 10 * exp(offsets / count)
        return (squares / count + 1 / cost.squareRoot() + 0.01 * noise.nextNormal(), cost)
    }
}
