/// The settings of one CARBS optimizer; every field of section 2 of the algorithm page, with its default.
public struct CARBSConfiguration: Sendable, Hashable, Codable {
    /// Whether lower or higher outputs are better. There is no default worth trusting: say it.
    public enum Direction: String, Sendable, Hashable, Codable, CaseIterable {
        case minimize, maximize

        /// +1 for maximize, −1 for minimize: internally every output is multiplied by it so higher is better.
        public var sign: Double { self == .maximize ? 1 : -1 }
    }

    /// How outstanding (pending) runs are given fantasy outputs before choosing the next point.
    public enum PendingEstimator: String, Sendable, Hashable, Codable, CaseIterable {
        /// Joint, sequential draws from the output model's posterior (default).
        case thompson
        /// The posterior mean ("kriging believer").
        case mean
    }

    /// How the Gaussian-process hyperparameters are chosen.
    public enum HyperparameterMode: String, Sendable, Hashable, Codable, CaseIterable {
        /// MAP-II fit with L-BFGS on log-parameters, warm-started from the previous fit (default).
        case fitted
        /// The reference implementation's effective, near-initial values (variances 1.1, lengthscale 0.27,
        /// noise 0.01), for ablation.
        case referenceParity
    }

    /// How outputs are mapped to the output model's normal scale.
    public enum OutputScaling: String, Sendable, Hashable, Codable, CaseIterable {
        /// Rank-based inverse-normal scores with Hazen plotting positions: extremes at ±Φ⁻¹(1 − 1/2n) (default).
        case plottingPositions
        /// scikit-learn's quantile transform as the reference uses it: extremes clipped at ±5.2.
        case reference
    }

    public var direction: Direction
    public var seed: UInt64
    /// Successes needed before the surrogate models take over from sampling around the search center.
    public var numRandomSamples: Int = 4
    /// The standard deviation (basic units) of candidate steps around the Pareto origins.
    public var initialSearchRadius: Double = 0.3
    /// How far (in surrogate output units) a candidate must be expected to beat the Pareto curve.
    public var explorationBias: Double = 1.0
    /// Candidates drawn per dimension for each suggestion.
    public var numCandidatesPerDim: Int = 100
    /// Re-run the least-sampled Pareto point every this many successes; 0 disables resampling.
    public var resampleFrequency: Int = 5
    /// Candidates predicted to cost more than this are never suggested.
    public var maxSuggestionCost: Double? = nil
    /// The cost quantile below which the first Pareto point is chosen (the cheap floor).
    public var minParetoCostFraction: Double = 0.2
    /// Whether a single lucky observation needs to beat the previous Pareto point's best single output.
    public var conservativePareto: Bool = true
    /// Whether to raise each candidate's Pareto value to the curve at a random cost threshold.
    public var clampEIAtRandomParetoCost: Bool = true
    public var pendingEstimator: PendingEstimator = .thompson
    public var hyperparameterMode: HyperparameterMode = .fitted
    public var outputScaling: OutputScaling = .plottingPositions
    /// Whether the search radius adapts to how the frontier moves (grows after a run of frontier improvements,
    /// shrinks after a run without); false keeps it at `initialSearchRadius` as the reference does.
    public var adaptiveSearchRadius: Bool = true
    /// Whether failed runs also enter the output model, at the worst observed output (the reference leaves
    /// them to the failure model alone).
    public var imputeFailures: Bool = true
    /// L-BFGS iterations per hyperparameter fit (fitted mode).
    public var fitIterations: Int = 30
    /// At most this many observations are used to fit hyperparameters (the posterior always uses all of them).
    public var maxFitPoints: Int = 150

    public init(direction: Direction, seed: UInt64 = 0) {
        self.direction = direction
        self.seed = seed
    }

    /// The reference implementation's behaviour, for ablation: its near-fixed hyperparameters and its output
    /// transform.
    public static func referenceParity(direction: Direction, seed: UInt64 = 0) -> CARBSConfiguration {
        var configuration = CARBSConfiguration(direction: direction, seed: seed)
        configuration.hyperparameterMode = .referenceParity
        configuration.outputScaling = .reference
        configuration.adaptiveSearchRadius = false
        configuration.imputeFailures = false
        return configuration
    }

    /// Checks every field's range.
    /// - Throws: `CARBSError` with code `.invalidConfiguration` naming the field, its value and what is allowed.
    public func validate() throws(CARBSError) {
        func fail(_ field: String, _ value: Any, _ allowed: String) -> CARBSError {
            CARBSError(.invalidConfiguration, "optimizer.\(field): \(value) is not allowed (\(allowed))")
        }
        guard numRandomSamples >= 1 else { throw fail("num_random_samples", numRandomSamples, "must be ≥ 1") }
        guard initialSearchRadius.isFinite, initialSearchRadius > 0 else {
            throw fail("initial_search_radius", initialSearchRadius, "must be a finite number > 0")
        }
        guard explorationBias.isFinite else { throw fail("exploration_bias", explorationBias, "must be finite") }
        guard numCandidatesPerDim >= 1 else {
            throw fail("num_candidates_per_dim", numCandidatesPerDim, "must be ≥ 1")
        }
        guard resampleFrequency >= 0 else { throw fail("resample_frequency", resampleFrequency, "must be ≥ 0") }
        if let maxSuggestionCost {
            guard maxSuggestionCost.isFinite, maxSuggestionCost > 0 else {
                throw fail("max_suggestion_cost", maxSuggestionCost, "must be a finite number > 0")
            }
        }
        guard minParetoCostFraction >= 0, minParetoCostFraction < 1 else {
            throw fail("min_pareto_cost_fraction", minParetoCostFraction, "must be in [0, 1)")
        }
        guard fitIterations >= 0 else { throw fail("fit_iterations", fitIterations, "must be ≥ 0") }
        guard maxFitPoints >= 8 else { throw fail("max_fit_points", maxFitPoints, "must be ≥ 8") }
    }
}
