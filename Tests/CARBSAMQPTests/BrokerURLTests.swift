import Testing

@testable import CARBSAMQP

@Suite("Broker URLs")
struct BrokerURLTests {
    @Test("a full amqp URL")
    func fullURL() throws {
        let url = try BrokerURL("amqp://alice:s3cret@broker.example:5673/studies")
        #expect(!url.usesTLS)
        #expect(url.user == "alice")
        #expect(url.password == "s3cret")
        #expect(url.host == "broker.example")
        #expect(url.port == 5673)
        #expect(url.virtualHost == "studies")
    }

    @Test("defaults: port by scheme, guest credentials, vhost /")
    func defaults() throws {
        let plain = try BrokerURL("amqp://localhost")
        #expect(plain.port == 5672)
        #expect(plain.user == "guest" && plain.password == "guest")
        #expect(plain.virtualHost == "/")
        let secure = try BrokerURL("amqps://broker/")
        #expect(secure.usesTLS)
        #expect(secure.port == 5671)
        #expect(secure.virtualHost == "/")
        let bare = try BrokerURL("amqp://")
        #expect(bare.host == "localhost")
    }

    @Test("percent-decoding of user, password and vhost")
    func percentDecoding() throws {
        let url = try BrokerURL("amqp://us%40er:p%3Aa%2Fss%25@host/%2f")
        #expect(url.user == "us@er")
        #expect(url.password == "p:a/ss%")
        #expect(url.virtualHost == "/")
        let nested = try BrokerURL("AMQP://h/a%2Fb")
        #expect(nested.virtualHost == "a/b")
    }

    @Test("IPv6 hosts")
    func ipv6() throws {
        let url = try BrokerURL("amqp://[::1]:5999/v")
        #expect(url.host == "::1")
        #expect(url.port == 5999)
        #expect(url.description == "amqp://guest:***@[::1]:5999/v")
    }

    @Test("TLS query options")
    func tlsOptions() throws {
        let url = try BrokerURL(
            "amqps://u:p@h/v?cacertfile=/etc/ca.pem&certfile=/etc/client.pem&keyfile=/etc/key%20file.pem&verify=verify_none&heartbeat=10"
        )
        #expect(url.caCertificatePath == "/etc/ca.pem")
        #expect(url.clientCertificatePath == "/etc/client.pem")
        #expect(url.clientKeyPath == "/etc/key file.pem")
        #expect(url.verifyPeer == false)
        #expect(url.heartbeatSeconds == 10)
        let configuration = AMQPConfiguration(url: url, study: "s")
        #expect(configuration.tls.caCertificatePath == "/etc/ca.pem")
        #expect(configuration.tls.verifyPeer == false)
        #expect(configuration.heartbeatSeconds == 10)
    }

    @Test("description redacts the password")
    func redaction() throws {
        let url = try BrokerURL("amqp://alice:hunter2@h:1234/%2f")
        #expect(url.description == "amqp://alice:***@h:1234/%2F")
        #expect(!url.description.contains("hunter2"))
        #expect(!"\(url)".contains("hunter2"))
        #expect(!String(reflecting: url).contains("hunter2"))
    }

    @Test(
        "bad URLs are refused with the reason",
        arguments: [
            ("http://h", "must start with amqp:// or amqps://"),
            ("amqp://h:99999", "port: \"99999\" is not a port number"),
            ("amqp://h:abc", "port: \"abc\""),
            ("amqp://h/a/b", "contains /"),
            ("amqp://u:p%zz@h", "password: a % is not followed by two hex digits"),
            ("amqp://h?verify=maybe", "verify: \"maybe\""),
            ("amqp://h?cacert=x", "option \"cacert\" is not supported"),
            ("amqp://[::1/v", "closing ]"),
        ])
    func badURLs(text: String, expected: String) {
        #expect {
            try BrokerURL(text)
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .invalidURL && error.message.contains(expected)
        }
    }

    @Test("an invalid password escape does not leak the password")
    func errorDoesNotLeak() {
        do {
            _ = try BrokerURL("amqp://u:topsecret%g@h")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("topsecret"))
        }
    }
}
