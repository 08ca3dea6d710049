import CARBSCore
import Foundation

/// The study's output extrapolated along the Pareto frontier with a saturating power law, and its bootstrap
/// interval at the target cost.
public struct OutputProjection: Sendable, Hashable, Codable {
    /// The law over all frontier points.
    public var law: SaturatingPowerLaw
    /// How the Huber loss measured residuals.
    public var residuals: SaturatingPowerLaw.Residuals
    /// The law's output at the target cost.
    public var value: Double
    /// The bootstrap interval of `value`.
    public var interval: Interval
    /// The bootstrap interval of α.
    public var exponentInterval: Interval
    /// The bootstrap interval of the limit E.
    public var limitInterval: Interval
    /// The laws of the bootstrap resamples (not written to JSON).
    public var replicates: [SaturatingPowerLaw] = []
    /// The frontier points' residuals from `law`, in the units the fit measured them: ln(output / law) for
    /// logarithmic residuals, (output − law) / |law| for relative ones (not written to JSON). Scale-free, so a
    /// cheap point's large absolute miss does not widen the band at a dear cost where outputs are small.
    public var frontierResiduals: [Double] = []

    enum CodingKeys: String, CodingKey {
        case law, residuals, value, interval, exponentInterval, limitInterval
    }

    /// The bootstrap band of the law at `cost`.
    public func band(atCost cost: Double, level: Double) -> Interval {
        Interval(percentilesOf: replicates.map { $0.value(atCost: cost) }, level: level)
    }

    /// The band in which a single frontier point's output at `cost` should lie: each bootstrap law's value with
    /// one of the frontier's residuals applied (replicate i takes residual i mod n).
    public func predictionBand(atCost cost: Double, level: Double) -> Interval {
        guard !frontierResiduals.isEmpty else { return band(atCost: cost, level: level) }
        let values = replicates.indices.map { index -> Double in
            let value = replicates[index].value(atCost: cost)
            let residual = frontierResiduals[index % frontierResiduals.count]
            return residuals == .logarithmic ? value * exp(residual) : value + abs(value) * residual
        }
        return Interval(percentilesOf: values, level: level)
    }

    /// A frontier point's residual from `law` in the fit's units (see `frontierResiduals`).
    static func residual(output: Double, law value: Double, _ residuals: SaturatingPowerLaw.Residuals) -> Double {
        switch residuals {
        case .logarithmic: return value > 0 ? log(output / value) : 0
        case .relative: return value != 0 ? (output - value) / abs(value) : 0
        }
    }

    /// Fits the output law over the frontier and extrapolates it to `cost`.
    /// - Throws: `ReportError.outputNotFittable` when the frontier has fewer than three distinct costs.
    public static func fit(
        costs: [Double], outputs: [Double], direction: CARBSConfiguration.Direction, resamples: [[Int]],
        cost: Double, level: Double
    ) throws(ReportError) -> OutputProjection {
        guard let (law, residuals) = SaturatingPowerLaw.fit(costs: costs, outputs: outputs, direction: direction)
        else {
            throw ReportError(
                .outputNotFittable,
                "the output law E + A·cost^(−α) needs at least 3 frontier points with different costs and finite "
                    + "outputs (the frontier has \(Set(costs).count) distinct costs)")
        }
        let replicates = resamples.compactMap { resample in
            SaturatingPowerLaw.fit(
                costs: resample.map { costs[$0] }, outputs: resample.map { outputs[$0] }, direction: direction,
                near: law)?.law
        }
        var projection = OutputProjection(
            law: law, residuals: residuals, value: law.value(atCost: cost),
            interval: Interval(lower: .nan, upper: .nan),
            exponentInterval: Interval(percentilesOf: replicates.map(\.exponent), level: level),
            limitInterval: Interval(percentilesOf: replicates.map(\.limit), level: level), replicates: replicates,
            frontierResiduals: zip(costs, outputs).map { residual(output: $1, law: law.value(atCost: $0), residuals) })
        // A prediction interval: where the optimum at `cost` should lie, given how the frontier scatters around
        // its law (the law's own bootstrap band is narrower, and misses a frontier that runs above the optimum).
        projection.interval = projection.predictionBand(atCost: cost, level: level).including(projection.value)
        return projection
    }
}
