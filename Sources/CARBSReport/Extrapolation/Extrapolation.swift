import CARBSCore
import Foundation

/// A study extrapolated to a dearer run than any it made: each parameter's value and the output at the target
/// cost, with bootstrap intervals from resampling the Pareto groups, the extrapolation ratio, warnings and a
/// backtest.
///
/// ```swift
/// let extrapolation = try report.extrapolation(toCost: 40)
/// print(extrapolation.tableLines.joined(separator: "\n"))
/// ```
public struct Extrapolation: Sendable, Hashable, Codable {
    /// How the extrapolation is made.
    public struct Configuration: Sendable, Hashable {
        /// The level of every interval.
        public var level = 0.9
        /// Bootstrap resamples of the frontier.
        public var resamples = 1000
        /// The resampling seed: the same seed gives the same intervals.
        public var seed: UInt64 = 0
        /// How many neighbouring frontier points are resampled together (default `Bootstrap.blockLength`).
        public var blockLength: Int? = nil
        /// Past this many times the dearest observed cost, the extrapolation comes with a warning.
        public var warningRatio = Extrapolation.defaultWarningRatio
        /// How many of the dearest frontier points the backtest holds out (default: a fifth, at least 1, leaving
        /// at least `minimumFrontierPoints − 1` to fit).
        public var backtestCount: Int? = nil

        /// The defaults.
        public init() {}
    }

    /// A frontier needs at least this many points to be extrapolated.
    public static let minimumFrontierPoints = 5
    /// Extrapolating more than ten times beyond the dearest run goes beyond what the CARBS paper checked (its 70B
    /// prediction was checked on a ~14B run first) and far beyond what a backtest on the study itself can test.
    public static let defaultWarningRatio = 10.0

    public var study: String
    public var direction: CARBSConfiguration.Direction
    /// The cost extrapolated to.
    public var cost: Double
    /// The dearest successful observation's cost.
    public var dearestObservedCost: Double
    /// The cheapest and dearest frontier costs.
    public var frontierCosts: Interval
    /// `cost / dearestObservedCost`.
    public var ratio: Double
    public var frontierPointCount: Int
    public var level: Double
    public var resampleCount: Int
    /// How many neighbouring frontier points each bootstrap block holds.
    public var blockLength: Int
    public var parameters: [ParameterProjection]
    public var output: OutputProjection
    public var backtest: Backtest?
    /// Why the extrapolation may not be trusted.
    public var warnings: [String]
}

