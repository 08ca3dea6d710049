extension CARBSOptimizer {
    /// Suggestions that need no model: for a service whose `suggest(count:)` failed (a numerical failure the
    /// same data would repeat on every restart), so that the study goes on instead of stopping for good.
    ///
    /// Each point is drawn around the best Pareto group's input at the search radius (as section 6.5's fallback
    /// does), or is the random phase's next point while there is no success yet. The suggestions are outstanding
    /// like any others, with origin `.fallback`.
    public mutating func fallbackSuggestions(count: Int) -> [Suggestion] {
        precondition(count >= 0, "fallbackSuggestions(count:) needs a count ≥ 0")
        // Group outputs are direction-signed: larger is better.
        let best = paretoFront(conservative: false).groups.max { $0.meanOutput < $1.meanOutput }
        return (0..<count).map { _ in
            guard let best else { return issue(randomPhasePoint(), origin: .fallback) }
            return issue(sample(around: [best.input]), origin: .fallback)
        }
    }
}
