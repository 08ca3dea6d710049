import CARBSMessaging
import Foundation
import Logging

@testable import CARBSWorker

#if canImport(Glibc)
    import Glibc
#endif

/// A temporary directory holding trainer scripts for one test; removed when the test drops it.
final class ScratchDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "carbs-worker-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes an executable file and returns its path.
    @discardableResult
    func write(_ name: String, _ contents: String, executable: Bool = true) throws -> String {
        // Opened with O_CLOEXEC: a trainer spawned by a concurrent test must not inherit the descriptor, or
        // executing this file would fail with ETXTBSY ("Text file busy").
        let file = path + "/" + name
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, executable ? 0o755 : 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        return file
    }

    /// A python3 trainer script, run as `python3 <script> <extra arguments>`.
    func pythonTrainer(
        _ body: String, arguments: [String] = [], environment: [String: String] = [:],
        lostExitCodes: Set<Int32> = [75], outputLimitBytes: Int = 1 << 20,
        terminationGracePeriod: Duration = .seconds(5), workingDirectory: String? = nil
    ) throws -> TrainerCommand {
        let script = try write("trainer-\(UUID().uuidString.prefix(8)).py", "import json, os, sys, time\n" + body)
        return TrainerCommand(
            arguments: ["python3", script] + arguments, workingDirectory: workingDirectory,
            environment: environment.merging(["SCRATCH": path]) { first, _ in first },
            lostExitCodes: lostExitCodes, outputLimitBytes: outputLimitBytes,
            terminationGracePeriod: terminationGracePeriod)
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: path + "/" + name, encoding: .utf8)
    }

    func readJSON(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// Waits until `name` exists (the trainer got that far); false after `timeout`.
    func waitFor(_ name: String, timeout: Duration = .seconds(60)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: path + "/" + name) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

enum Fixtures {
    static let issuedAt = Date(timeIntervalSince1970: 1_795_000_000)

    static func suggestion(
        id: String = "s-1", attempt: Int = 1,
        params: [String: ParameterValue] = ["learning_rate": .real(0.0012), "hidden_dim": .integer(64)],
        leaseSeconds: Int = 120, timeoutSeconds: Int = 60, study: String = "unit-study"
    ) -> SuggestionMessage {
        SuggestionMessage(
            study: study, suggestionID: id, attempt: attempt, params: params, issuedAt: issuedAt,
            leaseSeconds: leaseSeconds, timeoutSeconds: timeoutSeconds)
    }

    static var logger: Logger {
        var logger = Logger(label: "carbs.worker.tests")
        logger.logLevel = .critical
        return logger
    }
}

/// True when no process `pid` is alive (gone, or a zombie waiting for a reaper that is not us).
func isDead(_ pid: pid_t) -> Bool {
    if kill(pid, 0) != 0 { return errno == ESRCH }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}
