import ArgumentParser

/// `carbs-bench`: the benchmark program of `docs/benchmarks.md` (quality) and of issue 2 (latency).
@main
struct CARBSBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carbs-bench",
        abstract: "Measure CARBS: frontier regret on the benchmark problems, and suggest latency.",
        discussion: "Build with `swift build -c release` before measuring.",
        subcommands: [QualityCommand.self, SummarizeCommand.self, LatencyCommand.self]
    )
}
