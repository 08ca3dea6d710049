/// An expected failure of the Gaussian-process numerics (misuse such as mismatched dimensions traps instead).
public struct GPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible, compare against the named statics.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The kernel matrix stayed indefinite after every jitter escalation.
        public static let notPositiveDefinite = Code(rawValue: "notPositiveDefinite")
        /// An input, target or hyperparameter was not finite or out of its valid range.
        public static let invalidInput = Code(rawValue: "invalidInput")
        /// LAPACK reported an argument error (a bug in this module, never expected).
        public static let lapackFailure = Code(rawValue: "lapackFailure")

        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What happened, naming the offending value.
    public var message: String
    /// The LAPACK `info` status behind the failure, if any.
    public var lapackInfo: Int?

    public init(code: Code, message: String, lapackInfo: Int? = nil) {
        self.code = code
        self.message = message
        self.lapackInfo = lapackInfo
    }

    public var description: String {
        if let lapackInfo {
            return "GPError.\(code): \(message) (LAPACK info \(lapackInfo))"
        }
        return "GPError.\(code): \(message)"
    }
}
