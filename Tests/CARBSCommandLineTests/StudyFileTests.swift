import CARBSCore
import Foundation
import Testing
@testable import CARBSCommandLine

@Suite("Study files")
struct StudyFileTests {
    static let valid = """
        name: mlp-demo
        direction: minimize
        parameters:
          learning_rate: {space: log, min: 1.0e-5, max: 1, center: 1.0e-3}
          hidden_dim: {space: log, min: 4, max: 512, integer: true, center: 32}
          dropout: {space: logit, center: 0.1, scale: 0.5}
        budget: {max_observations: 100, max_total_cost: 3600}
        max_in_flight: 16
        lease_seconds: 60
        optimizer:
          seed: 7
          resample_frequency: 0
          pending_estimator: mean
          hyperparameters: reference_parity
          max_suggestion_cost: 500
        trainer:
          command: [python3, train.py, --lr, "{learning_rate}"]
          working_directory: scripts
          lost_exit_codes: [75, 99]
        """

    func problems(_ yaml: String) -> [String] {
        do {
            _ = try StudyFile.parse(yaml: yaml)
            return []
        } catch {
            return error.problems
        }
    }

    @Test("a valid file sets every field, with defaults for the rest")
    func valid() throws {
        let study = try StudyFile.parse(yaml: Self.valid, baseDirectory: "/studies")
        #expect(study.name == "mlp-demo")
        #expect(study.configuration.direction == .minimize)
        #expect(study.parameters.map(\.name) == ["learning_rate", "hidden_dim", "dropout"])
        #expect(study.parameters[1].space == .log(min: 4, max: 512, integer: true))
        #expect(study.parameters[2].space.kind == .logit && study.parameters[2].space.scale == 0.5)
        #expect(study.budget == .init(maxObservations: 100, maxTotalCost: 3600))
        #expect(study.maxInFlight == 16 && study.leaseSeconds == 60)
        #expect(study.timeoutSeconds == 3600 && study.maxAttempts == 3)
        #expect(study.configuration.seed == 7)
        #expect(study.configuration.resampleFrequency == 0)
        #expect(study.configuration.pendingEstimator == .mean)
        #expect(study.configuration.hyperparameterMode == .referenceParity)
        #expect(study.configuration.maxSuggestionCost == 500)
        #expect(study.configuration.numRandomSamples == 4)
        guard case .command(let arguments, let directory, _, let lost) = study.trainer else {
            Issue.record("expected a command trainer")
            return
        }
        #expect(arguments == ["python3", "train.py", "--lr", "{learning_rate}"])
        #expect(directory == "/studies/scripts")
        #expect(lost == [75, 99])
    }

    @Test("the search settings of the optimizer section are read")
    func searchSettings() throws {
        let yaml = Self.valid.replacingOccurrences(
            of: "seed: 7",
            with: """
                seed: 7
                  cost_strata_share: 0.5
                  stratum_exploration_bias: 0.25
                  radius_spread: 2
                  random_phase_widening: 0
                  adaptive_search_radius: false
                  max_model_points: 500
                  refit_interval: 5
                  refit_fraction: 0.01
                """)
        let configuration = try StudyFile.parse(yaml: yaml).configuration
        #expect(configuration.costStrataShare == 0.5 && configuration.stratumExplorationBias == 0.25)
        #expect(configuration.radiusSpread == 2 && configuration.randomPhaseWidening == 0)
        #expect(!configuration.adaptiveSearchRadius && configuration.maxModelPoints == 500)
        #expect(configuration.refitInterval == 5 && configuration.refitFraction == 0.01)
        // Left out, they keep the library's defaults.
        let defaults = try StudyFile.parse(yaml: Self.valid).configuration
        #expect(defaults.costStrataShare == CARBSConfiguration(direction: .minimize).costStrataShare)
    }

    @Test("a mistake names its path, the value and what is allowed")
    func pathValueAllowed() {
        let yaml = Self.valid.replacingOccurrences(of: "{space: log, min: 4,", with: "{space: log, min: -3,")
        #expect(problems(yaml) == ["parameters.hidden_dim.min: -3 is not allowed for a log space (must be > 0)"])
    }

