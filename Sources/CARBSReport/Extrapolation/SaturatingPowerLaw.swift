import CARBSCore
import Foundation

/// How the output approaches its limit as more is spent: `output = E + A · cost^(−α)` for a study that minimises
/// (the output falls towards E), `output = E − A · cost^(−α)` for one that maximises (it rises towards E), with
/// A > 0 and α > 0.
///
/// Cost is measured relative to `referenceCost` (the frontier's geometric-mean cost) so that A stays of the order
/// of the outputs; `value(atCost:)` hides this.
public struct SaturatingPowerLaw: Sendable, Hashable, Codable {
    /// The limit the output approaches (the irreducible output, E).
    public var limit: Double
    /// A: how far from the limit the output is at the reference cost.
    public var amplitude: Double
    /// α: how fast the output approaches the limit.
    public var exponent: Double
    /// The cost that `amplitude` refers to.
    public var referenceCost: Double
    /// +1 when the output falls towards its limit (minimise), −1 when it rises (maximise).
    public var sign: Double

    /// The law's output at `cost`.
    public func value(atCost cost: Double) -> Double {
        limit + sign * amplitude * Foundation.pow(cost / referenceCost, -exponent)
    }
}

extension SaturatingPowerLaw {
    /// How residuals are measured.
    public enum Residuals: String, Sendable, Hashable, Codable {
        /// `ln(predicted) − ln(observed)`, as in Chinchilla's third approach (Hoffmann et al. 2022, §3.3);
        /// used when every output is positive.
        case logarithmic
        /// `(predicted − observed) / median |observed|`, when some output is ≤ 0.
        case relative
    }

    /// The Huber loss's threshold on residuals, Chinchilla's δ = 10⁻³: residuals larger than this count linearly,
    /// so one outlying frontier point cannot drag the fit.
    public static let huberDelta = 1e-3

    /// Fits the law to the points `(costs[i], outputs[i])` by minimising the Huber loss of the residuals.
    ///
    /// For a fixed α the law is fitted in (E, A) by iteratively reweighted Gauss–Newton steps (A ≥ 0; with
    /// logarithmic residuals every prediction > 0 and, when minimising, E ≥ 0); α is chosen on a logarithmic grid
    /// over [0.01, 4] and refined by golden-section search on the profile loss. Given `near` (the fit to the
    /// whole frontier, when fitting a bootstrap resample), only α within a factor 3 of its α is searched, each
    /// step starting from the previous one's (E, A): much cheaper, and the resample's optimum lies there.
    /// - Parameters:
    ///   - costs: Positive, finite costs; at least three distinct ones.
    ///   - outputs: Finite outputs, one per cost.
    ///   - direction: Whether the outputs fall (minimise) or rise (maximise) with cost.
    ///   - near: A fit to similar data to start from.
    /// - Returns: The fit and the residuals used, or nil when there are fewer than three distinct costs.
    public static func fit(
        costs: [Double], outputs: [Double], direction: CARBSConfiguration.Direction, near: SaturatingPowerLaw? = nil
    ) -> (law: SaturatingPowerLaw, residuals: Residuals)? {
        precondition(costs.count == outputs.count, "one output per cost")
        guard Set(costs).count >= 3, costs.allSatisfy({ $0 > 0 && $0.isFinite }), outputs.allSatisfy(\.isFinite)
        else { return nil }
        let residuals: Residuals = outputs.allSatisfy { $0 > 0 } ? .logarithmic : .relative
        let reference =
            near?.referenceCost ?? Foundation.exp(costs.map { Foundation.log($0) }.reduce(0, +) / Double(costs.count))
        let problem = ProfileProblem(
            relativeCosts: costs.map { $0 / reference }, outputs: outputs, sign: direction == .minimize ? 1 : -1,
            residuals: residuals)
        var profiles: [ProfileProblem.Profile] = []
        var low: Double
        var high: Double
        var previous = near.map { (limit: $0.limit, amplitude: $0.amplitude) }
        if let near {
            low = Foundation.log(near.exponent / 3)
            high = Foundation.log(near.exponent * 3)
        } else {
            let grid = (0..<20).map { Foundation.log(0.01) + Foundation.log(400) * Double($0) / 19 }
            for logExponent in grid {
                let profile = problem.profile(exponent: Foundation.exp(logExponent), from: previous)
                profiles.append(profile)
                previous = (profile.limit, profile.amplitude)
            }
            let best = profiles.indices.min { profiles[$0].loss < profiles[$1].loss }!
            low = grid[max(best - 1, 0)]
            high = grid[min(best + 1, grid.count - 1)]
            previous = (profiles[best].limit, profiles[best].amplitude)
        }
        // Golden-section search over ln α.
        let ratio = (Foundation.sqrt(5) - 1) / 2
        var a = high - ratio * (high - low)
        var b = low + ratio * (high - low)
        var fa = problem.profile(exponent: Foundation.exp(a), from: previous)
        var fb = problem.profile(exponent: Foundation.exp(b), from: (fa.limit, fa.amplitude))
        for _ in 0..<(near == nil ? 24 : 14) {
            if fa.loss < fb.loss {
                high = b
                b = a
                fb = fa
                a = high - ratio * (high - low)
                fa = problem.profile(exponent: Foundation.exp(a), from: (fb.limit, fb.amplitude))
            } else {
                low = a
                a = b
                fa = fb
                b = low + ratio * (high - low)
                fb = problem.profile(exponent: Foundation.exp(b), from: (fa.limit, fa.amplitude))
            }
        }
        profiles += [fa, fb]
        let chosen = profiles.min { $0.loss < $1.loss }!
        let law = SaturatingPowerLaw(
            limit: chosen.limit, amplitude: chosen.amplitude, exponent: chosen.exponent, referenceCost: reference,
            sign: problem.sign)
        return (law, residuals)
    }

