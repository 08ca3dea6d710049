import CARBSMessaging
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs an external trainer command for one suggestion at a time, never through a shell.
///
/// The trainer is started with `posix_spawn` in a process group of its own, so a timeout, `abort()` or task
/// cancellation stops it together with everything it started (SIGTERM to the group, SIGKILL after the grace
/// period). Its pipes are read and its exit is awaited on a dedicated thread: Swift's cooperative pool is never
/// blocked, however long the run.
///
/// The trainer sees its parameters three ways: `{name}` placeholders in its arguments, the environment
/// (`CARBS_PARAMS`, `CARBS_PARAM_<NAME>`, `CARBS_SUGGESTION_ID`, `CARBS_STUDY`, `CARBS_ATTEMPT`) and reports
/// its result through the file named by `CARBS_RESULT_FILE` or as the last JSON line with an `output` field on
/// stdout. How the run maps to a status:
///
/// | What happened                                              | Status    |
/// |------------------------------------------------------------|-----------|
/// | exit 0 with a report (`status` defaults to `success`)      | as reported; a non-finite `output` is a failure |
/// | exit 0 without a report                                    | failure   |
/// | exit code in `lostExitCodes` (default 75)                  | lost      |
/// | any other exit code (message: the stderr tail)             | failure   |
/// | killed by SIGTERM, SIGINT or SIGHUP from elsewhere         | lost      |
/// | killed by another signal (SIGKILL of the OOM killer, SIGSEGV) | failure |
/// | ran past its timeout                                       | failure ("timed out after N s") |
/// | `abort()` or task cancellation                             | lost      |
/// | the program could not be started                           | lost (not the hyperparameters' fault) |
public final class TrainerRunner: Sendable {
    /// The command every run starts.
    public let command: TrainerCommand
    private let logger: Logger
    private let inheritedEnvironment: [String: String]
    private let runs = Mutex<[ObjectIdentifier: RunControl]>([:])

    /// How much of stderr becomes the message of a failed run.
    static let messageTailBytes = 2048
    /// The largest result file read.
    static let resultFileLimit = 16 << 20

