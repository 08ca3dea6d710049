/// How to run an external trainer for one suggestion: a program and its arguments, never a shell command line.
///
/// Every `{name}` in any argument (including the program) is replaced by the value of the parameter `name`:
/// integers as integers (`64`), reals in Swift's round-trippable decimal form (`0.0012`, `1e-07`, `100.0`).
/// A `{word}` that names no parameter stays as it is. Substituted values are data: they become (part of) one
/// argument each and are never interpreted by a shell.
///
/// ```swift
/// let command = TrainerCommand(arguments: ["python3", "train.py", "--lr={learning_rate}", "--hidden={hidden_dim}"])
/// ```
public struct TrainerCommand: Sendable, Hashable {
    /// The program (`arguments[0]`, looked up in `PATH` when it contains no `/`) and its arguments.
    public var arguments: [String]
    /// The trainer's working directory; `nil` keeps the worker's.
    public var workingDirectory: String?
    /// Variables added to (or replacing) the inherited environment. The `CARBS_*` variables win over these.
    public var environment: [String: String]
    /// Exit codes that mean "lost, not the hyperparameters' fault" (default: 75, `EX_TEMPFAIL`).
    public var lostExitCodes: Set<Int32>
    /// How many bytes of each of stdout and stderr are kept (the tail) and written to the log.
    public var outputLimitBytes: Int
    /// How long a trainer asked to stop (timeout, abort, cancellation) gets between SIGTERM and SIGKILL.
    public var terminationGracePeriod: Duration

    /// Creates a trainer command.
    /// - Parameters:
    ///   - arguments: The program and its arguments; must not be empty.
    ///   - workingDirectory: The trainer's working directory; `nil` keeps the worker's.
    ///   - environment: Variables added to the inherited environment.
    ///   - lostExitCodes: Exit codes reported as `lost` rather than `failure`.
    ///   - outputLimitBytes: The tail of stdout and of stderr kept in memory and in the log, each.
    ///   - terminationGracePeriod: Time between SIGTERM and SIGKILL when the run is stopped.
    public init(
        arguments: [String], workingDirectory: String? = nil, environment: [String: String] = [:],
        lostExitCodes: Set<Int32> = [75], outputLimitBytes: Int = 1 << 20,
        terminationGracePeriod: Duration = .seconds(5)
    ) {
        precondition(!arguments.isEmpty, "a trainer command needs at least a program")
        precondition(outputLimitBytes >= 0, "outputLimitBytes must not be negative")
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.lostExitCodes = lostExitCodes
        self.outputLimitBytes = outputLimitBytes
        self.terminationGracePeriod = terminationGracePeriod
    }
}
