import CARBSCore

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
    /// The frontier points' residuals from `law`, output minus law (not written to JSON).
    public var frontierResiduals: [Double] = []

    enum CodingKeys: String, CodingKey {
        case law, residuals, value, interval, exponentInterval, limitInterval
    }

    /// The bootstrap band of the law at `cost`.
    public func band(atCost cost: Double, level: Double) -> Interval {
        Interval(percentilesOf: replicates.map { $0.value(atCost: cost) }, level: level)
    }

    /// The band in which a single frontier point's output at `cost` should lie: each bootstrap law's value plus
    /// one of the frontier's residuals (replicate i takes residual i mod n).
    public func predictionBand(atCost cost: Double, level: Double) -> Interval {
        guard !frontierResiduals.isEmpty else { return band(atCost: cost, level: level) }
        let values = replicates.indices.map {
            replicates[$0].value(atCost: cost) + frontierResiduals[$0 % frontierResiduals.count]
        }
        return Interval(percentilesOf: values, level: level)
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
            frontierResiduals: zip(costs, outputs).map { $1 - law.value(atCost: $0) })
        projection.interval = projection.band(atCost: cost, level: level)
        return projection
    }
}
