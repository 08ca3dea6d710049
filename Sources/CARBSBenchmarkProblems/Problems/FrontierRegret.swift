/// Frontier regret of one run: regret at each cost level, their mean and how many levels had no observation.
///
/// Lower is better; 0 is perfect. See ``BenchmarkProblem/frontierRegret(observations:)``.
public struct FrontierRegret: Sendable, Hashable {
    /// The cost levels, cheapest first.
    public var levels: [Double]

    /// Regret at each level; `nil` where no observation had a cost at most that level.
    public var regrets: [Double?]

    /// Creates the figure from per-level regrets (`nil` for an empty level).
    public init(levels: [Double], regrets: [Double?]) {
        precondition(levels.count == regrets.count, "one regret per level")
        self.levels = levels
        self.regrets = regrets
    }

    /// Mean regret over the levels where some observation exists; `+infinity` when every level is empty.
    public var mean: Double {
        let present = regrets.compactMap { $0 }
        guard !present.isEmpty else { return .infinity }
        return present.reduce(0, +) / Double(present.count)
    }

    /// How many levels had no observation with a cost at most that level.
    public var emptyLevelCount: Int {
        regrets.count { $0 == nil }
    }
}
