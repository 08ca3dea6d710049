/// Where a study stands: counts, cost, the best run and the Pareto set (section 8's per-observation log).
public struct CARBSSummary: Sendable, Hashable, Codable {
    /// One point of the Pareto set, user scale.
    public struct ParetoPoint: Sendable, Hashable, Codable {
        public var parameters: [String: Double]
        /// Mean output of the runs at this point.
        public var output: Double
        /// Mean cost of the runs at this point.
        public var cost: Double
        /// How many runs were made at this point (more than one after resampling).
        public var count: Int
        /// Standard deviation of those runs' outputs (0 for a single run).
        public var outputSpread: Double
    }

    /// The best single successful run.
    public struct Best: Sendable, Hashable, Codable {
        public var suggestionID: String?
        public var parameters: [String: Double]
        public var output: Double
        public var cost: Double
    }

    public var successCount: Int
    public var failureCount: Int
    public var outstandingCount: Int
    /// Sum of the costs of all observed runs (failures with a reported cost included).
    public var cumulativeCost: Double
    public var best: Best?
    /// Cheapest first.
    public var paretoSet: [ParetoPoint]
    /// The reference's pareto-area figure.
    public var paretoArea: Double
    public var resampleCount: Int
    /// The Pareto point run most often, with its mean and spread: how noisy the frontier is.
    public var mostResampled: ParetoPoint?
}

extension CARBSOptimizer {
    /// The study so far: counts, cumulative cost, best observation, Pareto set and area.
    public var summary: CARBSSummary {
        let sign = configuration.direction.sign
        let successes = state.successes
        let front = paretoFront(conservative: configuration.conservativePareto)
        let points = front.groups.map { group -> CARBSSummary.ParetoPoint in
            let outputs = group.members.map { successes[$0].output }
            let mean = outputs.reduce(0, +) / Double(outputs.count)
            let variance = outputs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(outputs.count - 1, 1))
            return .init(
                parameters: parameterValues(fromBasic: group.input), output: mean, cost: group.meanCost,
                count: group.count, outputSpread: outputs.count > 1 ? variance.squareRoot() : 0)
        }
        let bestRecord = successes.max { sign * $0.output < sign * $1.output }
        let cost = cumulativeCost
        return CARBSSummary(
            successCount: successes.count, failureCount: state.failures.count,
            outstandingCount: state.outstanding.count, cumulativeCost: cost,
            best: bestRecord.map {
                .init(
                    suggestionID: $0.suggestionID, parameters: parameterValues(fromBasic: $0.input), output: $0.output,
                    cost: $0.cost)
            },
            paretoSet: points, paretoArea: front.area(sign: sign), resampleCount: state.resampleCount,
            mostResampled: points.filter { $0.count > 1 }.max { $0.count < $1.count })
    }

    /// Successes and failures observed so far (cheaper than `summary`, which builds the Pareto set).
    public var observationCount: Int { state.successes.count + state.failures.count }

    /// Suggestions outstanding (cheaper than `outstanding`, which converts each to parameter values).
    public var outstandingCount: Int { state.outstanding.count }

    /// Suggestions made so far, outstanding or not.
    public var suggestionCount: Int { state.suggestionCount }

    /// Sum of the costs of all observed runs, failures with a reported cost included.
    public var cumulativeCost: Double {
        // Two passes, not one over `successes + failures`: the budget check runs this every cycle, and the
        // concatenation copied every record.
        let sum: (Double, ObservationRecord) -> Double = { $0 + ($1.cost.isFinite ? $1.cost : 0) }
        return state.successes.reduce(0, sum) + state.failures.reduce(0, sum)
    }

    /// The Pareto front of the current successes.
    func paretoFront(conservative: Bool) -> ParetoFront {
        ParetoFront(
            successes: state.successes, sign: configuration.direction.sign,
            minParetoCostFraction: configuration.minParetoCostFraction, conservative: conservative)
    }
}
