import ArgumentParser
import CARBSAMQP
import CARBSCore
import CARBSHTTP
import CARBSMessaging
import CARBSService
import CARBSWorker
import Foundation
import Logging
import ServiceLifecycle

/// `carbs optimizer`: the central optimizer of a fleet, over RabbitMQ.
struct OptimizerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizer",
        abstract: "Run a study's optimizer against a RabbitMQ broker; workers anywhere do the training.",
        discussion: """
            The broker URL comes from CARBS_BROKER_URL (preferred: it keeps credentials off the command line) or \
            --broker. The study resumes from --db if it exists. SIGTERM stops cleanly; a later start resumes.
            """)

    @Argument(help: "The study file (YAML).")
    var studyFile: String

    @Option(help: "amqp:// or amqps:// URL (default: $CARBS_BROKER_URL).")
    var broker: String?

    @Option(help: "The study database (SQLite).")
    var db: String

    @Option(help: "Queue type: classic (default) or quorum (for clustered brokers).")
    var queueType: String = "classic"

    @OptionGroup(title: "Live view") var http: HTTPOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        _ = try http.configuration()
    }

    func run() async throws {
        let study = try loadStudy(studyFile)
        configureNumericThreads()
        let logger = logging.makeLogger(label: "carbs.optimizer")
        for warning in study.warnings { logger.warning("\(warning)") }
        var amqp = AMQPConfiguration(url: try brokerURL(broker), study: study.name)
        guard let type = AMQPConfiguration.QueueType(rawValue: queueType) else {
            throw ValidationError("--queue-type must be classic or quorum")
        }
        amqp.queueType = type
        logger.notice("optimizer starting", metadata: ["study": "\(study.name)", "broker": "\(amqp.url)"])
        let history = try study.warmStartHistory()
        let progress = ProgressDisplay(study: study.name)
        let transport = try AMQPOptimizerTransport(configuration: amqp, logger: logger)
        let persistence = try openPersistence(path: db, study: study)
        let metrics = LiveViewMetrics()
        let service = OptimizerService(
            configuration: study.serviceConfiguration(warmStartedWith: history), transport: transport,
            persistence: persistence, newOptimizer: { try study.makeOptimizer(warmStartedWith: history) },
            logger: logger, onProgress: { progress.update($0) }, metrics: metrics.service)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let live = try http.configuration() {
            services.append(
                .init(
                    service: try makeLiveView(
                        live, service: service, store: persistence.store, metrics: metrics,
                        isBrokerConnected: { transport.isConnected }, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        progress.finish()
        if let result = service.result, result.ending == .budgetReached {
            print(SummaryPrinter(study: study).render(result.summary))
        }
    }
}

/// `carbs worker`: a stateless worker that trains suggestions from the broker.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Train suggestions of a study from a RabbitMQ broker, one at a time.",
        discussion: """
            The trainer is a command (never run through a shell) whose arguments may hold {name} placeholders, \
            or a built-in one. It gets CARBS_PARAMS, CARBS_PARAM_<NAME>, CARBS_SUGGESTION_ID, CARBS_STUDY, \
            CARBS_ATTEMPT and CARBS_RESULT_FILE in its environment, and reports through that file or its last \
            stdout line that is a JSON object with an "output" field. SIGTERM: stop taking work, finish the run \
            (or with --abort-on-shutdown stop it and report it lost), exit 0.
            """)

    @Option(help: "amqp:// or amqps:// URL (default: $CARBS_BROKER_URL).")
    var broker: String?

    @Option(help: "The study name.")
    var study: String

    @Option(help: "A built-in trainer instead of a command: \(BuiltinTrainer.names.joined(separator: ", ")).")
    var builtin: String?

    @Option(help: "Exit codes of the command that mean the run was lost (preempted), comma-separated.")
    var lostExitCodes: String = "75"

    @Option(help: "An identifier for this worker in the study's records (default: host:pid).")
    var id: String?

    @Option(help: "Exit after this many runs.")
    var maxRuns: Int?

    @Flag(help: "On SIGTERM, stop the current run and report it lost instead of finishing it.")
    var abortOnShutdown = false

    @OptionGroup var logging: LoggingOptions

    @Option(
        name: .customLong("command"), parsing: .remaining,
        help: "The trainer command and its arguments (must come last), e.g. --command python3 train.py --lr {learning_rate}")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty == (builtin == nil) { throw ValidationError("give either --command ... or --builtin NAME") }
        try QueueNames.validate(study: study)
    }

    func run() async throws {
        let logger = logging.makeLogger(label: "carbs.worker")
        let lost = lostExitCodes.split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        let spec: StudyFile.TrainerSpec =
            builtin.map { .builtin(name: $0) }
            ?? .command(
                arguments: command, workingDirectory: nil, environment: [:], lostExitCodes: lost.isEmpty ? [75] : lost)
        let trainer = try makeTrainer(spec, study: nil, logger: logger)
        let amqp = AMQPConfiguration(url: try brokerURL(broker), study: study)
        let configuration = Worker.Configuration(
            workerID: id ?? Worker.defaultWorkerID, study: study, abortOnShutdown: abortOnShutdown, maxRuns: maxRuns)
        let worker = Worker(
            transport: try AMQPWorkerTransport(configuration: amqp, logger: logger), trainer: trainer,
            configuration: configuration, logger: logger)
        logger.notice("worker starting", metadata: ["study": "\(study)", "worker.id": "\(configuration.workerID)"])
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
