import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A RabbitMQ node of its own for one test, so that the test can restart or configure it (users, TLS, a
/// cluster) without disturbing the shared broker: its own node name, ports, Erlang cookie,
/// database and logs in a temporary directory, no plugins, and a `rabbitmq.conf` given by the test.
/// `stop()` ends it (call it in a `defer`); a node that does not stop is killed by its pid.
public final class TestBrokerNode {
    public let nodeName: String
    public let port: Int
    /// The TLS listener's port (`{{TLS_PORT}}` in the configuration).
    public let tlsPort: Int
    public let directory: URL
    private var isStopped = false

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f` (guest may log in over loopback).
    public var urlText: String { "amqp://guest:guest@127.0.0.1:\(port)/%2f" }

    /// Starts the node and waits until it accepts connections and finished booting.
    /// - Throws: `HarnessError` when RabbitMQ is not installed or the node does not come up within `timeout`.
    /// - Parameter configuration: The node's `rabbitmq.conf`; `{{PORT}}` and `{{TLS_PORT}}` are replaced by free
    ///   ports, `{{DIR}}` by the node's directory. Without `listeners.tcp.default` the node listens on `{{PORT}}`.
    /// - Parameter cookie: The Erlang cookie; nodes that form a cluster share one. Nil makes a random one.
    public init(configuration: String = "", cookie: String? = nil, timeout: Duration = .seconds(90)) async throws {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        nodeName = "carbs_test_\(suffix)@localhost"
        port = try Self.freePort()
        tlsPort = try Self.freePort()
        let distributionPort = try Self.freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("carbs-rabbit-\(suffix)")
        self.directory = directory
        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "[].\n".write(to: file("enabled_plugins"), atomically: true, encoding: .utf8)
        var text = configuration.contains("listeners.tcp.default") ? configuration : configuration + "\nlisteners.tcp.default = {{PORT}}\n"
        text = text.replacingOccurrences(of: "{{PORT}}", with: String(port))
            .replacingOccurrences(of: "{{TLS_PORT}}", with: String(tlsPort))
            .replacingOccurrences(of: "{{DIR}}", with: directory.path)
        try text.write(to: file("rabbitmq.conf"), atomically: true, encoding: .utf8)
        try "".write(to: file("rabbitmq-env.conf"), atomically: true, encoding: .utf8)
        // A cookie of its own: only this test's rabbitmqctl calls can talk to the node.
        let cookie = cookie ?? Self.randomCookie()
        try cookie.write(to: file(".erlang.cookie"), atomically: true, encoding: .utf8)
        chmod(file(".erlang.cookie").path, 0o400)
        environment = [
            "HOME": directory.path,
            "RABBITMQ_NODENAME": nodeName,
            "RABBITMQ_DIST_PORT": String(distributionPort),
            "RABBITMQ_MNESIA_BASE": file("mnesia").path,
            "RABBITMQ_LOG_BASE": file("log").path,
            "RABBITMQ_PID_FILE": file("rabbit.pid").path,
            "RABBITMQ_ENABLED_PLUGINS_FILE": file("enabled_plugins").path,
            "RABBITMQ_CONFIG_FILE": file("rabbitmq.conf").path,
            "RABBITMQ_CONF_ENV_FILE": file("rabbitmq-env.conf").path,
        ]
        do {
            _ = try await run(Self.tool("rabbitmq-server"), ["-detached"], timeout: .seconds(30))
            try await waitForPort(timeout: timeout)
            try await control(["await_startup", "--timeout", "60"], timeout: timeout)
        } catch {
            stop()
            throw error
        }
    }

    /// What RabbitMQ's tools need to reach this node (its cookie is in `HOME`).
    public let environment: [String: String]

    /// The `rabbitmqctl` command line for this node, e.g. for `setup-users.sh --ctl`.
    public var controlCommand: String { (try? Self.tool("rabbitmqctl")).map { "\($0) -n \(nodeName)" } ?? "rabbitmqctl" }

    private func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Stops the RabbitMQ application on the node: every connection drops and the listener closes; durable
    /// queues and persistent messages stay.
    public func stopApplication() async throws {
        try await control(["stop_app"], timeout: .seconds(90))
    }

    /// Starts the RabbitMQ application again and waits until it accepts connections.
    public func startApplication() async throws {
        try await control(["start_app"], timeout: .seconds(90))
        try await waitForPort(timeout: .seconds(60))
    }

    /// Stops the whole node (the Erlang VM, not only the RabbitMQ application) and waits until its process
    /// exited; its directory stays, so `startNode()` boots it with its data (and its cluster membership).
    public func stopNode() async throws {
        try await control(["stop", file("rabbit.pid").path], timeout: .seconds(90))
    }

    /// Boots a node that `stopNode()` stopped and waits until it accepts connections and finished booting.
    public func startNode(timeout: Duration = .seconds(90)) async throws {
        _ = try await run(Self.tool("rabbitmq-server"), ["-detached"], timeout: .seconds(30))
        try await waitForPort(timeout: timeout)
        try await control(["await_startup", "--timeout", "60"], timeout: timeout)
    }

    /// A random Erlang cookie (20 capital letters).
    public static func randomCookie() -> String {
        String((0..<20).map { _ in "ABCDEFGHIJKLMNOPQRSTUVWXYZ".randomElement()! })
    }

    /// Stops the node (and kills it by its pid if it does not stop), then removes its directory.
    public func stop() {
        guard !isStopped else { return }
        isStopped = true
        let pid = (try? String(contentsOf: file("rabbit.pid"), encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let stopped = (try? runBlocking(Self.tool("rabbitmqctl"), ["-n", nodeName, "stop"], timeout: 30)) == 0
        if let pid, !stopped || kill(pid, 0) == 0 {
            var waited = 0
            while kill(pid, 0) == 0 && waited < 100 {
                if waited == 50 { kill(pid, SIGKILL) }
                usleep(100_000)
                waited += 1
            }
            kill(pid, SIGKILL)
        }
        if ProcessInfo.processInfo.environment["CARBS_TEST_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    // MARK: - Helpers

    /// `rabbitmqctl -n <node> …`; throws unless it exits 0.
    public func control(_ arguments: [String], timeout: Duration) async throws {
        let status = try await run(Self.tool("rabbitmqctl"), ["-n", nodeName] + arguments, timeout: timeout)
        guard status == 0 else {
            throw HarnessError("rabbitmqctl \(arguments.joined(separator: " ")) exited \(status)\n\(logTail())")
        }
    }

    private func run(_ tool: String, _ arguments: [String], timeout: Duration) async throws -> Int32 {
        let child = try ChildProcess(
            name: "\((tool as NSString).lastPathComponent) \(arguments.joined(separator: " "))", executable: tool,
            arguments: arguments, environment: environment,
            logPath: file("tool-\(UUID().uuidString.prefix(8)).log").path, workingDirectory: directory.path)
        do {
            return try await child.waitForExit(timeout: timeout)
        } catch {
            child.kill()
            throw error
        }
    }

    /// For `stop()`, which runs in `defer` (synchronous).
    private func runBlocking(_ tool: String, _ arguments: [String], timeout: TimeInterval) throws -> Int32 {
        let child = try ChildProcess(
            name: "rabbitmqctl stop", executable: tool, arguments: arguments, environment: environment,
            logPath: file("stop.log").path, workingDirectory: directory.path)
        let deadline = Date().addingTimeInterval(timeout)
        while child.isRunning && Date() < deadline { usleep(50_000) }
        if child.isRunning {
            child.kill()
            return -1
        }
        return child.exitStatus
    }

    private func waitForPort(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while !Self.portIsOpen(port) {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("the separate RabbitMQ node did not open port \(port) within \(timeout)\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    private func logTail() -> String {
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: file("log").path)) ?? []
        return logs.filter { $0.hasSuffix(".log") }.compactMap { name -> String? in
            guard let text = try? String(contentsOf: file("log").appendingPathComponent(name), encoding: .utf8) else {
                return nil
            }
            return "--- \(name) ---\n" + text.split(separator: "\n").suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The RabbitMQ scripts themselves: Debian's `/usr/sbin` wrappers switch to the `rabbitmq` user, which could
    /// not read this node's directory.
    public static func tool(_ name: String) throws -> String {
        for directory in ["/usr/lib/rabbitmq/bin", "/usr/local/sbin", "/usr/sbin", "/opt/homebrew/sbin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw HarnessError("\(name) is not installed (apt-get install rabbitmq-server)")
    }

    /// A TCP port nobody listens on now (bind to port 0, read it, close).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw HarnessError("could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func portIsOpen(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                connect(fd, socketAddress, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
