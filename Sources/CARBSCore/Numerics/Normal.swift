#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The standard normal distribution, computed stably in the tails.
public enum Normal {
    private static let inverseSqrtTwoPi = 0.398_942_280_401_432_677_94
    private static let inverseSqrtPi = 0.564_189_583_547_756_286_95
    private static let sqrtHalfPi = 1.253_314_137_315_500_251_21
    private static let logSqrtTwoPi = 0.918_938_533_204_672_741_78

    /// The density `φ(z) = exp(−z²/2)/√(2π)`.
    public static func density(_ z: Double) -> Double {
        inverseSqrtTwoPi * exp(-0.5 * z * z)
    }

    /// The distribution function `Φ(z) = ½·erfc(−z/√2)`: accurate in relative terms far into the lower tail
    /// (down to the smallest subnormal, about z = −38.5).
    public static func cdf(_ z: Double) -> Double {
        if z.isNaN { return .nan }
        return 0.5 * erfc(-z * 0.5.squareRoot())
    }

    /// `log Φ(z)`, finite for every finite `z`: uses `log(½·erfcx(−z/√2)) − z²/2` in the lower tail and
    /// `log1p(−Φ(−z))` in the upper tail.
    public static func logCDF(_ z: Double) -> Double {
        if z.isNaN { return .nan }
        if z < -1 {
            let t = -z * 0.5.squareRoot()
            return log(0.5 * erfcx(t)) - 0.5 * z * z
        }
        if z > 3 {
            return log1p(-cdf(-z))
        }
        return log(cdf(z))
    }

    /// The scaled complementary error function `erfcx(x) = exp(x²)·erfc(x)`.
    ///
    /// For `x < 8`, `exp(x²)·erfc(x)` directly (relative error ≲ x²·ε ≈ 1e-14, glibc's `erfc` keeps full
    /// relative accuracy there); for `x ≥ 8`, the asymptotic series
    /// `erfcx(x) = 1/(x√π)·Σₖ (−1)ᵏ (2k−1)!!/(2x²)ᵏ` (Abramowitz & Stegun 7.1.23), truncated before its terms
    /// grow, which is accurate to rounding for x ≥ 8. For `x < 0`, `2·exp(x²) − erfcx(−x)` (overflows to +∞
    /// below about −26.6).
    public static func erfcx(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        if x < 0 {
            return 2 * exp(x * x) - erfcx(-x)
        }
        if x < 8 {
            return exp(x * x) * erfc(x)
        }
        if x.isInfinite { return 0 }
        let inverseTwoXSquared = 1 / (2 * x * x)
        var term = 1.0
        var sum = 1.0
        for k in 1...40 {
            let next = -term * Double(2 * k - 1) * inverseTwoXSquared
            if abs(next) >= abs(term) { break }
            term = next
            sum += term
            if abs(term) < 1e-17 * abs(sum) { break }
        }
        return inverseSqrtPi / x * sum
    }

    /// `φ(z) + z·Φ(z)` for `z < −1`, as `φ(z)·(1 − |z|·√(π/2)·erfcx(|z|/√2))`, with the bracket by its
    /// asymptotic series `Σₖ≥1 (−1)ᵏ⁺¹ (2k−1)!!/z²ᵏ` once |z| ≥ 8, where the difference would cancel.
    static func expectedImprovementFactorLowerTail(_ z: Double) -> Double {
        let a = -z
        let bracket: Double
        if a < 8 {
            bracket = 1 - a * sqrtHalfPi * erfcx(a * 0.5.squareRoot())
        } else {
            let inverseSquare = 1 / (a * a)
            var term = inverseSquare
            var sum = term
            for k in 2...40 {
                let next = -term * Double(2 * k - 1) * inverseSquare
                if abs(next) >= abs(term) { break }
                term = next
                sum += term
                if abs(term) < 1e-17 * abs(sum) { break }
            }
            bracket = sum
        }
        return max(density(z) * bracket, 0)
    }
}

/// The expected improvement of `N(mean, standardDeviation²)` over `threshold` when maximising.
///
/// `EI = σ·(φ(z) + z·Φ(z))` with `z = (mean − threshold)/σ` (Jones, Schonlau & Welch 1998; as used for the
/// CARBS acquisition, Simon, Fetterman et al. 2023, arXiv 2306.08055). For `z < −1` it uses
/// `φ(z)·(1 − |z|·√(π/2)·erfcx(|z|/√2))`, so it stays accurate and positive far into the tail instead of
/// cancelling to 0, NaN or a negative value.
///
/// - Returns: A finite value `≥ 0`, never NaN: `max(mean − threshold, 0)` when `standardDeviation` is 0 or
///   negligible, and 0 whenever an argument is NaN or infinite (or the result would overflow).
public func expectedImprovement(mean: Double, standardDeviation: Double, threshold: Double) -> Double {
    guard mean.isFinite, threshold.isFinite, standardDeviation.isFinite else { return 0 }
    let difference = mean - threshold
    guard difference.isFinite else { return 0 }
    guard standardDeviation > 0 else { return max(difference, 0) }
    let z = difference / standardDeviation
    let result: Double
    if !z.isFinite {
        result = max(difference, 0)
    } else if z < -1 {
        result = standardDeviation * Normal.expectedImprovementFactorLowerTail(z)
    } else {
        result = standardDeviation * (Normal.density(z) + z * Normal.cdf(z))
    }
    return result.isFinite ? max(result, 0) : 0
}
