/// Why a report could not make what was asked of it; the message names the input, its value and what is allowed.
public struct ReportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The cost to extrapolate to is not a finite number > 0.
        public static let invalidCost = Code(rawValue: "invalid-cost")
        /// The cost to extrapolate to is below the cheapest frontier point.
        public static let costBelowFrontier = Code(rawValue: "cost-below-frontier")
        /// The Pareto frontier has too few points for a fit.
        public static let tooFewFrontierPoints = Code(rawValue: "too-few-frontier-points")
        /// A parameter has no usable value on enough frontier points.
        public static let parameterNotFittable = Code(rawValue: "parameter-not-fittable")
        /// The output law could not be fitted.
        public static let outputNotFittable = Code(rawValue: "output-not-fittable")
    }

    public var code: Code
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
