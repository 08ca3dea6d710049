import Foundation

/// How a parameter scales with compute along the Pareto frontier: `value ≈ coefficient · cost^exponent`, from an
/// ordinary least-squares fit of log(value) against log(cost).
public struct ScalingLaw: Sendable, Hashable {
    /// The parameter's name.
    public var parameter: String
    /// The power of cost (the slope of the fit in log–log space).
    public var exponent: Double
    /// The value at cost 1.
    public var coefficient: Double
    /// The fit's coefficient of determination, in log space; NaN when the values do not vary.
    public var rSquared: Double
    /// How many points the fit used.
    public var pointCount: Int

    /// The fitted value at `cost`.
    public func value(atCost cost: Double) -> Double {
        coefficient * Foundation.pow(cost, exponent)
    }

    /// Fits `log(values) = log(coefficient) + exponent · log(costs)` by least squares.
    /// - Returns: The fit, or nil when fewer than two points have a positive cost and value or all costs are equal.
    public static func fit(parameter: String, costs: [Double], values: [Double]) -> ScalingLaw? {
        precondition(costs.count == values.count, "one value per cost")
        let points = zip(costs, values).filter { $0.0 > 0 && $0.1 > 0 && $0.0.isFinite && $0.1.isFinite }
        guard points.count >= 2 else { return nil }
        let x = points.map { Foundation.log($0.0) }
        let y = points.map { Foundation.log($0.1) }
        guard let line = LeastSquaresLine.fit(x: x, y: y) else { return nil }
        return ScalingLaw(
            parameter: parameter, exponent: line.slope, coefficient: Foundation.exp(line.intercept),
            rSquared: line.rSquared,
            pointCount: points.count)
    }

    /// The law as one line: `hidden_dim ∝ cost^0.42 (R² 0.91)`.
    public var description: String {
        let exponentText = String(format: "%.2f", exponent == 0 ? 0 : exponent)
        if rSquared.isNaN { return "\(parameter) ∝ cost^\(exponentText) (constant along the frontier)" }
        return "\(parameter) ∝ cost^\(exponentText) (R² \(String(format: "%.2f", rSquared)))"
    }
}
