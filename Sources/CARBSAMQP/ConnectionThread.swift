import Foundation
import Synchronization
import Logging

/// What a connection thread needs to know to connect.
struct ConnectionSettings: Sendable {
    var url: BrokerURL
    var tls: AMQPConfiguration.TLS
    var heartbeatSeconds: Int
    var reconnect: AMQPConfiguration.Backoff
    var startTimeout: Duration?
    var pollInterval: Duration
    /// Shown by the broker (`connection_name`), e.g. `carbs/mlp/optimizer-publisher`.
    var connectionName: String

    init(configuration: AMQPConfiguration, role: String) {
        url = configuration.url
        tls = configuration.tls
        heartbeatSeconds = configuration.heartbeatSeconds
        reconnect = configuration.reconnect
        startTimeout = configuration.startTimeout
        pollInterval = configuration.pollInterval
        connectionName = "carbs/\(configuration.study)/\(role)"
    }
}

/// Owns one rabbitmq-c connection on one dedicated thread: connects (and reconnects with capped exponential
/// backoff and jitter), runs commands posted to its mailbox, reads frames, and services heartbeats with a
/// bounded `poll` even when nothing happens for hours.
///
/// Subclasses say what to set up on each new connection, how to run their commands and what to do with frames.
///
/// `@unchecked Sendable`: only the stored `mailbox`, `settings`, `connectedFlag` and `generationValue` (all
/// Sendable) are touched from other threads; every other member is used by the thread that runs `run()` only,
/// after the initialiser returned.
class ConnectionThread<Command: Sendable>: @unchecked Sendable {
    let mailbox = Mailbox<Command>()
    let settings: ConnectionSettings
    var logger: Logger

    /// The current connection, nil while disconnected.
    private(set) var connection: Connection? {
        didSet { connectedFlag.store(connection != nil, ordering: .relaxed) }
    }
    /// Whether `connection` is set, readable from any thread (for readiness checks).
    private let connectedFlag = Atomic<Bool>(false)
    /// Whether the thread holds an open, set-up connection now.
    final var isConnected: Bool { connectedFlag.load(ordering: .relaxed) }
    /// Increases with every new connection: receipts of older connections are stale.
    private(set) var generation: UInt64 = 0 {
        didSet { generationValue.store(generation, ordering: .relaxed) }
    }
    /// `generation`, readable from any thread.
    private let generationValue = Atomic<UInt64>(0)
    /// Whether a receipt of `generation` belongs to the connection that is up now, readable from any thread.
    /// A moment later it may not: the connection can drop at any time.
    final func isCurrent(generation: UInt64) -> Bool {
        isConnected && generationValue.load(ordering: .relaxed) == generation
    }

    private var isWanted = false
    private var hasStarted = false
    private var startWaiters: [CheckedContinuation<Void, any Error>] = []
    private var startDeadline: ContinuousClock.Instant?
    private var failedAttempts = 0
    private var nextAttempt = ContinuousClock.now
    private var lastInbound = ContinuousClock.now
    private var loggedFailureCodes: Set<AMQPError.Code> = []
    private var isRunning = true
    private var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    private var thread: Thread?

    init(settings: ConnectionSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.logger[metadataKey: "amqp.connection"] = "\(settings.connectionName)"
    }

    /// Starts the thread.
    final func launch() {
        let thread = Thread { [self] in run() }
        thread.name = settings.connectionName
        self.thread = thread
        thread.start()
    }

    // MARK: - For subclasses

    /// Runs on every new connection before it is used (declarations, qos, confirm.select, consume).
    func setUp(_ connection: Connection) throws(AMQPError) {}

    /// Runs one command from the mailbox.
    func handle(_ command: Command) {}

    /// Handles one frame from the broker (connection-level frames are handled before this is called).
    func handle(_ frame: Frame, on connection: Connection) throws(AMQPError) {}

    /// Runs once per loop turn while connected, before frames are read (e.g. sends queued publishes).
    func work(on connection: Connection) throws(AMQPError) {}

    /// Runs after every frame available at once has been handled (e.g. hands a burst to receivers as one batch).
    func framesHandled() {}

    /// The connection is gone: reset per-connection state; keep what must be retried.
    func connectionLost() {}

    /// Fires timers due at `now` (receive timeouts, delayed retries).
    func fireTimers(now: ContinuousClock.Instant) {}

    /// The earliest timer of the subclass, if any.
    var nextTimer: ContinuousClock.Instant? { nil }

    /// True when `work(on:)` has something to do at once.
    var hasImmediateWork: Bool { false }

    /// Fails everything waiting: the thread is stopping.
    func failAll(_ error: AMQPError) {}

    /// Fails a command that arrived after the thread stopped (a shutdown command is resumed normally).
    func reject(_ command: Command, _ error: AMQPError) {}

    // MARK: - Used by subclasses' commands

    /// Whether `start()` was asked for and has not failed: commands that need a connection wait for one only
    /// then, and fail at once otherwise (they would wait for ever).
    final var isStartRequested: Bool { isWanted }

    /// The error for a command posted before `start()`.
    static var notStartedError: AMQPError {
        AMQPError(.notStarted, "the AMQP transport was used before start() (or after start() failed)")
    }

    /// Asks for a connection (from the first `start`), and resumes `continuation` once it is set up.
    final func requestStart(_ continuation: CheckedContinuation<Void, any Error>) {
        if hasStarted && connection != nil {
            continuation.resume()
            return
        }
        startWaiters.append(continuation)
        if !isWanted {
            isWanted = true
            failedAttempts = 0
            nextAttempt = .now
            startDeadline = settings.startTimeout.map { ContinuousClock.now + $0 }
        }
    }

