#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The acquisition of section 6.4, in logarithms so that nothing underflows to a tie of zeros.
enum Acquisition {
    /// log EI of N(mean, sd²) over `threshold` (maximisation), stable for very negative z.
    ///
    /// EI = σ·(φ(z) + z·Φ(z)) = σ·φ(z)·(1 − |z|·R(|z|)) for z < 0, with the Mills ratio
    /// R(t) = Φ(−t)/φ(t) = √(π/2)·erfcx(t/√2); for |z| > 40 the asymptotic series 1/z² − 3/z⁴ + 15/z⁶ is used.
    /// Returns −∞ only when σ is (numerically) zero and the mean does not beat the threshold.
    static func logExpectedImprovement(mean: Double, standardDeviation sd: Double, threshold: Double) -> Double {
        let improvement = mean - threshold
        guard sd > 1e-300, sd.isFinite else {
            return improvement > 0 ? log(improvement) : -.infinity
        }
        let z = improvement / sd
        if z > -1 {
            let value = sd * (Normal.density(z) + z * Normal.cdf(z))
            return value > 0 ? log(value) : logExpectedImprovementTail(z: z, sd: sd)
        }
        return logExpectedImprovementTail(z: z, sd: sd)
    }

    private static func logExpectedImprovementTail(z: Double, sd: Double) -> Double {
        let t = -z
        let logDensity = -0.5 * z * z - 0.5 * log(2 * Double.pi)
        let factor: Double
        if t > 40 {
            let inverse = 1 / (t * t)
            factor = inverse * (1 - 3 * inverse + 15 * inverse * inverse)
        } else {
            factor = max(1 - t * (Double.pi / 2).squareRoot() * Normal.erfcx(t / 2.0.squareRoot()), 1e-300)
        }
        return log(sd) + logDensity + log(factor)
    }
}
