import ArgumentParser
import CARBSCore
import CARBSHTTP
import CARBSMessaging
import CARBSService
import CARBSWorker
import Foundation
import Logging
import ServiceLifecycle

/// `carbs tune`: the optimizer and N workers in one process over the embedded transport.
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Run a whole study on this machine: the optimizer and N workers in one process, no broker.",
        discussion: """
            The study's state is saved in a SQLite database after every step; run the same command again to \
            resume after an interruption (Ctrl-C or SIGTERM stops cleanly; even kill -9 loses nothing).
            """)

    @Argument(help: "The study file (YAML). See Config/examples/.")
    var studyFile: String

    @Option(help: "How many workers to run (default: the study's max_in_flight).")
    var workers: Int?

    @Option(help: "The study database (default: <study name>.sqlite in the current directory).")
    var db: String?

    @Option(help: "Where to write the report at the end (default: <study name>-report).")
    var out: String?

    @OptionGroup(title: "Live view (on by default at 127.0.0.1 on a free port)") var http: HTTPOptions

    @Flag(name: .customLong("no-http"), help: "Do not serve the live view.")
    var noHTTP = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if noHTTP && http.address != nil { throw ValidationError("--no-http and --http exclude each other") }
        _ = try liveViewConfiguration()
    }

    func liveViewConfiguration() throws -> LiveViewServer.Configuration? {
        noHTTP ? nil : try http.configuration(defaultAddress: "127.0.0.1:0")
    }

    func run() async throws {
        let study = try loadStudy(studyFile)
        configureNumericThreads()
        let logger = logging.makeLogger(label: "carbs.tune")
        for warning in study.warnings { logger.warning("\(warning)") }
        let database = db ?? "\(study.name).sqlite"
        let history = try study.warmStartHistory()
        let persistence = try openPersistence(path: database, study: study)
        let broker = EmbeddedBroker()
        let progress = ProgressDisplay(study: study.name)
        var configuration = study.serviceConfiguration(warmStartedWith: history)
        // The embedded queues live in this process only: a restart must publish queued suggestions again.
        configuration.queuesSurviveRestart = false
        let metrics = LiveViewMetrics()
        let service = OptimizerService(
            configuration: configuration, transport: try await broker.optimizerTransport(study: study.name),
            persistence: persistence,
            newOptimizer: { try study.makeOptimizer(warmStartedWith: history) },
            logger: logger, onProgress: { progress.update($0) }, metrics: metrics.service)
        let trainer = try makeTrainer(study.trainer, study: study, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let live = try liveViewConfiguration() {
            // The embedded broker lives in this process: connected for as long as it runs.
            services.append(
                .init(
                    service: try makeLiveView(
                        live, service: service, store: persistence.store, metrics: metrics, isBrokerConnected: { true },
                        logger: logger)))
        }
        for index in 0..<(workers ?? study.maxInFlight) {
            let worker = Worker(
                transport: try await broker.workerTransport(study: study.name), trainer: trainer,
                configuration: .init(workerID: "tune-\(index + 1)", study: study.name), logger: logger)
            services.append(.init(service: worker))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        progress.finish()
        guard let result = service.result else { return }
        switch result.ending {
        case .budgetReached:
            print(SummaryPrinter(study: study).render(result.summary))
            print("The study database is \(database).")
            try StudyReportWriter(database: database, extraSettings: study.reportSettings)
                .write(to: out, printSummary: false)
        case .interrupted:
            print("Stopped; \(result.summary.successCount + result.summary.failureCount) observations are saved in \(database). Run the same command to resume.")
        }
    }
}