    /// Creates a runner.
    /// - Parameters:
    ///   - command: The trainer command.
    ///   - environment: The environment the trainer inherits (default: the worker's).
    ///   - logger: Receives the trainer's output (stdout at debug, stderr at info, size-capped) and the runner's
    ///     own notes, with `suggestion.id` metadata.
    public init(
        command: TrainerCommand, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "carbs.trainer")
    ) {
        self.command = command
        self.inheritedEnvironment = environment
        self.logger = logger
    }

    /// Runs the trainer for `suggestion` and waits for it.
    ///
    /// Cancelling the calling task stops the trainer (its whole process group) and returns a `lost` outcome.
    /// - Parameters:
    ///   - suggestion: The point to train.
    ///   - timeout: The longest the run may take; `nil` uses the suggestion's `timeout_seconds` (none if ≤ 0).
    /// - Returns: The outcome; never throws: every problem is an outcome with a message.
    public func run(_ suggestion: SuggestionMessage, timeout: Duration? = nil) async -> TrainerOutcome {
        var logger = self.logger
        logger[metadataKey: "suggestion.id"] = "\(suggestion.suggestionID)"
        logger[metadataKey: "attempt"] = "\(suggestion.attempt)"
        let timeout = timeout ?? (suggestion.timeoutSeconds > 0 ? .seconds(suggestion.timeoutSeconds) : nil)
        let startedAt = Date()
        guard !Task.isCancelled else {
            return TrainerOutcome(
                status: .lost, message: "cancelled before the trainer started", startedAt: startedAt,
                finishedAt: Date())
        }

        let directory: String
        let spawned: ChildProcess.Spawned
        do {
            directory = try Self.makeTemporaryDirectory()
            do {
                let invocation = try TrainerInvocation(
                    command: command, suggestion: suggestion, inherited: inheritedEnvironment,
                    resultFile: directory + "/result.json")
                spawned = try await Self.spawn(invocation)
                logger.info(
                    "trainer started",
                    metadata: ["pid": "\(spawned.pid)", "arguments": "\(invocation.arguments)"])
            } catch {
                Self.removeTemporaryDirectory(directory)
                throw error
            }
        } catch {
            logger.error("cannot start the trainer: \(error)")
            return TrainerOutcome(
                status: .lost, message: "cannot start the trainer: \(error)", startedAt: startedAt, finishedAt: Date())
        }
        defer { Self.removeTemporaryDirectory(directory) }

        let control = RunControl()
        let key = ObjectIdentifier(control)
        runs.withLock { $0[key] = control }
        defer { _ = runs.withLock { $0.removeValue(forKey: key) } }

        let threadLogger = logger
        let record = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ProcessRecord, Never>) in
                let command = self.command
                let thread = Thread {
                    let record = ChildProcess.watch(
                        spawned, command: command, timeout: timeout, control: control, logger: threadLogger)
                    continuation.resume(returning: record)
                }
                thread.name = "carbs-trainer-\(spawned.pid)"
                thread.start()
            }
        } onCancel: {
            control.requestStop(.cancelled)
        }

        let finishedAt = Date()
        let outcome = Self.outcome(
            of: record, resultFile: Self.readResultFile(directory + "/result.json"),
            lostExitCodes: command.lostExitCodes, startedAt: startedAt, finishedAt: finishedAt)
        logger.info(
            "trainer finished",
            metadata: [
                "status": "\(outcome.status.rawValue)", "output": "\(outcome.output.map { "\($0)" } ?? "-")",
                "seconds": "\(record.elapsed)", "message": "\(outcome.message ?? "")",
            ])
        return outcome
    }

    /// Starts the process, retrying a few times on `ETXTBSY`: an executable that was just written can stay "busy"
    /// for a moment while a process forked elsewhere in the worker still holds the writer's descriptor (until
    /// that child's `exec` closes it).
    private static func spawn(_ invocation: TrainerInvocation) async throws(Error) -> ChildProcess.Spawned {
        var attempt = 0
        while true {
            do {
                return try ChildProcess.spawn(invocation)
            } catch  where error.systemError == ETXTBSY && attempt < 10 {
                attempt += 1
                try? await Task.sleep(for: .milliseconds(10 * attempt))
            }
        }
    }

    /// Stops every run of this runner now (SIGTERM to each trainer's process group, SIGKILL after the grace
    /// period); each reports `lost`.
    public func abort() {
        runs.withLock { runs in
            for control in runs.values { control.requestStop(.aborted) }
        }
    }

    // MARK: - Result

    /// What the result file held.
    enum ResultFile: Sendable, Hashable {
        case absent
        case invalid(String)
        case report(TrainerReport)
    }

    static func readResultFile(_ path: String) -> ResultFile {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return .absent }
        guard Int(info.st_size) <= resultFileLimit else {
            return .invalid("the result file is larger than \(resultFileLimit) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .invalid("the result file cannot be read")
        }
        guard let report = TrainerReport.parse(data) else {
            let start = String(decoding: data.prefix(200), as: UTF8.self)
            return .invalid("the result file is not a JSON object: \(start)")
        }
        return .report(report)
    }

    /// Maps what happened to the run to its outcome (see the table on `TrainerRunner`).
    static func outcome(
        of record: ProcessRecord, resultFile: ResultFile, lostExitCodes: Set<Int32>, startedAt: Date,
        finishedAt: Date
    ) -> TrainerOutcome {
        var outcome = TrainerOutcome(
            status: .failure, startedAt: startedAt, finishedAt: finishedAt,
            standardOutputTail: record.standardOutputTail, standardErrorTail: record.standardErrorTail)
        if case .exited(let code) = record.termination { outcome.exitCode = code }
        let wallClock = max(Self.seconds(record.elapsed), 1e-6)
        let stderrTail = Self.messageTail(record.standardErrorTail)

        switch record.stopReason {
        case .timedOut(let timeout)?:
            outcome.message = "timed out after \(Self.secondsText(timeout)) s"
            return outcome
        case .aborted?:
            outcome.status = .lost
            outcome.message = "aborted"
            return outcome
        case .cancelled?:
            outcome.status = .lost
            outcome.message = "cancelled"
            return outcome
        case nil:
            break
        }

        switch record.termination {
        case .exited(let code) where lostExitCodes.contains(code):
            outcome.status = .lost
            outcome.message = "exit code \(code) (lost)" + (stderrTail.isEmpty ? "" : ": \(stderrTail)")
            return outcome
        case .exited(let code) where code != 0:
            outcome.message = "exit code \(code)" + (stderrTail.isEmpty ? "" : ": \(stderrTail)")
            return outcome
        case .signalled(let signal):
            let external = [SIGTERM, SIGINT, SIGHUP].contains(signal)
            outcome.status = external ? .lost : .failure
            outcome.message = "killed by signal \(signal)" + (stderrTail.isEmpty ? "" : ": \(stderrTail)")
            return outcome
        case .unknown:
            outcome.status = .lost
            outcome.message = "the trainer's exit status is unknown (reaped elsewhere)"
            return outcome
        case .exited:
            break
        }

        let report: TrainerReport
        switch resultFile {
        case .invalid(let problem):
            outcome.message = problem
            return outcome
        case .report(let fromFile):
            report = fromFile
        case .absent:
            guard let fromStdout = record.lastReport else {
                outcome.message =
                    "the trainer exited 0 without a result: no result file at CARBS_RESULT_FILE and no JSON line "
                    + "with an \"output\" field on stdout"
                return outcome
            }
            report = fromStdout
        }
        return Self.apply(report, to: outcome, wallClock: wallClock)
    }

    private static func apply(_ report: TrainerReport, to base: TrainerOutcome, wallClock: Double) -> TrainerOutcome {
        var outcome = base
        outcome.metrics = report.metrics.isEmpty ? nil : report.metrics
        outcome.message = report.message
        if let output = report.output, output.isFinite { outcome.output = output }
        var notes: [String] = []
        if let cost = report.cost, cost.isFinite, cost > 0 {
            outcome.cost = cost
        } else {
            if let cost = report.cost { notes.append("reported cost \(cost) ignored (must be finite and > 0)") }
            outcome.cost = wallClock
        }

        switch report.status ?? "success" {
        case "success":
            if let output = report.output, output.isFinite {
                outcome.status = .success
            } else {
                outcome.status = .failure
                let shown = report.output.map { String($0) } ?? report.invalidOutput ?? "missing"
                notes.insert("output \(shown) is not a finite number", at: 0)
            }
        case "failure":
            outcome.status = .failure
        case "lost":
            outcome.status = .lost
        case let other:
            outcome.status = .failure
            notes.insert("unknown status \"\(other)\" (use success, failure or lost)", at: 0)
        }
        if !notes.isEmpty {
            outcome.message = (notes + [outcome.message].compactMap { $0 }).joined(separator: "; ")
        }
        return outcome
    }

    private static func messageTail(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes = Array(trimmed.utf8)
        guard bytes.count > messageTailBytes else { return trimmed }
        return "…" + String(decoding: bytes.suffix(messageTailBytes), as: UTF8.self)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// `90`, `2.5`: whole seconds without a fraction.
    static func secondsText(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? String(seconds) : String(Self.seconds(duration))
    }

    // MARK: - Temporary directory

    private static func makeTemporaryDirectory() throws(Error) -> String {
        var base = NSTemporaryDirectory()
        if base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/carbs-trainer-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw Error(.temporaryDirectory, "cannot make a directory under \(base)", systemError: errno)
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func removeTemporaryDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
