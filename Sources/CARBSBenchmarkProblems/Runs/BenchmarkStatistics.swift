/// Order statistics for summarising runs over seeds.
public enum BenchmarkStatistics {
    /// The `q`-quantile of `values` by linear interpolation between order statistics (Hyndman & Fan type 7, the
    /// default of NumPy and R). `+infinity` values sort last and propagate where they are interpolated.
    ///
    /// - Precondition: `values` is not empty, contains no NaN, and `0 ≤ q ≤ 1`.
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        precondition(!values.isEmpty, "quantile of no values")
        precondition((0...1).contains(q), "quantile \(q) is outside 0…1")
        precondition(!values.contains { $0.isNaN }, "quantile of NaN")
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let fraction = position - Double(lower)
        if fraction == 0 || lower + 1 >= sorted.count { return sorted[lower] }
        let (low, high) = (sorted[lower], sorted[lower + 1])
        if low == high { return low }
        return low + fraction * (high - low)
    }

    /// The median of `values` (the 0.5-quantile).
    public static func median(_ values: [Double]) -> Double {
        quantile(values, 0.5)
    }

    /// The interquartile range of `values`: the 0.75-quantile minus the 0.25-quantile.
    public static func interquartileRange(_ values: [Double]) -> Double {
        let upper = quantile(values, 0.75)
        let lower = quantile(values, 0.25)
        return upper == lower ? 0 : upper - lower
    }
}
