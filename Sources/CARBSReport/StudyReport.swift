import CARBSCore
import Foundation

/// A finished (or running) study as a report: the Pareto set as a table, a scaling law per parameter, the
/// cost/output picture (`pareto.svg`), the scaling picture (`scaling.svg`) and one self-contained HTML page.
///
/// ```swift
/// let report = StudyReport(study: "mlp-demo", direction: .minimize, parameters: parameters,
///                          observations: observations, summary: optimizer.summary)
/// print(report.scalingLawLines.joined(separator: "\n"))
/// try report.write(to: URL(fileURLWithPath: "mlp-demo-report"))
/// ```
public struct StudyReport: Sendable {
    /// One point of the Pareto frontier.
    public struct FrontierPoint: Sendable, Hashable {
        public var parameters: [String: Double]
        public var output: Double
        public var cost: Double
        /// Runs averaged into this point.
        public var count: Int

        /// Creates a frontier point.
        public init(parameters: [String: Double], output: Double, cost: Double, count: Int = 1) {
            self.parameters = parameters
            self.output = output
            self.cost = cost
            self.count = count
        }
    }

    /// One of the study's settings, shown on the HTML page.
    public struct Setting: Sendable, Hashable {
        public var name: String
        public var value: String

        /// Creates a setting.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Scaling laws from fewer Pareto points than this come with a warning.
    public static let minimumTrustedPoints = 5

    /// The study's name.
    public var study: String
    /// Whether lower or higher outputs are better.
    public var direction: CARBSConfiguration.Direction
    /// The tuned parameters, in the study's order.
    public var parameters: [Parameter]
    /// Every observation, in the order it was made.
    public var observations: [ReportObservation]
    /// The Pareto frontier, cheapest first.
    public var frontier: [FrontierPoint]
    /// Everything else worth showing about the study (budget, trainer, optimizer settings).
    public var settings: [Setting]
    /// The study extrapolated to a dearer cost, for the page's projection section and `projection.svg`.
    public var projection: Extrapolation?
    /// Why there is no projection, when there is none.
    public var projectionNote: String?

    /// Creates a report.
    /// - Parameters:
    ///   - study: The study's name.
    ///   - direction: Whether lower or higher outputs are better.
    ///   - parameters: The tuned parameters.
    ///   - observations: Every observation, in order.
    ///   - summary: The optimizer's summary; its Pareto set is the frontier. Without one the frontier is the set of
    ///     successful observations that no other observation beats at the same or a lower cost.
    ///   - settings: Extra settings to show.
    public init(
        study: String, direction: CARBSConfiguration.Direction, parameters: [Parameter],
        observations: [ReportObservation], summary: CARBSSummary? = nil, settings: [Setting] = []
    ) {
        self.study = study
        self.direction = direction
        self.parameters = parameters
        self.observations = observations
        self.settings = settings
        if let summary {
            frontier = summary.paretoSet.map {
                FrontierPoint(parameters: $0.parameters, output: $0.output, cost: $0.cost, count: $0.count)
            }
            .sorted { $0.cost < $1.cost }
        } else {
            frontier = Self.nonDominated(observations, direction: direction)
        }
    }

    /// Successful observations that no other beats at the same or a lower cost, cheapest first.
    public static func nonDominated(
        _ observations: [ReportObservation], direction: CARBSConfiguration.Direction
    ) -> [FrontierPoint] {
        let sign = direction.sign
        let successes = observations.filter(\.isPlottableSuccess).sorted {
            ($0.cost!, -sign * $0.output!) < ($1.cost!, -sign * $1.output!)
        }
        var frontier: [FrontierPoint] = []
        var best = -Double.infinity
        for observation in successes where sign * observation.output! > best {
            best = sign * observation.output!
            frontier.append(
                FrontierPoint(parameters: observation.parameters, output: observation.output!, cost: observation.cost!))
        }
        return frontier
    }

    /// The scaling law of each parameter that can be fitted (positive values on at least two frontier points with
    /// different costs), in the study's parameter order.
    public var scalingLaws: [ScalingLaw] {
        let costs = frontier.map(\.cost)
        return parameters.compactMap { parameter in
            let values = frontier.map { $0.parameters[parameter.name] ?? .nan }
            // A log–log fit needs every value positive; fitting only the positive ones would mislead.
            guard values.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
            return ScalingLaw.fit(parameter: parameter.name, costs: costs, values: values)
        }
    }

    /// Why the scaling laws may not be trusted, or which parameters could not be fitted.
    public var scalingWarnings: [String] {
        var warnings: [String] = []
        if frontier.count < Self.minimumTrustedPoints {
            warnings.append(
                "warning: the Pareto set has only \(frontier.count) point\(frontier.count == 1 ? "" : "s"); "
                    + "scaling laws from fewer than \(Self.minimumTrustedPoints) are not to be trusted")
        }
        let fitted = Set(scalingLaws.map(\.parameter))
        for parameter in parameters where !fitted.contains(parameter.name) {
            let values = frontier.compactMap { $0.parameters[parameter.name] }
            let reason =
                values.contains(where: { $0 <= 0 }) ? "it takes values ≤ 0 on the frontier" : "too few frontier points"
            warnings.append("\(parameter.name): no scaling law (\(reason))")
        }
        return warnings
    }

    /// The scaling laws as terminal lines, with their warnings.
    public var scalingLawLines: [String] {
        ["Scaling laws along the Pareto frontier (least squares of log value on log cost):"]
            + scalingLaws.map { "  " + $0.description } + scalingWarnings.map { "  " + $0 }
    }

    /// The Pareto set as a text table: cost, output, runs and the parameters.
    public var frontierTable: [String] {
        let header = ["cost", "output", "runs"] + parameters.map(\.name)
        let rows = frontier.map { point in
            [Formatting.number(point.cost), Formatting.number(point.output), "\(point.count)"]
                + parameters.map { Formatting.number(point.parameters[$0.name] ?? .nan) }
        }
        return TextTable.lines(header: header, rows: rows)
    }

    /// The file names `write(to:)` creates.
    public static let fileNames = ["pareto.svg", "scaling.svg", "report.html"]

    /// Writes `pareto.svg`, `scaling.svg` and `report.html` into `directory`, creating it if needed, and
    /// `projection.svg` when the report has a projection.
    /// - Returns: The files written.
    /// - Throws: The file system's error when the directory or a file cannot be written.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files = Array(zip(Self.fileNames, [paretoSVG, scalingSVG, html]))
        if projection != nil { files.insert(("projection.svg", projectionSVG), at: 2) }
        var written: [URL] = []
        for (name, text) in files {
            let url = directory.appendingPathComponent(name)
            try Data(text.utf8).write(to: url, options: .atomic)
            written.append(url)
        }
        return written
    }

    /// Adds the projection to `cost` (default: ten times the dearest successful run), or the reason there is none.
    public mutating func project(toCost cost: Double? = nil, configuration: Extrapolation.Configuration = .init()) {
        let dearest = observations.filter(\.isPlottableSuccess).compactMap(\.cost).max()
        guard let target = cost ?? dearest.map({ 10 * $0 }) else {
            projectionNote = "No projection: the study has no successful run."
            return
        }
        do {
            projection = try extrapolation(toCost: target, configuration: configuration)
            projectionNote = nil
        } catch {
            projection = nil
            projectionNote = "No projection to cost \(Formatting.number(target)): \(error.message)"
        }
    }
}
