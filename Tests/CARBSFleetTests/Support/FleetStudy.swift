import CARBSAMQP
import CARBSMessaging
import CARBSStore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One fleet test's study: a study file and database in a temporary directory, and the `carbs` processes
/// (optimizer, workers) that run it against a broker. `tearDown()` kills every process still running and deletes
/// the study's queues; call it in a `defer`.
final class FleetStudy {
    /// What the study file says.
    struct Settings {
        var maxObservations: Int
        var maxInFlight = 4
        var leaseSeconds = 30
        var timeoutSeconds = 120
        var maxAttempts = 3
    }

    /// How a worker trains.
    enum Trainer {
        /// `--builtin branin_cost`: in process, instantaneous.
        case builtin
        /// `--command /bin/sh trainer.sh`: drops a marker file `<suggestion id>.<attempt>.<worker id>`, waits
        /// while the gate is closed (`closeGate()`), sleeps, then reports output `x1` and cost `steps`.
        case sleeping(seconds: Double)
    }

    /// A run a sleeping trainer started (from its marker file).
    struct Marker: Hashable {
        var suggestionID: String
        var attempt: Int
        var worker: String
    }

    let name: String
    let settings: Settings
    let brokerURLText: String
    let directory: URL
    private(set) var children: [ChildProcess] = []
    private var openedStore: StudyStore?

    var databasePath: String { directory.appendingPathComponent("study.db").path }
    var studyFilePath: String { directory.appendingPathComponent("study.yaml").path }
    var markerDirectory: String { directory.appendingPathComponent("markers").path }
    var trainerScriptPath: String { directory.appendingPathComponent("trainer.sh").path }
    var gatePath: String { directory.appendingPathComponent("gate").path }

    /// Creates the directory, the study file and the trainer script; starts nothing.
    /// - Parameters:
    ///   - prefix: Part of the study name, which is unique per call (tests never share queues).
    init(_ prefix: String, settings: Settings, brokerURLText: String = FleetEnvironment.brokerURLText) throws {
        name = "fleet-\(prefix)-\(String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 16))"
        self.settings = settings
        self.brokerURLText = brokerURLText
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("carbs-\(name)")
        try FileManager.default.createDirectory(atPath: markerDirectory, withIntermediateDirectories: true)
        try studyFile.write(toFile: studyFilePath, atomically: true, encoding: .utf8)
        try Self.trainerScript.write(toFile: trainerScriptPath, atomically: true, encoding: .utf8)
        openGate()
    }

    /// Sleeping trainers that start from now on wait before they sleep, until `openGate()`.
    func closeGate() {
        try? FileManager.default.removeItem(atPath: gatePath)
    }

    /// Lets sleeping trainers go on.
    func openGate() {
        FileManager.default.createFile(atPath: gatePath, contents: nil)
    }

    private var studyFile: String {
        """
        name: \(name)
        direction: minimize
        parameters:
          x1: {space: linear, min: -5, max: 10, scale: 5, center: 2.5}
          x2: {space: linear, min: 0, max: 15, scale: 5, center: 7.5}
          steps: {space: log, min: 10, max: 10000, integer: true, center: 100}
        budget:
          max_observations: \(settings.maxObservations)
        max_in_flight: \(settings.maxInFlight)
        lease_seconds: \(settings.leaseSeconds)
        timeout_seconds: \(settings.timeoutSeconds)
        max_attempts: \(settings.maxAttempts)
        optimizer:
          seed: 0
        trainer:
          builtin: branin_cost

        """
    }

    /// A trainer that can be killed mid-run: POSIX sh and sleep only.
    private static let trainerScript = """
        #!/bin/sh
        # Fleet test trainer: marks the run as started, waits for the gate, sleeps, reports output x1 and cost steps.
        : > "$FLEET_MARKERS/$CARBS_SUGGESTION_ID.$CARBS_ATTEMPT.$FLEET_WORKER"
        while [ ! -e "$FLEET_GATE" ]; do sleep 0.1; done
        sleep "$FLEET_SLEEP"
        printf '{"output": %s, "cost": %s}\\n' "$CARBS_PARAM_X1" "$CARBS_PARAM_STEPS"

        """

    // MARK: - Processes

    private var environment: [String: String] {
        ["CARBS_BROKER_URL": brokerURLText]
    }

    /// `carbs optimizer study.yaml --db study.db`, then `options` (e.g. `--http 127.0.0.1:0`).
    @discardableResult
    func startOptimizer(options: [String] = []) throws -> ChildProcess {
        let index = children.filter { $0.name.hasPrefix("optimizer") }.count + 1
        let child = try ChildProcess(
            name: "optimizer #\(index)", executable: FleetEnvironment.carbsExecutable,
            arguments: ["optimizer", studyFilePath, "--db", databasePath, "--log-level", "info"] + options,
            environment: environment, logPath: directory.appendingPathComponent("optimizer-\(index).log").path)
        children.append(child)
        return child
    }

