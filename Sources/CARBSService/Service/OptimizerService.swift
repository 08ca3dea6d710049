import CARBSCore
import CARBSMessaging
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The central optimizer of a study: hands out suggestions through the transport, takes results in, refits
/// once per batch of results, and keeps `maxInFlight` suggestions outstanding until the budget is spent.
///
/// Every step is committed to the persistence before its messages are acknowledged, so the service can be
/// killed at any line and restarted on the same database without losing or double-counting an observation.
public final class OptimizerService: Service, Sendable {
    /// The study's service settings (the algorithm's live in the optimizer's `CARBSConfiguration`).
    public struct Configuration: Sendable {
        public var study: String
        /// Suggestions kept outstanding (queued or running).
        public var maxInFlight: Int
        public var maxObservations: Int?
        public var maxTotalCost: Double?
        public var leaseSeconds: Int
        public var timeoutSeconds: Int
        public var maxAttempts: Int
        /// How long to wait for runs in flight once the budget is reached.
        public var drainGrace: Duration = .seconds(600)
        /// At most this many results are taken in per refit.
        public var batchLimit: Int = 256
        /// The longest wait for results before the service looks at its leases and budget again.
        public var pollInterval: Duration = .milliseconds(500)
        /// After a result arrives, how long to wait for more of the same burst before refitting once for all.
        public var gatherWindow: Duration = .milliseconds(20)
        /// Whether queued messages outlive this process (a broker's durable queues: true). With the embedded
        /// transport inside `carbs tune` they do not: on a restart, queued suggestions are published again and
        /// runs that were in progress are re-issued at once.
        public var queuesSurviveRestart: Bool = true

        public init(
            study: String, maxInFlight: Int = 8, maxObservations: Int? = nil, maxTotalCost: Double? = nil,
            leaseSeconds: Int = 120, timeoutSeconds: Int = 3600, maxAttempts: Int = 3
        ) {
            self.study = study
            self.maxInFlight = maxInFlight
            self.maxObservations = maxObservations
            self.maxTotalCost = maxTotalCost
            self.leaseSeconds = leaseSeconds
            self.timeoutSeconds = timeoutSeconds
            self.maxAttempts = maxAttempts
        }
    }

    /// How `run` ended.
    public enum Ending: String, Sendable {
        /// The budget was reached and the runs in flight came back (or the grace period ran out).
        case budgetReached
        /// Stopped by a graceful shutdown (SIGTERM); a later start resumes.
        case interrupted
    }

    public let configuration: Configuration
    let transport: any OptimizerTransport
    let persistence: any StudyPersistence
    let newOptimizer: @Sendable () throws -> CARBSOptimizer
    let suggester: Suggester
    let logger: Logger
    let clock: @Sendable () -> Date
    let onProgress: (@Sendable (StudyProgress) -> Void)?
    let outcome = Mutex<(ending: Ending, summary: CARBSSummary)?>(nil)
    let refitCounter = Mutex(0)
    let metrics: OptimizerMetrics
    let liveState: Mutex<LiveStudy>

    /// - Parameters:
    ///   - newOptimizer: makes the optimizer of a new study (not called when the persistence has a saved one).
    ///   - clock: the time source (tests move it by hand).
    ///   - onProgress: called after every step with where the study stands.
    ///   - metrics: where the service counts what it does (default: the process's bootstrapped metrics factory).
    ///   - suggester: how suggestions are chosen (default: `suggest(count:)`; tests inject failures here).
    public init(
        configuration: Configuration, transport: any OptimizerTransport, persistence: any StudyPersistence,
        newOptimizer: @escaping @Sendable () throws -> CARBSOptimizer, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }, onProgress: (@Sendable (StudyProgress) -> Void)? = nil,
        metrics: OptimizerMetrics = OptimizerMetrics(), suggester: @escaping Suggester = OptimizerService.suggest
    ) {
        self.suggester = suggester
        self.metrics = metrics
        liveState = Mutex(LiveStudy(startedAt: clock()))
        self.configuration = configuration
        self.transport = transport
        self.persistence = persistence
        self.newOptimizer = newOptimizer
        self.logger = logger
        self.clock = clock
        self.onProgress = onProgress
    }

    /// Chooses suggestions from an optimizer: `suggest(count:)`, or a stand-in in tests.
    public typealias Suggester = @Sendable (inout CARBSOptimizer, Int) throws -> [Suggestion]

    /// The default `Suggester`.
    public static let suggest: Suggester = { optimizer, count in try optimizer.suggest(count: count) }

    /// The ending and final summary, once `run` returned.
    public var result: (ending: Ending, summary: CARBSSummary)? { outcome.withLock { $0 } }

    /// Where the running study stands, as of its last step (read-only; for the HTTP live view).
    public var live: LiveStudy { liveState.withLock { $0 } }

    /// How many times the models were refitted (one per batch of results that led to new suggestions).
    public var refitCount: Int { refitCounter.withLock { $0 } }

    public func run() async throws {
        let stopping = Mutex(false)
        try await withGracefulShutdownHandler {
            var study = try await StudyRun(service: self)
            try await study.run(stopRequested: { stopping.withLock { $0 } })
        } onGracefulShutdown: {
            stopping.withLock { $0 = true }
        }
    }
}

/// Where a study stands, for progress lines and `carbs status`.
public struct StudyProgress: Sendable, Hashable {
    public var observations: Int
    public var maxObservations: Int?
    public var totalCost: Double
    public var maxTotalCost: Double?
    public var inFlight: Int
    public var running: Int
    public var failures: Int
    public var bestOutput: Double?
    public var bestCost: Double?
    public var paretoSize: Int
    public var elapsed: Duration
    public var isDraining: Bool
}
