import CRabbitMQ

/// Everything that goes wrong in the AMQP transport: bad URLs and configuration, connection and protocol
/// failures, refused publishes.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: compare against the named statics.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The broker URL cannot be parsed.
        public static let invalidURL = Code(rawValue: "invalid_url")
        /// A configuration value is out of range (study name, prefetch, TLS files).
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
        /// The TCP or TLS connection could not be opened, or broke.
        public static let connectionFailed = Code(rawValue: "connection_failed")
        /// The broker refused the credentials or the virtual host. Retrying does not help.
        public static let accessRefused = Code(rawValue: "access_refused")
        /// A declaration conflicts with what exists (different arguments or queue type). Retrying does not help.
        public static let topologyMismatch = Code(rawValue: "topology_mismatch")
        /// A queue the transport needs does not exist.
        public static let queueNotFound = Code(rawValue: "queue_not_found")
        /// The broker closed the channel or the connection.
        public static let closedByBroker = Code(rawValue: "closed_by_broker")
        /// rabbitmq-c reported an error (see `status`).
        public static let library = Code(rawValue: "library")
        /// The broker refused a publish (basic.nack).
        public static let publishRejected = Code(rawValue: "publish_rejected")
        /// The transport was shut down while the call was waiting, or used after `shutdown()`.
        public static let shutDown = Code(rawValue: "shut_down")
        /// The transport was used before `start()` (or after `start()` failed).
        public static let notStarted = Code(rawValue: "not_started")
        /// `start()` gave up after `AMQPConfiguration.startTimeout`.
        public static let timedOut = Code(rawValue: "timed_out")
    }

    public var code: Code
    /// What happened, for people: never contains credentials.
    public var message: String
    /// The rabbitmq-c status, when the failure came from the library.
    public var status: LibraryStatus?
    /// The AMQP reply code, when the broker closed the channel or connection (e.g. 404, 406, 403).
    public var replyCode: UInt16?

    public init(_ code: Code, _ message: String, status: LibraryStatus? = nil, replyCode: UInt16? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.replyCode = replyCode
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let status { text += " [\(status)]" }
        if let replyCode { text += " [reply \(replyCode)]" }
        return text
    }

    /// True when retrying the same operation cannot succeed (bad credentials, conflicting declarations).
    public var isPermanent: Bool {
        switch code {
        case .invalidURL, .invalidConfiguration, .accessRefused, .topologyMismatch: true
        default: false
        }
    }
}

/// A rabbitmq-c status code (`amqp_status_enum`).
public struct LibraryStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = LibraryStatus(rawValue: Int32(AMQP_STATUS_OK.rawValue))
    public static let timeout = LibraryStatus(rawValue: Int32(AMQP_STATUS_TIMEOUT.rawValue))
    public static let connectionClosed = LibraryStatus(rawValue: Int32(AMQP_STATUS_CONNECTION_CLOSED.rawValue))
    public static let heartbeatTimeout = LibraryStatus(rawValue: Int32(AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue))
    public static let socketError = LibraryStatus(rawValue: Int32(AMQP_STATUS_SOCKET_ERROR.rawValue))
    public static let unexpectedState = LibraryStatus(rawValue: Int32(AMQP_STATUS_UNEXPECTED_STATE.rawValue))

    /// rabbitmq-c's text for the status. The corresponding rabbitmq-c call is `amqp_error_string2`.
    public var description: String {
        String(cString: amqp_error_string2(rawValue))
    }
}
