import CARBSStore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A 3-node RabbitMQ cluster on this machine (three nodes of the test's own: separate node names, ports and
/// directories, one shared Erlang cookie) with the study's queues as quorum queues: a study runs with 4 worker
/// processes while one node is stopped and started again, and ends with every observation exactly once (issue 6).
@Suite("Deploy: 3-node cluster, quorum queues", .timeLimit(.minutes(3)))
struct ClusterTests {
    init() throws {
        try DeployEnvironment.requireCarbs()
    }

    /// Who talks to which node, and why node C is the one that goes down:
    /// - The optimizer connects to node A. It declares the queues there, so A leads them (RabbitMQ places a
    ///   quorum queue's leader on the declaring client's node); all three nodes are members.
    /// - Workers w1 and w2 connect to node B, workers w3 and w4 to node C.
    /// - Node C (the whole Erlang VM) is stopped while runs are in flight and booted again: a follower of every
    ///   queue goes away, so the queues must go on with 2 of 3 members (the study must progress on B's workers
    ///   while C is down), and w3 and w4 lose their connection mid-run. Their unacknowledged suggestions are
    ///   redelivered to B's workers while they still finish those runs and publish the results once C is back:
    ///   the optimizer must count each suggestion once. (Stopping A would only repeat the single-broker restart
    ///   test: the optimizer knows no other node.)
    @Test("a study with 4 workers finishes, every observation once, while a quorum member node stops and restarts")
    func nodeRestartMidStudy() async throws {
        let cookie = TestBrokerNode.randomCookie()
        let nodeA = try await TestBrokerNode(cookie: cookie)
        defer { nodeA.stop() }
        let nodeB = try await TestBrokerNode(cookie: cookie)
        defer { nodeB.stop() }
        let nodeC = try await TestBrokerNode(cookie: cookie)
        // Stopped first (defers run in reverse): a cluster's last node to stop should be the first started.
        defer { nodeC.stop() }
        for node in [nodeB, nodeC] {
            try await node.control(["stop_app"], timeout: .seconds(60))
            try await node.control(["reset"], timeout: .seconds(60))
            try await node.control(["join_cluster", nodeA.nodeName], timeout: .seconds(60))
            try await node.startApplication()
        }
        let running = try await runningNodes(asSeenBy: nodeA)
        try #require(
            running == Set([nodeA, nodeB, nodeC].map(\.nodeName)), "the cluster's running nodes: \(running.sorted())")

        let study = try ClusterStudy(maxObservations: 24)
        defer { study.tearDown() }
        let optimizer = try study.startOptimizer(url: nodeA.urlText)
        for index in 1...4 {
            try study.startWorker("w\(index)", url: (index <= 2 ? nodeB : nodeC).urlText, seconds: 0.4)
        }
        try await study.waitUntil("4 observations are in", timeout: .seconds(60)) {
            try study.observations().count >= 4
        }
        for queue in ["suggestions", "results"] {
            let members = try await quorumMembers(of: "carbs.\(study.name).\(queue)", asSeenBy: nodeA)
            #expect(
                members == Set([nodeA, nodeB, nodeC].map(\.nodeName)),
                "\(queue) is not a quorum queue on all three nodes: \(members.sorted())")
        }

        // Hold the runs that start from now on, so that the study is surely mid-way, with runs of C's workers in
        // flight, when C goes down (stopping a node can take many seconds on a busy machine).
        study.closeGate()
        try await nodeC.stopNode()
        let atStop = try study.observations().count
        study.openGate()
        #expect(atStop < 24, "the study finished before node C went down")
        // With C down the quorum queues have 2 of 3 members: B's workers and the optimizer go on.
        try await study.waitUntil("4 more observations are in while node C is down", timeout: .seconds(60)) {
            try study.observations().count >= min(atStop + 4, 24)
        }
        try await nodeC.startNode()
        let rejoined = try await runningNodes(asSeenBy: nodeA)
        #expect(rejoined.contains(nodeC.nodeName), "node C did not rejoin the cluster: \(rejoined.sorted())")

        let status = try await optimizer.waitForExit(timeout: .seconds(90))
        #expect(status == 0, "the optimizer exited with status \(status)\n\(study.logs())")
        try study.expectEveryObservationOnce(24)
        // The workers of the node that went down survived it (they reconnect, not exit), and stop cleanly.
        for worker in study.workers { #expect(worker.isRunning, "\(worker.name) exited\n\(worker.logTail())") }
        for worker in study.workers { worker.send(SIGTERM) }
        for worker in study.workers {
            let workerStatus = try await worker.waitForExit(timeout: .seconds(30))
            #expect(workerStatus == 0, "\(worker.name) exited with status \(workerStatus)\n\(worker.logTail())")
        }
    }

    /// `rabbitmqctl cluster_status`: the nodes `node` sees running.
    private func runningNodes(asSeenBy node: TestBrokerNode) async throws -> Set<String> {
        let object = try await controlJSON(node, ["cluster_status"])
        return Set((object as? [String: Any])?["running_nodes"] as? [String] ?? [])
    }

    /// `rabbitmqctl list_queues name members`: the quorum members of `queue`.
    private func quorumMembers(of queue: String, asSeenBy node: TestBrokerNode) async throws -> Set<String> {
        let rows = try await controlJSON(node, ["list_queues", "name", "members"]) as? [[String: Any]] ?? []
        let row = rows.first { $0["name"] as? String == queue }
        return Set(row?["members"] as? [String] ?? [])
    }

    /// `rabbitmqctl -n NODE … --formatter json --quiet`, parsed.
    private func controlJSON(_ node: TestBrokerNode, _ arguments: [String]) async throws -> Any {
        let (status, output) = try await DeployEnvironment.run(
            try TestBrokerNode.tool("rabbitmqctl"), ["-n", node.nodeName] + arguments + ["--formatter", "json", "--quiet"],
            environment: node.environment, in: node.directory, timeout: .seconds(60))
        try #require(status == 0, "rabbitmqctl \(arguments.joined(separator: " ")) exited \(status): \(output)")
        // The JSON (one or several lines) starts at the first line that opens an array or object.
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        let start = lines.firstIndex { $0.hasPrefix("[") || $0.hasPrefix("{") } ?? lines.endIndex
        let json = lines[start...].joined(separator: "\n")
        do {
            return try JSONSerialization.jsonObject(with: Data(json.utf8))
        } catch {
            throw DeployError("rabbitmqctl \(arguments.joined(separator: " ")) printed no JSON: \(output)")
        }
    }
}

