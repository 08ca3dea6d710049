import ArgumentParser
import Foundation

/// `carbs-bench summarize`: the quality tables recomputed from record files already written.
struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Summarise record files written by `quality` (any commit's): capped and frontier regret.",
        discussion: """
            Reads every <problem>_<mode>_<variant>_seed<k>.jsonl in the directory, recomputes the figures from the \
            records (outputs noise-free from the recorded parameters) and prints the summary table; with \
            --per-level also the median capped regret at each of the 20 cost levels.
            """
    )

    @Argument(help: "A directory of record files, e.g. bench-out/quality.")
    var directory: String

    @Flag(help: "Also print the median capped regret at each cost level.")
    var perLevel = false

    func run() throws {
        let summary = try QualitySummary.reading(directory: URL(fileURLWithPath: directory, isDirectory: true))
        guard !summary.runs.isEmpty else { throw ValidationError("\(directory): no record files (*.jsonl) found") }
        print(summary.table)
        if perLevel {
            print("")
            print(summary.perLevelTable)
        }
    }
}
