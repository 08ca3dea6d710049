import ArgumentParser
import CARBSCore
import CARBSService
import CARBSReport
import CARBSStore
import Foundation

/// `carbs report`: the Pareto table, the scaling laws, and `pareto.svg`, `scaling.svg` and `report.html`.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print a study's Pareto set and scaling laws; write pareto.svg, scaling.svg and report.html.",
        discussion: """
            Works on a finished study and on one that is still running (it reads the database as it stands). \
            The scaling laws are least-squares fits of log(parameter) against log(cost) over the Pareto set, \
            printed as "hidden_dim ∝ cost^0.42 (R² 0.91)". The page's projection section (and projection.svg) \
            extrapolates the frontier to --project-to (default: ten times the dearest run) as `carbs extrapolate` \
            does: each parameter's law and the output's, with their 90% bootstrap bands.
            """)

    @Option(help: "The study database.")
    var db: String

    @Option(help: "Where to write the files (default: <study name>-report).")
    var out: String?

    @Option(name: .customLong("project-to"), help: "The cost the projection section extrapolates to (default: 10× the dearest run).")
    var projectTo: Double?

    func validate() throws {
        if let projectTo, !(projectTo.isFinite && projectTo > 0) {
            throw ValidationError("--project-to: \(projectTo) is not allowed (must be a finite number > 0)")
        }
    }

    func run() throws {
        var writer = StudyReportWriter(database: db)
        writer.projectTo = projectTo
        try writer.write(to: out, printSummary: true)
    }
}

/// Builds a `StudyReport` from a study database, prints it and writes its files; shared by `carbs report` and
/// the end of `carbs tune`.
struct StudyReportWriter {
    let database: String
    /// Settings from the study file to show besides the stored optimizer settings.
    var extraSettings: [StudyReport.Setting] = []
    /// The cost the projection section extrapolates to (default: ten times the dearest run).
    var projectTo: Double?

    /// Reads the database into a report.
    func makeReport() throws -> StudyReport {
        try readStudy().report
    }

    /// Reads the database into a report, with the optimizer's settings.
    func readStudy() throws -> (report: StudyReport, configuration: CARBSConfiguration) {
        let store: StudyStore
        do {
            store = try StudyStore.open(path: database)
        } catch {
            throw CleanExit.message("cannot open \(database): \(error)", code: ExitCode(66))
        }
        do {
            let stored = try store.observations()
            let observations = stored.map {
                ReportObservation(
                    parameters: $0.params.mapValues(\.doubleValue), output: $0.output, cost: $0.cost,
                    isFailure: $0.isFailure)
            }
            var configuration: CARBSConfiguration
            var parameters: [Parameter]
            var summary: CARBSSummary?
            if let snapshot = try store.loadSnapshot() {
                let state = try SnapshotCoding.decode(snapshot.data)
                let optimizer = try CARBSOptimizer(restoring: state)
                configuration = optimizer.configuration
                parameters = optimizer.parameters
                summary = optimizer.summary
            } else {
                let stored = try JSONDecoder().decode(StoredStudy.self, from: try store.studyConfiguration())
                configuration = stored.configuration
                parameters = stored.parameters
            }
            let report = StudyReport(
                study: store.study, direction: configuration.direction, parameters: parameters,
                observations: observations, summary: summary,
                settings: extraSettings + Self.settings(configuration) + [.init("database", database)])
            return (report, configuration)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw CleanExit.message("cannot read the study in \(database): \(error)", code: ExitCode(65))
        }
    }

    /// Prints the Pareto table (when `printSummary`) and the scaling laws, and writes the files into `out`
    /// (default `<study>-report`).
    /// - Returns: The directory written.
    @discardableResult
    func write(to out: String?, printSummary: Bool) throws -> String {
        var report = try makeReport()
        report.project(toCost: projectTo)
        if printSummary {
            print("Study \(report.study): \(report.observations.count) observations")
            print("")
            print("Pareto set (\(report.frontier.count) points, cheapest first):")
            print(report.frontierTable.joined(separator: "\n"))
        }
        print("")
        print(report.scalingLawLines.joined(separator: "\n"))
        let directory = out ?? "\(report.study)-report"
        do {
            try report.write(to: URL(fileURLWithPath: directory))
        } catch {
            throw CleanExit.message("cannot write the report to \(directory): \(error)", code: ExitCode(73))
        }
        print("")
        if let projection = report.projection {
            print(
                "Projection to cost \(ProgressDisplay.format(projection.cost)): see the report's projection section "
                    + "(carbs extrapolate prints it with a backtest)")
        } else if let note = report.projectionNote {
            print(note)
        }
        print("Report: \(directory)/report.html (with \(directory)/pareto.svg and \(directory)/scaling.svg)")
        return directory
    }

    /// The optimizer's settings as study-file names and values.
    static func settings(_ configuration: CARBSConfiguration) -> [StudyReport.Setting] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(configuration),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [] }
        func text(_ value: Any) -> String {
            if let string = value as? String { return string }
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
        }
        let keys = ["direction"] + object.keys.filter { $0 != "direction" }.sorted()
        return keys.compactMap { key in
            object[key].map { StudyReport.Setting(key == "direction" ? key : "optimizer.\(key)", text($0)) }
        }
    }

    /// The part of the stored study configuration a report needs.
    private struct StoredStudy: Decodable {
        var configuration: CARBSConfiguration
        var parameters: [Parameter]
    }
}

extension StudyFile {
    /// The study-file settings a report shows besides the optimizer's.
    var reportSettings: [StudyReport.Setting] {
        var settings: [StudyReport.Setting] = []
        if let max = budget.maxObservations { settings.append(.init("budget.max_observations", "\(max)")) }
        if let cost = budget.maxTotalCost { settings.append(.init("budget.max_total_cost", "\(cost)")) }
        settings.append(.init("max_in_flight", "\(maxInFlight)"))
        switch trainer {
        case .command(let arguments, _, _, _):
            settings.append(.init("trainer.command", arguments.joined(separator: " ")))
        case .builtin(let name, let cost):
            settings.append(.init("trainer.builtin", name))
            if let cost { settings.append(.init("trainer.cost", cost.rawValue)) }
        case nil: break
        }
        return settings
    }
}
