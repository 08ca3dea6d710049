/// One finished run as the core keeps it: the basic-space input, the user's output and cost.
public struct ObservationRecord: Sendable, Hashable, Codable {
    /// The suggestion id this run answered, if it came from a suggestion.
    public var suggestionID: String?
    /// The input in basic space.
    public var input: [Double]
    /// The output as the user reported it (not direction-signed). NaN for failures without an output.
    public var output: Double
    /// The cost as reported (may be NaN for failures that did not report one).
    public var cost: Double
    public var isFailure: Bool

    public init(suggestionID: String?, input: [Double], output: Double, cost: Double, isFailure: Bool) {
        self.suggestionID = suggestionID
        self.input = input
        self.output = output
        self.cost = cost
        self.isFailure = isFailure
    }
}

/// A run handed out and not yet observed.
public struct PendingSuggestion: Sendable, Hashable, Codable {
    public var id: String
    /// The input in basic space.
    public var input: [Double]
    /// How the point was chosen (only acquisition results move the adaptive search radius).
    public var origin: Suggestion.Origin

    public init(id: String, input: [Double], origin: Suggestion.Origin) {
        self.id = id
        self.input = input
        self.origin = origin
    }
}
