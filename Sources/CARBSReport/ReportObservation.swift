/// One observation as a report shows it: where it was made and what it came to.
public struct ReportObservation: Sendable, Hashable {
    /// Parameter values, user scale.
    public var parameters: [String: Double]
    /// The output; nil for most failures.
    public var output: Double?
    /// The cost; nil when a failure reported none.
    public var cost: Double?
    /// True when the run failed (the hyperparameters' fault).
    public var isFailure: Bool

    /// Creates an observation.
    public init(parameters: [String: Double], output: Double?, cost: Double?, isFailure: Bool) {
        self.parameters = parameters
        self.output = output
        self.cost = cost
        self.isFailure = isFailure
    }

    /// True when the observation has a finite output and a positive finite cost.
    var isPlottableSuccess: Bool {
        guard !isFailure, let output, let cost else { return false }
        return output.isFinite && cost.isFinite && cost > 0
    }
}
