import CARBSAMQP
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import CARBSMessaging

/// The transports the conformance suite runs its test bodies over (Hummingbird's `.router` / `.live` idea): the
/// in-process `EmbeddedBroker` and RabbitMQ at `CARBS_TEST_BROKER_URL` (the suite fails, never skips, when that
/// broker does not answer).
enum TransportBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case embedded
    case rabbitMQ

    var testDescription: String { rawValue }

    /// Runs `body` with a broker of this backend and a fresh study on it; afterwards shuts down every transport
    /// the body made and (RabbitMQ) deletes the queues of every study it used.
    func withEnvironment(_ prefix: String, _ body: (any TransportEnvironment) async throws -> Void) async throws {
        let environment: any TransportEnvironment =
            switch self {
            case .embedded: EmbeddedEnvironment(prefix: prefix)
            case .rabbitMQ: RabbitMQEnvironment(prefix: prefix)
            }
        do {
            try await body(environment)
        } catch {
            try? await environment.tearDown()
            throw error
        }
        try await environment.tearDown()
    }

    /// Sizes for the load tests: the embedded broker takes thousands of messages a second; every RabbitMQ
    /// transport is two TCP connections and every publish waits for its confirm, on a 2-core machine.
    var scale: Int {
        switch self {
        case .embedded: 4
        case .rabbitMQ: 1
        }
    }
}

/// A dead-lettered message as either backend shows it.
struct DeadLetter: Sendable, Equatable {
    var body: Data
    var reason: String
    var messageID: String?
    var correlationID: String?
}

/// One test's broker: makes transports for studies on it and looks into its queues from the outside.
protocol TransportEnvironment: Sendable {
    /// The test's own study (new for every environment).
    var study: String { get }
    /// A further study name, unique to this test (for isolation tests); cleaned up with the environment.
    func newStudy() -> String

    /// An optimizer transport for `study`, not started.
    func optimizer(study: String) throws -> any OptimizerTransport
    /// A worker transport for `study`, not started.
    func worker(study: String) throws -> any WorkerTransport

    /// How many messages wait in `queue` (not counting delivered, unsettled ones); nil when it does not exist.
    func readyCount(_ queue: String) async throws -> Int?
    /// Takes the messages in `study`'s dead-letter queue, oldest first.
    func takeDeadLetters(study: String) async throws -> [DeadLetter]
    /// The connection of every live transport of `study` drops (the broker closes it); each transport
    /// reconnects by itself.
    func dropConnections(study: String) async throws

    /// Whether `error` is what this backend throws for a call after `shutdown()`.
    func isShutDownError(_ error: any Error) -> Bool
    /// Whether `error` is what this backend throws for a call before `start()`.
    func isNotStartedError(_ error: any Error) -> Bool

    /// Shuts down every transport made here and removes what the test left on the broker.
    func tearDown() async throws
}

extension TransportEnvironment {
    func optimizer() throws -> any OptimizerTransport { try optimizer(study: study) }
    func worker() throws -> any WorkerTransport { try worker(study: study) }
    func takeDeadLetters() async throws -> [DeadLetter] { try await takeDeadLetters(study: study) }
    func dropConnections() async throws { try await dropConnections(study: study) }
    var names: QueueNames { try! QueueNames(study: study) }

    /// A started optimizer and `count` started workers for the test's study.
    func startedStudy(
        workers count: Int = 1
    ) async throws -> (optimizer: any OptimizerTransport, workers: [any WorkerTransport]) {
        let optimizer = try optimizer()
        try await optimizer.start()
        var workers: [any WorkerTransport] = []
        for _ in 0..<count {
            let worker = try worker()
            try await worker.start()
            workers.append(worker)
        }
        return (optimizer, workers)
    }
}

private func uniqueStudy(_ prefix: String) -> String {
    "test-\(prefix)-\(String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 16))"
}

// MARK: - Embedded

/// A new `EmbeddedBroker` per test.
final class EmbeddedEnvironment: TransportEnvironment {
    let broker = EmbeddedBroker()
    let study: String
    private let prefix: String
    private enum Made {
        case optimizer(EmbeddedOptimizerTransport)
        case worker(EmbeddedWorkerTransport)
    }
    private let made = Mutex<[(study: String, transport: Made)]>([])

    init(prefix: String) {
        self.prefix = prefix
        study = uniqueStudy(prefix)
    }

    func newStudy() -> String { uniqueStudy(prefix) }

    func optimizer(study: String) throws -> any OptimizerTransport {
        let transport = try broker.optimizerTransport(study: study)
        made.withLock { $0.append((study, .optimizer(transport))) }
        return transport
    }

    func worker(study: String) throws -> any WorkerTransport {
        let transport = try broker.workerTransport(study: study)
        made.withLock { $0.append((study, .worker(transport))) }
        return transport
    }

    func readyCount(_ queue: String) async throws -> Int? {
        await broker.queueNames().contains(queue) ? await broker.queueDepth(queue) : nil
    }

    func takeDeadLetters(study: String) async throws -> [DeadLetter] {
        let dead = await broker.deadLetterMessages(study: study).map {
            DeadLetter(body: $0.body, reason: $0.reason, messageID: $0.messageID, correlationID: $0.correlationID)
        }
        _ = await broker.purge("carbs.\(study).dead")
        return dead
    }

