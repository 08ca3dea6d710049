import CARBSMessaging
import Foundation
import ServiceLifecycle
import Synchronization
import Testing
@testable import CARBSWorker

/// A transport whose `start()` waits for ever (a broker that cannot be reached) until its task is cancelled.
private final class UnreachableTransport: WorkerTransport {
    let shutDown = Mutex(false)

    func start() async throws {
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
    func receiveSuggestion(timeout: Duration) async throws -> InboundMessage? { nil }
    func publish(result: OutboundMessage) async throws {}
    func acknowledge(_ message: InboundMessage) async throws {}
    func release(_ message: InboundMessage) async throws {}
    func shutdown() async { shutDown.withLock { $0 = true } }
}

@Suite("Worker start", .timeLimit(.minutes(3)))
struct WorkerStartTests {
    @Test("a worker still waiting for its broker stops on graceful shutdown, without an error")
    func shutdownWhileStarting() async throws {
        let transport = UnreachableTransport()
        let worker = Worker(transport: transport, trainer: NoTrainer(), logger: Fixtures.logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [worker], logger: Fixtures.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(200))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(transport.shutDown.withLock { $0 })
        #expect(worker.statistics.runs == 0)
    }
}

private struct NoTrainer: Trainer {
    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome {
        TrainerOutcome(status: .success, output: 0, startedAt: Date(), finishedAt: Date())
    }
}
