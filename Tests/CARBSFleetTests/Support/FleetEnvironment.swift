import CARBSAMQP
import Foundation

/// Where the fleet tests find the broker and the `carbs` binary.
enum FleetEnvironment {
    /// `CARBS_TEST_BROKER_URL`, else the local default broker.
    static let brokerURLText =
        ProcessInfo.processInfo.environment["CARBS_TEST_BROKER_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2f"

    /// Fails (it never skips) when no broker answers at `urlText`: a passive declaration of a queue that cannot
    /// exist must come back as `queueNotFound`.
    static func requireBroker(_ urlText: String = brokerURLText) throws {
        let url = try BrokerURL(urlText)
        do {
            _ = try AMQPAdministration.messageCount(url: url, queue: "carbs.fleet-probe.\(UUID().uuidString)")
        } catch  where error.code == .queueNotFound {
            return
        } catch {
            throw FleetError(
                "no RabbitMQ broker is reachable at CARBS_TEST_BROKER_URL (default amqp://127.0.0.1:5672): \(error). "
                    + "The fleet tests need one: run them through .ci/with-rabbitmq.sh.")
        }
        throw FleetError("a passive declaration of a random queue succeeded: this is not a normal broker")
    }

    /// The package's root directory (this file is `Tests/CARBSFleetTests/Support/FleetEnvironment.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `carbs` executable: `CARBS_EXECUTABLE`, else next to the test binary (SwiftPM puts products and the
    /// test bundle in one directory), else `.build/debug/carbs` under the package root.
    static let carbsExecutable: String = {
        if let path = ProcessInfo.processInfo.environment["CARBS_EXECUTABLE"] { return path }
        var candidates: [URL] = []
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        candidates.append(testBinary.deletingLastPathComponent().appendingPathComponent("carbs"))
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("carbs"))
        }
        // macOS: the .xctest bundle's parent.
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("carbs"))
        candidates.append(packageRoot.appendingPathComponent(".build/debug/carbs"))
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return (found ?? candidates.last!).path
    }()

    /// Fails unless the `carbs` binary exists (`swift build` makes it; `swift test` builds it too).
    static func requireCarbs() throws {
        guard FileManager.default.isExecutableFile(atPath: carbsExecutable) else {
            throw FleetError("the carbs executable is missing at \(carbsExecutable): run `swift build` first")
        }
    }
}
