import CARBSCore
import CARBSDemo
import Foundation

/// A study as described in a YAML study file: what to tune, how, with what budget and which trainer.
///
/// ```yaml
/// name: mlp-demo
/// direction: minimize
/// parameters:
///   learning_rate: {space: log, min: 1.0e-5, max: 1, center: 1.0e-3}
///   hidden_dim: {space: log, min: 4, max: 512, integer: true, center: 32}
/// budget: {max_observations: 100}
/// max_in_flight: 8
/// trainer:
///   command: [python3, train.py, --lr, "{learning_rate}", --width, "{hidden_dim}"]
/// ```
public struct StudyFile: Sendable, Hashable {
    /// When the study stops issuing suggestions.
    public struct Budget: Sendable, Hashable, Codable {
        public var maxObservations: Int?
        public var maxTotalCost: Double?

        public init(maxObservations: Int? = nil, maxTotalCost: Double? = nil) {
            self.maxObservations = maxObservations
            self.maxTotalCost = maxTotalCost
        }
    }

    /// How workers train a suggestion.
    public enum TrainerSpec: Sendable, Hashable {
        /// An external command, never run through a shell; `{name}` placeholders take parameter values.
        case command(arguments: [String], workingDirectory: String?, environment: [String: String], lostExitCodes: [Int32])
        /// A trainer built into `carbs` (a benchmark problem such as `branin_cost`, or `builtin-mlp`); `cost`
        /// (`builtin-mlp` only) chooses measured seconds or the deterministic multiply-add count.
        case builtin(name: String, cost: MLPTraining.CostMeasure? = nil)
    }

    /// Where a study's earlier runs come from: `warm_start: {db: earlier.sqlite}`.
    public struct WarmStart: Sendable, Hashable {
        /// The earlier study's database (relative paths resolved against the study file's directory).
        public var database: String
        /// Values for parameters the earlier runs did not have.
        public var fixedValues: [String: Double]

        public init(database: String, fixedValues: [String: Double] = [:]) {
            self.database = database
            self.fixedValues = fixedValues
        }
    }

    public var name: String
    public var configuration: CARBSConfiguration
    public var parameters: [Parameter]
    public var budget: Budget
    public var maxInFlight: Int
    public var leaseSeconds: Int
    public var timeoutSeconds: Int
    public var maxAttempts: Int
    public var trainer: TrainerSpec?
    /// Earlier runs the study starts from, when it names a study database to warm-start from.
    public var warmStart: WarmStart? = nil
    /// Settings that work but probably surprise.
    public var warnings: [String]

    /// Reads and validates a study file.
    /// - Throws: `StudyFileError` listing every mistake with its path, value and what is allowed.
    public static func load(path: String) throws(StudyFileError) -> StudyFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw StudyFileError(problems: ["\(path): cannot be read (\(error.localizedDescription))"])
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, baseDirectory: directory)
    }

    /// Parses and validates study-file text; relative trainer working directories resolve against
    /// `baseDirectory`.
    public static func parse(yaml: String, baseDirectory: String = ".") throws(StudyFileError) -> StudyFile {
        var reader = StudyFileReader(baseDirectory: baseDirectory)
        let study = reader.read(yaml)
        guard reader.problems.isEmpty, let study else {
            throw StudyFileError(problems: reader.problems.isEmpty ? ["the study file is empty"] : reader.problems)
        }
        return study
    }
}

/// Everything wrong with a study file, one line per mistake.
public struct StudyFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        (["the study file has \(problems.count) problem\(problems.count == 1 ? "" : "s"):"]
            + problems.map { "  " + $0 }).joined(separator: "\n")
    }
}
