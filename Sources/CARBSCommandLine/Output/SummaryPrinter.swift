import CARBSCore
import CARBSReport
import Foundation

/// Renders a study's summary for the terminal: counts, best run and the Pareto set as a table.
struct SummaryPrinter {
    let parameterNames: [String]
    let name: String

    init(study: StudyFile) {
        parameterNames = study.parameters.map(\.name)
        name = study.name
    }

    init(name: String, parameterNames: [String]) {
        self.name = name
        self.parameterNames = parameterNames
    }

    func render(_ summary: CARBSSummary) -> String {
        var lines: [String] = []
        lines.append(
            "Study \(name): \(summary.successCount) successes, \(summary.failureCount) failures, "
                + "total cost \(ProgressDisplay.format(summary.cumulativeCost))")
        if let best = summary.best {
            lines.append("Best output \(ProgressDisplay.format(best.output)) at cost \(ProgressDisplay.format(best.cost))")
        }
        lines.append("")
        lines.append("Pareto set (\(summary.paretoSet.count) points, cheapest first):")
        let header = ["cost", "output", "runs"] + parameterNames
        let rows = summary.paretoSet.map { point in
            [ProgressDisplay.format(point.cost), ProgressDisplay.format(point.output), "\(point.count)"]
                + parameterNames.map { ProgressDisplay.format(point.parameters[$0] ?? .nan) }
        }
        lines += TextTable.lines(header: header, rows: rows)
        return lines.joined(separator: "\n")
    }
}
