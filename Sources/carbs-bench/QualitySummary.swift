import CARBSBenchmarkProblems
import Foundation

/// The quality figures of finished runs, summarised over seeds: one row per problem × mode × variant.
struct QualitySummary {
    /// What one run contributes: its key and its regret figures.
    struct Run: Sendable {
        var problem: String
        var mode: String
        var variant: String
        var seed: UInt64
        var regret: FrontierRegret
        var suggestSeconds: [Double]

        var key: String { "\(problem) | \(mode) | \(variant)" }
    }

    var runs: [Run]

    /// Runs grouped by key, keys in the order first seen.
    var groups: [(key: String, runs: [Run])] {
        var keys: [String] = []
        var groups: [String: [Run]] = [:]
        for run in runs {
            if groups[run.key] == nil { keys.append(run.key) }
            groups[run.key, default: []].append(run)
        }
        return keys.map { ($0, groups[$0]!) }
    }

    /// The headline table: capped regret (median, IQR), frontier regret (median, IQR), empty levels, suggest time.
    var table: String {
        var lines = [
            "| problem | mode | variant | seeds | median capped regret | IQR | median frontier regret | IQR | "
                + "median empty levels | median suggest s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for (key, group) in groups {
            let capped = group.map(\.regret.cappedMean)
            let frontier = group.map(\.regret.mean)
            let empty = group.map { Double($0.regret.emptyLevelCount) }
            let suggest = group.flatMap(\.suggestSeconds)
            lines.append(
                "| \(key) | \(group.count) | \(Self.format(BenchmarkStatistics.median(capped))) | "
                    + "\(Self.format(BenchmarkStatistics.interquartileRange(capped))) | "
                    + "\(Self.format(BenchmarkStatistics.median(frontier))) | "
                    + "\(Self.format(BenchmarkStatistics.interquartileRange(frontier))) | "
                    + "\(Self.format(BenchmarkStatistics.median(empty))) | "
                    + "\(suggest.isEmpty ? "-" : String(format: "%.3g", BenchmarkStatistics.median(suggest))) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Median capped regret at each of the 20 cost levels, one row per problem × mode × variant.
    var perLevelTable: String {
        var lines: [String] = []
        for (key, group) in groups {
            let levels = group[0].regret.levels
            lines.append("\(key) (\(group.count) seeds): median capped regret at each cost level")
            lines.append("| level | " + levels.map { Self.formatLevel($0) }.joined(separator: " | ") + " |")
            lines.append("|---|" + levels.map { _ in "---" }.joined(separator: "|") + "|")
            let medians = levels.indices.map { index in
                BenchmarkStatistics.median(group.map { $0.regret.cappedRegrets[index] })
            }
            lines.append("| median | " + medians.map { Self.format($0) }.joined(separator: " | ") + " |")
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    /// Reads every `<problem>_<mode>_<variant>_seed<k>.jsonl` record file in `directory`.
    /// - Throws: when the directory cannot be read, a file is not valid JSON lines, or names an unknown problem.
    static func reading(directory: URL) throws -> QualitySummary {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".jsonl") }.sorted(using: KeyPathComparator(\.self))
        var runs: [Run] = []
        for name in names {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            let records = try BenchmarkRecord.records(fromJSONLines: text)
            guard let first = records.first else { continue }
            guard let problem = BenchmarkProblems.named(first.problem) else {
                throw SummaryError("\(name): unknown problem '\(first.problem)'")
            }
            // The variant is the file name's part between the mode and the seed.
            let stem = name.dropLast(".jsonl".count)
            let prefix = "\(first.problem)_\(first.mode)_"
            guard stem.hasPrefix(prefix), let seedRange = stem.range(of: "_seed", options: .backwards) else {
                throw SummaryError("\(name): not named <problem>_<mode>_<variant>_seed<k>.jsonl")
            }
            let variant = String(stem[stem.index(stem.startIndex, offsetBy: prefix.count)..<seedRange.lowerBound])
            runs.append(
                Run(
                    problem: first.problem, mode: first.mode, variant: variant, seed: first.seed,
                    regret: problem.frontierRegret(observations: records),
                    suggestSeconds: records.map(\.suggestSeconds)))
        }
        // Problems, then modes, then variants in a stable order; seeds ascending.
        runs.sort { ($0.problem, $0.mode, $0.variant, $0.seed) < ($1.problem, $1.mode, $1.variant, $1.seed) }
        return QualitySummary(runs: runs)
    }

    static func format(_ value: Double) -> String {
        value.isFinite ? String(format: "%.3g", value) : "inf"
    }

    static func formatLevel(_ value: Double) -> String {
        String(format: value < 10 ? "%.2g" : "%.0f", value)
    }
}

/// A record directory that cannot be summarised.
struct SummaryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