/// The cluster test's study: quorum queues, 4 in flight, workers whose runs sleep and wait at a gate file.
/// `tearDown()` kills every process still running; call it in a `defer`.
final class ClusterStudy {
    let name: String
    let directory: URL
    private(set) var children: [ChildProcess] = []
    private var openedStore: StudyStore?

    var databasePath: String { directory.appendingPathComponent("study.db").path }
    var studyFilePath: String { directory.appendingPathComponent("study.yaml").path }
    var trainerPath: String { directory.appendingPathComponent("trainer.sh").path }
    var gatePath: String { directory.appendingPathComponent("gate").path }
    var workers: [ChildProcess] { children.filter { $0.name.hasPrefix("worker") } }

    init(maxObservations: Int) throws {
        name = "deploy-cluster-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
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
            max_in_flight: 4
            lease_seconds: 30
            timeout_seconds: 120
            optimizer:
              seed: 0
            trainer:
              builtin: branin_cost

            """
        try studyFile.write(toFile: studyFilePath, atomically: true, encoding: .utf8)
        // POSIX sh only: wait while the gate file is missing, sleep, report output x1 and cost steps.
        let trainer = """
            #!/bin/sh
            while [ ! -e "$CLUSTER_GATE" ]; do sleep 0.1; done
            sleep "$CLUSTER_SLEEP"
            printf '{"output": %s, "cost": %s}\\n' "$CARBS_PARAM_X1" "$CARBS_PARAM_STEPS"

            """
        try trainer.write(toFile: trainerPath, atomically: true, encoding: .utf8)
        openGate()
    }

    /// Runs that start from now on wait before they sleep, until `openGate()`.
    func closeGate() {
        try? FileManager.default.removeItem(atPath: gatePath)
    }

    func openGate() {
        FileManager.default.createFile(atPath: gatePath, contents: nil)
    }

    /// `carbs optimizer study.yaml --db study.db --queue-type quorum` with `CARBS_BROKER_URL=url`.
    @discardableResult
    func startOptimizer(url: String) throws -> ChildProcess {
        let child = try ChildProcess(
            name: "optimizer", executable: DeployEnvironment.carbsExecutable,
            arguments: ["optimizer", studyFilePath, "--db", databasePath, "--queue-type", "quorum", "--log-level", "info"],
            environment: ["CARBS_BROKER_URL": url], logPath: directory.appendingPathComponent("optimizer.log").path)
        children.append(child)
        return child
    }

    /// `carbs worker --study NAME --id ID --command /bin/sh trainer.sh` with `CARBS_BROKER_URL=url`.
    @discardableResult
    func startWorker(_ id: String, url: String, seconds: Double) throws -> ChildProcess {
        let child = try ChildProcess(
            name: "worker \(id)", executable: DeployEnvironment.carbsExecutable,
            arguments: ["worker", "--study", name, "--id", id, "--log-level", "info", "--command", "/bin/sh", trainerPath],
            environment: [
                "CARBS_BROKER_URL": url, "CLUSTER_GATE": gatePath, "CLUSTER_SLEEP": String(seconds),
            ], logPath: directory.appendingPathComponent("worker-\(id).log").path)
        children.append(child)
        return child
    }

    /// The study database, opened once the optimizer created it.
    func store() throws -> StudyStore {
        if let openedStore { return openedStore }
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw DeployError("the optimizer has not created \(databasePath) yet")
        }
        let store = try StudyStore.open(path: databasePath)
        openedStore = store
        return store
    }

    func observations() throws -> [StoredObservation] {
        try store().observations()
    }

    /// Polls `condition` every 100 ms until it holds.
    /// - Throws: `DeployError` naming `what`, with the processes' output, after `timeout`.
    func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while (try? condition()) != true {
            guard ContinuousClock.now < deadline else {
                throw DeployError("timed out after \(timeout) waiting until \(what)\n\(logs())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Exactly `expected` successful observations, each suggestion id once, and in the message log exactly one
    /// counting (`applied`) result per observation; every other result for the same id is a duplicate or late.
    func expectEveryObservationOnce(_ expected: Int) throws {
        let observations = try observations()
        let ids = observations.map(\.suggestionID)
        #expect(observations.count == expected, "observations: \(observations.count), expected \(expected)\n\(logs())")
        #expect(Set(ids).count == ids.count, "a suggestion id was observed twice: \(ids.sorted())")
        #expect(observations.allSatisfy { !$0.isFailure }, "a run failed\n\(logs())")
        let known = Set(try store().suggestions().map(\.id))
        let results = try store().messageLog().filter { $0.kind == "result" && known.contains($0.suggestionID ?? "") }
        let applied = results.filter { $0.disposition == .applied }
        #expect(
            applied.compactMap(\.suggestionID).sorted() == ids.sorted(),
            "applied results in the message log do not match the observations")
        for other in results where other.disposition != .applied {
            #expect(
                other.disposition == .duplicate || other.disposition == .late,
                "unexpected disposition \(other.disposition) for a result: \(other.reason ?? "")")
        }
    }

    /// Kills every process still running and (unless `CARBS_TEST_KEEP` is set) deletes the directory.
    func tearDown() {
        for child in children { child.kill() }
        openedStore = nil
        if ProcessInfo.processInfo.environment["CARBS_TEST_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// The tails of every process's output, for failure messages.
    func logs() -> String {
        children.map { $0.logTail() }.joined(separator: "\n")
    }
}
