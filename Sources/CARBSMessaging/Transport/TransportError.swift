/// Why a transport operation failed.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The transport was used before `start()`.
        public static let notStarted = Code(rawValue: "not_started")
        /// The transport was used after `shutdown()`.
        public static let closed = Code(rawValue: "closed")
        /// The broker could not be reached or refused the connection.
        public static let connectionFailed = Code(rawValue: "connection_failed")
        /// The broker refused or lost a message being published.
        public static let publishFailed = Code(rawValue: "publish_failed")
    }

    public var code: Code
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(message)" + (underlying.map { " (\($0))" } ?? "")
    }

    public static func == (lhs: TransportError, rhs: TransportError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
