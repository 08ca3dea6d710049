import CARBSCore
import Foundation

/// How well the extrapolation would have done on this study: refit without the dearest k frontier points, then
/// predict those points' parameters and outputs at their costs.
public struct Backtest: Sendable, Hashable, Codable {
    /// Predictions of one quantity (a parameter or the output) at the held-out points.
    public struct Check: Sendable, Hashable, Codable {
        /// The parameter's name, or "output".
        public var name: String
        /// The law space for a parameter; nil for the output.
        public var space: LawSpace?
        public var predicted: [Double]
        public var actual: [Double]
        /// How many actual values lie inside their prediction interval (the band a single frontier point should
        /// lie in: the law's bootstrap band widened by the frontier's residuals).
        public var insideCount: Int
        /// The median absolute error: in the law space for a parameter (ln units for a log space), relative
        /// (|predicted − actual| / |actual|) for the output.
        public var medianError: Double
    }

    /// How many of the dearest frontier points were held out.
    public var holdOutCount: Int
    /// How many frontier points the refit used.
    public var fittedPointCount: Int
    /// The held-out points' costs, cheapest first.
    public var heldOutCosts: [Double]
    public var parameters: [Check]
    public var output: Check

    /// Refits without the `holdOut` dearest frontier points and predicts them.
    static func run(
        frontier: [StudyReport.FrontierPoint], parameters: [Parameter], direction: CARBSConfiguration.Direction,
        holdOut: Int, configuration: Extrapolation.Configuration
    ) throws(ReportError) -> Backtest {
        let points = frontier.sorted { $0.cost < $1.cost }
        let kept = Array(points.dropLast(holdOut))
        let held = Array(points.suffix(holdOut))
        let refit = try Extrapolation.fit(
            frontier: kept, parameters: parameters, direction: direction, cost: held.last!.cost,
            configuration: configuration)
        let level = configuration.level
        var checks: [Check] = []
        for (parameter, projection) in zip(parameters, refit.parameters) {
            var predicted: [Double] = []
            var actual: [Double] = []
            var inside = 0
            var errors: [Double] = []
            for point in held {
                let value = point.parameters[parameter.name] ?? .nan
                let prediction =
                    projection.isConstant
                    ? projection.value : projection.lawValue(atCost: point.cost, in: parameter.space)
                let band = projection.predictionBand(atCost: point.cost, level: level, in: parameter.space)
                predicted.append(prediction)
                actual.append(value)
                if band.contains(value) { inside += 1 }
                if let p = projection.space.transformed(prediction), let a = projection.space.transformed(value) {
                    errors.append(Swift.abs(p - a))
                }
            }
            checks.append(
                Check(
                    name: parameter.name, space: projection.space, predicted: predicted, actual: actual,
                    insideCount: inside, medianError: Bootstrap.quantile(errors, 0.5)))
        }
        var predicted: [Double] = []
        var inside = 0
        var errors: [Double] = []
        for point in held {
            let prediction = refit.output.law.value(atCost: point.cost)
            predicted.append(prediction)
            if refit.output.predictionBand(atCost: point.cost, level: level).contains(point.output) { inside += 1 }
            errors.append(Swift.abs(prediction - point.output) / Swift.max(Swift.abs(point.output), 1e-300))
        }
        let output = Check(
            name: "output", space: nil, predicted: predicted, actual: held.map(\.output), insideCount: inside,
            medianError: Bootstrap.quantile(errors, 0.5))
        return Backtest(
            holdOutCount: holdOut, fittedPointCount: kept.count, heldOutCosts: held.map(\.cost), parameters: checks,
            output: output)
    }

    /// Warnings for the quantities whose held-out values mostly fell outside their intervals.
    func warnings(level: Double) -> [String] {
        (parameters + [output]).compactMap { check in
            guard 2 * check.insideCount < holdOutCount else { return nil }
            return "warning: backtest: \(check.name): only \(check.insideCount) of \(holdOutCount) held-out frontier "
                + "points fell inside their \(Int((level * 100).rounded()))% prediction interval; the law may bend beyond "
                + "the fitted range, so its interval at the target cost is likely too narrow"
        }
    }
}
