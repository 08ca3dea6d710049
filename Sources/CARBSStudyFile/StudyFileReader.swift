import CARBSCore
import CARBSDemo
import CARBSMessaging
import Foundation
import Yams

/// Reads a study file's YAML into a `StudyFile`, collecting every problem with its path instead of stopping at
/// the first.
struct StudyFileReader {
    let baseDirectory: String
    private(set) var problems: [String] = []

    init(baseDirectory: String) {
        self.baseDirectory = baseDirectory
    }

    mutating func read(_ yaml: String) -> StudyFile? {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return nil }
            root = node
        } catch {
            problems.append("the file is not valid YAML: \(error)")
            return nil
        }
        guard let top = mapping(root, "the top level") else { return nil }
        rejectUnknownKeys(
            top, path: "",
            allowed: [
                "name", "direction", "parameters", "budget", "max_in_flight", "lease_seconds", "timeout_seconds",
                "max_attempts", "optimizer", "trainer", "warm_start",
            ])

        let nameText = string(top["name"], "name")
        let name = nameText ?? ""
        if top["name"] == nil { problems.append("name: is required (the study name, [A-Za-z0-9._-], ≤ 100 characters)") }
        // An empty name (`name: ""`, or `name:` alone) is a name too, and not a valid one.
        if let nameText {
            do throws(ProtocolError) {
                try QueueNames.validate(study: nameText)
            } catch {
                problems.append("name: \(error.message)")
            }
        }
        var direction = CARBSConfiguration.Direction.minimize
        if let text = string(top["direction"], "direction") {
            if let parsed = CARBSConfiguration.Direction(rawValue: text) {
                direction = parsed
            } else {
                problems.append("direction: \"\(text)\" is not allowed (minimize or maximize)")
            }
        } else if top["direction"] == nil {
            problems.append("direction: is required (minimize or maximize)")
        }
        var configuration = CARBSConfiguration(direction: direction)
        if let optimizer = top["optimizer"] { readOptimizer(optimizer, into: &configuration) }

        let parameters = readParameters(top["parameters"])
        var budget = StudyFile.Budget()
        if let node = top["budget"], let map = mapping(node, "budget") {
            rejectUnknownKeys(map, path: "budget.", allowed: ["max_observations", "max_total_cost"])
            budget.maxObservations = integer(map["max_observations"], "budget.max_observations", minimum: 1)
            budget.maxTotalCost = number(map["max_total_cost"], "budget.max_total_cost", positive: true)
        }
        if budget.maxObservations == nil && budget.maxTotalCost == nil {
            problems.append("budget: give max_observations, max_total_cost or both (otherwise the study never ends)")
        }
        let maxInFlight = integer(top["max_in_flight"], "max_in_flight", minimum: 1) ?? 8
        let lease = integer(top["lease_seconds"], "lease_seconds", minimum: 3) ?? 120
        let timeout = integer(top["timeout_seconds"], "timeout_seconds", minimum: 1) ?? 3600
        let attempts = integer(top["max_attempts"], "max_attempts", minimum: 1) ?? 3
        var trainer: StudyFile.TrainerSpec?
        if let node = top["trainer"] { trainer = readTrainer(node) }
        let warmStart = top["warm_start"].flatMap { readWarmStart($0) }

        var warnings: [String] = []
        if problems.isEmpty {
            do throws(CARBSError) {
                let optimizer = try CARBSOptimizer(configuration: configuration, parameters: parameters)
                warnings = optimizer.warnings
            } catch {
                problems.append(error.message)
            }
        }
        return StudyFile(
            name: name, configuration: configuration, parameters: parameters, budget: budget,
            maxInFlight: maxInFlight, leaseSeconds: lease, timeoutSeconds: timeout, maxAttempts: attempts,
            trainer: trainer, warmStart: warmStart, warnings: warnings)
    }

    // MARK: - Sections

    private mutating func readParameters(_ node: Node?) -> [Parameter] {
        guard let node else {
            problems.append("parameters: is required (a mapping from parameter name to its space)")
            return []
        }
        guard let map = mapping(node, "parameters") else { return [] }
        if map.count == 0 { problems.append("parameters: at least one parameter is needed") }
        var parameters: [Parameter] = []
        for (keyNode, value) in map {
            let name = keyNode.string ?? "?"
            let path = "parameters.\(name)"
            guard let fields = mapping(value, path) else { continue }
            rejectUnknownKeys(
                fields, path: path + ".",
                allowed: ["space", "min", "max", "scale", "base", "integer", "rounding", "rounding_factor", "center"])
            let kindText = string(fields["space"], path + ".space") ?? "linear"
            guard let kind = ParameterSpace.Kind(rawValue: kindText) else {
                problems.append("\(path).space: \"\(kindText)\" is not allowed (linear, log or logit)")
                continue
            }
            let isInteger = boolean(fields["integer"], path + ".integer") ?? false
            let rounding =
                number(fields["rounding_factor"] ?? fields["rounding"], path + ".rounding_factor", positive: true) ?? 1
            let space = ParameterSpace(
                kind: kind, base: number(fields["base"], path + ".base") ?? 10,
                scale: number(fields["scale"], path + ".scale") ?? 1, min: number(fields["min"], path + ".min"),
                max: number(fields["max"], path + ".max"), isInteger: isInteger, roundingFactor: rounding)
            guard let center = number(fields["center"], path + ".center") else {
                if fields["center"] == nil {
                    problems.append("\(path).center: is required (where the search starts, inside the bounds)")
                }
                continue
            }
            let parameter = Parameter(name: name, space: space, center: center)
            do throws(CARBSError) {
                try parameter.validate(searchRadius: 0.3)
            } catch {
                problems.append(error.message)
                continue
            }
            parameters.append(parameter)
        }
        return parameters
    }

    private mutating func readOptimizer(_ node: Node, into configuration: inout CARBSConfiguration) {
        guard let map = mapping(node, "optimizer") else { return }
        rejectUnknownKeys(
            map, path: "optimizer.",
            allowed: [
                "seed", "num_random_samples", "initial_search_radius", "exploration_bias", "num_candidates_per_dim",
                "resample_frequency", "max_suggestion_cost", "min_pareto_cost_fraction", "conservative_pareto",
                "clamp_ei_at_random_pareto_cost", "pending_estimator", "hyperparameters", "fit_iterations",
                "max_fit_points", "cost_strata_share", "stratum_exploration_bias", "radius_spread",
                "random_phase_widening", "adaptive_search_radius", "max_model_points", "refit_interval",
                "refit_fraction",
            ])
        if let seed = integer(map["seed"], "optimizer.seed", minimum: 0) { configuration.seed = UInt64(seed) }
        if let value = integer(map["num_random_samples"], "optimizer.num_random_samples", minimum: 1) {
            configuration.numRandomSamples = value
        }
        if let value = number(map["initial_search_radius"], "optimizer.initial_search_radius", positive: true) {
            configuration.initialSearchRadius = value
        }
        if let value = number(map["exploration_bias"], "optimizer.exploration_bias") {
            configuration.explorationBias = value
        }
        if let value = integer(map["num_candidates_per_dim"], "optimizer.num_candidates_per_dim", minimum: 1) {
            configuration.numCandidatesPerDim = value
        }
        if let value = integer(map["resample_frequency"], "optimizer.resample_frequency", minimum: 0) {
            configuration.resampleFrequency = value
        }
        if let value = number(map["max_suggestion_cost"], "optimizer.max_suggestion_cost", positive: true) {
            configuration.maxSuggestionCost = value
        }
        if let value = number(map["min_pareto_cost_fraction"], "optimizer.min_pareto_cost_fraction") {
            if value < 0 || value >= 1 {
                problems.append("optimizer.min_pareto_cost_fraction: \(value) is not allowed (must be in [0, 1))")
            } else {
                configuration.minParetoCostFraction = value
            }
        }
        if let value = boolean(map["conservative_pareto"], "optimizer.conservative_pareto") {
            configuration.conservativePareto = value
        }
        if let value = boolean(map["clamp_ei_at_random_pareto_cost"], "optimizer.clamp_ei_at_random_pareto_cost") {
            configuration.clampEIAtRandomParetoCost = value
        }
        if let text = string(map["pending_estimator"], "optimizer.pending_estimator") {
            if let value = CARBSConfiguration.PendingEstimator(rawValue: text) {
                configuration.pendingEstimator = value
            } else {
                problems.append("optimizer.pending_estimator: \"\(text)\" is not allowed (thompson or mean)")
            }
        }
        if let text = string(map["hyperparameters"], "optimizer.hyperparameters") {
            switch text {
            case "fitted": configuration.hyperparameterMode = .fitted
            case "reference_parity", "referenceParity": configuration.hyperparameterMode = .referenceParity
            default:
                problems.append("optimizer.hyperparameters: \"\(text)\" is not allowed (fitted or reference_parity)")
            }
        }
        if let value = integer(map["fit_iterations"], "optimizer.fit_iterations", minimum: 0) {
            configuration.fitIterations = value
        }
        if let value = integer(map["max_fit_points"], "optimizer.max_fit_points", minimum: 8) {
            configuration.maxFitPoints = value
        }
        if let value = number(map["cost_strata_share"], "optimizer.cost_strata_share") {
            if value < 0 || value > 1 {
                problems.append("optimizer.cost_strata_share: \(value) is not allowed (must be in [0, 1])")
            } else {
                configuration.costStrataShare = value
            }
        }
        if let value = number(map["stratum_exploration_bias"], "optimizer.stratum_exploration_bias") {
            configuration.stratumExplorationBias = value
        }
        if let value = number(map["radius_spread"], "optimizer.radius_spread") {
            if value < 1 {
                problems.append("optimizer.radius_spread: \(value) is not allowed (must be ≥ 1)")
            } else {
                configuration.radiusSpread = value
            }
        }
        if let value = number(map["random_phase_widening"], "optimizer.random_phase_widening") {
            if value < 0 || value > 2 {
                problems.append("optimizer.random_phase_widening: \(value) is not allowed (must be in [0, 2])")
            } else {
                configuration.randomPhaseWidening = value
            }
        }
        if let value = integer(map["max_model_points"], "optimizer.max_model_points", minimum: 16) {
            configuration.maxModelPoints = value
        }
        if let value = integer(map["refit_interval"], "optimizer.refit_interval", minimum: 1) {
            configuration.refitInterval = value
        }
        if let value = number(map["refit_fraction"], "optimizer.refit_fraction") {
            if value < 0 || value > 0.5 {
                problems.append("optimizer.refit_fraction: \(value) is not allowed (must be in [0, 0.5])")
            } else {
                configuration.refitFraction = value
            }
        }
        if let value = boolean(map["adaptive_search_radius"], "optimizer.adaptive_search_radius") {
            configuration.adaptiveSearchRadius = value
        }
    }

    private mutating func readTrainer(_ node: Node) -> StudyFile.TrainerSpec? {
        guard let map = mapping(node, "trainer") else { return nil }
        rejectUnknownKeys(
            map, path: "trainer.",
            allowed: ["command", "builtin", "cost", "working_directory", "environment", "lost_exit_codes"])
        var cost: MLPTraining.CostMeasure?
        if let text = string(map["cost"], "trainer.cost") {
            cost = MLPTraining.CostMeasure(rawValue: text)
            if cost == nil { problems.append("trainer.cost: \"\(text)\" is not allowed (seconds or flops)") }
            if map["builtin"] == nil { problems.append("trainer.cost: only a builtin trainer takes it") }
        }
        if let builtin = string(map["builtin"], "trainer.builtin") {
            if map["command"] != nil { problems.append("trainer: give either command or builtin, not both") }
            return .builtin(name: builtin, cost: cost)
        }
        guard let commandNode = map["command"] else {
            problems.append("trainer: needs command (an argument list) or builtin (a built-in trainer's name)")
            return nil
        }
        guard let sequence = commandNode.sequence, sequence.count > 0 else {
            problems.append(
                "trainer.command: must be a non-empty list of arguments, e.g. [python3, train.py, \"{learning_rate}\"] "
                    + "(it is never run through a shell)")
            return nil
        }
        let arguments = sequence.enumerated().compactMap { index, item in
            string(item, "trainer.command[\(index)]")
        }
        var environment: [String: String] = [:]
        if let envNode = map["environment"], let envMap = mapping(envNode, "trainer.environment") {
            for (key, value) in envMap {
                if let k = key.string, let v = string(value, "trainer.environment.\(k)") { environment[k] = v }
            }
        }
        var lost: [Int32] = [75]
        if let codes = map["lost_exit_codes"] {
            if let items = codes.sequence {
                lost = items.enumerated().compactMap { index, item in
                    // An exit status is 0…255; a larger number would never match (and does not fit Int32).
                    integer(item, "trainer.lost_exit_codes[\(index)]", minimum: 1, maximum: 255).map { Int32($0) }
                }
            } else {
                problems.append("trainer.lost_exit_codes: must be a list of exit codes, e.g. [75]")
            }
        }
        var directory = string(map["working_directory"], "trainer.working_directory")
        if let relative = directory, !relative.hasPrefix("/") {
            directory = URL(fileURLWithPath: baseDirectory).appendingPathComponent(relative).standardized.path
        }
        return .command(
            arguments: arguments, workingDirectory: directory ?? baseDirectory, environment: environment,
            lostExitCodes: lost)
    }

    private mutating func readWarmStart(_ node: Node) -> StudyFile.WarmStart? {
        guard let map = mapping(node, "warm_start") else { return nil }
        rejectUnknownKeys(map, path: "warm_start.", allowed: ["db", "fixed_values"])
        guard let path = string(map["db"], "warm_start.db"), !path.isEmpty else {
            problems.append("warm_start.db: is required (the study database whose runs the new study starts from)")
            return nil
        }
        var fixed: [String: Double] = [:]
        if let valuesNode = map["fixed_values"], let values = mapping(valuesNode, "warm_start.fixed_values") {
            for (key, value) in values {
                let name = key.string ?? "?"
                if let number = number(value, "warm_start.fixed_values.\(name)") { fixed[name] = number }
            }
        }
        let resolved = path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardized.path
        return StudyFile.WarmStart(database: resolved, fixedValues: fixed)
    }

    // MARK: - Scalars

    private mutating func mapping(_ node: Node, _ path: String) -> Node.Mapping? {
        guard let map = node.mapping else {
            problems.append("\(path): must be a mapping (key: value lines)")
            return nil
        }
        return map
    }

    private mutating func rejectUnknownKeys(_ map: Node.Mapping, path: String, allowed: Set<String>) {
        for key in map.keys {
            let name = key.string ?? "?"
            if !allowed.contains(name) {
                problems.append("\(path)\(name): is not a known setting (known: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    private mutating func string(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard let scalar = node.scalar else {
            problems.append("\(path): must be a single value")
            return nil
        }
        return scalar.string
    }

    private mutating func number(_ node: Node?, _ path: String, positive: Bool = false) -> Double? {
        guard let text = string(node, path) else { return nil }
        guard let value = Double(text.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            problems.append("\(path): \"\(text)\" is not a number")
            return nil
        }
        if positive && !(value > 0) {
            problems.append("\(path): \(text) is not allowed (must be > 0)")
            return nil
        }
        return value
    }

    private mutating func integer(_ node: Node?, _ path: String, minimum: Int, maximum: Int = .max) -> Int? {
        guard let text = string(node, path) else { return nil }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            problems.append("\(path): \"\(text)\" is not a whole number")
            return nil
        }
        guard value >= minimum else {
            problems.append("\(path): \(value) is not allowed (must be ≥ \(minimum))")
            return nil
        }
        guard value <= maximum else {
            problems.append("\(path): \(value) is not allowed (must be ≤ \(maximum))")
            return nil
        }
        return value
    }

    private mutating func boolean(_ node: Node?, _ path: String) -> Bool? {
        guard let text = string(node, path) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problems.append("\(path): \"\(text)\" is not allowed (true or false)")
            return nil
        }
    }
}
