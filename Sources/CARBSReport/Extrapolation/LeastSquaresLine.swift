/// A straight line `y = intercept + slope · x` fitted by ordinary least squares.
public struct LeastSquaresLine: Sendable, Hashable, Codable {
    public var intercept: Double
    public var slope: Double
    /// The coefficient of determination; NaN when the `y` values do not vary.
    public var rSquared: Double

    /// Creates a line.
    public init(intercept: Double, slope: Double, rSquared: Double = .nan) {
        self.intercept = intercept
        self.slope = slope
        self.rSquared = rSquared
    }

    /// The line's value at `x`.
    public func value(at x: Double) -> Double {
        intercept + slope * x
    }

    /// Fits the line to the points `(x[i], y[i])`.
    /// - Returns: The fit, or nil when there are fewer than two points or every `x` is the same.
    /// - Complexity: O(n).
    public static func fit(x: [Double], y: [Double]) -> LeastSquaresLine? {
        precondition(x.count == y.count, "one y per x")
        guard x.count >= 2 else { return nil }
        let n = Double(x.count)
        let meanX = x.reduce(0, +) / n
        let meanY = y.reduce(0, +) / n
        var sxx = 0.0
        var sxy = 0.0
        var syy = 0.0
        for (xi, yi) in zip(x, y) {
            sxx += (xi - meanX) * (xi - meanX)
            sxy += (xi - meanX) * (yi - meanY)
            syy += (yi - meanY) * (yi - meanY)
        }
        guard sxx > 1e-300 else { return nil }
        let slope = sxy / sxx
        let intercept = meanY - slope * meanX
        var residual = 0.0
        for (xi, yi) in zip(x, y) {
            let e = yi - (intercept + slope * xi)
            residual += e * e
        }
        let rSquared = syy > 1e-300 * n ? 1 - residual / syy : .nan
        return LeastSquaresLine(intercept: intercept, slope: slope, rSquared: rSquared)
    }
}
