import ArgumentParser
import CARBSBenchmarkProblems
import CARBSCore
import Foundation

/// CARBS behind the benchmark driver's protocol.
struct CARBSBenchmarkOptimizer: BenchmarkOptimizer {
    private var optimizer: CARBSOptimizer

    /// CARBS minimising `problem`'s output over its parameters, seeded with `seed`.
    init(problem: any BenchmarkProblem, configuration: CARBSConfiguration) throws {
        optimizer = try CARBSOptimizer(configuration: configuration, parameters: problem.parameters)
    }

    mutating func suggest(count: Int) throws -> [BenchmarkSuggestion] {
        try optimizer.suggest(count: count).map { BenchmarkSuggestion(id: $0.id, parameters: $0.parameters) }
    }

    mutating func observe(id: String, output: Double, cost: Double) throws {
        try optimizer.observe(.success(id: id, output: output, cost: cost))
    }
}

extension CARBSBenchmarkOptimizer {
    /// Ablations of the `carbs` variant without rebuilding: `CARBS_BENCH_OPTIONS="key=value,..."` with keys
    /// `output_scaling` (plotting_positions | reference), `hyperparameters` (fitted | reference_parity),
    /// `exploration_bias`, `initial_search_radius`, `num_random_samples`, `resample_frequency`,
    /// `min_pareto_cost_fraction`, `clamp_ei`, `adaptive_radius`, `impute_failures` (true | false),
    /// `pending_estimator` (thompson | mean), `cost_strata_share`, `radius_spread`, `stratum_exploration_bias`, `random_phase_widening`, `max_model_points`,
    /// `refit_interval`, `refit_fraction`.
    static func applyOverrides(to configuration: inout CARBSConfiguration) throws {
        guard let text = ProcessInfo.processInfo.environment["CARBS_BENCH_OPTIONS"], !text.isEmpty else { return }
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("CARBS_BENCH_OPTIONS: \"\(pair)\" is not key=value") }
            let (key, value) = (parts[0], parts[1])
            switch key {
            case "output_scaling":
                configuration.outputScaling = value == "reference" ? .reference : .plottingPositions
            case "hyperparameters":
                configuration.hyperparameterMode = value == "reference_parity" ? .referenceParity : .fitted
            case "exploration_bias": configuration.explorationBias = Double(value) ?? configuration.explorationBias
            case "initial_search_radius":
                configuration.initialSearchRadius = Double(value) ?? configuration.initialSearchRadius
            case "num_random_samples": configuration.numRandomSamples = Int(value) ?? configuration.numRandomSamples
            case "resample_frequency": configuration.resampleFrequency = Int(value) ?? configuration.resampleFrequency
            case "min_pareto_cost_fraction":
                configuration.minParetoCostFraction = Double(value) ?? configuration.minParetoCostFraction
            case "clamp_ei": configuration.clampEIAtRandomParetoCost = value == "true"
            case "adaptive_radius": configuration.adaptiveSearchRadius = value == "true"
            case "cost_strata_share": configuration.costStrataShare = Double(value) ?? configuration.costStrataShare
            case "pending_estimator": configuration.pendingEstimator = value == "mean" ? .mean : .thompson
            case "random_phase_widening":
                configuration.randomPhaseWidening = Double(value) ?? configuration.randomPhaseWidening
            case "stratum_exploration_bias":
                configuration.stratumExplorationBias = Double(value) ?? configuration.stratumExplorationBias
            case "max_model_points": configuration.maxModelPoints = Int(value) ?? configuration.maxModelPoints
            case "radius_spread": configuration.radiusSpread = Double(value) ?? configuration.radiusSpread
            case "impute_failures": configuration.imputeFailures = value == "true"
            case "refit_interval": configuration.refitInterval = Int(value) ?? configuration.refitInterval
            case "refit_fraction": configuration.refitFraction = Double(value) ?? configuration.refitFraction
            default: throw ValidationError("CARBS_BENCH_OPTIONS: unknown key \(key)")
            }
        }
    }
}

extension BenchmarkRun {
    /// Runs `variant` on this run's problem, mode and seed (the optimizer is seeded with the run's seed).
    func run(_ variant: BenchmarkVariant) throws -> [BenchmarkRecord] {
        switch variant {
        case .carbs:
            var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
            try CARBSBenchmarkOptimizer.applyOverrides(to: &configuration)
            var optimizer = try CARBSBenchmarkOptimizer(problem: problem, configuration: configuration)
            return try run(&optimizer)
        case .parity:
            var optimizer = try CARBSBenchmarkOptimizer(
                problem: problem, configuration: .referenceParity(direction: .minimize, seed: seed))
            return try run(&optimizer)
        case .random:
            var optimizer = RandomSearch(parameters: problem.parameters, seed: seed)
            return try run(&optimizer)
        }
    }
}
