import CARBSCore
import CARBSReport
import Foundation

/// The next rung of the ladder: a study file centred on an extrapolation's values, with a search radius matched
/// to its intervals, the user's budget, and a warm start from the study it was extrapolated from.
struct NextStudyFile {
    /// The new study's name.
    var name: String
    var configuration: CARBSConfiguration
    var parameters: [Parameter]
    var extrapolation: Extrapolation
    var budget: StudyFile.Budget
    /// The earlier study's database (absolute), which the new study warm-starts from.
    var warmStartDatabase: String
    /// How many observations that database holds (for the file's comment).
    var warmStartCount: Int
    /// How many of those succeeded: the optimizer counts them towards `num_random_samples`.
    var warmStartSuccessCount: Int
    /// How many of the new study's first runs sample around the extrapolated centers (CARBS's random phase)
    /// before the acquisition takes over.
    var samplesAroundCenter: Int
    /// The earlier study's file, when given: its trainer and fleet settings are copied.
    var base: StudyFile?

    /// A 90% interval's half-width is 1.645 standard deviations of a normal; the search radius is the standard
    /// deviation of the steps candidates take.
    static let halfWidthsPerRadius = 1.645
    /// The radius stays within these bounds (basic units).
    static let radiusRange = 0.05...1.0

    /// The search radius: the widest interval among the parameters, as a half-width in basic units divided by
    /// `halfWidthsPerRadius`, kept within `radiusRange`.
    var searchRadius: Double {
        Double(Self.shortNumber(unroundedSearchRadius))!
    }

    private var unroundedSearchRadius: Double {
        var widest = 0.0
        for (parameter, projection) in zip(parameters, extrapolation.parameters) {
            let space = parameter.space
            let low = space.basic(fromParameter: projection.interval.lower)
            let high = space.basic(fromParameter: projection.interval.upper)
            guard low.isFinite, high.isFinite else { continue }
            widest = max(widest, abs(high - low) / 2 / Self.halfWidthsPerRadius)
        }
        return min(max(widest, Self.radiusRange.lowerBound), Self.radiusRange.upperBound)
    }

    /// The new study's parameters: the same spaces, centred on the extrapolated values (moved just inside a
    /// bound they reach, since a center must lie strictly inside).
    var centredParameters: [Parameter] {
        zip(parameters, extrapolation.parameters).map { parameter, projection in
            var centred = parameter
            let space = parameter.space
            let bounds = space.basicBounds
            var basic = space.basic(fromParameter: projection.value)
            if !space.contains(basic: basic) {
                let margin = 1e-3 * (bounds.upper - bounds.lower).clampedFinite(fallback: 1)
                basic = min(max(basic, bounds.lower + margin), bounds.upper - margin)
            }
            centred.center = space.rounded(parameter: space.parameter(fromBasic: basic))
            return centred
        }
    }

    /// The study file's text.
    var yaml: String {
        let n = Self.number
        let short = Self.shortNumber
        let radius = searchRadius
        let percent = "\(Int((extrapolation.level * 100).rounded()))%"
        var lines = [
            "# Written by `carbs extrapolate` from study \(extrapolation.study) at cost \(n(extrapolation.cost)) "
                + "(\(String(format: "%.1f", extrapolation.ratio))× its dearest run).",
            "# Centers: the extrapolated values. initial_search_radius \(short(radius)): the widest \(percent) interval "
                + "in basic units, as a half-width / \(Self.halfWidthsPerRadius).",
            "# warm_start: the \(warmStartCount) observations of \(warmStartDatabase), so the study does not start blind.",
            "# num_random_samples \(warmStartSuccessCount + samplesAroundCenter): the \(warmStartSuccessCount) earlier "
                + "successes count towards it, so the first \(samplesAroundCenter) (or so) runs sample around the centers.",
            "name: \(Self.key(name))",
            "direction: \(configuration.direction.rawValue)",
            "parameters:",
        ]
        for (parameter, projection) in zip(centredParameters, extrapolation.parameters) {
            let space = parameter.space
            var fields = ["space: \(space.kind.rawValue)"]
            if space.kind == .log && space.base != 10 { fields.append("base: \(n(space.base))") }
            if space.scale != 1 { fields.append("scale: \(n(space.scale))") }
            if let min = space.min { fields.append("min: \(n(min))") }
            if let max = space.max { fields.append("max: \(n(max))") }
            if space.isInteger { fields.append("integer: true") }
            if space.isInteger && space.roundingFactor != 1 {
                fields.append("rounding_factor: \(n(space.roundingFactor))")
            }
            fields.append("center: \(n(parameter.center))")
            let note =
                projection.isConstant
                ? "constant along the frontier (its median)"
                : "\(percent) interval \(short(projection.interval.lower)) … \(short(projection.interval.upper))"
                    + (projection.clampedTo.map { "; held at its bound \(short($0)): widen it if the trainer allows" }
                        ?? "")
            lines.append("  \(Self.key(parameter.name)): {\(fields.joined(separator: ", "))}  # \(note)")
        }
        var budgetFields: [String] = []
        if let max = budget.maxObservations { budgetFields.append("max_observations: \(max)") }
        if let cost = budget.maxTotalCost { budgetFields.append("max_total_cost: \(n(cost))") }
        lines.append("budget: {\(budgetFields.joined(separator: ", "))}")
        if let base {
            lines.append("max_in_flight: \(base.maxInFlight)")
            lines.append("lease_seconds: \(base.leaseSeconds)")
            lines.append("timeout_seconds: \(base.timeoutSeconds)")
            lines.append("max_attempts: \(base.maxAttempts)")
        }
        lines.append("optimizer:")
        lines += optimizerLines(radius: radius).map { "  " + $0 }
        if let trainer = base?.trainer {
            lines.append("trainer:")
            lines += Self.trainerLines(trainer).map { "  " + $0 }
        } else {
            lines.append("# trainer: the study database does not record one; add it here (or pass --base OLD.yaml).")
        }
        lines.append("warm_start: {db: \(Self.string(warmStartDatabase))}")
        return lines.joined(separator: "\n") + "\n"
    }