extension StudyReport {
    /// Extrapolates the study to `cost`.
    /// - Throws: `ReportError` for a cost that is not finite and > 0 or below the cheapest frontier point, a
    ///   frontier of fewer than `Extrapolation.minimumFrontierPoints` points, or a parameter with no usable value
    ///   on at least two frontier points.
    public func extrapolation(
        toCost cost: Double, configuration: Extrapolation.Configuration = .init()
    ) throws(ReportError) -> Extrapolation {
        guard cost.isFinite, cost > 0 else {
            throw ReportError(.invalidCost, "--cost: \(cost) is not allowed (must be a finite number > 0)")
        }
        guard frontier.count >= Extrapolation.minimumFrontierPoints else {
            throw ReportError(
                .tooFewFrontierPoints,
                "the study has \(frontier.count) point\(frontier.count == 1 ? "" : "s") on its Pareto frontier; "
                    + "extrapolating needs at least \(Extrapolation.minimumFrontierPoints) (run the study longer)")
        }
        let cheapest = frontier.map(\.cost).min()!
        guard cost >= cheapest else {
            throw ReportError(
                .costBelowFrontier,
                "--cost: \(Formatting.number(cost)) is below the cheapest frontier point's cost "
                    + "\(Formatting.number(cheapest)) (give a cost ≥ \(Formatting.number(cheapest)); extrapolate "
                    + "predicts runs at least as dear as the frontier)")
        }
        let dearestObserved = observations.filter(\.isPlottableSuccess).compactMap(\.cost).max() ?? cheapest
        var result = try Extrapolation.fit(
            frontier: frontier, parameters: parameters, direction: direction, cost: cost,
            configuration: configuration)
        result.study = study
        result.dearestObservedCost = dearestObserved
        result.ratio = cost / dearestObserved
        if result.ratio > configuration.warningRatio {
            result.warnings.insert(
                "warning: \(Formatting.number(cost)) is \(String(format: "%.1f", result.ratio))× the dearest observed "
                    + "run (\(Formatting.number(dearestObserved))); past \(Formatting.number(configuration.warningRatio))× "
                    + "the power laws are unchecked by any run: treat the values as a starting point, not an answer",
                at: 0)
        }
        let k = configuration.backtestCount ?? Swift.max(1, frontier.count / 5)
        if frontier.count - k >= Extrapolation.minimumFrontierPoints - 1 {
            do {
                result.backtest = try Backtest.run(
                    frontier: frontier, parameters: parameters, direction: direction, holdOut: k,
                    configuration: configuration)
            } catch {
                result.warnings.append(
                    "warning: no backtest (without the \(k) dearest frontier points: \(error.message))")
            }
        } else {
            result.warnings.append(
                "warning: no backtest (holding out \(k) of \(frontier.count) frontier points would leave fewer than "
                    + "\(Extrapolation.minimumFrontierPoints - 1) to fit)")
        }
        result.warnings += result.backtest?.warnings(level: configuration.level) ?? []
        return result
    }
}

extension Extrapolation {
    /// Fits every parameter and the output over `frontier` and extrapolates them to `cost` (no backtest).
    static func fit(
        frontier: [StudyReport.FrontierPoint], parameters: [Parameter], direction: CARBSConfiguration.Direction,
        cost: Double, configuration: Configuration
    ) throws(ReportError) -> Extrapolation {
        let points = frontier.sorted { $0.cost < $1.cost }
        let costs = points.map(\.cost)
        let blockLength = configuration.blockLength ?? Bootstrap.blockLength(size: points.count)
        let resamples = Bootstrap.resamples(
            size: points.count, count: configuration.resamples, seed: configuration.seed, blockLength: blockLength)
        var projections: [ParameterProjection] = []
        var warnings: [String] = []
        for parameter in parameters {
            let values = points.map { $0.parameters[parameter.name] ?? .nan }
            let projection = try ParameterProjection.fit(
                parameter, costs: costs, values: values, resamples: resamples, cost: cost, level: configuration.level)
            if let bound = projection.clampedTo {
                warnings.append(
                    "warning: \(parameter.name): the law passes its bound \(Formatting.number(bound)) before cost "
                        + "\(Formatting.number(cost)); the value is held at the bound (widen the bound to follow it)")
            }
            if projection.pointCount < points.count {
                warnings.append(
                    "warning: \(parameter.name): \(points.count - projection.pointCount) frontier points have no "
                        + "value in its \(projection.space.rawValue) space and were left out of its law")
            }
            projections.append(projection)
        }
        let output = try OutputProjection.fit(
            costs: costs, outputs: points.map(\.output), direction: direction, resamples: resamples, cost: cost,
            level: configuration.level)
        if points.count < 8 {
            warnings.append(
                "warning: only \(points.count) frontier points: the bootstrap has too little to resample, so the "
                    + "intervals are often too narrow")
        }
        return Extrapolation(
            study: "", direction: direction, cost: cost, dearestObservedCost: costs.last!,
            frontierCosts: Interval(lower: costs.first!, upper: costs.last!), ratio: cost / costs.last!,
            frontierPointCount: points.count, level: configuration.level, resampleCount: configuration.resamples,
            blockLength: blockLength,
            parameters: projections, output: output, backtest: nil, warnings: warnings)
    }
}
