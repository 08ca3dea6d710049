#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The band of predicted cost one suggestion aims at, in the cost model's scaled log cost.
struct CostStratum: Sendable, Hashable {
    /// The band's center.
    var target: Double
    /// Half the band's width.
    var halfWidth: Double

    /// How far a candidate of scaled log cost `cost` lies from the band, in half-widths (0 inside it).
    func distance(_ cost: Double) -> Double {
        max(0, abs(cost - target) - halfWidth) / halfWidth
    }
}

extension CARBSOptimizer {
    /// Cost stratification (an improvement on the reference, whose random Pareto-cost clamp pushes every
    /// suggestion towards the dear end of the frontier, so the cheap end is never visited or never repaired):
    /// a share (`cost_strata_share`) of the acquisition suggestions each aim at one stratum of log cost. The
    /// strata tile the observed log-cost range widened by `stratumReach` of its span past both ends (at least
    /// ln 4 wide; never above `max_suggestion_cost`), so the search keeps reaching cheaper and dearer than
    /// anything observed. A low-discrepancy
    /// position per suggestion (van der Corput, base 2, with a seeded shift) decides both whether it is stratified
    /// and which stratum it takes, so consecutive suggestions, a parallel batch among them, spread over the whole
    /// range rather than bunching.
    /// - Returns: the stratum, or nil when stratification is off.
    func costStratum(models: SurrogateModels) -> CostStratum? {
        let share = configuration.costStrataShare
        guard share > 0, let minLog = state.successes.map({ log($0.cost) }).min(),
            let maxLog = state.successes.map({ log($0.cost) }).max()
        else { return nil }
        var position = Self.radicalInverse(state.suggestionCount, base: 2) + state.randomPhaseShift[0]
        position -= position.rounded(.down)
        // The low-discrepancy position decides both whether this suggestion is stratified and which stratum.
        guard position < share else { return nil }
        let u = position / share
        let span = max(maxLog - minLog, log(4.0))
        var lower = minLog - Self.stratumReach * span
        var upper = maxLog + Self.stratumReach * span
        // Never aim above `max_suggestion_cost`: every candidate there would be masked.
        if let maxCost = configuration.maxSuggestionCost {
            upper = min(upper, log(maxCost))
            lower = min(lower, upper - log(2.0))
        }
        let targetLog = lower + u * (upper - lower)
        let halfWidthLog = (upper - lower) / Double(2 * Self.stratumCount)
        let target = models.costTransform.scaled(logCost: targetLog)
        let halfWidth = models.costTransform.scaled(logCost: targetLog + halfWidthLog) - target
        return CostStratum(target: target, halfWidth: max(halfWidth, 1e-9))
    }

    /// A stratum past an end of the observed costs that the search cannot reach (the best Pareto group, moved
    /// towards it, stays predicted more than a band's width away: the cost-driving dimensions are at their bounds)
    /// is folded back into the observed range, mirrored at that end, so the suggestion is not spent at the bound.
    func reachableStratum(_ stratum: CostStratum, models: SurrogateModels) -> CostStratum {
        guard abs(stratum.target) > 1, let best = models.front.groups.last?.input else { return stratum }
        let moved = transfer(best, toScaledCost: stratum.target, costModel: models.cost) ?? best
        let predicted = models.cost.posterior(
            at: Matrix(rows: 1, columns: dimensions, elements: moved), includeVariance: false
        ).mean[0]
        guard stratum.distance(predicted) > 1 else { return stratum }
        var folded = stratum
        folded.target = stratum.target < 0 ? -2 - stratum.target : 2 - stratum.target
        return folded
    }

    /// How far past the observed log-cost range the strata reach, as a fraction of its span, at each end.
    static var stratumReach: Double { 0.3 }

    /// The number of strata the range is cut into (the band of one suggestion is one of them).
    static var stratumCount: Int { 16 }

    /// Origins for a stratum: the Pareto groups whose predicted cost lies in or near the band, and "transfer"
    /// origins, copies of the best Pareto group and of the Pareto groups next to the band (in cost) moved to the
    /// band's cost along the dimensions that drive cost, their other coordinates kept. The cost model says which
    /// dimensions drive cost: those whose share of its gradient is at least a fifth of the largest.
    func stratumOrigins(for stratum: CostStratum, models: SurrogateModels) -> [[Double]] {
        let groups = models.front.groups
        guard !groups.isEmpty else { return [] }
        let scaledCosts = groups.map { models.costTransform.transform($0.meanCost) }
        var origins = groups.indices.filter { stratum.distance(scaledCosts[$0]) <= 1 }.map { groups[$0].input }
        var sources: [Int] = []
        if let best = groups.indices.last { sources.append(best) }
        if let above = groups.indices.first(where: { scaledCosts[$0] > stratum.target }) { sources.append(above) }
        if let below = groups.indices.last(where: { scaledCosts[$0] < stratum.target }) { sources.append(below) }
        for source in Set(sources).sorted() {
            if let moved = transfer(groups[source].input, toScaledCost: stratum.target, costModel: models.cost) {
                origins.append(moved)
            }
        }
        return origins.isEmpty ? groups.map(\.input) : origins
    }

    /// Moves `point` along the cost-driving dimensions until the cost model predicts `target` (a few Newton steps
    /// on the model's mean, within the bounds); nil when the model's gradient vanishes there.
    func transfer(_ point: [Double], toScaledCost target: Double, costModel: GaussianProcess) -> [Double]? {
        let d = dimensions
        let step = 1e-3
        var x = point
        for _ in 0..<4 {
            // The mean at x and at x + step·e_k for every k, in one evaluation.
            var rows = x
            for k in 0..<d {
                var shifted = x
                shifted[k] += step
                rows += shifted
            }
            let mean = costModel.posterior(at: Matrix(rows: d + 1, columns: d, elements: rows), includeVariance: false)
                .mean
            let gradient = (0..<d).map { (mean[$0 + 1] - mean[0]) / step }
            let largest = gradient.map(abs).max() ?? 0
            guard largest > 1e-6 else { return nil }
            let driving = (0..<d).filter { abs(gradient[$0]) >= 0.2 * largest }
            let norm = driving.reduce(0) { $0 + gradient[$1] * gradient[$1] }
            let gap = target - mean[0]
            if abs(gap) < 1e-3 { break }
            for k in driving {
                // At most one basic unit per step per dimension: the model is trusted only near its data.
                let move = min(max(gap * gradient[k] / norm, -1), 1)
                let bounds = state.parameters[k].space.basicBounds
                let margin = 1e-9 * max(1, abs(x[k]))
                x[k] = min(max(x[k] + move, bounds.lower + margin), bounds.upper - margin)
            }
        }
        return admissible(x) ?? admissible(point)
    }
}
