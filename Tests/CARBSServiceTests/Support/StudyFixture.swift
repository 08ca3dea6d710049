import CARBSCore
import CARBSMessaging
import CARBSService
import CARBSStore
import Foundation
import Logging
import TestSupport

/// One test study: a broker, a database file in a temporary directory, and factories for services and workers
/// that all talk about the same study.
struct StudyFixture: Sendable {
    let study: String
    let broker = EmbeddedBroker()
    let directory: TemporaryDirectory
    var databasePath: String { directory.path("study.sqlite") }
    var queues: QueueNames { try! QueueNames(study: study) }

    init(study: String = "svc-test") throws {
        self.study = study
        directory = try TemporaryDirectory(prefix: "carbs-service-test")
    }

    /// The optimizer of a new study: seeded, 2 parameters, few random samples and small fits so a study of a few
    /// dozen observations takes seconds in a debug build.
    static func newOptimizer(seed: UInt64 = 7, numRandomSamples: Int = 3, resampleFrequency: Int = 0)
        -> @Sendable () throws -> CARBSOptimizer
    {
        {
            var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
            configuration.numRandomSamples = numRandomSamples
            configuration.numCandidatesPerDim = 20
            configuration.fitIterations = 5
            configuration.resampleFrequency = resampleFrequency
            return try CARBSOptimizer(
                configuration: configuration,
                parameters: [
                    Parameter(name: "x", space: .linear(min: -2, max: 2), center: 0.5),
                    Parameter(name: "y", space: .linear(min: -2, max: 2), center: -0.5),
                ])
        }
    }

    /// Service settings for tests: short polls, so a test never waits on the poll interval.
    func configuration(
        maxInFlight: Int = 4, maxObservations: Int? = nil, maxTotalCost: Double? = nil, leaseSeconds: Int = 120,
        maxAttempts: Int = 3, drainGrace: Duration = .seconds(10)
    ) -> OptimizerService.Configuration {
        var configuration = OptimizerService.Configuration(
            study: study, maxInFlight: maxInFlight, maxObservations: maxObservations, maxTotalCost: maxTotalCost,
            leaseSeconds: leaseSeconds, timeoutSeconds: 60, maxAttempts: maxAttempts)
        configuration.pollInterval = .milliseconds(20)
        configuration.drainGrace = drainGrace
        return configuration
    }

    /// Opens the study database (a new connection pool each time, as a restarted process would).
    func persistence() throws -> SQLiteStudyPersistence {
        try SQLiteStudyPersistence(path: databasePath, study: study, configuration: Data("{}".utf8))
    }

    /// A transport for a (new) optimizer process, wrapped so that faults can be injected.
    func transport(fault: TestTransport.Fault? = nil) throws -> TestTransport {
        TestTransport(try broker.optimizerTransport(study: study), fault: fault)
    }

    func service(
        _ configuration: OptimizerService.Configuration, persistence: any StudyPersistence,
        transport: any OptimizerTransport, clock: ManualClock? = nil,
        newOptimizer: @escaping @Sendable () throws -> CARBSOptimizer = StudyFixture.newOptimizer(),
        onProgress: (@Sendable (StudyProgress) -> Void)? = nil,
        suggester: @escaping OptimizerService.Suggester = OptimizerService.suggest
    ) -> OptimizerService {
        var logger = Logger(label: "carbs.service.test")
        logger.logLevel = ProcessInfo.processInfo.environment["CARBS_TEST_LOG"] == nil ? .critical : .debug
        let now: @Sendable () -> Date = { clock?.now() ?? Date() }
        return OptimizerService(
            configuration: configuration, transport: transport, persistence: persistence, newOptimizer: newOptimizer,
            logger: logger, clock: now, onProgress: onProgress, suggester: suggester)
    }

    func workers(
        _ count: Int, journal: SuggestionJournal? = nil, runTime: Duration = .zero,
        script: @escaping @Sendable (SuggestionMessage) -> WorkerAction = { _ in .succeed }
    ) throws -> [ScriptedWorker] {
        try (0..<count).map {
            try ScriptedWorker(
                name: "w\($0 + 1)", broker: broker, study: study, journal: journal, runTime: runTime, script: script)
        }
    }

    /// A bare worker connection for tests that play the worker by hand.
    func workerTransport() async throws -> EmbeddedWorkerTransport {
        let transport = try broker.workerTransport(study: study)
        try await transport.start()
        return transport
    }

    /// Runs `service` with `workers` alongside until the service returns (or throws); then stops the workers.
    func run(_ service: OptimizerService, with workers: [ScriptedWorker]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask { try await worker.run() }
            }
            try await service.run()
            group.cancelAll()
        }
    }

    // MARK: Reading the outcome

    /// The store, opened read-mostly for checks.
    func store() throws -> StudyStore {
        try StudyStore.open(path: databasePath)
    }

    /// The optimizer snapshot last saved.
    func savedSnapshot() throws -> CARBSOptimizer.Snapshot {
        guard let saved = try store().loadSnapshot() else { throw TimeLimitExceeded(limit: .zero, what: "a snapshot") }
        return try SnapshotCoding.decode(saved.data)
    }

    func deadLetters() async -> [(body: Data, reason: String)] {
        await broker.deadLetters(study: study)
    }

    func suggestionsQueued() async -> Int {
        await broker.queueDepth(queues.suggestions)
    }
}
