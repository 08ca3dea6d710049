#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The empirical quantile transform of outputs to a standard normal, as scikit-learn's
/// `QuantileTransformer(n_quantiles: ⌊√n⌋, output_distribution: "normal")`, and its inverse.
///
/// Values are mapped to their empirical CDF by interpolating between `nQuantiles` reference quantiles (the mean
/// of the forward and backward interpolation, so ties map to their middle), then through Φ⁻¹.
///
/// Two variants of the last step (`CARBSConfiguration.OutputScaling`):
/// - `.reference`: scikit-learn's, clipped to Φ⁻¹(1e-7) ≈ ±5.2. The smallest and largest observations land at
///   ±5.2 while the rest stay within about ±1.5, so the best run looks like an outlier to the GP and the Pareto
///   curve's top is nearly impossible to beat — which slows the climb up the cost ladder.
/// - `.plottingPositions` (default): the CDF value p is first shrunk to Hazen's plotting position
///   `(p·(n − 1) + ½) / n` for n observations (the classical rank-based inverse-normal transform), so the
///   extremes land at ±Φ⁻¹(1 − 1/(2n)) (±1.96 at n = 20, ±2.58 at n = 100), in scale with the rest.
public struct QuantileTransform: Sendable, Hashable, Codable {
    /// The data's quantiles at `references`, increasing.
    public private(set) var quantiles: [Double]
    /// Evenly spaced probabilities in [0, 1].
    public private(set) var references: [Double]
    /// How many observations the transform was fitted to, for plotting positions; nil for the reference variant.
    public private(set) var plottingCount: Int?

    static let boundsThreshold = 1e-7

    /// Fits the transform to `values` (at least one).
    /// - Parameter plottingPositions: use Hazen plotting positions instead of scikit-learn's clipping.
    public init(fitting values: [Double], plottingPositions: Bool = false) {
        precondition(!values.isEmpty, "a quantile transform needs data")
        plottingCount = plottingPositions ? values.count : nil
        let count = Swift.max(2, Int(Double(values.count).squareRoot()))
        references = (0..<count).map { Double($0) / Double(count - 1) }
        let sorted = values.sorted()
        quantiles = references.map { Statistics.quantile(sorted: sorted, $0) }
        // Keep the quantiles monotone against rounding (scikit-learn does the same).
        for i in 1..<quantiles.count where quantiles[i] < quantiles[i - 1] {
            quantiles[i] = quantiles[i - 1]
        }
    }

    /// Maps a value to the standard-normal scale.
    public func transform(_ value: Double) -> Double {
        let lowerX = quantiles[0]
        let upperX = quantiles[quantiles.count - 1]
        var p: Double
        if value + Self.boundsThreshold > upperX {
            p = 1
        } else if value - Self.boundsThreshold < lowerX {
            p = 0
        } else {
            let forward = Self.interpolate(value, xs: quantiles, ys: references)
            let backward = -Self.interpolate(
                -value, xs: quantiles.reversed().map { -$0 }, ys: references.reversed().map { -$0 })
            p = 0.5 * (forward + backward)
        }
        p = Swift.min(Swift.max(p, 0), 1)
        if let n = plottingCount.map(Double.init) {
            return Normal.quantile((p * (n - 1) + 0.5) / n)
        }
        let clip = Normal.quantile(Self.boundsThreshold - Double.ulpOfOne)
        return Swift.min(Swift.max(Normal.quantile(p), clip), -clip)
    }

    /// Maps a standard-normal value back to the output scale (the inverse of `transform` within the data range).
    public func inverse(_ z: Double) -> Double {
        var p = Normal.cdf(z)
        if let n = plottingCount.map(Double.init) {
            p = n > 1 ? (p * n - 0.5) / (n - 1) : 0.5
            if p <= 0 { return quantiles[0] }
            if p >= 1 { return quantiles[quantiles.count - 1] }
        }
        if p <= Self.boundsThreshold { return quantiles[0] }
        if p >= 1 - Self.boundsThreshold { return quantiles[quantiles.count - 1] }
        let forward = Self.interpolate(p, xs: references, ys: quantiles)
        let backward = -Self.interpolate(
            -p, xs: references.reversed().map { -$0 }, ys: quantiles.reversed().map { -$0 })
        return 0.5 * (forward + backward)
    }

    /// Linear interpolation like numpy's `interp` (xs increasing, clamped at the ends; among equal xs the
    /// last one wins, as numpy does).
    static func interpolate(_ x: Double, xs: [Double], ys: [Double]) -> Double {
        if x < xs[0] { return ys[0] }
        if x >= xs[xs.count - 1] { return ys[ys.count - 1] }
        // Largest index i with xs[i] <= x.
        var low = 0
        var high = xs.count - 1
        while high - low > 1 {
            let mid = (low + high) / 2
            if xs[mid] <= x { low = mid } else { high = mid }
        }
        let span = xs[high] - xs[low]
        if span <= 0 { return ys[high] }
        return ys[low] + (ys[high] - ys[low]) * (x - xs[low]) / span
    }
}

/// `log(cost)` min–max scaled to [−1, 1] over the successes, and back.
public struct CostTransform: Sendable, Hashable, Codable {
    public private(set) var minLogCost: Double
    public private(set) var maxLogCost: Double

    /// Fits to positive, finite costs.
    public init(fitting costs: [Double]) {
        precondition(!costs.isEmpty, "a cost transform needs data")
        let logs = costs.map { log($0) }
        minLogCost = logs.min()!
        maxLogCost = logs.max()!
    }

    /// Scaled log cost in [−1, 1] for costs within the fitted range (0 when all costs were equal).
    public func transform(_ cost: Double) -> Double {
        scaled(logCost: log(cost))
    }

    /// Scaled value of a log cost.
    public func scaled(logCost: Double) -> Double {
        let span = maxLogCost - minLogCost
        guard span > 0 else { return logCost - minLogCost }
        return 2 * (logCost - minLogCost) / span - 1
    }

    /// The cost for a scaled log cost.
    public func inverse(_ scaled: Double) -> Double {
        let span = maxLogCost - minLogCost
        let logCost = span > 0 ? (scaled + 1) / 2 * span + minLogCost : scaled + minLogCost
        return exp(logCost)
    }
}