    private func optimizerLines(radius: Double) -> [String] {
        let c = configuration
        let n = Self.number
        // Twice the target cost, so the search can reach it and a little beyond.
        let maxCost = max(2 * extrapolation.cost, c.maxSuggestionCost ?? 0)
        return [
            "seed: \(c.seed)",
            "initial_search_radius: \(n(radius))",
            "max_suggestion_cost: \(n(maxCost))  # twice the target cost",
            "num_random_samples: \(warmStartSuccessCount + samplesAroundCenter)  # see the top",
            "exploration_bias: \(n(c.explorationBias))",
            "num_candidates_per_dim: \(c.numCandidatesPerDim)",
            "resample_frequency: \(c.resampleFrequency)",
            "min_pareto_cost_fraction: \(n(c.minParetoCostFraction))",
            "conservative_pareto: \(c.conservativePareto)",
            "clamp_ei_at_random_pareto_cost: \(c.clampEIAtRandomParetoCost)",
            "pending_estimator: \(c.pendingEstimator.rawValue)",
            "hyperparameters: \(c.hyperparameterMode == .fitted ? "fitted" : "reference_parity")",
            "fit_iterations: \(c.fitIterations)",
            "max_fit_points: \(c.maxFitPoints)",
            "max_model_points: \(c.maxModelPoints)",
            "refit_interval: \(c.refitInterval)",
            "refit_fraction: \(n(c.refitFraction))",
            "cost_strata_share: \(n(c.costStrataShare))",
            "stratum_exploration_bias: \(n(c.stratumExplorationBias))",
            "radius_spread: \(n(c.radiusSpread))",
            "random_phase_widening: \(n(c.randomPhaseWidening))",
            "adaptive_search_radius: \(c.adaptiveSearchRadius)",
        ]
    }

    private static func trainerLines(_ trainer: StudyFile.TrainerSpec) -> [String] {
        switch trainer {
        case .builtin(let name, let cost):
            return ["builtin: \(string(name))"] + (cost.map { ["cost: \($0.rawValue)"] } ?? [])
        case .command(let arguments, let directory, let environment, let lost):
            var lines = ["command: [\(arguments.map(string).joined(separator: ", "))]"]
            if let directory { lines.append("working_directory: \(string(directory))") }
            if !environment.isEmpty {
                lines.append("environment:")
                lines += environment.sorted { $0.key < $1.key }.map { "  \(key($0.key)): \(string($0.value))" }
            }
            lines.append("lost_exit_codes: [\(lost.map { "\($0)" }.joined(separator: ", "))]")
            return lines
        }
    }

    /// Four significant digits, for comments and for values that need no more.
    static func shortNumber(_ value: Double) -> String {
        String(format: "%.4g", value)
    }

    /// A number as YAML reads it back exactly.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }

    /// A double-quoted YAML string (JSON's escaping is valid YAML).
    static func string(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A mapping key: plain when it is made of letters, digits, `_`, `-` and `.`, else quoted.
    static func key(_ text: String) -> String {
        let plain = !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || "_-.".contains($0) }
        return plain ? text : string(text)
    }
}

extension Double {
    fileprivate func clampedFinite(fallback: Double) -> Double {
        isFinite ? self : fallback
    }
}
