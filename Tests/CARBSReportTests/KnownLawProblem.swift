import CARBSCore
import CARBSReport
import Foundation

/// A training problem whose scaling laws are known in closed form (the Chinchilla form, Hoffmann et al. 2022):
/// `loss = E + A/N^α + B/D^β + P · (log10(lr) − log10(lr*(N)))²` with `lr*(N) = c · N^γ`, at cost `6·N·D`.
///
/// At a cost C the optimum is `N* = G · (C/6)^(β/(α+β))` with `G = (αA / βB)^(1/(α+β))`, `D* = (C/6) / N*`,
/// `lr* = c · N*^γ`, and the optimal loss is `E + A/N*^α + B/D*^β`.
struct KnownLawProblem {
    var e = 1.7
    var a = 400.0
    var b = 400.0
    var alpha = 0.34
    var beta = 0.28
    var penalty = 2.0
    var lrCoefficient = 0.05
    var lrExponent = -0.5

    static let parameters = [
        Parameter(name: "model_size", space: .log(min: 10, max: 1e9), center: 300),
        Parameter(name: "tokens", space: .log(min: 10, max: 1e9), center: 300),
        Parameter(name: "learning_rate", space: .log(min: 1e-6, max: 1), center: 3e-3),
    ]

    func loss(_ values: [String: Double]) -> Double {
        let n = values["model_size"]!
        let d = values["tokens"]!
        let lr = values["learning_rate"]!
        let offset = Foundation.log10(lr) - Foundation.log10(lrCoefficient * Foundation.pow(n, lrExponent))
        return e + a / Foundation.pow(n, alpha) + b / Foundation.pow(d, beta) + penalty * offset * offset
    }

    func cost(_ values: [String: Double]) -> Double {
        6 * values["model_size"]! * values["tokens"]!
    }

    /// The optimal values and loss at `cost`.
    func optimum(atCost cost: Double) -> (values: [String: Double], loss: Double) {
        let g = Foundation.pow(alpha * a / (beta * b), 1 / (alpha + beta))
        let n = g * Foundation.pow(cost / 6, beta / (alpha + beta))
        let d = cost / 6 / n
        let values = ["model_size": n, "tokens": d, "learning_rate": lrCoefficient * Foundation.pow(n, lrExponent)]
        return (values, loss(values))
    }

    /// The studies' settings: runs cost at most `maxSuggestionCost`, so the frontier stays inside the bounds.
    func configuration(seed: UInt64) -> CARBSConfiguration {
        var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
        configuration.maxSuggestionCost = maxSuggestionCost
        return configuration
    }

    var maxSuggestionCost = 1e13

    /// Runs a CARBS study of `observations` runs (suggested four at a time) and returns it as a report.
    func study(observations count: Int, seed: UInt64) throws -> StudyReport {
        var optimizer = try CARBSOptimizer(
            configuration: configuration(seed: seed), parameters: Self.parameters)
        var observations: [ReportObservation] = []
        while observations.count < count {
            for suggestion in try optimizer.suggest(count: min(4, count - observations.count)) {
                let values = suggestion.parameters
                let output = loss(values)
                let cost = cost(values)
                try optimizer.observe(.success(id: suggestion.id, output: output, cost: cost))
                observations.append(ReportObservation(parameters: values, output: output, cost: cost, isFailure: false))
            }
        }
        return StudyReport(
            study: "known-laws", direction: .minimize, parameters: Self.parameters, observations: observations,
            summary: optimizer.summary)
    }
}
