/// Frontier regret of one run: regret at each cost level, their mean and how many levels had no observation;
/// and capped regret, which charges every level, empty ones included.
///
/// Lower is better; 0 is perfect. See ``BenchmarkProblem/frontierRegret(observations:)``.
public struct FrontierRegret: Sendable, Hashable {
    /// The cost levels, cheapest first.
    public var levels: [Double]

    /// Regret at each level; `nil` where no observation had a cost at most that level.
    public var regrets: [Double?]

    /// Capped regret at each level: `max(0, min(answer, cap) − optimum)`, with an empty level's answer taken as
    /// the cap (the noise-free output of the problem's search center: no better than the starting point).
    public var cappedRegrets: [Double]

    /// Creates the figure from per-level regrets (`nil` for an empty level) and capped regrets.
    public init(levels: [Double], regrets: [Double?], cappedRegrets: [Double]) {
        precondition(levels.count == regrets.count && levels.count == cappedRegrets.count, "one regret per level")
        self.levels = levels
        self.regrets = regrets
        self.cappedRegrets = cappedRegrets
    }

    /// Mean regret over the levels where some observation exists; `+infinity` when every level is empty.
    public var mean: Double {
        let present = regrets.compactMap { $0 }
        guard !present.isEmpty else { return .infinity }
        return present.reduce(0, +) / Double(present.count)
    }

    /// Mean capped regret over all levels (`docs/benchmarks.md`, "Capped regret"): the headline figure.
    public var cappedMean: Double {
        cappedRegrets.reduce(0, +) / Double(cappedRegrets.count)
    }

    /// How many levels had no observation with a cost at most that level.
    public var emptyLevelCount: Int {
        regrets.count { $0 == nil }
    }
}
