/// How the AMQP transport connects to the broker and lays out a study's queues.
public struct AMQPConfiguration: Sendable {
    /// The type of the study's queues.
    public enum QueueType: String, Sendable, Hashable, CaseIterable {
        /// RabbitMQ's classic queues: right for a single broker.
        case classic
        /// Replicated quorum queues (clustered brokers), with a delivery limit against poison messages.
        case quorum
    }

    /// TLS settings for `amqps` URLs. Initialised from the URL's query options.
    public struct TLS: Sendable, Hashable {
        /// PEM file of the certificate authorities that sign the broker's certificate.
        public var caCertificatePath: String?
        /// PEM client certificate, for brokers that verify clients.
        public var clientCertificatePath: String?
        /// PEM private key of the client certificate.
        public var clientKeyPath: String?
        /// Verify the broker's certificate chain (needs `caCertificatePath`).
        public var verifyPeer: Bool
        /// Verify that the broker's certificate names the host of the URL.
        public var verifyHostname: Bool

        public init(
            caCertificatePath: String? = nil, clientCertificatePath: String? = nil, clientKeyPath: String? = nil,
            verifyPeer: Bool = true, verifyHostname: Bool = true
        ) {
            self.caCertificatePath = caCertificatePath
            self.clientCertificatePath = clientCertificatePath
            self.clientKeyPath = clientKeyPath
            self.verifyPeer = verifyPeer
            self.verifyHostname = verifyHostname
        }
    }

    /// Capped exponential backoff with jitter, for reconnecting and for waiting for queues.
    public struct Backoff: Sendable, Hashable {
        /// The first delay.
        public var initialDelay: Duration
        /// No delay is longer than this.
        public var maximumDelay: Duration
        /// Each delay is multiplied by a random factor in `1 - jitter ... 1` (0: no jitter, 1: full jitter).
        public var jitter: Double

        public init(
            initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(10), jitter: Double = 0.5
        ) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
            self.jitter = jitter
        }

        /// The delay before retry number `attempt` (0 for the first retry), without jitter applied when
        /// `random` is 1.
        /// - Parameter random: a number in `0 ... 1`; the delay is scaled by `1 - jitter * random`.
        public func delay(attempt: Int, random: Double) -> Duration {
            let initial = Double(initialDelay.components.seconds) + Double(initialDelay.components.attoseconds) / 1e18
            let maximum = Double(maximumDelay.components.seconds) + Double(maximumDelay.components.attoseconds) / 1e18
            let exponential = initial * pow2(min(attempt, 62))
            let capped = min(exponential, maximum)
            let factor = 1 - min(max(jitter, 0), 1) * min(max(random, 0), 1)
            return .nanoseconds(Int64(capped * factor * 1e9))
        }

        private func pow2(_ exponent: Int) -> Double {
            var value = 1.0
            for _ in 0..<exponent { value *= 2 }
            return value
        }
    }

    /// The broker.
    public var url: BrokerURL
    /// The study; names the queues `carbs.<study>.suggestions`, `.results` and `.dead`.
    public var study: String
    /// Classic (default) or quorum queues. Must be the same for every run of a study: RabbitMQ refuses to
    /// redeclare a queue with another type.
    public var queueType: QueueType = .classic
    /// Quorum queues only: deliveries of one message after which the broker dead-letters it.
    public var deliveryLimit: Int = 20
    /// How many unacknowledged results the optimizer may hold (its results consumer's `basic.qos`).
    public var prefetch: Int = 200
    /// The heartbeat interval proposed to the broker; 0 disables heartbeats. The URL's `heartbeat` wins.
    public var heartbeatSeconds: Int = 30
    /// Delays between reconnection attempts.
    public var reconnect = Backoff()
    /// TLS settings for `amqps`.
    public var tls: TLS
    /// How long `start()` keeps retrying an unreachable broker (or, for workers, missing queues) before it
    /// throws; nil waits for ever. Permanent failures (bad credentials, conflicting declarations) throw at once.
    public var startTimeout: Duration? = nil
    /// The longest a connection's thread waits for I/O before it services heartbeats and timers again.
    public var pollInterval: Duration = .milliseconds(250)

    /// A configuration with defaults; TLS settings come from the URL's query options.
    public init(url: BrokerURL, study: String) {
        self.url = url
        self.study = study
        self.tls = TLS(
            caCertificatePath: url.caCertificatePath, clientCertificatePath: url.clientCertificatePath,
            clientKeyPath: url.clientKeyPath, verifyPeer: url.verifyPeer ?? true,
            verifyHostname: url.verifyPeer ?? true)
        if let heartbeat = url.heartbeatSeconds { heartbeatSeconds = heartbeat }
    }

    /// Checks the values that the broker would otherwise reject later.
    func validate() throws(AMQPError) {
        guard (1...65535).contains(prefetch) else {
            throw AMQPError(.invalidConfiguration, "prefetch: \(prefetch) is not in 1...65535")
        }
        guard (0...65535).contains(heartbeatSeconds) else {
            throw AMQPError(.invalidConfiguration, "heartbeatSeconds: \(heartbeatSeconds) is not in 0...65535")
        }
        guard deliveryLimit >= 1 else {
            throw AMQPError(.invalidConfiguration, "deliveryLimit: \(deliveryLimit) must be at least 1")
        }
        if tls.clientKeyPath != nil && tls.clientCertificatePath == nil {
            throw AMQPError(.invalidConfiguration, "tls.clientKeyPath is set but tls.clientCertificatePath is not")
        }
    }
}
