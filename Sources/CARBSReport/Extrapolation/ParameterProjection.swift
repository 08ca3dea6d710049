import CARBSCore
import Foundation

/// One parameter extrapolated along the Pareto frontier: the law `t(value) = a + slope · ln(cost)` fitted in the
/// parameter's own space (`LawSpace`), its value at the target cost with a bootstrap interval, and whether it
/// scales at all.
public struct ParameterProjection: Sendable, Hashable, Codable {
    public var name: String
    /// The space the law is fitted in.
    public var space: LawSpace
    /// The value at the target cost, clamped into the parameter's bounds and rounded onto its integer grid; the
    /// frontier median when the parameter is constant.
    public var value: Double
    /// The bootstrap interval of `value`, clamped and rounded the same way.
    public var interval: Interval
    /// True when the slope's interval contains 0: the parameter does not scale (detectably) with cost.
    public var isConstant: Bool
    /// The least-squares law over all frontier points that have a value in the space.
    public var law: LeastSquaresLine
    /// The bootstrap interval of the slope (for a log space: of the exponent).
    public var slopeInterval: Interval
    /// How many frontier points the law used.
    public var pointCount: Int
    /// Set when the law's value at the target cost lies outside the bounds (then `value` is the bound).
    public var clampedTo: Double?
    /// The laws of the bootstrap resamples (not written to JSON).
    public var replicates: [LeastSquaresLine] = []
    /// The frontier points' residuals from `law`, in the law space (not written to JSON).
    public var residuals: [Double] = []

    enum CodingKeys: String, CodingKey {
        case name, space, value, interval, isConstant, law, slopeInterval, pointCount, clampedTo
    }

    /// The value the law gives at `cost`, clamped and rounded as the space demands.
    public func lawValue(atCost cost: Double, in space: ParameterSpace) -> Double {
        Self.admissible(self.space.value(law.value(at: Foundation.log(cost))), in: space)
    }

    /// The bootstrap band of the law at `cost` (clamped and rounded), or of the median for a constant parameter.
    public func band(atCost cost: Double, level: Double, in space: ParameterSpace) -> Interval {
        if isConstant { return interval }
        let values = replicates.map { self.space.value($0.value(at: Foundation.log(cost))) }
        let raw = Interval(percentilesOf: values, level: level)
        return Interval(lower: Self.admissible(raw.lower, in: space), upper: Self.admissible(raw.upper, in: space))
    }

    /// The band in which a single frontier point at `cost` should lie: each bootstrap law's value plus one of the
    /// frontier's residuals (replicate i takes residual i mod n), clamped and rounded. Wider than `band`, which is
    /// the band of the law itself.
    public func predictionBand(atCost cost: Double, level: Double, in space: ParameterSpace) -> Interval {
        guard !residuals.isEmpty else { return band(atCost: cost, level: level, in: space) }
        let x = Foundation.log(cost)
        let values = replicates.indices.map { i -> Double in
            let centre = isConstant ? law.intercept + law.slope * x : replicates[i].value(at: x)
            return self.space.value(centre + residuals[i % residuals.count])
        }
        let raw = Interval(percentilesOf: values, level: level)
        return Interval(lower: Self.admissible(raw.lower, in: space), upper: Self.admissible(raw.upper, in: space))
    }

    /// `value` clamped into the space's bounds and rounded onto its integer grid (NaN stays NaN).
    public static func admissible(_ value: Double, in space: ParameterSpace) -> Double {
        guard !value.isNaN else { return value }
        var clamped = value
        if let low = space.min { clamped = Swift.max(clamped, low) }
        if let high = space.max { clamped = Swift.min(clamped, high) }
        return space.rounded(parameter: clamped)
    }
}

extension ParameterProjection {
    /// Fits a parameter's law over the frontier and extrapolates it to `cost`.
    /// - Parameters:
    ///   - parameter: The parameter.
    ///   - costs: The frontier points' costs.
    ///   - values: The parameter's value at each frontier point (NaN where missing).
    ///   - resamples: Bootstrap resamples of the frontier point indices.
    ///   - cost: The target cost.
    ///   - level: The interval level (e.g. 0.9).
    /// - Throws: `ReportError.parameterNotFittable` when fewer than two frontier points with different costs have
    ///   a value inside the parameter's space.
    public static func fit(
        _ parameter: Parameter, costs: [Double], values: [Double], resamples: [[Int]], cost: Double, level: Double
    ) throws(ReportError) -> ParameterProjection {
        let space = LawSpace(parameter.space)
        let transformed = values.map { space.transformed($0) }
        let usable = transformed.indices.filter { transformed[$0] != nil }
        let x = costs.map { Foundation.log($0) }
        guard let law = LeastSquaresLine.fit(x: usable.map { x[$0] }, y: usable.map { transformed[$0]! }) else {
            let allowed =
                switch space {
                case .log: "> 0"
                case .logit: "in (0, 1)"
                case .linear: "a finite number"
                }
            throw ReportError(
                .parameterNotFittable,
                "parameters.\(parameter.name): cannot be fitted: only \(usable.count) of the \(values.count) frontier "
                    + "points have a value inside its \(space.rawValue) space (\(allowed)) at different costs; "
                    + "a law needs at least 2")
        }
        var replicates: [LeastSquaresLine] = []
        var medians: [Double] = []
        for resample in resamples {
            let kept = resample.filter { transformed[$0] != nil }
            if let line = LeastSquaresLine.fit(x: kept.map { x[$0] }, y: kept.map { transformed[$0]! }) {
                replicates.append(line)
            }
            if !kept.isEmpty { medians.append(Bootstrap.quantile(kept.map { values[$0] }, 0.5)) }
        }
        let slopeInterval = Interval(percentilesOf: replicates.map(\.slope), level: level)
        let isConstant = replicates.isEmpty || slopeInterval.contains(0)
        var projection = ParameterProjection(
            name: parameter.name, space: space, value: .nan, interval: Interval(lower: .nan, upper: .nan),
            isConstant: isConstant, law: law, slopeInterval: slopeInterval, pointCount: usable.count,
            clampedTo: nil, replicates: replicates,
            residuals: usable.map { transformed[$0]! - law.value(at: x[$0]) })
        if isConstant {
            projection.value = admissible(Bootstrap.quantile(usable.map { values[$0] }, 0.5), in: parameter.space)
            let raw = Interval(percentilesOf: medians, level: level)
            projection.interval = Interval(
                lower: admissible(raw.lower, in: parameter.space), upper: admissible(raw.upper, in: parameter.space))
        } else {
            let unclamped = space.value(law.value(at: Foundation.log(cost)))
            projection.value = admissible(unclamped, in: parameter.space)
            if let low = parameter.space.min, unclamped < low { projection.clampedTo = low }
            if let high = parameter.space.max, unclamped > high { projection.clampedTo = high }
            // A prediction interval: the law's bootstrap band widened by the frontier's residuals around it.
            projection.interval = projection.predictionBand(atCost: cost, level: level, in: parameter.space)
                .including(projection.value)
        }
        return projection
    }
}
