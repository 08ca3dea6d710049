import CARBSBenchmarkProblems
import CARBSCore

/// CARBS behind the benchmark driver's protocol.
struct CARBSBenchmarkOptimizer: BenchmarkOptimizer {
    private var optimizer: CARBSOptimizer

    /// CARBS minimising `problem`'s output over its parameters, seeded with `seed`.
    init(problem: any BenchmarkProblem, seed: UInt64, hyperparameterMode: CARBSConfiguration.HyperparameterMode)
        throws
    {
        var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
        configuration.hyperparameterMode = hyperparameterMode
        optimizer = try CARBSOptimizer(configuration: configuration, parameters: problem.parameters)
    }

    mutating func suggest(count: Int) throws -> [BenchmarkSuggestion] {
        try optimizer.suggest(count: count).map { BenchmarkSuggestion(id: $0.id, parameters: $0.parameters) }
    }

    mutating func observe(id: String, output: Double, cost: Double) throws {
        try optimizer.observe(.success(id: id, output: output, cost: cost))
    }
}

extension BenchmarkRun {
    /// Runs `variant` on this run's problem, mode and seed (the optimizer is seeded with the run's seed).
    func run(_ variant: BenchmarkVariant) throws -> [BenchmarkRecord] {
        switch variant {
        case .carbs:
            var optimizer = try CARBSBenchmarkOptimizer(problem: problem, seed: seed, hyperparameterMode: .fitted)
            return try run(&optimizer)
        case .parity:
            var optimizer = try CARBSBenchmarkOptimizer(
                problem: problem, seed: seed, hyperparameterMode: .referenceParity)
            return try run(&optimizer)
        case .random:
            var optimizer = RandomSearch(parameters: problem.parameters, seed: seed)
            return try run(&optimizer)
        }
    }
}
