#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Independent log-normal priors on the kernel hyperparameters, for MAP-II fitting.
///
/// Each prior is a normal distribution on the natural logarithm of the hyperparameter. The fitter also keeps
/// each log-parameter within `boundInStandardDeviations` standard deviations of its prior's log-median (a hard
/// box that stops a runaway fit; far enough out that it never binds on sane data).
public struct HyperparameterPrior: Sendable, Hashable, Codable {
    /// A normal prior on `log θ`: `log θ ~ N(log median, logStandardDeviation²)`.
    public struct LogNormal: Sendable, Hashable, Codable {
        /// The median of `θ` (`> 0`).
        public var median: Double
        /// The standard deviation of `log θ` (`> 0`).
        public var logStandardDeviation: Double

        public init(median: Double, logStandardDeviation: Double) {
            precondition(median > 0 && median.isFinite, "median must be positive, got \(median)")
            precondition(
                logStandardDeviation > 0 && logStandardDeviation.isFinite,
                "logStandardDeviation must be positive, got \(logStandardDeviation)"
            )
            self.median = median
            self.logStandardDeviation = logStandardDeviation
        }

        private enum CodingKeys: String, CodingKey {
            case median, logStandardDeviation
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let median = try container.decode(Double.self, forKey: .median)
            let logStandardDeviation = try container.decode(Double.self, forKey: .logStandardDeviation)
            guard median > 0, median.isFinite else {
                throw DecodingError.dataCorruptedError(
                    forKey: .median, in: container, debugDescription: "median: \(median) is not a finite value > 0"
                )
            }
            guard logStandardDeviation > 0, logStandardDeviation.isFinite else {
                throw DecodingError.dataCorruptedError(
                    forKey: .logStandardDeviation, in: container,
                    debugDescription: "logStandardDeviation: \(logStandardDeviation) is not a finite value > 0"
                )
            }
            self.init(median: median, logStandardDeviation: logStandardDeviation)
        }

        /// `log p(log θ)` up to a constant, and its derivative with respect to `log θ`.
        func logDensity(logValue: Double) -> (value: Double, derivative: Double) {
            let standardized = (logValue - log(median)) / logStandardDeviation
            return (-0.5 * standardized * standardized, -standardized / logStandardDeviation)
        }

        /// The allowed range of `log θ`.
        func logBounds(standardDeviations: Double) -> ClosedRange<Double> {
            let center = log(median)
            return
                (center - standardDeviations * logStandardDeviation)...(center + standardDeviations
                * logStandardDeviation)
        }
    }

    /// The prior on the linear kernel's variance.
    public var linearVariance: LogNormal
    /// The prior on the stationary kernel's variance.
    public var variance: LogNormal
    /// The prior on every lengthscale.
    public var lengthscale: LogNormal
    /// The prior on the observation-noise variance.
    public var noiseVariance: LogNormal
    /// The half-width of the hard box around each prior median, in prior standard deviations.
    public var boundInStandardDeviations: Double

    private enum CodingKeys: String, CodingKey {
        case linearVariance, variance, lengthscale, noiseVariance, boundInStandardDeviations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let bound = try container.decode(Double.self, forKey: .boundInStandardDeviations)
        guard bound > 0, bound.isFinite else {
            throw DecodingError.dataCorruptedError(
                forKey: .boundInStandardDeviations, in: container,
                debugDescription: "boundInStandardDeviations: \(bound) is not a finite value > 0"
            )
        }
        self.init(
            linearVariance: try container.decode(LogNormal.self, forKey: .linearVariance),
            variance: try container.decode(LogNormal.self, forKey: .variance),
            lengthscale: try container.decode(LogNormal.self, forKey: .lengthscale),
            noiseVariance: try container.decode(LogNormal.self, forKey: .noiseVariance),
            boundInStandardDeviations: bound
        )
    }

    public init(
        linearVariance: LogNormal, variance: LogNormal, lengthscale: LogNormal, noiseVariance: LogNormal,
        boundInStandardDeviations: Double = 6
    ) {
        precondition(
            boundInStandardDeviations > 0 && boundInStandardDeviations.isFinite,
            "boundInStandardDeviations must be positive, got \(boundInStandardDeviations)"
        )
        self.linearVariance = linearVariance
        self.variance = variance
        self.lengthscale = lengthscale
        self.noiseVariance = noiseVariance
        self.boundInStandardDeviations = boundInStandardDeviations
    }

    /// The priors CARBS fits with.
    ///
    /// - Noise variance: median 0.01, σ 0.5 (the reference's prior).
    /// - Variance of the stationary part: median 1, σ 1.5. The targets are standardised (normal scores or
    ///   values in [−1, 1]), so the signal variance is of order 1; 1.5 lets it range over about a factor 20
    ///   either way at 2σ.
    /// - Linear variance: median 0.1, σ 2. Weak; the linear part multiplies raw inner products, whose scale
    ///   depends on where the search space sits, so the data should decide, down to nearly switching it off.
    /// - Lengthscales: median `searchRadius`, σ 1.5. Observations cluster within a few search radii of the
    ///   Pareto front, so the radius is the natural scale; 1.5 lets the data move it by a factor 20 at 2σ.
    /// - The hard box is ±6σ around each median (noise: 5e-4…0.2).
    public static func carbs(searchRadius: Double) -> HyperparameterPrior {
        precondition(searchRadius > 0 && searchRadius.isFinite, "searchRadius must be positive, got \(searchRadius)")
        return HyperparameterPrior(
            linearVariance: LogNormal(median: 0.1, logStandardDeviation: 2),
            variance: LogNormal(median: 1, logStandardDeviation: 1.5),
            lengthscale: LogNormal(median: searchRadius, logStandardDeviation: 1.5),
            noiseVariance: LogNormal(median: 0.01, logStandardDeviation: 0.5)
        )
    }
}
