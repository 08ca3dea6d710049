import CARBSMessaging
import Foundation
import Logging

/// Trains one suggestion: an external command (`CommandTrainer`) or an in-process evaluator (a benchmark
/// function, a small demo model).
///
/// The worker sends `started` before calling `train` and heartbeats every `lease_seconds / 3` while it runs;
/// a trainer may send extra ones through `heartbeat`.
public protocol Trainer: Sendable {
    /// Trains `suggestion` and reports how it went.
    ///
    /// Cancellation means "stop now": return a `lost` outcome or throw `CancellationError` (the worker then
    /// reports `lost` when it aborts a run on shutdown, and reports nothing when it was cancelled itself).
    /// Any other error thrown is reported as a `failure` with the error as its message.
    /// - Parameters:
    ///   - suggestion: The point to train.
    ///   - heartbeat: Sends a `heartbeat` message now.
    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome
}

/// Sends a `heartbeat` message for the run in progress.
public struct Heartbeat: Sendable {
    private let send: @Sendable () async -> Void

    /// Creates a heartbeat that runs `send`.
    public init(_ send: @escaping @Sendable () async -> Void) {
        self.send = send
    }

    /// Sends one heartbeat (errors are logged by the worker, not thrown).
    public func callAsFunction() async {
        await send()
    }

    /// A heartbeat that does nothing, for running a trainer outside a worker.
    public static let none = Heartbeat {}
}

/// A `Trainer` that runs an external command for each suggestion (see `TrainerRunner`).
public struct CommandTrainer: Trainer {
    /// The runner that starts the command.
    public let runner: TrainerRunner

    /// Creates a trainer that runs `command`.
    /// - Parameters:
    ///   - command: The trainer command.
    ///   - logger: Receives the trainer's output and the runner's notes.
    public init(command: TrainerCommand, logger: Logger = Logger(label: "carbs.trainer")) {
        runner = TrainerRunner(command: command, logger: logger)
    }

    /// Runs the command; cancellation stops its process group and returns a `lost` outcome.
    public func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async -> TrainerOutcome {
        await runner.run(suggestion)
    }
}
