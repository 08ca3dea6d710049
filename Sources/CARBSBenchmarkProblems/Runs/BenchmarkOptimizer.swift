/// A suggestion as the benchmark driver sees it: an id and parameter values in parameter space.
public struct BenchmarkSuggestion: Sendable, Hashable {
    /// The suggestion's id, unique within a run.
    public var id: String
    /// Parameter values by name, in parameter space (integer parameters already rounded).
    public var parameters: [String: Double]

    /// Creates a suggestion.
    public init(id: String, parameters: [String: Double]) {
        self.id = id
        self.parameters = parameters
    }
}

/// What the benchmark driver needs from an optimizer, so CARBS and the random-search baseline share one driver.
public protocol BenchmarkOptimizer {
    /// Returns `count` new suggestions; each stays pending until observed.
    mutating func suggest(count: Int) throws -> [BenchmarkSuggestion]

    /// Takes in the result of the pending suggestion `id`.
    mutating func observe(id: String, output: Double, cost: Double) throws
}
