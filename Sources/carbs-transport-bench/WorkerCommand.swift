import ArgumentParser
import CARBSAMQP
import CARBSMessaging
import CARBSWorker
import Foundation
import ServiceLifecycle

/// `carbs-transport-bench worker`: a real `Worker` over the AMQP transport whose trainer does nothing.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "A worker process with a no-op trainer (started by `run`).")

    @Option(help: "The study name.")
    var study: String

    @Option(help: "The worker id.")
    var id: String

    func run() async throws {
        let logger = benchLogger("carbs.bench.worker")
        let transport = try AMQPWorkerTransport(
            configuration: AMQPConfiguration(url: try benchBrokerURL(), study: study), logger: logger)
        let worker = Worker(
            transport: transport, trainer: NoopTrainer(),
            configuration: Worker.Configuration(workerID: id, study: study), logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Answers every suggestion at once with output 1 and cost 1.
struct NoopTrainer: Trainer {
    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome {
        let now = Date()
        return TrainerOutcome(status: .success, output: 1, cost: 1, startedAt: now, finishedAt: now)
    }
}
