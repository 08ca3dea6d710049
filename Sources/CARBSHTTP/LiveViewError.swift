/// Why the live view cannot start.
public struct LiveViewError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// `--http` is not `HOST:PORT`.
        public static let invalidAddress = Code(rawValue: "invalid_address")
        /// A non-loopback address without `--http-token` or `--http-insecure`.
        public static let unprotectedPublicAddress = Code(rawValue: "unprotected_public_address")
        /// `--http-token` is empty or not printable ASCII.
        public static let invalidToken = Code(rawValue: "invalid_token")
        /// The address cannot be bound (in use, not this machine's, no permission).
        public static let cannotListen = Code(rawValue: "cannot_listen")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
