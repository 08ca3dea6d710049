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
    public var resampleFrequency: Int = 0
    /// Candidates predicted to cost more than this are never suggested.
    public var maxSuggestionCost: Double? = nil
    /// The cost quantile below which the first Pareto point is chosen (the cheap floor).
    public var minParetoCostFraction: Double = 0
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
    /// The share of acquisition suggestions that aim at a stratum of log cost (successive ones, and the points of
    /// a batch, at different strata spanning past both ends of the observed costs), from origins moved to that
    /// cost; the others search around every Pareto group with the random Pareto-cost clamp, as the reference
    /// does. 0 turns stratification off.
    public var costStrataShare: Double = 0.75
    /// When a parallel study asks for more random-phase points than `num_random_samples` before results arrive,
    /// the design's radius grows like (point number / `num_random_samples`) to this power; 0 keeps it fixed.
    public var randomPhaseWidening: Double = 1
    /// The exploration bias of stratified suggestions (their band already spreads the search).
    public var stratumExplorationBias: Double = 0
    /// Each acquisition suggestion's search radius is the adaptive radius times a factor drawn log-uniformly
    /// from [1, `radiusSpread`] (in a low-discrepancy order over successive suggestions); 1 keeps one radius.
    public var radiusSpread: Double = 3
    /// At most this many observations enter the surrogate models: beyond it, every Pareto member and the
    /// observations nearest the Pareto groups and pending runs (in lengthscale-scaled distance).
    public var maxModelPoints: Int = 1000
    /// L-BFGS iterations per hyperparameter fit (fitted mode).
    public var fitIterations: Int = 30
    /// At most this many observations are used to fit hyperparameters (the posterior always uses all of them).
    public var maxFitPoints: Int = 150
    /// The models' hyperparameters are fitted again (MAP-II) once at least this many observations have arrived
    /// since the last fit (see also `refitFraction`); in between, a suggestion keeps the last fitted ones and
    /// extends the kept Cholesky factors by the new observations. 1 (with `refitFraction` 0) fits at every
    /// `suggest(count:)` that needs the models (fitted mode).
    public var refitInterval: Int = 1
    /// Beyond `refit_interval`, the hyperparameters are kept for this fraction of the observations: with n
    /// observations they are fitted again once `refit_fraction · n` have arrived since the last fit (0.005: at
    /// every call up to 200 observations, every 5 at 1,000, every 50 at 10,000). Between fits the models extend
    /// the kept factors. 0 leaves `refit_interval` alone.
    public var refitFraction: Double = 0.005

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
        configuration.costStrataShare = 0
        configuration.randomPhaseWidening = 0
        configuration.radiusSpread = 1
        configuration.maxModelPoints = .max
        configuration.refitFraction = 0
        configuration.minParetoCostFraction = 0.2
        configuration.resampleFrequency = 5
        return configuration
    }

    /// The observations the hyperparameters are kept for when there are `observations`: the larger of
    /// `refit_interval` and `refit_fraction · observations`.
    public func refitInterval(observations: Int) -> Int {
        max(refitInterval, Int((refitFraction * Double(observations)).rounded(.down)))
    }

    /// Whether the hyperparameters can ever be kept between calls (and with them the factors).
    public var keepsHyperparameters: Bool { refitInterval > 1 || refitFraction > 0 }

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
        guard stratumExplorationBias.isFinite else {
            throw fail("stratum_exploration_bias", stratumExplorationBias, "must be finite")
        }
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
        guard costStrataShare >= 0, costStrataShare <= 1 else {
            throw fail("cost_strata_share", costStrataShare, "must be in [0, 1]")
        }
        guard radiusSpread.isFinite, radiusSpread >= 1 else {
            throw fail("radius_spread", radiusSpread, "must be a finite number ≥ 1")
        }
        guard randomPhaseWidening.isFinite, randomPhaseWidening >= 0, randomPhaseWidening <= 2 else {
            throw fail("random_phase_widening", randomPhaseWidening, "must be in [0, 2]")
        }
        guard fitIterations >= 0 else { throw fail("fit_iterations", fitIterations, "must be ≥ 0") }
        guard maxFitPoints >= 8 else { throw fail("max_fit_points", maxFitPoints, "must be ≥ 8") }
        guard maxModelPoints >= 16 else { throw fail("max_model_points", maxModelPoints, "must be ≥ 16") }
        guard refitInterval >= 1 else { throw fail("refit_interval", refitInterval, "must be ≥ 1") }
        guard refitFraction.isFinite, refitFraction >= 0, refitFraction <= 0.5 else {
            throw fail("refit_fraction", refitFraction, "must be in [0, 0.5]")
        }
    }
}

extension CARBSConfiguration {
    /// Decodes a configuration; fields added after the first release may be missing.
    ///
    /// A configuration saved before cost stratification, the radius spread and the widening random phase existed
    /// decodes with all three off, so a restored study goes on exactly as it was saved (its stored values of the
    /// older fields, such as `resampleFrequency`, are kept as they are).
    /// - Throws: `DecodingError` when a field is present but of the wrong type, or `direction`/`seed` is missing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            direction: try container.decode(Direction.self, forKey: .direction),
            seed: try container.decode(UInt64.self, forKey: .seed))
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        numRandomSamples = try value(.numRandomSamples, numRandomSamples)
        initialSearchRadius = try value(.initialSearchRadius, initialSearchRadius)
        explorationBias = try value(.explorationBias, explorationBias)
        numCandidatesPerDim = try value(.numCandidatesPerDim, numCandidatesPerDim)
        resampleFrequency = try value(.resampleFrequency, resampleFrequency)
        maxSuggestionCost = try container.decodeIfPresent(Double.self, forKey: .maxSuggestionCost)
        minParetoCostFraction = try value(.minParetoCostFraction, minParetoCostFraction)
        conservativePareto = try value(.conservativePareto, conservativePareto)
        clampEIAtRandomParetoCost = try value(.clampEIAtRandomParetoCost, clampEIAtRandomParetoCost)
        pendingEstimator = try value(.pendingEstimator, pendingEstimator)
        hyperparameterMode = try value(.hyperparameterMode, hyperparameterMode)
        outputScaling = try value(.outputScaling, outputScaling)
        adaptiveSearchRadius = try value(.adaptiveSearchRadius, adaptiveSearchRadius)
        imputeFailures = try value(.imputeFailures, imputeFailures)
        // Absent in configurations saved before these existed: off, as they were then.
        costStrataShare = try value(.costStrataShare, 0)
        randomPhaseWidening = try value(.randomPhaseWidening, 0)
        stratumExplorationBias = try value(.stratumExplorationBias, stratumExplorationBias)
        radiusSpread = try value(.radiusSpread, 1)
        fitIterations = try value(.fitIterations, fitIterations)
        maxFitPoints = try value(.maxFitPoints, maxFitPoints)
        // Absent before the local training set existed: every observation, as then.
        maxModelPoints = try value(.maxModelPoints, Int.max)
        // Absent before the refit schedule existed: a fit at every suggestion, as then.
        refitInterval = try value(.refitInterval, 1)
        refitFraction = try value(.refitFraction, 0)
    }
}
