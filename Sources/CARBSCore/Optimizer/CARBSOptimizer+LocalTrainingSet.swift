/// The observations one fit of the surrogate models uses: all of them up to `max_model_points`, else those that
/// matter where CARBS looks.
struct LocalTrainingSet: Sendable, Hashable {
    /// Indices into the successes, increasing.
    var successes: [Int]
    /// Indices into the failures, increasing.
    var failures: [Int]
    /// Indices into `successes + failures` of this set (successes first, then failures, each in the order above),
    /// nearest to the origins first: the rows the hyperparameters are fitted on are a prefix of this order.
    var priority: [Int]
}

extension CARBSOptimizer {
    /// The training set of the surrogate models (an improvement on the reference, which fits every model to every
    /// observation, O(n³) per suggestion).
    ///
    /// CARBS scores candidates only within a few radii of its Pareto origins, and a Matérn-3/2 correlation is
    /// negligible beyond a few lengthscales, so with more than `max_model_points` observations the models are fitted
    /// to every Pareto member and to the observations nearest an origin (a Pareto group or a pending run) in
    /// lengthscale-scaled distance, up to that many; near the origins the posterior is then nearly exact. The order
    /// is deterministic (distance, then index), so a restored optimizer chooses the same set.
    /// - Complexity: O(n · (g + p) · d) for n observations, g Pareto groups and p pending runs.
    func localTrainingSet(front: ParetoFront) -> LocalTrainingSet {
        let successCount = state.successes.count
        let failureCount = state.failures.count
        let total = successCount + failureCount
        // Small studies: everything, in order (no fit subset is needed either).
        guard total > min(configuration.maxModelPoints, configuration.maxFitPoints) else {
            return LocalTrainingSet(
                successes: Array(0..<successCount), failures: Array(0..<failureCount), priority: Array(0..<total))
        }
        let d = dimensions
        var lengthscales = [Double](repeating: configuration.initialSearchRadius, count: d)
        if let fitted = state.fitted.output?.lengthscales, fitted.count == d, fitted.allSatisfy({ $0 > 0 }) {
            lengthscales = fitted
        }
        let origins = front.groups.map(\.input) + state.outstanding.map(\.input)
        let inverse = lengthscales.map { 1 / ($0 * $0) }
        func distance(_ input: [Double]) -> Double {
            var nearest = Double.infinity
            for origin in origins {
                var sum = 0.0
                for k in 0..<d {
                    let delta = input[k] - origin[k]
                    sum += delta * delta * inverse[k]
                    if sum >= nearest { break }
                }
                nearest = min(nearest, sum)
            }
            return nearest
        }
        let paretoMembers = Set(front.groups.flatMap(\.members))
        // Rows are numbered as in `successes + failures`; Pareto members come first whatever their distance.
        var distances = [Double](repeating: 0, count: total)
        for index in 0..<total {
            let isParetoMember = index < successCount && paretoMembers.contains(index)
            let input = index < successCount ? state.successes[index].input : state.failures[index - successCount].input
            distances[index] = isParetoMember ? -1 : distance(input)
        }
        let ranked = (0..<total).sorted { (distances[$0], $0) < (distances[$1], $1) }
        let kept = Array(ranked.prefix(max(configuration.maxModelPoints, paretoMembers.count)))
        let keptSet = Set(kept)
        let successes = (0..<successCount).filter { keptSet.contains($0) }
        let failures = (successCount..<total).filter { keptSet.contains($0) }.map { $0 - successCount }
        // Positions of the kept rows in the set's own numbering, in order of priority.
        var position = [Int: Int]()
        for (offset, index) in (successes + failures.map { $0 + successCount }).enumerated() {
            position[index] = offset
        }
        return LocalTrainingSet(successes: successes, failures: failures, priority: kept.map { position[$0]! })
    }
}