    /// The Huber loss.
    static func huber(_ r: Double, delta: Double = huberDelta) -> Double {
        let magnitude = Swift.abs(r)
        return magnitude <= delta ? 0.5 * r * r : delta * (magnitude - 0.5 * delta)
    }
}

/// The fit in (E, A) at a fixed α: the profile of the Huber loss over α.
private struct ProfileProblem {
    let relativeCosts: [Double]
    let outputs: [Double]
    let sign: Double
    let residuals: SaturatingPowerLaw.Residuals
    let scale: Double
    let logOutputs: [Double]

    init(relativeCosts: [Double], outputs: [Double], sign: Double, residuals: SaturatingPowerLaw.Residuals) {
        self.relativeCosts = relativeCosts
        self.outputs = outputs
        self.sign = sign
        self.residuals = residuals
        let sorted = outputs.map { Swift.abs($0) }.sorted()
        let median = sorted[sorted.count / 2]
        scale = median > 0 ? median : 1
        logOutputs = residuals == .logarithmic ? outputs.map { Foundation.log($0) } : []
    }

    struct Profile {
        var exponent: Double
        var limit: Double
        var amplitude: Double
        var loss: Double
    }

    /// The Huber loss of `(limit, amplitude)`, or +∞ where a logarithmic residual is undefined.
    func loss(limit: Double, amplitude: Double, powers: [Double]) -> Double {
        var total = 0.0
        for i in powers.indices {
            guard let r = residual(limit + sign * amplitude * powers[i], at: i) else { return .infinity }
            total += SaturatingPowerLaw.huber(r)
        }
        return total
    }

    func residual(_ predicted: Double, at index: Int) -> Double? {
        switch residuals {
        case .logarithmic: return predicted > 0 ? Foundation.log(predicted) - logOutputs[index] : nil
        case .relative: return (predicted - outputs[index]) / scale
        }
    }