    func dropConnections(study: String) async throws {
        let transports = made.withLock { $0.filter { $0.study == study }.map(\.transport) }
        var dropped = 0
        for transport in transports {
            // Only live connections drop: a transport that was shut down stays shut down.
            switch transport {
            case .optimizer(let optimizer):
                guard (try? await broker.checkOpen(optimizer.connection)) != nil else { continue }
                await optimizer.simulateReconnect()
            case .worker(let worker):
                guard (try? await broker.checkOpen(worker.connection)) != nil else { continue }
                await worker.simulateReconnect()
            }
            dropped += 1
        }
        if dropped == 0 { throw HarnessError("no live embedded transport of \(study) to drop") }
    }

    func isShutDownError(_ error: any Error) -> Bool { (error as? TransportError)?.code == .closed }
    func isNotStartedError(_ error: any Error) -> Bool { (error as? TransportError)?.code == .notStarted }

    func tearDown() async throws {
        for (_, transport) in made.withLock({ $0 }) {
            switch transport {
            case .optimizer(let optimizer): await optimizer.shutdown()
            case .worker(let worker): await worker.shutdown()
            }
        }
    }
}

// MARK: - RabbitMQ

/// The shared broker at `CARBS_TEST_BROKER_URL`; studies unique to the test, their queues deleted afterwards.
final class RabbitMQEnvironment: TransportEnvironment {
    static let urlText =
        ProcessInfo.processInfo.environment["CARBS_TEST_BROKER_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2f"

    static let logger: Logger = {
        var logger = Logger(label: "carbs.conformance.tests")
        logger.logLevel = ProcessInfo.processInfo.environment["CARBS_TEST_LOG"] != nil ? .trace : .critical
        return logger
    }()

    let study: String
    private let prefix: String
    private let studies: Mutex<Set<String>>
    private let optimizers = Mutex<[AMQPOptimizerTransport]>([])
    private let workers = Mutex<[AMQPWorkerTransport]>([])

    init(prefix: String) {
        self.prefix = prefix
        study = uniqueStudy(prefix)
        studies = Mutex([study])
    }

    private var url: BrokerURL {
        get throws { try BrokerURL(Self.urlText) }
    }

    func newStudy() -> String {
        let study = uniqueStudy(prefix)
        studies.withLock { _ = $0.insert(study) }
        return study
    }

    /// Test settings: fail `start()` after 15 s rather than wait for ever; reconnect fast.
    private func configuration(study: String) throws -> AMQPConfiguration {
        var configuration = AMQPConfiguration(url: try url, study: study)
        configuration.startTimeout = .seconds(15)
        configuration.reconnect = .init(initialDelay: .milliseconds(50), maximumDelay: .seconds(1), jitter: 0.5)
        return configuration
    }

    func optimizer(study: String) throws -> any OptimizerTransport {
        let transport = try AMQPOptimizerTransport(configuration: try configuration(study: study), logger: Self.logger)
        optimizers.withLock { $0.append(transport) }
        return transport
    }

    func worker(study: String) throws -> any WorkerTransport {
        let transport = try AMQPWorkerTransport(configuration: try configuration(study: study), logger: Self.logger)
        workers.withLock { $0.append(transport) }
        return transport
    }

    func readyCount(_ queue: String) async throws -> Int? {
        do {
            return try AMQPAdministration.messageCount(url: try url, queue: queue)
        } catch let error as AMQPError where error.code == .queueNotFound {
            return nil
        }
    }

    func takeDeadLetters(study: String) async throws -> [DeadLetter] {
        var dead: [DeadLetter] = []
        while let message = try AMQPAdministration.take(url: try url, queue: "carbs.\(study).dead") {
            dead.append(
                DeadLetter(
                    body: message.body, reason: message.headers["x-carbs-reason"] ?? "",
                    messageID: message.messageID, correlationID: message.correlationID))
        }
        return dead
    }

    /// Closes, from the broker's side, every connection whose `connection_name` mentions `study`: only this
    /// test's connections (the broker is shared: never restart it or close other people's connections).
    func dropConnections(study: String) async throws {
        let listing = try Self.rabbitmqctl(["-q", "list_connections", "--no-table-headers", "pid", "client_properties"])
        let pids = listing.split(separator: "\n").filter { $0.contains("carbs/\(study)/") }.compactMap {
            $0.split(whereSeparator: \.isWhitespace).first.map(String.init)
        }
        if pids.isEmpty { throw HarnessError("rabbitmqctl lists no connection of \(study)") }
        for pid in pids {
            _ = try Self.rabbitmqctl(["-q", "close_connection", pid, "conformance test"])
        }
    }

    func isShutDownError(_ error: any Error) -> Bool { (error as? AMQPError)?.code == .shutDown }
    func isNotStartedError(_ error: any Error) -> Bool { (error as? AMQPError)?.code == .notStarted }

    func tearDown() async throws {
        // Consumers first: a live optimizer would redeclare the queues deleted under it.
        for transport in optimizers.withLock({ $0 }) { await transport.shutdown() }
        for transport in workers.withLock({ $0 }) { await transport.shutdown() }
        for study in studies.withLock({ $0 }) {
            try AMQPAdministration.deleteStudyQueues(url: try url, study: study)
        }
    }

    private static func rabbitmqctl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["rabbitmqctl"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError("rabbitmqctl \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
