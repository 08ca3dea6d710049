#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How one hyperparameter maps between **parameter space** (the user's values) and **basic space** (where a step
/// of 1 is one natural unit and the search happens), as in section 1 of the CARBS algorithm page.
///
/// | kind | basic from param | param from basic |
/// |---|---|---|
/// | linear | `v / scale` | `b * scale` |
/// | log | `log_base(v) / scale` | `base^(b * scale)` |
/// | logit | `log10(v / (1 − v)) / scale` | `1 / (10^(−b·scale) + 1)` |
///
/// Bounds are compared in basic space, strictly. Integer spaces round to a multiple of `roundingFactor` in
/// parameter space, and their bounds are widened by 0.1 so the bounds themselves are allowed.
public struct ParameterSpace: Sendable, Hashable, Codable {
    /// The transform family.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case linear, log, logit
    }

    public var kind: Kind
    /// The logarithm's base (log spaces only).
    public var base: Double
    /// Basic units per natural unit: a larger scale makes the search take bigger steps in parameter space.
    public var scale: Double
    /// The smallest allowed value (parameter space), if any.
    public var min: Double?
    /// The largest allowed value (parameter space), if any.
    public var max: Double?
    /// Whether values are whole multiples of `roundingFactor` (linear and log spaces only).
    public var isInteger: Bool
    /// The multiple integer values are rounded to.
    public var roundingFactor: Double

    public init(
        kind: Kind, base: Double = 10, scale: Double = 1, min: Double? = nil, max: Double? = nil,
        isInteger: Bool = false, roundingFactor: Double = 1
    ) {
        self.kind = kind
        self.base = base
        self.scale = scale
        self.min = min
        self.max = max
        self.isInteger = isInteger
        self.roundingFactor = roundingFactor
    }

    /// A linear space: `basic = value / scale`.
    public static func linear(
        min: Double? = nil, max: Double? = nil, scale: Double = 1, integer: Bool = false,
        roundingFactor: Double = 1
    ) -> ParameterSpace {
        ParameterSpace(kind: .linear, scale: scale, min: min, max: max, isInteger: integer, roundingFactor: roundingFactor)
    }

    /// A logarithmic space: `basic = log_base(value) / scale`; values must be positive.
    public static func log(
        base: Double = 10, min: Double? = nil, max: Double? = nil, scale: Double = 1, integer: Bool = false,
        roundingFactor: Double = 1
    ) -> ParameterSpace {
        ParameterSpace(
            kind: .log, base: base, scale: scale, min: min, max: max, isInteger: integer,
            roundingFactor: roundingFactor)
    }

    /// A logit space for values in (0, 1): `basic = log10(v / (1 − v)) / scale`.
    public static func logit(min: Double? = nil, max: Double? = nil, scale: Double = 1) -> ParameterSpace {
        ParameterSpace(kind: .logit, scale: scale, min: min, max: max)
    }

    /// Maps a parameter-space value to basic space (0 in a log space gives −∞; 0 and 1 in logit give ∓∞).
    public func basic(fromParameter value: Double) -> Double {
        switch kind {
        case .linear:
            return value / scale
        case .log:
            return naturalLogarithm(value) / naturalLogarithm(base) / scale
        case .logit:
            return log10(value / (1 - value)) / scale
        }
    }

    /// Maps a basic-space value to parameter space (no rounding).
    public func parameter(fromBasic value: Double) -> Double {
        switch kind {
        case .linear:
            return value * scale
        case .log:
            return pow(base, value * scale)
        case .logit:
            return 1 / (pow(10, -value * scale) + 1)
        }
    }

    /// Rounds a parameter-space value to the space's integer grid (unchanged for real spaces).
    public func rounded(parameter value: Double) -> Double {
        guard isInteger else { return value }
        return (value / roundingFactor).rounded() * roundingFactor
    }

    /// Rounds a basic-space value: to parameter space, onto the integer grid, and back.
    public func rounded(basic value: Double) -> Double {
        guard isInteger else { return value }
        return basic(fromParameter: rounded(parameter: parameter(fromBasic: value)))
    }

    /// The bounds in basic space (±∞ where unbounded), integer bounds widened by 0.1 in parameter space.
    public var basicBounds: (lower: Double, upper: Double) {
        let widening = isInteger ? 0.1 : 0
        let lower = min.map { basic(fromParameter: $0 - widening) } ?? -Double.infinity
        let upper = max.map { basic(fromParameter: $0 + widening) } ?? Double.infinity
        return (lower.isNaN ? -Double.infinity : lower, upper.isNaN ? Double.infinity : upper)
    }

    /// Whether a basic-space value lies strictly inside the bounds.
    public func contains(basic value: Double) -> Bool {
        let bounds = basicBounds
        return value.isFinite && bounds.lower < value && value < bounds.upper
    }

    /// Whether the space has a finite lower or upper bound (counts towards candidate over-generation).
    public var isBounded: Bool {
        let bounds = basicBounds
        return bounds.lower.isFinite || bounds.upper.isFinite
    }
}

@inline(__always)
private func naturalLogarithm(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.log(x)
    #else
    return Darwin.log(x)
    #endif
}
