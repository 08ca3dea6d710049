import CARBSCore

/// The random-search baseline: independent uniform samples in basic space.
///
/// Each parameter is drawn uniformly in basic space between its basic bounds. Where a bound is infinite (an
/// unbounded side), the sampling range ends ``unboundedHalfWidth`` (2) basic units from the search center
/// instead — for `lr_width`'s `learning_rate` (log space, center 1e-5) that is 1e-7 … 1e-3. Integer parameters
/// are rounded to the nearest integer in parameter space (every benchmark problem uses a rounding factor of 1)
/// and clamped into their bounds. Results are ignored: random search does not learn.
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
        var value = parameter.space.parameter(fromBasic: basic)
        if parameter.space.isInteger {
            value = value.rounded()
            // Integer bounds are widened by 0.1 in basic space; rounding can step past the real bound, so pull
            // the value back to the nearest integer inside it.
            let bounds = parameter.space.basicBounds
            while parameter.space.basic(fromParameter: value) >= bounds.upper { value -= 1 }
            while parameter.space.basic(fromParameter: value) <= bounds.lower { value += 1 }
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
