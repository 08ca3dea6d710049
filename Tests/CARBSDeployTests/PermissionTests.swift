import CARBSAMQP
import Foundation
import TestSupport
import Testing

/// `Deploy/rabbitmq/setup-users.sh` against a RabbitMQ node of the test's own: the optimizer and the worker user
/// of a study can run it, and a worker's credentials can do nothing else (issue 6, least privilege).
@Suite("Deploy: least-privilege users", .timeLimit(.minutes(2)))
struct PermissionTests {
    init() throws {
        try DeployEnvironment.requireCarbs()
    }

    @Test("setup-users.sh: optimizer + worker users finish a study; the worker cannot declare, delete or read others")
    func leastPrivilege() async throws {
        let broker = try await TestBrokerNode()
        defer { broker.stop() }
        let study = try DeployStudy("perm")
        defer { study.tearDown() }
        let other = try DeployStudy("other")
        defer { other.tearDown() }
        let vhost = "carbs-test"
        for name in [study.name, other.name] {
            let (status, output) = try await DeployEnvironment.run(
                "/bin/bash",
                [DeployEnvironment.deployFile("rabbitmq/setup-users.sh").path, "--vhost", vhost, "--ctl",
                    broker.controlCommand, name],
                environment: broker.environment.merging(
                    ["CARBS_OPTIMIZER_PASSWORD": "optimizer-secret", "CARBS_WORKER_PASSWORD": "worker-secret"]
                ) { _, new in new }, in: study.directory)
            try #require(status == 0, "setup-users.sh exited \(status): \(output)")
        }
        func url(_ studyName: String, _ role: String) -> String {
            "amqp://carbs-\(studyName)-\(role):\(role)-secret@127.0.0.1:\(broker.port)/\(vhost)"
        }

        // The worker's credentials cannot run an optimizer: it would have to declare the study's queues.
        let refused = try study.startOptimizer(url: url(study.name, "worker"), tag: "optimizer-as-worker")
        let refusedStatus = try await refused.waitForExit(timeout: .seconds(30))
        #expect(refusedStatus != 0)
        #expect(refused.logTail().contains("ACCESS_REFUSED"), "\(refused.logTail())")

        // The two roles with their own users finish the study.
        let optimizer = try study.startOptimizer(url: url(study.name, "optimizer"))
        try study.startWorker("w1", url: url(study.name, "worker"))
        try await study.expectFinished(optimizer)

        // The other study's queues exist (its optimizer declares them and issues suggestions).
        other.startOptimizerIgnoringErrors(url: url(other.name, "optimizer"))
        let admin = try BrokerURL(url(other.name, "optimizer"))
        try await waitUntil("the other study's queues exist") {
            (try? AMQPAdministration.messageCount(url: admin, queue: "carbs.\(other.name).suggestions")) ?? 0 > 0
        }

        let worker = try BrokerURL(url(study.name, "worker"))
        // Read another study's suggestions, or its own study's results: refused.
        for queue in ["carbs.\(other.name).suggestions", "carbs.\(study.name).results"] {
            #expect(throws: AMQPError.self, "worker read \(queue)") {
                _ = try AMQPAdministration.take(url: worker, queue: queue)
            }
        }
        // Delete queues (its own study's or another's): refused.
        for queue in ["carbs.\(study.name).suggestions", "carbs.\(other.name).results"] {
            do {
                try AMQPAdministration.deleteQueue(url: worker, name: queue)
                Issue.record("the worker user deleted \(queue)")
            } catch {
                #expect(error.code == .accessRefused, "deleting \(queue): \(error)")
            }
        }
        // The optimizer user of one study cannot touch another study's queues either.
        do {
            try AMQPAdministration.deleteStudyQueues(url: try BrokerURL(url(study.name, "optimizer")), study: other.name)
            Issue.record("the optimizer user of \(study.name) deleted the queues of \(other.name)")
        } catch {
            #expect(error.code == .accessRefused, "\(error)")
        }
        // Its own suggestions queue is still there, with the worker's read access intact.
        #expect(try AMQPAdministration.messageCount(url: admin, queue: "carbs.\(study.name).suggestions") >= 0)
    }

    private func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw DeployError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

extension DeployStudy {
    /// Starts an optimizer whose outcome the test does not check (it is killed in `tearDown()`).
    func startOptimizerIgnoringErrors(url: String) {
        _ = try? startOptimizer(url: url, tag: "optimizer-background")
    }
}
