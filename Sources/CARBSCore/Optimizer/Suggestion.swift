/// A point to evaluate, handed out by `CARBSOptimizer.suggest(count:)`.
public struct Suggestion: Sendable, Hashable, Codable {
    /// How the point was chosen.
    public enum Origin: String, Sendable, Hashable, Codable {
        /// Random phase: sampled around the search center (a scrambled low-discrepancy design).
        case random
        /// A Pareto point run again to average out its noise.
        case resample
        /// The argmax of the acquisition function.
        case acquisition
        /// No candidate survived; sampled around the Pareto origins instead.
        case fallback
    }

    /// Unique within the optimizer; deterministic for a given seed and history.
    public var id: String
    /// Parameter-space values by name; integer parameters hold whole multiples of their rounding factor.
    public var parameters: [String: Double]
    public var origin: Origin
    /// What the models expected of this point (acquisition suggestions only).
    public var prediction: Prediction?

    public init(id: String, parameters: [String: Double], origin: Origin, prediction: Prediction? = nil) {
        self.id = id
        self.parameters = parameters
        self.origin = origin
        self.prediction = prediction
    }
}

/// What the surrogate models predicted for a suggestion, for logs and reports.
public struct Prediction: Sendable, Hashable, Codable {
    /// Predicted output (user scale).
    public var output: Double
    /// Posterior standard deviation of the output model at the point (surrogate units).
    public var outputStandardDeviation: Double
    /// Predicted cost.
    public var cost: Double
    /// Expected improvement over the (clamped) Pareto value, surrogate units.
    public var expectedImprovement: Double
    /// Probability that the run succeeds (1 when no run has failed yet).
    public var successProbability: Double
    /// Relative search density at the point (normal density around the nearest Pareto origin).
    public var searchProbability: Double

    public init(
        output: Double, outputStandardDeviation: Double, cost: Double, expectedImprovement: Double,
        successProbability: Double, searchProbability: Double
    ) {
        self.output = output
        self.outputStandardDeviation = outputStandardDeviation
        self.cost = cost
        self.expectedImprovement = expectedImprovement
        self.successProbability = successProbability
        self.searchProbability = searchProbability
    }
}

/// The result of one finished run, reported with `CARBSOptimizer.observe(_:)`.
public enum Observation: Sendable, Hashable {
    /// The run finished with `output` at `cost` (> 0). A non-finite output counts as a failure.
    case success(id: String, output: Double, cost: Double)
    /// The hyperparameters made the run fail (out of memory, divergence); feeds the failure model.
    case failure(id: String, cost: Double? = nil)

    /// The suggestion id the observation answers.
    public var id: String {
        switch self {
        case .success(let id, _, _), .failure(let id, _): id
        }
    }
}

/// What `observe` did with an observation.
public enum ObserveOutcome: String, Sendable, Hashable, Codable {
    /// Added to the observations.
    case recorded
    /// This suggestion id was observed before: nothing changed.
    case duplicate
}

/// An earlier run given to `CARBSOptimizer.warmStart(with:fixedValues:)`.
public struct HistoricalObservation: Sendable, Hashable, Codable {
    public var parameters: [String: Double]
    public var output: Double?
    public var cost: Double?
    public var isFailure: Bool

    public init(parameters: [String: Double], output: Double?, cost: Double?, isFailure: Bool = false) {
        self.parameters = parameters
        self.output = output
        self.cost = cost
        self.isFailure = isFailure
    }
}
