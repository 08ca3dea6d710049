#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension TrainerRunner {
    /// Why a trainer process could not be started.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        /// The kind of problem; extensible.
        public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public var description: String { rawValue }

            /// The program is not on `PATH`.
            public static let programNotFound = Code(rawValue: "program_not_found")
            /// `posix_spawn` (or setting it up: pipes, file actions) failed.
            public static let spawnFailed = Code(rawValue: "spawn_failed")
            /// The per-run temporary directory for the result file could not be made.
            public static let temporaryDirectory = Code(rawValue: "temporary_directory")
        }

        public var code: Code
        public var message: String
        /// The `errno` (or `posix_spawn` return value) behind the problem, when there is one.
        public var systemError: Int32?

        public init(_ code: Code, _ message: String, systemError: Int32? = nil) {
            self.code = code
            self.message = message
            self.systemError = systemError
        }

        public var description: String {
            guard let systemError else { return "\(code): \(message)" }
            return "\(code): \(message): \(String(cString: strerror(systemError)))"
        }
    }
}
