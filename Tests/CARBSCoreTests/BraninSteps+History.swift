import Foundation

@testable import CARBSCore

extension BraninSteps {
    /// Observes `count` points drawn uniformly (log-uniform in steps) from `seed`, every 17th a failure.
    static func observeRandomHistory(_ optimizer: inout CARBSOptimizer, count: Int, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for index in 0..<count {
            let params = [
                "x1": -5 + 15 * generator.nextUniform(), "x2": 15 * generator.nextUniform(),
                "steps": pow(10, 1 + 3 * generator.nextUniform()).rounded(),
            ]
            let isFailure = index % 17 == 16
            try optimizer.observe(
                parameters: params, output: isFailure ? nil : output(params), cost: params["steps"]!,
                isFailure: isFailure)
        }
    }
}