    /// `carbs worker --study NAME --id ID (--builtin branin_cost | --command /bin/sh trainer.sh)`.
    @discardableResult
    func startWorker(_ id: String, trainer: Trainer = .builtin, options: [String] = []) throws -> ChildProcess {
        var arguments = ["worker", "--study", name, "--id", id, "--log-level", "info"] + options
        var environment = self.environment
        switch trainer {
        case .builtin:
            arguments += ["--builtin", "branin_cost"]
        case .sleeping(let seconds):
            arguments += ["--command", "/bin/sh", trainerScriptPath]
            environment["FLEET_MARKERS"] = markerDirectory
            environment["FLEET_SLEEP"] = String(seconds)
            environment["FLEET_WORKER"] = id
            environment["FLEET_GATE"] = gatePath
        }
        let child = try ChildProcess(
            name: "worker \(id)", executable: FleetEnvironment.carbsExecutable, arguments: arguments,
            environment: environment, logPath: directory.appendingPathComponent("worker-\(id).log").path)
        children.append(child)
        return child
    }

    /// Waits for a process to exit with status 0.
    func expectCleanExit(_ child: ChildProcess, within timeout: Duration) async throws {
        let status = try await child.waitForExit(timeout: timeout)
        #expect(status == 0, "\(child.name) exited with status \(status)\n\(logs())")
    }

    /// SIGTERM to every worker still running; each must exit 0 within `timeout`.
    func stopWorkers(within timeout: Duration = .seconds(20)) async throws {
        let workers = children.filter { $0.name.hasPrefix("worker") && $0.isRunning }
        for worker in workers { worker.send(SIGTERM) }
        for worker in workers { try await expectCleanExit(worker, within: timeout) }
    }

    /// Kills every process still running, deletes the study's queues and (unless `CARBS_TEST_KEEP` is set) the
    /// directory.
    func tearDown() {
        for child in children { child.kill() }
        if let url = try? BrokerURL(brokerURLText) {
            try? AMQPAdministration.deleteStudyQueues(url: url, study: name)
        }
        openedStore = nil
        if ProcessInfo.processInfo.environment["CARBS_TEST_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// The tails of every process's output, for failure messages.
    func logs() -> String {
        children.map { $0.logTail() }.joined(separator: "\n")
    }

    // MARK: - Waiting

    /// Polls `condition` every 100 ms until it holds.
    /// - Throws: `FleetError` naming `what`, with the processes' output, after `timeout`.
    func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if (try? condition()) == true { return }
            guard ContinuousClock.now < deadline else {
                throw FleetError("timed out after \(timeout) waiting until \(what)\n\(logs())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The runs sleeping trainers started so far.
    func markers() -> [Marker] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: markerDirectory)) ?? []
        return names.compactMap { name in
            let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
            guard parts.count == 3, let attempt = Int(parts[1]) else { return nil }
            return Marker(suggestionID: parts[0], attempt: attempt, worker: parts[2])
        }
    }

    /// Waits until a sleeping trainer of `worker` has started a run, and returns that run.
    func waitForRun(of worker: String, timeout: Duration = .seconds(30)) async throws -> Marker {
        var found: Marker?
        try await waitUntil("worker \(worker) started a run", timeout: timeout) {
            found = markers().first { $0.worker == worker }
            return found != nil
        }
        return found!
    }

    // MARK: - The database

    /// The study database, opened once the optimizer created it.
    func store() throws -> StudyStore {
        if let openedStore { return openedStore }
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw FleetError("the optimizer has not created \(databasePath) yet")
        }
        let store = try StudyStore.open(path: databasePath)
        openedStore = store
        return store
    }

    func observations() throws -> [StoredObservation] {
        try store().observations()
    }

    func messageLog() throws -> [LoggedMessage] {
        try store().messageLog()
    }

    /// Checks the study's central guarantee: exactly `expected` observations, each suggestion id once, and in
    /// the message log exactly one counting (`applied`) result per observation; every other result for the same
    /// id is recorded as a duplicate or late.
    /// - Returns: The observations.
    @discardableResult
    func expectEveryObservationOnce(_ expected: Int) throws -> [StoredObservation] {
        let observations = try observations()
        let ids = observations.map(\.suggestionID)
        #expect(observations.count == expected, "observations: \(observations.count), expected \(expected)")
        #expect(Set(ids).count == ids.count, "a suggestion id was observed twice: \(ids.sorted())")

        // Results for suggestions of this study (a result naming an unknown id is rejected, not counted).
        let known = Set(try store().suggestions().map(\.id))
        let results = try messageLog().filter { $0.kind == "result" && known.contains($0.suggestionID ?? "") }
        let counted = results.filter {
            $0.disposition == .applied && ($0.status == "success" || $0.status == "failure")
        }
        #expect(
            counted.compactMap(\.suggestionID).sorted() == ids.sorted(),
            "applied results in the message log do not match the observations")
        for result in results where result.disposition == .applied && result.status == "lost" {
            #expect(result.reason?.contains("re-issued") == true || result.reason?.contains("forgotten") == true)
        }
        let others = results.filter { $0.disposition != .applied }
        for other in others {
            #expect(
                other.disposition == .duplicate || other.disposition == .late,
                "unexpected disposition \(other.disposition) for a result: \(other.reason ?? "")")
        }
        let finished = try store().suggestions(in: [.finished, .failed])
        #expect(Set(finished.map(\.id)) == Set(ids), "finished suggestions do not match the observations")
        return observations
    }

    /// Ready messages in one of the study's queues (`suggestions`, `results` or `dead`).
    func readyCount(_ queue: String) throws -> Int {
        try AMQPAdministration.messageCount(url: try BrokerURL(brokerURLText), queue: "carbs.\(name).\(queue)")
    }
}
