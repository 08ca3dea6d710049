import CARBSAMQP
import CARBSMessaging
import Foundation
import Logging
import Testing

/// The broker the integration tests use: `CARBS_TEST_BROKER_URL`, else the local default. Tests fail (they do
/// not skip) when it is unreachable.
enum TestBroker {
    static let urlText =
        ProcessInfo.processInfo.environment["CARBS_TEST_BROKER_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2f"

    static var url: BrokerURL {
        get throws { try BrokerURL(urlText) }
    }

    static let logger: Logger = {
        var logger = Logger(label: "carbs.amqp.tests")
        logger.logLevel = ProcessInfo.processInfo.environment["CARBS_TEST_LOG"] != nil ? .trace : .critical
        return logger
    }()

    /// A fresh study name, so that tests running at the same time never share queues.
    static func newStudy(_ prefix: String = "t") -> String {
        "test-\(prefix)-\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
    }

    /// Test settings: fail `start()` after 15 s, retry fast.
    static func configuration(study: String) throws -> AMQPConfiguration {
        var configuration = AMQPConfiguration(url: try url, study: study)
        configuration.startTimeout = .seconds(15)
        configuration.reconnect = .init(initialDelay: .milliseconds(50), maximumDelay: .seconds(1), jitter: 0.5)
        return configuration
    }

    static func optimizer(study: String, edit: (inout AMQPConfiguration) -> Void = { _ in }) throws
        -> AMQPOptimizerTransport
    {
        var configuration = try configuration(study: study)
        edit(&configuration)
        return try AMQPOptimizerTransport(configuration: configuration, logger: logger)
    }

    static func worker(study: String) throws -> AMQPWorkerTransport {
        try AMQPWorkerTransport(configuration: try configuration(study: study), logger: logger)
    }

    /// Runs `body` with a new study name and deletes the study's queues afterwards.
    static func withStudy(_ prefix: String, _ body: (String) async throws -> Void) async throws {
        let study = newStudy(prefix)
        do {
            try await body(study)
        } catch {
            try? AMQPAdministration.deleteStudyQueues(url: try url, study: study)
            throw error
        }
        try AMQPAdministration.deleteStudyQueues(url: try url, study: study)
    }

    static func message(_ id: String, attempt: Int = 1, body: String? = nil) -> OutboundMessage {
        OutboundMessage(
            body: Data((body ?? #"{"suggestion_id":"\#(id)"}"#).utf8), messageID: "\(id)/\(attempt)", correlationID: id)
    }

    static func readyCount(_ queue: String) throws -> Int {
        try AMQPAdministration.messageCount(url: try url, queue: queue)
    }

    /// Closes, from the broker's side, every connection whose `connection_name` mentions `study`: only this
    /// test's connections (the broker is shared; never restart it or close other people's connections).
    static func closeConnections(study: String) throws -> Int {
        let listing = try rabbitmqctl(["-q", "list_connections", "--no-table-headers", "pid", "client_properties"])
        let pids = listing.split(separator: "\n").filter { $0.contains(study) }.compactMap {
            $0.split(whereSeparator: \.isWhitespace).first.map(String.init)
        }
        for pid in pids {
            _ = try rabbitmqctl(["-q", "close_connection", pid, "test"])
        }
        return pids.count
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
            throw AMQPError(
                .library, "rabbitmqctl \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(
        timeout: Duration = .seconds(10), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}