    /// Keeps (E, A) feasible: A ≥ 0 and, with logarithmic residuals while minimising, E ≥ 0.
    func feasible(_ limit: Double, _ amplitude: Double) -> (Double, Double) {
        let e = residuals == .logarithmic && sign > 0 ? Swift.max(limit, 0) : limit
        return (e, Swift.max(amplitude, 0))
    }

    /// The best (E, A) at this α, starting from `from` when it is feasible.
    func profile(exponent: Double, from: (limit: Double, amplitude: Double)? = nil) -> Profile {
        let powers = relativeCosts.map { Foundation.pow($0, -exponent) }
        var (limit, amplitude) = from.map { feasible($0.limit, $0.amplitude) } ?? start(powers: powers)
        var current = loss(limit: limit, amplitude: amplitude, powers: powers)
        if !current.isFinite {
            (limit, amplitude) = start(powers: powers)
            current = loss(limit: limit, amplitude: amplitude, powers: powers)
        }
        for _ in 0..<25 {
            // One Gauss–Newton step on the Huber-weighted residuals (iteratively reweighted least squares).
            var a11 = 0.0
            var a12 = 0.0
            var a22 = 0.0
            var b1 = 0.0
            var b2 = 0.0
            for (i, power) in powers.enumerated() {
                let predicted = limit + sign * amplitude * power
                guard let r = residual(predicted, at: i) else { continue }
                let magnitude = Swift.abs(r)
                let weight = magnitude <= SaturatingPowerLaw.huberDelta ? 1 : SaturatingPowerLaw.huberDelta / magnitude
                let derivative = residuals == .logarithmic ? 1 / predicted : 1 / scale
                let j1 = derivative
                let j2 = derivative * sign * power
                a11 += weight * j1 * j1
                a12 += weight * j1 * j2
                a22 += weight * j2 * j2
                b1 -= weight * j1 * r
                b2 -= weight * j2 * r
            }
            let damping = 1e-12 * (a11 + a22) + 1e-300
            a11 += damping
            a22 += damping
            let determinant = a11 * a22 - a12 * a12
            guard determinant > 0, determinant.isFinite else { break }
            let dLimit = (a22 * b1 - a12 * b2) / determinant
            let dAmplitude = (a11 * b2 - a12 * b1) / determinant
            var step = 1.0
            var improved = false
            for _ in 0..<30 {
                let (e, a) = feasible(limit + step * dLimit, amplitude + step * dAmplitude)
                let candidate = loss(limit: e, amplitude: a, powers: powers)
                if candidate < current {
                    let decrease = current - candidate
                    limit = e
                    amplitude = a
                    current = candidate
                    improved = decrease > 1e-7 * Swift.max(current, 1e-300)
                    break
                }
                step /= 2
            }
            if !improved { break }
        }
        return Profile(exponent: exponent, limit: limit, amplitude: amplitude, loss: current)
    }

    /// A feasible start: least squares of the outputs on (1, ±cost^(−α)), made feasible.
    func start(powers: [Double]) -> (Double, Double) {
        let x = powers.map { sign * $0 }
        var limit = outputs.reduce(0, +) / Double(outputs.count)
        var amplitude = 0.0
        if let line = LeastSquaresLine.fit(x: x, y: outputs) {
            (limit, amplitude) = feasible(line.intercept, line.slope)
        }
        if loss(limit: limit, amplitude: amplitude, powers: powers).isFinite { return (limit, amplitude) }
        // With logarithmic residuals: the limit at half (minimise) or twice (maximise) the extreme output,
        // the amplitude by least squares through it.
        limit = sign > 0 ? 0.5 * outputs.min()! : 2 * outputs.max()!
        let gains = zip(powers, outputs).map { sign * ($1 - limit) }
        let through = zip(powers, gains).reduce(0) { $0 + $1.0 * $1.1 } / powers.reduce(0) { $0 + $1 * $1 }
        amplitude = Swift.max(through, 0)
        if !loss(limit: limit, amplitude: amplitude, powers: powers).isFinite { amplitude = 0 }
        return (limit, amplitude)
    }
}
