import ArgumentParser
import CARBSAMQP
import CARBSCore
import CARBSService
import CARBSWorker
import Foundation
import Logging

/// Logging flags shared by the commands.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "notice"

    func makeLogger(label: String) -> Logger {
        var logger = Logger(label: label) { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .notice
        return logger
    }
}

/// Sets how many threads the optimizer's linear algebra uses: `CARBS_NUMERIC_THREADS`, default 1. One thread
/// keeps a study reproducible bit for bit and avoids OpenBLAS threads spinning against the workers on the same
/// cores; an optimizer with cores of its own at thousands of observations may use more.
func configureNumericThreads() {
    let requested = ProcessInfo.processInfo.environment["CARBS_NUMERIC_THREADS"].flatMap { Int($0) } ?? 1
    NumericThreads.set(max(1, requested))
}

/// Loads a study file, turning its problems into a clean command-line error.
func loadStudy(_ path: String) throws -> StudyFile {
    do {
        return try StudyFile.load(path: path)
    } catch {
        throw CleanExit.message(error.description, code: ExitCode(65))
    }
}

/// An error message for the user, then exit with a code (no stack of Swift error text).
enum CleanExit {
    static func message(_ text: String, code: ExitCode) -> Error {
        FileHandle.standardError.write(Data(("carbs: " + text + "\n").utf8))
        return code
    }
}

/// The broker URL from `--broker` or `CARBS_BROKER_URL` (credentials are never printed).
func brokerURL(_ option: String?) throws -> BrokerURL {
    guard let text = option ?? ProcessInfo.processInfo.environment["CARBS_BROKER_URL"], !text.isEmpty else {
        throw CleanExit.message(
            "no broker: set CARBS_BROKER_URL (e.g. amqp://user:password@host:5672/vhost) or pass --broker",
            code: ExitCode(64))
    }
    do {
        return try BrokerURL(text)
    } catch {
        throw CleanExit.message("the broker URL is not valid: \(error)", code: ExitCode(64))
    }
}

extension StudyFile {
    /// The optimizer service's settings from the study file.
    var serviceConfiguration: OptimizerService.Configuration {
        OptimizerService.Configuration(
            study: name, maxInFlight: maxInFlight, maxObservations: budget.maxObservations,
            maxTotalCost: budget.maxTotalCost, leaseSeconds: leaseSeconds, timeoutSeconds: timeoutSeconds,
            maxAttempts: maxAttempts)
    }
}

/// The trainer a study file names.
func makeTrainer(_ spec: StudyFile.TrainerSpec?, study: StudyFile?, logger: Logger) throws -> any Trainer {
    switch spec {
    case .command(let arguments, let directory, let environment, let lost):
        return CommandTrainer(
            command: TrainerCommand(
                arguments: arguments, workingDirectory: directory, environment: environment, lostExitCodes: Set(lost)),
            logger: logger)
    case .builtin(let name, let cost):
        if name == MLPTrainer.name { return MLPTrainer(cost: cost ?? .seconds) }
        guard let trainer = BuiltinTrainer(name: name), cost == nil else {
            throw CleanExit.message(
                cost != nil && BuiltinTrainer(name: name) != nil
                    ? "trainer.cost: only \(MLPTrainer.name) takes a cost setting"
                    : "trainer.builtin: \"\(name)\" is not a built-in trainer (known: \((BuiltinTrainer.names + [MLPTrainer.name]).joined(separator: ", ")))",
                code: ExitCode(65))
        }
        return trainer
    case nil:
        throw CleanExit.message("the study file has no trainer section (command or builtin)", code: ExitCode(65))
    }
}

/// Opens (or creates) the study database.
func openPersistence(path: String, study: StudyFile) throws -> SQLiteStudyPersistence {
    do {
        return try SQLiteStudyPersistence(path: path, study: study.name, configuration: study.fingerprint)
    } catch {
        throw CleanExit.message("cannot open the study database \(path): \(error)", code: ExitCode(74))
    }
}

extension StudyFile {
    /// What is saved with the study so that a later start can tell it is the same study.
    var fingerprint: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(Fingerprint(name: name, configuration: configuration, parameters: parameters))) ?? Data()
    }

    private struct Fingerprint: Encodable {
        var name: String
        var configuration: CARBSConfiguration
        var parameters: [Parameter]
    }
}
