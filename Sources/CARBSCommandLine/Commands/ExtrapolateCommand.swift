import ArgumentParser
import CARBSCore
import CARBSReport
import CARBSStore
import Foundation

/// `carbs extrapolate`: predicts the settings and the output of a run dearer than any in the study, with
/// intervals and a backtest; optionally writes the next study file.
struct ExtrapolateCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    static let configuration = CommandConfiguration(
        commandName: "extrapolate",
        abstract: "Predict each parameter and the output at a dearer cost than the study reached, with intervals.",
        discussion: """
            Fits each parameter along the study's Pareto frontier in its own space (log spaces: a power of cost; \
            linear spaces: linear in ln(cost); logit spaces: logit linear in ln(cost)) and the output as \
            E + A·cost^(−α) (Huber loss on log residuals, as in Chinchilla's third approach). Intervals come from \
            resampling the frontier points in blocks of neighbours; a parameter whose slope interval contains 0 is \
            reported as constant, at its frontier median. The backtest refits without the dearest frontier points \
            and predicts them. Beyond \(Int(Extrapolation.defaultWarningRatio))× the dearest observed run the \
            result comes with a warning.

            With --study-file, writes the next rung of the ladder: the same parameters centred on the predicted \
            values, a search radius matched to the widest interval, your budget, and a warm start from this \
            study's observations; its first --next-samples-around-center runs sample around the predicted values \
            (CARBS's random phase, which a warm start would otherwise skip), then the acquisition takes over from \
            the old frontier. Run it with `carbs tune NEXT.yaml` (give --base OLD.yaml to copy the trainer).
            """)

    @Option(help: "The study database.")
    var db: String

    @Option(help: "The cost to extrapolate to (the same unit as the study's costs).")
    var cost: Double

    @Option(help: "table or json.")
    var format: Format = .table

    @Option(help: "Bootstrap resamples of the frontier.")
    var resamples: Int = 1000

    @Option(help: "The resampling seed (the same seed gives the same intervals).")
    var seed: UInt64 = 0

    @Option(help: "How many of the dearest frontier points the backtest holds out (default: a fifth).")
    var backtest: Int?

    @Option(name: .customLong("study-file"), help: "Write the next study file here.")
    var studyFile: String?

    @Option(help: "The study file of this study: the next study file copies its trainer and fleet settings.")
    var base: String?

    @Option(name: .customLong("next-name"), help: "The next study's name (default: <study>-next).")
    var nextName: String?

    @Option(name: .customLong("next-max-observations"), help: "The next study's budget in observations.")
    var nextMaxObservations: Int?

    @Option(name: .customLong("next-max-total-cost"), help: "The next study's budget in total cost.")
    var nextMaxTotalCost: Double?

    @Option(
        name: .customLong("next-samples-around-center"),
        help: """
            How many of the next study's first runs (at least; more when several are issued before one finishes) \
            sample around the predicted values before CARBS's acquisition takes over.
            """)
    var nextSamplesAroundCenter: Int = 4

    func validate() throws {
        guard cost.isFinite, cost > 0 else {
            throw ValidationError("--cost: \(cost) is not allowed (must be a finite number > 0)")
        }
        guard resamples >= 100 else {
            throw ValidationError("--resamples: \(resamples) is not allowed (must be ≥ 100)")
        }
        if let backtest, backtest < 1 { throw ValidationError("--backtest: \(backtest) is not allowed (must be ≥ 1)") }
        if let max = nextMaxObservations, max < 1 {
            throw ValidationError("--next-max-observations: \(max) is not allowed (must be ≥ 1)")
        }
        if let total = nextMaxTotalCost, !(total > 0 && total.isFinite) {
            throw ValidationError("--next-max-total-cost: \(total) is not allowed (must be a finite number > 0)")
        }
        if nextSamplesAroundCenter < 0 {
            throw ValidationError(
                "--next-samples-around-center: \(nextSamplesAroundCenter) is not allowed (must be ≥ 0)")
        }
        if studyFile != nil, nextMaxObservations == nil, nextMaxTotalCost == nil {
            throw ValidationError(
                "--study-file needs the next study's budget: --next-max-observations, --next-max-total-cost or both")
        }
        if studyFile == nil, base != nil || nextName != nil || nextMaxObservations != nil || nextMaxTotalCost != nil {
            throw ValidationError("--base, --next-name and --next-max-… only make sense with --study-file")
        }
    }

    func run() throws {
        let (report, optimizerConfiguration) = try StudyReportWriter(database: db).readStudy()
        var configuration = Extrapolation.Configuration()
        configuration.resamples = resamples
        configuration.seed = seed
        configuration.backtestCount = backtest
        let extrapolation: Extrapolation
        do {
            extrapolation = try report.extrapolation(toCost: cost, configuration: configuration)
        } catch {
            throw CleanExit.message("\(db): \(error.message)", code: ExitCode(65))
        }
        switch format {
        case .table: print(extrapolation.tableLines.joined(separator: "\n"))
        case .json: print(try Self.json(extrapolation))
        }
        guard let studyFile else { return }
        let next = NextStudyFile(
            name: nextName ?? "\(report.study)-next", configuration: optimizerConfiguration,
            parameters: report.parameters, extrapolation: extrapolation,
            budget: .init(maxObservations: nextMaxObservations, maxTotalCost: nextMaxTotalCost),
            warmStartDatabase: URL(fileURLWithPath: db).standardizedFileURL.path,
            warmStartCount: report.observations.count,
            warmStartSuccessCount: report.observations.filter {
                !$0.isFailure && ($0.output?.isFinite ?? false) && ($0.cost.map { $0.isFinite && $0 > 0 } ?? false)
            }.count,
            samplesAroundCenter: nextSamplesAroundCenter, base: try base.map(loadStudy))
        let text = next.yaml
        do {
            _ = try StudyFile.parse(
                yaml: text, baseDirectory: URL(fileURLWithPath: studyFile).deletingLastPathComponent().path)
        } catch {
            throw CleanExit.message("the next study file would not be valid: \(error)", code: ExitCode(70))
        }
        do {
            try text.write(toFile: studyFile, atomically: true, encoding: .utf8)
        } catch {
            throw CleanExit.message("cannot write \(studyFile): \(error.localizedDescription)", code: ExitCode(73))
        }
        let message =
            "Wrote \(studyFile): study \(next.name), centred on the values above, search radius "
            + "\(NextStudyFile.number(next.searchRadius)), warm-started from \(db)."
        // Keep JSON output machine-readable.
        if format == .json {
            FileHandle.standardError.write(Data((message + "\n").utf8))
        } else {
            print("")
            print(message)
        }
    }

    /// The extrapolation as pretty-printed JSON with snake_case keys (NaN and infinities as strings).
    static func json(_ extrapolation: Extrapolation) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(extrapolation), as: UTF8.self)
    }
}
