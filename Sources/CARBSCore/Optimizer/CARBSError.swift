/// An expected failure of the CARBS core: bad input from the caller, or numerics that could not be rescued.
public struct CARBSError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A parameter's space, bounds or center is not valid.
        public static let invalidParameter = Code(rawValue: "invalid_parameter")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
        /// An observation is not acceptable (e.g. a success whose cost is not finite and > 0).
        public static let invalidObservation = Code(rawValue: "invalid_observation")
        /// An observation names a suggestion id this optimizer never issued (or already forgot).
        public static let unknownSuggestion = Code(rawValue: "unknown_suggestion")
        /// A snapshot cannot be restored (for example it was written by an incompatible version).
        public static let invalidSnapshot = Code(rawValue: "invalid_snapshot")
        /// A numerical step failed beyond repair (a kernel matrix that stays singular with maximal jitter).
        public static let numericalFailure = Code(rawValue: "numerical_failure")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
