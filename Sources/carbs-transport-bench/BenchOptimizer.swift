import CARBSAMQP
import CARBSCore
import CARBSMessaging
import CARBSService
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The optimizer of one benchmark study, in this process: the real `OptimizerService` over the AMQP transport,
/// with SQLite persistence in a temporary file, pre-loaded (warm start) with `n` observations of branin_cost.
final class BenchOptimizer: Sendable {
    /// One progress report of the service (after each pass of its loop).
    struct Sample: Sendable {
        var instant: ContinuousClock.Instant
        var observations: Int
        var refits: Int
    }

    let study: String
    let names: QueueNames
    let service: OptimizerService
    /// How long each of the service's commits took.
    let commitTimes = CommitTimes()
    private let directory: URL
    private let recorder = ProgressRecorder()
    private let logger: Logger

    /// The parameters of branin_cost (as in `Config/examples/branin.yaml`).
    static let parameters = [
        Parameter(name: "x1", space: .linear(min: -5, max: 10, scale: 5), center: 2.5),
        Parameter(name: "x2", space: .linear(min: 0, max: 15, scale: 5), center: 7.5),
        Parameter(name: "steps", space: .log(min: 10, max: 10000, integer: true), center: 100),
    ]

    /// How the optimizer chooses suggestions.
    enum Mode: String, CaseIterable, Sendable {
        /// CARBS proper: each suggestion from the fitted models (resampling off, so that every one is).
        case carbs
        /// CARBS's random phase only (no model fit): the ceiling set by transport and persistence.
        case random
    }

    init(study: String, mode: Mode, warmStart count: Int, maxInFlight: Int, maxObservations: Int?) throws {
        self.study = study
        names = try QueueNames(study: study)
        logger = benchLogger("carbs.bench.optimizer")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("carbs-transport-bench-\(study)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let persistence = try SQLiteStudyPersistence(
            path: directory.appendingPathComponent("study.db").path, study: study, configuration: Data())
        let transport = try AMQPOptimizerTransport(
            configuration: AMQPConfiguration(url: try benchBrokerURL(), study: study), logger: logger)
        var configuration = OptimizerService.Configuration(
            study: study, maxInFlight: maxInFlight, maxObservations: maxObservations, leaseSeconds: 600)
        configuration.drainGrace = .seconds(30)
        let recorder = self.recorder
        service = OptimizerService(
            configuration: configuration, transport: transport, persistence: persistence,
            newOptimizer: { try Self.makeOptimizer(mode: mode, warmStart: count) }, logger: logger,
            onProgress: { recorder.record($0) }, metrics: OptimizerMetrics(factory: commitTimes))
        recorder.service.withLock { $0 = service }
    }

    /// A CARBS optimizer that already holds `count` observations of branin_cost at random points.
    ///
    /// Resampling (section 6.2) is off: with a warm start it would answer the first `n / resample_frequency`
    /// suggestions with repeats of Pareto points, without a fit, and the benchmark would not measure the refit.
    static func makeOptimizer(mode: Mode, warmStart count: Int) throws -> CARBSOptimizer {
        var configuration = CARBSConfiguration(direction: .minimize, seed: 0)
        configuration.resampleFrequency = 0
        if mode == .random { configuration.numRandomSamples = Int(Int32.max) }
        var optimizer = try CARBSOptimizer(configuration: configuration, parameters: parameters)
        var generator = SeededGenerator(seed: 42)
        let history = (0..<count).map { _ -> HistoricalObservation in
            let x1 = Double.random(in: -5...10, using: &generator)
            let x2 = Double.random(in: 0...15, using: &generator)
            let steps = (pow(10, Double.random(in: 1...4, using: &generator))).rounded()
            return HistoricalObservation(
                parameters: ["x1": x1, "x2": x2, "steps": steps], output: branin(x1, x2) + 50 / steps.squareRoot(),
                cost: steps)
        }
        try optimizer.warmStart(with: history)
        return optimizer
    }

    /// The Branin–Hoo function.
    static func branin(_ x1: Double, _ x2: Double) -> Double {
        let b = 5.1 / (4 * Double.pi * Double.pi)
        let c = 5 / Double.pi
        let t = 1 / (8 * Double.pi)
        return pow(x2 - b * x1 * x1 + c * x1 - 6, 2) + 10 * (1 - t) * cos(x1) + 10
    }

    /// The service's progress reports so far.
    var progress: [Sample] { recorder.samples.withLock { $0 } }

    /// Runs the service while `body` runs; then shuts it down gracefully (if the budget did not end it first)
    /// and deletes the study's queues and database.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [], logger: logger))
        defer {
            try? AMQPAdministration.deleteStudyQueues(url: try benchBrokerURL(), study: study)
            try? FileManager.default.removeItem(at: directory)
        }
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                tasks.cancelAll()
                throw error
            }
        }
    }

    /// Waits until the service reported at least `observations` observations; returns that report.
    func waitForProgress(observations: Int, timeout: Duration) async throws -> Sample {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let sample = progress.first(where: { $0.observations >= observations }) { return sample }
            guard ContinuousClock.now < deadline else {
                throw BenchError("the optimizer did not reach \(observations) observations within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until the service ended by itself (budget reached).
    func waitUntilFinished(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while service.result == nil {
            guard ContinuousClock.now < deadline else {
                throw BenchError("the optimizer did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Keeps the service's progress reports with the time and the refit count at each.
private final class ProgressRecorder: Sendable {
    let samples = Mutex<[BenchOptimizer.Sample]>([])
    /// Set right after the service is made (its progress callback needs it for the refit count).
    let service = Mutex<OptimizerService?>(nil)

    func record(_ progress: StudyProgress) {
        let refits = service.withLock { $0?.refitCount ?? 0 }
        let sample = BenchOptimizer.Sample(instant: .now, observations: progress.observations, refits: refits)
        samples.withLock { $0.append(sample) }
    }
}

/// A failure of the benchmark.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
