import ArgumentParser
import CARBSCore
import Foundation

/// `carbs-transport-bench refit`: the optimizer's share of a round trip, without a broker: observe a batch of
/// results, `suggest(count:)` the replacements (one fit), encode the snapshot the service saves.
struct RefitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refit", abstract: "Time observe + suggest(count:) + snapshot encoding in process (no broker).")

    @Option(help: "Warm-start observation counts n, comma-separated.")
    var observations: String = "100,1000"

    @Option(help: "Suggestions per batch (results observed, then as many suggested), comma-separated.")
    var batch: String = "1,8,32,100"

    @Option(help: "Batches timed per configuration.")
    var repetitions: Int = 3

    func run() async throws {
        // One thread for the linear algebra, as `carbs optimizer` uses by default.
        NumericThreads.set(1)
        var lines = [
            "| n (warm start) | batch | observe (ms) | suggest(count:) (ms) | per suggestion (ms) | snapshot JSON (ms) |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for n in observations.split(separator: ",").compactMap({ Int($0) }) {
            for size in batch.split(separator: ",").compactMap({ Int($0) }) {
                var optimizer = try BenchOptimizer.makeOptimizer(mode: .carbs, warmStart: n)
                var pending = try optimizer.suggest(count: size)
                var observe = 0.0
                var suggest = 0.0
                var encode = 0.0
                for _ in 0..<repetitions {
                    let clock = ContinuousClock()
                    observe += try clock.measure {
                        for suggestion in pending {
                            let x1 = suggestion.parameters["x1"] ?? 0
                            let x2 = suggestion.parameters["x2"] ?? 0
                            try optimizer.observe(
                                .success(id: suggestion.id, output: BenchOptimizer.branin(x1, x2), cost: 1))
                        }
                    }.seconds
                    suggest += try clock.measure { pending = try optimizer.suggest(count: size) }.seconds
                    encode += try clock.measure { _ = try JSONEncoder().encode(optimizer.snapshot) }.seconds
                }
                let r = Double(repetitions)
                lines.append(
                    "| \(n) | \(size) | " + String(format: "%.1f", observe / r * 1000) + " | "
                        + String(format: "%.0f", suggest / r * 1000) + " | "
                        + String(format: "%.1f", suggest / r / Double(size) * 1000) + " | "
                        + String(format: "%.1f", encode / r * 1000) + " |")
                log(lines.last!)
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
