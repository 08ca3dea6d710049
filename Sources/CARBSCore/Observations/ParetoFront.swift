/// The Pareto set of output against cost (section 3 of the algorithm page).
///
/// Groups are ordered by increasing cost, each better than the one before. Outputs are direction-signed.
public struct ParetoFront: Sendable, Hashable {
    /// The Pareto groups, cheapest first.
    public var groups: [ObservationGroup]

    /// Builds the Pareto set from successes.
    ///
    /// The cheap floor `c0` is the `minParetoCostFraction` quantile of the successes' costs. The first group is
    /// the best among groups costing at most `c0` (only the multi-member ones among them, in conservative mode,
    /// when there are any). Unlike the reference, which crashes when no group lies below the floor (duplicate
    /// inputs with different costs can average above it), the cheapest groups then stand in for the cheap ones.
    /// The remaining groups join in increasing cost when they beat the last Pareto group; in conservative mode a
    /// single-observation group must beat that group's best *single* output.
    /// - Parameters:
    ///   - successes: successful observations (user outputs).
    ///   - sign: the direction sign, so that higher signed output is better.
    ///   - minParetoCostFraction: the cheap-floor quantile.
    ///   - conservative: conservative mode.
    public init(successes: [ObservationRecord], sign: Double, minParetoCostFraction: Double, conservative: Bool) {
        let groups = ObservationGroup.grouping(successes, sign: sign)
        guard !groups.isEmpty else {
            self.groups = []
            return
        }
        let floor = Statistics.quantile(successes.map(\.cost), minParetoCostFraction)
        var cheapIndices = groups.indices.filter { groups[$0].meanCost <= floor }
        if cheapIndices.isEmpty {
            let cheapest = groups.map(\.meanCost).min()!
            cheapIndices = groups.indices.filter { groups[$0].meanCost == cheapest }
        }
        if conservative, cheapIndices.contains(where: { groups[$0].count > 1 }) {
            cheapIndices = cheapIndices.filter { groups[$0].count > 1 }
        }
        // Best mean output; ties go to the cheaper, then the earlier group.
        let first = cheapIndices.min { a, b in
            (groups[a].meanOutput, -groups[a].meanCost) > (groups[b].meanOutput, -groups[b].meanCost)
        }!
        var front = [groups[first]]
        let remaining = groups.indices
            .filter { $0 != first && groups[$0].meanCost > floor && groups[$0].meanCost >= groups[first].meanCost }
            .sorted { (groups[$0].meanCost, $0) < (groups[$1].meanCost, $1) }
        for index in remaining {
            let candidate = groups[index]
            let last = front[front.count - 1]
            let bar = conservative && candidate.count == 1 ? last.maxOutput : last.meanOutput
            if candidate.meanOutput > bar {
                front.append(candidate)
            }
        }
        self.groups = front
    }

    /// The reference's pareto-area figure: walking the groups in order, the sum of
    /// `(cost_i − cost_{i−1}) · output_{i−1}`, with user-facing (unsigned) outputs.
    public func area(sign: Double) -> Double {
        guard groups.count > 1 else { return 0 }
        var total = 0.0
        for i in 1..<groups.count {
            total += (groups[i].meanCost - groups[i - 1].meanCost) * sign * groups[i - 1].meanOutput
        }
        return total
    }
}

/// Small statistics helpers.
enum Statistics {
    /// The `q` quantile of `values` with linear interpolation between order statistics (numpy's default).
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        precondition(!values.isEmpty, "quantile of no values")
        return quantile(sorted: values.sorted(), q)
    }

    /// The same for values already sorted in increasing order.
    static func quantile(sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}
