import CARBSMessaging
import Foundation

/// What one training run came to: the content of the `result` message plus what the worker saw of the run.
public struct TrainerOutcome: Sendable, Hashable {
    /// `success`, `failure` (the hyperparameters' fault) or `lost` (not their fault: retry elsewhere).
    public var status: WorkerMessage.Status
    /// The objective value; required (and finite) for `success`.
    public var output: Double?
    /// The cost of the run (by default its wall-clock seconds); required (finite, > 0) for `success`.
    public var cost: Double?
    /// Extra numbers the trainer reported.
    public var metrics: [String: Double]?
    /// Human text: the error of a failed run, why a run was lost.
    public var message: String?
    /// When the run started.
    public var startedAt: Date
    /// When the run finished (or was given up).
    public var finishedAt: Date
    /// The trainer process's exit code, when it exited normally.
    public var exitCode: Int32?
    /// The last bytes the trainer wrote to stdout (at most `TrainerCommand.outputLimitBytes`).
    public var standardOutputTail: String
    /// The last bytes the trainer wrote to stderr (at most `TrainerCommand.outputLimitBytes`).
    public var standardErrorTail: String

    /// Creates an outcome.
    public init(
        status: WorkerMessage.Status, output: Double? = nil, cost: Double? = nil, metrics: [String: Double]? = nil,
        message: String? = nil, startedAt: Date, finishedAt: Date, exitCode: Int32? = nil,
        standardOutputTail: String = "", standardErrorTail: String = ""
    ) {
        self.status = status
        self.output = output
        self.cost = cost
        self.metrics = metrics
        self.message = message
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.standardOutputTail = standardOutputTail
        self.standardErrorTail = standardErrorTail
    }

    /// True when the run finished with a usable output.
    public var isSuccess: Bool { status == .success }

    /// The wall-clock seconds between `startedAt` and `finishedAt`.
    public var wallClockSeconds: Double { finishedAt.timeIntervalSince(startedAt) }
}