    /// Stops the thread after closing the connection; resumes `continuation` when done.
    final func requestShutdown(_ continuation: CheckedContinuation<Void, Never>?) {
        if let continuation { shutdownWaiters.append(continuation) }
        isRunning = false
    }

    /// Drops the connection after an error and schedules a reconnect.
    final func lose(_ error: AMQPError) {
        guard let connection else { return }
        logger.warning("AMQP connection lost; reconnecting", metadata: ["error": "\(error)"])
        if error.code == .closedByBroker || error.replyCode != nil {
            connection.close()
        } else {
            connection.abandon()
        }
        self.connection = nil
        connectionLost()
        failedAttempts = 0
        nextAttempt = .now + settings.reconnect.delay(attempt: 0, random: Double.random(in: 0...1))
    }

    // MARK: - The loop

    private func run() {
        while isRunning {
            for command in mailbox.take() {
                handle(command)
            }
            guard isRunning else { break }
            let now = ContinuousClock.now
            if connection == nil && isWanted && now >= nextAttempt {
                connect()
            }
            if let connection {
                serve(connection)
            }
            fireTimers(now: .now)
            waitForWork()
        }
        stop()
    }

    private func serve(_ connection: Connection) {
        do throws(AMQPError) {
            try work(on: connection)
            while self.connection === connection, let frame = try connection.nextFrame() {
                lastInbound = .now
                switch frame {
                case .connectionClosed(let code, let text):
                    connection.acknowledgeConnectionClose()
                    throw AMQPError(
                        Connection.errorCode(replyCode: code), "broker closed the connection: \(text)",
                        replyCode: code)
                case .channelClosed(let code, let text):
                    connection.acknowledgeChannelClose()
                    throw AMQPError(
                        Connection.errorCode(replyCode: code), "broker closed the channel: \(text)", replyCode: code)
                default:
                    try handle(frame, on: connection)
                }
            }
            framesHandled()
            connection.releaseBuffers()
            let heartbeat = connection.heartbeatSeconds
            if heartbeat > 0 && ContinuousClock.now - lastInbound > .seconds(2 * heartbeat + 1) {
                throw AMQPError(.connectionFailed, "no heartbeat from the broker for \(2 * heartbeat) s")
            }
        } catch {
            lose(error)
        }
    }

    private func connect() {
        do throws(AMQPError) {
            let connection = try Connection(
                url: settings.url, tls: settings.tls, heartbeatSeconds: settings.heartbeatSeconds,
                name: settings.connectionName)
            generation += 1
            self.connection = connection
            lastInbound = .now
            do throws(AMQPError) {
                try setUp(connection)
            } catch {
                self.connection = nil
                connection.close()
                connectionLost()
                throw error
            }
            if hasStarted {
                logger.info("AMQP connection restored", metadata: ["broker": "\(settings.url)"])
            } else if failedAttempts > 0 {
                logger.info(
                    "AMQP connection ready",
                    metadata: ["broker": "\(settings.url)", "attempts": "\(failedAttempts + 1)"])
            } else {
                logger.debug("AMQP connection open", metadata: ["broker": "\(settings.url)"])
            }
            failedAttempts = 0
            loggedFailureCodes = []
            hasStarted = true
            startDeadline = nil
            let waiters = startWaiters
            startWaiters = []
            for waiter in waiters { waiter.resume() }
        } catch {
            connectFailed(error)
        }
    }

    private func connectFailed(_ error: AMQPError) {
        let delay = settings.reconnect.delay(attempt: failedAttempts, random: Double.random(in: 0...1))
        failedAttempts += 1
        nextAttempt = .now + delay
        if !hasStarted {
            if error.isPermanent {
                failStart(error)
                return
            }
            if let startDeadline, ContinuousClock.now + delay > startDeadline {
                failStart(
                    AMQPError(
                        .timedOut, "gave up connecting to \(settings.url) after \(settings.startTimeout!): \(error)"))
                return
            }
        }
        // Log each kind of failure once until the connection works again (a worker may wait for hours).
        if loggedFailureCodes.insert(error.code).inserted {
            if error.code == .queueNotFound {
                logger.info(
                    "waiting for the study's queues (is the optimizer running?)", metadata: ["error": "\(error)"])
            } else {
                logger.warning(
                    "cannot connect to the broker; retrying",
                    metadata: ["broker": "\(settings.url)", "error": "\(error)"])
            }
        }
    }

    private func failStart(_ error: AMQPError) {
        isWanted = false
        let waiters = startWaiters
        startWaiters = []
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    private func waitForWork() {
        let now = ContinuousClock.now
        var timeout = settings.pollInterval
        if let connection, connection.hasBufferedInput || hasImmediateWork {
            timeout = .zero
        }
        if connection == nil && isWanted { timeout = min(timeout, max(.zero, nextAttempt - now)) }
        if let timer = nextTimer { timeout = min(timeout, max(.zero, timer - now)) }
        var descriptors = [mailbox.descriptor]
        if let socket = connection?.socketDescriptor, socket >= 0 { descriptors.append(socket) }
        let readable = waitForInput(descriptors, timeout: timeout)
        if readable.count > 1 && readable[1] { lastInbound = .now }
    }

    private func stop() {
        connection?.close()
        connection = nil
        let error = AMQPError(.shutDown, "the AMQP transport was shut down")
        failStart(error)
        failAll(error)
        for command in mailbox.seal() {
            reject(command, error)
        }
        for waiter in shutdownWaiters { waiter.resume() }
        shutdownWaiters = []
    }
}
