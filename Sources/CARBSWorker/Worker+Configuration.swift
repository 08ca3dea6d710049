#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Worker {
    /// How a worker behaves. Plain values with defaults; only the executable reads flags and files.
    public struct Configuration: Sendable, Hashable {
        /// The `worker` field of every message (default `hostname:pid`).
        public var workerID: String
        /// When set, suggestions of another study are dropped as undecodable.
        public var study: String?
        /// On graceful shutdown, stop the current run and report it `lost` instead of finishing it.
        public var abortOnShutdown: Bool
        /// Return after this many runs (for tests and batch jobs); `nil` runs until shut down.
        public var maxRuns: Int?
        /// How long one wait for a suggestion lasts; also how quickly an idle worker notices a shutdown.
        public var pollInterval: Duration
        /// Overrides the heartbeat interval; `nil` means `lease_seconds / 3` of each suggestion.
        public var heartbeatInterval: Duration?
        /// Delays between retries after transport errors.
        public var retryBackoff: Backoff
        /// How long past a suggestion's `timeout_seconds` an in-process trainer may run before the worker cancels
        /// it and reports a timeout. (`CommandTrainer` enforces the timeout itself, with a shorter grace.)
        public var timeoutGrace: Duration
        /// How often publishing `started` is tried before the suggestion is handed back to the queue.
        public var startedAttempts: Int

        /// Creates a configuration.
        public init(
            workerID: String = Worker.defaultWorkerID, study: String? = nil, abortOnShutdown: Bool = false,
            maxRuns: Int? = nil, pollInterval: Duration = .milliseconds(250), heartbeatInterval: Duration? = nil,
            retryBackoff: Backoff = Backoff(), timeoutGrace: Duration = .seconds(30), startedAttempts: Int = 5
        ) {
            precondition(maxRuns.map { $0 >= 0 } ?? true, "maxRuns must not be negative")
            precondition(startedAttempts >= 1, "startedAttempts must be at least 1")
            self.workerID = workerID
            self.study = study
            self.abortOnShutdown = abortOnShutdown
            self.maxRuns = maxRuns
            self.pollInterval = pollInterval
            self.heartbeatInterval = heartbeatInterval
            self.retryBackoff = retryBackoff
            self.timeoutGrace = timeoutGrace
            self.startedAttempts = startedAttempts
        }
    }

    /// Exponential backoff with jitter: attempt `n` waits a random time between half and all of
    /// `min(initial · 2ⁿ⁻¹, maximum)`.
    public struct Backoff: Sendable, Hashable {
        public var initial: Duration
        public var maximum: Duration

        public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10)) {
            self.initial = initial
            self.maximum = maximum
        }

        /// The delay before retry number `attempt` (1-based).
        public func delay(attempt: Int) -> Duration {
            let exponent = min(max(attempt - 1, 0), 30)
            let full = min(initial * (1 << exponent), maximum)
            return full * Double.random(in: 0.5...1.0)
        }
    }

    /// `hostname:pid`.
    public static var defaultWorkerID: String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host =
            gethostname(&buffer, buffer.count - 1) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown"
        return "\(host):\(getpid())"
    }

    /// What a worker has done so far.
    public struct Statistics: Sendable, Hashable {
        /// Runs whose result was published.
        public var runs = 0
        public var succeeded = 0
        public var failed = 0
        public var lost = 0
        /// Suggestions that could not be decoded (acknowledged and dropped).
        public var undecodable = 0
        /// Suggestions handed back to the queue unstarted.
        public var released = 0
        /// Heartbeats published.
        public var heartbeats = 0
        /// Transport calls that failed (and were retried or given up).
        public var transportErrors = 0

        public init() {}
    }
}
