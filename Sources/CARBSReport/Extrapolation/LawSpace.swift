import CARBSCore
import Foundation

/// The space a parameter's law is fitted in, from the parameter's own space: a log space fits
/// `ln(value) = a + exponent · ln(cost)` (a power law), a linear space fits `value = a + slope · ln(cost)` and a
/// logit space fits `log10(v / (1 − v)) = a + slope · ln(cost)`.
///
/// This is the parameter's basic space without its `scale` (and, for log spaces, in natural logarithms), so the
/// slope of a log space is the power of cost and does not depend on the study's base or scale.
public enum LawSpace: String, Sendable, Hashable, Codable {
    case log, linear, logit

    /// The law space of a parameter space.
    public init(_ space: ParameterSpace) {
        switch space.kind {
        case .log: self = .log
        case .linear: self = .linear
        case .logit: self = .logit
        }
    }

    /// Maps a parameter value into the law space; nil when the value is outside the space (≤ 0 for log, outside
    /// (0, 1) for logit, not finite).
    public func transformed(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch self {
        case .log: return value > 0 ? Foundation.log(value) : nil
        case .linear: return value
        case .logit: return value > 0 && value < 1 ? Foundation.log10(value / (1 - value)) : nil
        }
    }

    /// Maps a law-space value back to a parameter value.
    public func value(_ transformed: Double) -> Double {
        switch self {
        case .log: return Foundation.exp(transformed)
        case .linear: return transformed
        case .logit: return 1 / (Foundation.pow(10, -transformed) + 1)
        }
    }

    /// What the slope means, for tables: "exponent" for a power law, else the change per e-fold of cost.
    public var slopeName: String {
        switch self {
        case .log: return "exponent"
        case .linear: return "slope per ln(cost)"
        case .logit: return "logit slope per ln(cost)"
        }
    }
}
