import CARBSAMQP
import Foundation
import TestSupport
import Testing

/// `amqps://` end to end: a CA and certificates made with openssl, a RabbitMQ node of the test's own running
/// `Deploy/rabbitmq/rabbitmq.conf` (ports and certificate paths replaced), the real optimizer and worker over TLS,
/// and clients with the wrong CA or the wrong host name refused (issue 6).
@Suite("Deploy: TLS", .timeLimit(.minutes(2)))
struct TLSTests {
    init() throws {
        try DeployEnvironment.requireCarbs()
    }

    @Test("optimizer and worker finish a study over amqps://; a wrong CA and a wrong host name are refused")
    func tlsEndToEnd() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("carbs-tls-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await makeCertificates(in: directory)

        let template = try String(contentsOf: DeployEnvironment.deployFile("rabbitmq/rabbitmq.conf"), encoding: .utf8)
        #expect(template.contains("listeners.ssl.default = 5671"))
        let configuration = template
            .replacingOccurrences(of: "listeners.tcp.default = 5672", with: "listeners.tcp.default = {{PORT}}")
            .replacingOccurrences(of: "listeners.ssl.default = 5671", with: "listeners.ssl.default = {{TLS_PORT}}")
            .replacingOccurrences(of: "/etc/rabbitmq/tls/", with: directory.path + "/")
        let broker = try await TestBrokerNode(configuration: configuration)
        defer { broker.stop() }

        func url(host: String, ca: String) -> String {
            "amqps://guest:guest@\(host):\(broker.tlsPort)/%2f?cacertfile=\(directory.path)/\(ca)"
        }
        // The right CA and host: a passive declaration of a missing queue reaches the broker.
        do {
            _ = try AMQPAdministration.messageCount(url: try BrokerURL(url(host: "localhost", ca: "ca.pem")), queue: "nope")
            Issue.record("a passive declaration of a missing queue succeeded")
        } catch {
            #expect(error.code == .queueNotFound, "over TLS with the right CA: \(error)")
        }
        // A CA that did not sign the broker's certificate: refused before logging in, with a clear error.
        expectRefused(url(host: "localhost", ca: "wrong-ca.pem"), what: "wrong CA")
        // The right CA but a host name the certificate does not name (it names only localhost).
        expectRefused(url(host: "127.0.0.1", ca: "ca.pem"), what: "wrong host name")

        let study = try DeployStudy("tls")
        defer { study.tearDown() }
        let good = url(host: "localhost", ca: "ca.pem")
        let optimizer = try study.startOptimizer(url: good)
        try study.startWorker("w1", url: good)
        try await study.expectFinished(optimizer)
    }

    private func expectRefused(_ urlText: String, what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try AMQPAdministration.messageCount(url: try BrokerURL(urlText), queue: "nope")
            Issue.record("\(what): the connection was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .connectionFailed, "\(what): \(error)", sourceLocation: sourceLocation)
            let text = "\(error)".lowercased()
            #expect(
                text.contains("ssl") || text.contains("tls") || text.contains("certificate"),
                "\(what): the error does not say it is about TLS: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// `ca.pem` (signs `server.pem` for DNS name localhost) and an unrelated `wrong-ca.pem`.
    private func makeCertificates(in directory: URL) async throws {
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=CARBS test CA"],
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "wrong-ca.key", "-out", "wrong-ca.pem",
                "-days", "2", "-subj", "/CN=CARBS wrong CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
                "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                "server.pem", "-days", "2", "-extfile", "server.ext"],
        ]
        try "subjectAltName = DNS:localhost\n".write(
            to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        for arguments in steps {
            let paths = arguments.map { argument in
                argument.contains(".") && !argument.hasPrefix("/") ? directory.appendingPathComponent(argument).path
                    : argument
            }
            let (status, output) = try await DeployEnvironment.run(
                "/usr/bin/openssl", paths, in: directory, timeout: .seconds(30))
            try #require(status == 0, "openssl \(arguments.joined(separator: " ")): \(output)")
        }
        // RabbitMQ runs as this user and must read its key.
        chmod(directory.appendingPathComponent("server.key").path, 0o644)
    }
}