    @Test("every mistake is reported at once", arguments: [
        ("max_in_flight: 16", "max_in_flight: 0", "max_in_flight: 0 is not allowed (must be ≥ 1)"),
        ("direction: minimize", "direction: down", "direction: \"down\" is not allowed (minimize or maximize)"),
        ("name: mlp-demo", "name: mlp demo!", "name: study name \"mlp demo!\" is not allowed"),
        ("seed: 7", "seed: seven", "optimizer.seed: \"seven\" is not a whole number"),
        ("pending_estimator: mean", "pending_estimator: median", "optimizer.pending_estimator: \"median\" is not allowed (thompson or mean)"),
        ("lease_seconds: 60", "lease_secs: 60", "lease_secs: is not a known setting"),
        ("{space: logit, center: 0.1", "{space: logit, center: 1.5", "parameters.dropout.center: 1.5 is not allowed for a logit space"),
        ("seed: 7", "seed: 7\n  radius_spread: 0.5", "optimizer.radius_spread: 0.5 is not allowed (must be ≥ 1)"),
        ("seed: 7", "seed: 7\n  cost_strata_share: 2", "optimizer.cost_strata_share: 2.0 is not allowed (must be in [0, 1])"),
        ("seed: 7", "seed: 7\n  refit_interval: 0", "optimizer.refit_interval: 0"),
        ("seed: 7", "seed: 7\n  refit_fraction: 0.9", "optimizer.refit_fraction: 0.9 is not allowed (must be in [0, 0.5])"),
    ])
    func mistakes(original: String, replacement: String, expected: String) {
        let found = problems(Self.valid.replacingOccurrences(of: original, with: replacement))
        #expect(found.contains { $0.hasPrefix(expected) }, "\(found)")
    }

    @Test("several mistakes come together, and a missing budget is one")
    func several() {
        let yaml = """
            name: x
            direction: minimize
            parameters:
              a: {space: log, min: 0, center: 1}
              b: {space: cubic, center: 1}
            max_in_flight: -1
            """
        let found = problems(yaml)
        #expect(found.count == 4, "\(found)")
        #expect(found.contains("parameters.b.space: \"cubic\" is not allowed (linear, log or logit)"))
        #expect(found.contains { $0.hasPrefix("budget:") })
        #expect(found.contains { $0.hasPrefix("max_in_flight: -1") })
        #expect(found.contains("parameters.a.min: 0 is not allowed for a log space (must be > 0)"))
    }

    /// Found by reading the reader while writing its fuzz target (issue 11): `Int32(_:)` trapped on a lost exit
    /// code beyond Int32's range, so `carbs` crashed on this file instead of naming the mistake.
    @Test("a lost exit code that is not an exit status is a problem, not a crash", arguments: ["4294967296", "256"])
    func lostExitCodeOutOfRange(code: String) {
        let found = problems(Self.valid.replacingOccurrences(of: "[75, 99]", with: "[75, \(code)]"))
        #expect(found == ["trainer.lost_exit_codes[1]: \(code) is not allowed (must be ≤ 255)"], "\(found)")
        #expect(problems(Self.valid.replacingOccurrences(of: "[75, 99]", with: "[75, 255]")) == [])
    }

    /// Found by fuzz-study-file (issue 11): an empty name was accepted, and the study's queues would have been
    /// `carbs..suggestions` and `carbs..results`.
    @Test("an empty study name is a problem", arguments: ["name: \"\"", "name:", "name: !!str"])
    func emptyName(line: String) {
        let found = problems(Self.valid.replacingOccurrences(of: "name: mlp-demo", with: line))
        #expect(found.count == 1 && found[0].hasPrefix("name: study name \"\" is not allowed"), "\(found)")
    }

    @Test("not YAML, or not a mapping, is a clear error")
    func notYAML() {
        #expect(problems("name: [unclosed").first?.hasPrefix("the file is not valid YAML") == true)
        #expect(problems("- a\n- b").first == "the top level: must be a mapping (key: value lines)")
    }

    @Test("the example study files are valid")
    func examples() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for name in ["mlp.yaml", "branin.yaml", "command.yaml"] {
            let study = try StudyFile.load(path: root.appendingPathComponent("Config/examples/\(name)").path)
            #expect(study.trainer != nil, "\(name)")
        }
    }
}
