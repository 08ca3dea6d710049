import CARBSAMQP
import CARBSStore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where the deploy tests find the package's files and the `carbs` binary.
enum DeployEnvironment {
    /// The package's root directory (this file is `Tests/CARBSDeployTests/Support/DeployStudy.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A file under `Deploy/`.
    static func deployFile(_ relativePath: String) -> URL {
        packageRoot.appendingPathComponent("Deploy").appendingPathComponent(relativePath)
    }

    /// The `carbs` executable: `CARBS_EXECUTABLE`, else next to the test binary, else `.build/debug/carbs`.
    static let carbsExecutable: String = {
        if let path = ProcessInfo.processInfo.environment["CARBS_EXECUTABLE"] { return path }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidates = [
            testBinary.deletingLastPathComponent().appendingPathComponent("carbs"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("carbs"),
            packageRoot.appendingPathComponent(".build/debug/carbs"),
        ]
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return (found ?? candidates.last!).path
    }()

    /// Fails unless the `carbs` binary exists (`swift build` makes it).
    static func requireCarbs() throws {
        guard FileManager.default.isExecutableFile(atPath: carbsExecutable) else {
            throw DeployError("the carbs executable is missing at \(carbsExecutable): run `swift build` first")
        }
    }

    /// Runs a command to completion (bounded) and returns its exit status and output.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], in directory: URL,
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String) {
        let log = directory.appendingPathComponent("run-\(UUID().uuidString.prefix(8)).log").path
        let child = try ChildProcess(
            name: (executable as NSString).lastPathComponent, executable: executable, arguments: arguments,
            environment: environment, logPath: log)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: timeout)
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}

/// A tiny study (4 observations of the built-in `branin_cost` trainer) in a temporary directory, and the `carbs`
/// processes that run it. `tearDown()` kills every process still running; call it in a `defer`.
final class DeployStudy {
    let name: String
    let directory: URL
    private(set) var children: [ChildProcess] = []

    var databasePath: String { directory.appendingPathComponent("study.db").path }
    var studyFilePath: String { directory.appendingPathComponent("study.yaml").path }

    init(_ prefix: String, maxObservations: Int = 4) throws {
        name = "deploy-\(prefix)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("carbs-\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let studyFile = """
            name: \(name)
            direction: minimize
            parameters:
              x1: {space: linear, min: -5, max: 10, scale: 5, center: 2.5}
              x2: {space: linear, min: 0, max: 15, scale: 5, center: 7.5}
              steps: {space: log, min: 10, max: 10000, integer: true, center: 100}
            budget:
              max_observations: \(maxObservations)
            max_in_flight: 2
            optimizer:
              seed: 0
            trainer:
              builtin: branin_cost

            """
        try studyFile.write(toFile: studyFilePath, atomically: true, encoding: .utf8)
    }

    /// `carbs optimizer study.yaml --db study.db` with `CARBS_BROKER_URL=url`.
    @discardableResult
    func startOptimizer(url: String, tag: String = "optimizer") throws -> ChildProcess {
        let child = try ChildProcess(
            name: tag, executable: DeployEnvironment.carbsExecutable,
            arguments: ["optimizer", studyFilePath, "--db", databasePath, "--log-level", "info"],
            environment: ["CARBS_BROKER_URL": url], logPath: directory.appendingPathComponent("\(tag).log").path)
        children.append(child)
        return child
    }

    /// `carbs worker --study NAME --id ID --builtin branin_cost` with `CARBS_BROKER_URL=url`.
    @discardableResult
    func startWorker(_ id: String, url: String) throws -> ChildProcess {
        let child = try ChildProcess(
            name: "worker \(id)", executable: DeployEnvironment.carbsExecutable,
            arguments: ["worker", "--study", name, "--id", id, "--log-level", "info", "--builtin", "branin_cost"],
            environment: ["CARBS_BROKER_URL": url], logPath: directory.appendingPathComponent("worker-\(id).log").path)
        children.append(child)
        return child
    }

    /// Waits for the optimizer to exit 0 and checks that every observation is in the database, each once.
    func expectFinished(_ optimizer: ChildProcess, observations expected: Int = 4) async throws {
        let status = try await optimizer.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "\(optimizer.name) exited with status \(status)\n\(logs())")
        let store = try StudyStore.open(path: databasePath)
        let observations = try store.observations()
        #expect(observations.count == expected, "observations: \(observations.count)\n\(logs())")
        #expect(Set(observations.map(\.suggestionID)).count == observations.count)
        #expect(observations.allSatisfy { !$0.isFailure })
    }

    /// Kills every process still running and (unless `CARBS_TEST_KEEP` is set) deletes the directory.
    func tearDown() {
        for child in children { child.kill() }
        if ProcessInfo.processInfo.environment["CARBS_TEST_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// The tails of every process's output, for failure messages.
    func logs() -> String {
        children.map { $0.logTail() }.joined(separator: "\n")
    }
}
