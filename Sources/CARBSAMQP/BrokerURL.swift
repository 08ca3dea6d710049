/// Where the broker is and how to log in: `amqp://user:pass@host:port/vhost` or `amqps://…`.
///
/// Follows RabbitMQ's URI specification: user, password and virtual host are percent-decoded (`%2f` is `/`);
/// the port defaults to 5672 (`amqp`) or 5671 (`amqps`); the host to `localhost`; user and password to
/// `guest`; the virtual host to `/` when the path is empty. Query options: `cacertfile`, `certfile`,
/// `keyfile` (TLS files), `verify` (`verify_peer` or `verify_none`) and `heartbeat` (seconds).
///
/// `description` redacts the password: a `BrokerURL` is safe to log.
public struct BrokerURL: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// True for `amqps`.
    public var usesTLS: Bool
    public var host: String
    public var port: Int
    public var virtualHost: String
    public var user: String
    /// Never logged: `description` shows `***` instead.
    public var password: String
    /// `cacertfile`: PEM file of the certificate authorities that sign the broker's certificate.
    public var caCertificatePath: String?
    /// `certfile`: PEM client certificate (for brokers that verify clients).
    public var clientCertificatePath: String?
    /// `keyfile`: PEM private key of the client certificate.
    public var clientKeyPath: String?
    /// `verify`: `verify_peer` (true) or `verify_none` (false); nil when the URL does not say.
    public var verifyPeer: Bool?
    /// `heartbeat`: seconds; nil when the URL does not say.
    public var heartbeatSeconds: Int?

    /// The query options this parser understands.
    public static let queryOptions = ["cacertfile", "certfile", "keyfile", "verify", "heartbeat"]

    /// Parses a broker URL.
    /// - Throws: `AMQPError` with code `.invalidURL`, naming what is wrong (never echoing the password).
    public init(_ string: String) throws(AMQPError) {
        var rest = Substring(string)
        let lowered = string.lowercased()
        if lowered.hasPrefix("amqps://") {
            usesTLS = true
            rest = rest.dropFirst("amqps://".count)
        } else if lowered.hasPrefix("amqp://") {
            usesTLS = false
            rest = rest.dropFirst("amqp://".count)
        } else {
            throw AMQPError(.invalidURL, "broker URL must start with amqp:// or amqps://")
        }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var authority = rest
        user = "guest"
        password = "guest"
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.percentDecode(userInfo[..<colon], field: "user")
                password = try Self.percentDecode(userInfo[userInfo.index(after: colon)...], field: "password")
            } else {
                user = try Self.percentDecode(userInfo, field: "user")
            }
        }
        let defaultPort = usesTLS ? 5671 : 5672
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw AMQPError(.invalidURL, "broker URL host: IPv6 address lacks its closing ]")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw AMQPError(.invalidURL, "broker URL host: unexpected \"\(after)\" after the IPv6 address")
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = try Self.percentDecode(authority[..<colon], field: "host")
            portText = authority[authority.index(after: colon)...]
        } else {
            host = try Self.percentDecode(authority, field: "host")
        }
        if host.isEmpty { host = "localhost" }
        if let portText, !portText.isEmpty {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw AMQPError(.invalidURL, "broker URL port: \"\(portText)\" is not a port number (1 to 65535)")
            }
            port = value
        } else {
            port = defaultPort
        }
        if let path, !path.isEmpty {
            guard !path.contains("/") else {
                throw AMQPError(
                    .invalidURL, "broker URL virtual host: \"\(path)\" contains /; percent-encode it as %2f")
            }
            virtualHost = try Self.percentDecode(path, field: "virtual host")
        } else {
            virtualHost = "/"
        }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.percentDecode(parts[0], field: "query option")
            let value = parts.count > 1 ? try Self.percentDecode(parts[1], field: "query option \(key)") : ""
            switch key {
            case "cacertfile": caCertificatePath = value
            case "certfile": clientCertificatePath = value
            case "keyfile": clientKeyPath = value
            case "verify":
                switch value {
                case "verify_peer": verifyPeer = true
                case "verify_none": verifyPeer = false
                default:
                    throw AMQPError(
                        .invalidURL, "broker URL option verify: \"\(value)\" is not verify_peer or verify_none")
                }
            case "heartbeat":
                guard let seconds = Int(value), seconds >= 0 else {
                    throw AMQPError(
                        .invalidURL, "broker URL option heartbeat: \"\(value)\" is not a number of seconds (>= 0)")
                }
                heartbeatSeconds = seconds
            default:
                throw AMQPError(
                    .invalidURL,
                    "broker URL option \"\(key)\" is not supported (use \(Self.queryOptions.joined(separator: ", ")))"
                )
            }
        }
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        var text = usesTLS ? "amqps://" : "amqp://"
        text += Self.percentEncode(user) + ":***@"
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)/" + Self.percentEncode(virtualHost)
        var options: [String] = []
        if let caCertificatePath { options.append("cacertfile=" + Self.percentEncode(caCertificatePath)) }
        if let clientCertificatePath { options.append("certfile=" + Self.percentEncode(clientCertificatePath)) }
        if let clientKeyPath { options.append("keyfile=" + Self.percentEncode(clientKeyPath)) }
        if let verifyPeer { options.append("verify=" + (verifyPeer ? "verify_peer" : "verify_none")) }
        if let heartbeatSeconds { options.append("heartbeat=\(heartbeatSeconds)") }
        if !options.isEmpty { text += "?" + options.joined(separator: "&") }
        return text
    }

    public var debugDescription: String { "BrokerURL(\(description))" }

    private static func percentDecode(_ text: Substring, field: String) throws(AMQPError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                // The password's text must not appear in the message.
                throw AMQPError(.invalidURL, "broker URL \(field): a % is not followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw AMQPError(.invalidURL, "broker URL \(field): percent-decoding gives invalid UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }
}
