import CARBSCore

/// The random-search baseline: independent uniform samples in basic space.
///
/// Each parameter is drawn uniformly in basic space between its basic bounds. Where a bound is infinite (an
/// unbounded side), the sampling range ends ``unboundedHalfWidth`` (2) basic units from the search center
/// instead — for `lr_width`'s `learning_rate` (log space, center 1e-5) that is 1e-7 … 1e-3. Integer parameters
/// are rounded as their space rounds them (to the nearest multiple of its rounding factor, in parameter space)
/// and kept inside their bounds. Results are ignored: random search does not learn.
public struct RandomSearch: BenchmarkOptimizer, Sendable {
    /// How far from the center, in basic units, an unbounded side of a parameter is sampled.
    public static let unboundedHalfWidth = 2.0

    /// The parameters sampled.
    public let parameters: [Parameter]
    private var generator: SeededGenerator
    private var suggestionCount = 0

    /// Creates a baseline that samples `parameters` from a generator seeded with `seed`.
    public init(parameters: [Parameter], seed: UInt64) {
        self.parameters = parameters
        self.generator = SeededGenerator(seed: seed)
    }

    /// The basic-space interval a parameter is sampled from.
    public static func samplingRange(of parameter: Parameter) -> (lower: Double, upper: Double) {
        let bounds = parameter.space.basicBounds
        let center = parameter.space.basic(fromParameter: parameter.center)
        let lower = bounds.lower.isFinite ? bounds.lower : center - unboundedHalfWidth
        let upper = bounds.upper.isFinite ? bounds.upper : center + unboundedHalfWidth
        return (lower, upper)
    }

    /// Draws one value of `parameter`, in parameter space.
    mutating func sample(_ parameter: Parameter) -> Double {
        let range = Self.samplingRange(of: parameter)
        let basic = range.lower + generator.nextUniform() * (range.upper - range.lower)
        let space = parameter.space
        var value = space.rounded(parameter: space.parameter(fromBasic: basic))
        if space.isInteger {
            // Integer bounds are widened by 0.1 in parameter space, so rounding lands inside them; step back onto
            // the grid inside the bounds should a rounding factor above 1 carry a value past one.
            let bounds = space.basicBounds
            while space.basic(fromParameter: value) >= bounds.upper { value -= space.roundingFactor }
            while space.basic(fromParameter: value) <= bounds.lower { value += space.roundingFactor }
        }
        return value
    }

    public mutating func suggest(count: Int) -> [BenchmarkSuggestion] {
        (0..<count).map { _ in
            suggestionCount += 1
            var values: [String: Double] = [:]
            for parameter in parameters {
                values[parameter.name] = sample(parameter)
            }
            return BenchmarkSuggestion(id: "random-\(suggestionCount)", parameters: values)
        }
    }

    public mutating func observe(id: String, output: Double, cost: Double) {}
}
