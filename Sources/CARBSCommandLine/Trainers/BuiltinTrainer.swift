import CARBSBenchmarkProblems
import CARBSCore
import CARBSMessaging
import CARBSWorker
import Foundation

/// A trainer built into `carbs`: one of the benchmark problems of docs/benchmarks.md, evaluated in process.
///
/// The problem's noise is drawn from a generator seeded by the suggestion id and attempt, so a re-run of the same
/// attempt gives the same result.
struct BuiltinTrainer: Trainer {
    let problem: any BenchmarkProblem

    static var names: [String] { BenchmarkProblems.all.map(\.name) }

    init?(name: String) {
        guard let problem = BenchmarkProblems.named(name) else { return nil }
        self.problem = problem
    }

    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome {
        let started = Date()
        var values: [String: Double] = [:]
        for parameter in problem.parameters {
            guard let value = suggestion.params[parameter.name] else {
                return TrainerOutcome(
                    status: .failure, message: "the suggestion has no value for \(parameter.name)", startedAt: started,
                    finishedAt: Date())
            }
            values[parameter.name] = value.doubleValue
        }
        var seed: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in "\(suggestion.suggestionID)/\(suggestion.attempt)".utf8 {
            seed = (seed ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        var noise = SeededGenerator(seed: seed)
        let result = problem.evaluate(values, noise: &noise)
        return TrainerOutcome(
            status: .success, output: result.output, cost: result.cost, startedAt: started, finishedAt: Date())
    }
}
