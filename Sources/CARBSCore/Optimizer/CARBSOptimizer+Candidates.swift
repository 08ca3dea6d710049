#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CARBSOptimizer {
    /// Rounds integer dimensions of a basic vector; nil when the result lies outside the bounds.
    func admissible(_ point: [Double]) -> [Double]? {
        admissible(point, bounds: state.parameters.map(\.space.basicBounds))
    }

    /// `admissible(_:)` with the basic bounds of every parameter computed once (`ParameterSpace.basicBounds`).
    func admissible(_ point: [Double], bounds: [(lower: Double, upper: Double)]) -> [Double]? {
        var result = point
        for (k, parameter) in state.parameters.enumerated() {
            let value = parameter.space.rounded(basic: point[k])
            // `ParameterSpace.contains(basic:)`, with the bounds at hand.
            guard value.isFinite, bounds[k].lower < value, value < bounds[k].upper else { return nil }
            result[k] = value
        }
        return result
    }

    /// Candidates around the origins (section 6.3): pick an origin uniformly, add independent normal steps with
    /// standard deviation = search radius, round integers, drop what leaves the bounds.
    ///
    /// Improves on the reference's fixed over-generation factor: draws rounds of the target size until
    /// `numCandidatesPerDim · d` admissible candidates exist (at most `2^min(d, 6)` rounds), so the models score
    /// the intended number of candidates however many fall outside the bounds.
    /// - Returns: admissible candidates as rows, possibly fewer than the target (none when every draw left the
    ///   bounds).
    mutating func generateCandidates(around origins: [[Double]], radius: Double) -> [[Double]] {
        let d = dimensions
        let target = configuration.numCandidatesPerDim * d
        let maxRounds = 1 << min(d, 6)
        var candidates: [[Double]] = []
        candidates.reserveCapacity(target)
        let bounds = state.parameters.map(\.space.basicBounds)
        var round = 0
        while candidates.count < target && round < maxRounds {
            round += 1
            for _ in 0..<target {
                let origin = origins[Int(state.generator.nextUniform() * Double(origins.count))]
                var point = origin
                for k in 0..<d {
                    point[k] += radius * state.generator.nextNormal()
                }
                if let valid = admissible(point, bounds: bounds) {
                    candidates.append(valid)
                    if candidates.count == target { break }
                }
            }
        }
        return candidates
    }

    /// The search radius of the next acquisition suggestion: the adaptive radius times a factor that successive
    /// suggestions (and the points of a batch) draw log-uniformly from [1, `radius_spread`] in a low-discrepancy
    /// order, so that some look further afield while others refine.
    func suggestionRadius() -> Double {
        let spread = configuration.radiusSpread
        guard spread > 1 else { return state.searchRadius }
        var u = Self.radicalInverse(state.suggestionCount, base: 3) + state.randomPhaseShift[1 % dimensions]
        u -= u.rounded(.down)
        return state.searchRadius * exp(u * log(spread))
    }

    /// A random admissible point around the origins (the fallback of section 6.5); the first origin itself if
    /// a thousand draws all leave the bounds.
    mutating func sample(around origins: [[Double]]) -> [Double] {
        for _ in 0..<1000 {
            let origin = origins[Int(state.generator.nextUniform() * Double(origins.count))]
            let point = origin.map { $0 + state.searchRadius * state.generator.nextNormal() }
            if let valid = admissible(point) { return valid }
        }
        return admissible(origins[0]) ?? origins[0]
    }

    /// The next point of the random phase: pending-aware and spread out.
    ///
    /// Improves on the reference, whose independent draws around the center can coincide in a parallel study:
    /// points follow a Halton sequence with a seeded random shift (Cranley–Patterson rotation), mapped through
    /// Φ⁻¹ to normal steps of standard deviation = search radius around the search center, so that the first
    /// suggestions of a parallel study cover the neighbourhood evenly. The design covers the central 70% of the
    /// normal's mass in each dimension (steps within ±1.04 radii): the center is the user's best guess, and the
    /// far tails that independent draws produce now and then only waste the first, model-free runs. A point equal
    /// to an observed or outstanding input (after integer rounding) or outside the bounds is skipped.
    mutating func randomPhasePoint() -> [Double] {
        let d = dimensions
        let primes = Self.primes(count: d)
        // Past the first `num_random_samples` points (a parallel study asks for more before any result is in),
        // the design widens like a power (`random_phase_widening`) of the number of points, so a fleet's first
        // batch spans a neighbourhood (and a range of costs) that grows with the fleet instead of piling up around
        // the center.
        let ordinal = state.outstanding.count + state.successes.count + state.failures.count + 1
        let widening = max(
            1, pow(Double(ordinal) / Double(configuration.numRandomSamples), configuration.randomPhaseWidening))
        for _ in 0..<1000 {
            state.randomPhaseIndex += 1
            var point = state.searchCenter
            for k in 0..<d {
                var u = Self.radicalInverse(state.randomPhaseIndex, base: primes[k]) + state.randomPhaseShift[k]
                u -= u.rounded(.down)
                u = 0.15 + 0.7 * u
                point[k] += widening * state.searchRadius * Normal.quantile(u)
            }
            if let valid = admissible(point), !isTaken(valid.map(ObservationGroup.quantize)) {
                return valid
            }
        }
        return sample(around: [state.searchCenter])
    }

    /// Whether an outstanding or observed input quantizes to `key`. A scan that stops at the first differing
    /// coordinate: no set of every input is built, so a point costs O(n) comparisons, not O(n) allocations (the
    /// random phase of a study warm-started with thousands of runs).
    private func isTaken(_ key: [Int64]) -> Bool {
        func matches(_ input: [Double]) -> Bool {
            for k in key.indices where ObservationGroup.quantize(input[k]) != key[k] { return false }
            return true
        }
        return state.outstanding.contains { matches($0.input) } || state.successes.contains { matches($0.input) }
            || state.failures.contains { matches($0.input) }
    }

    /// The van der Corput radical inverse of `index` in `base`.
    static func radicalInverse(_ index: Int, base: Int) -> Double {
        var result = 0.0
        var fraction = 1.0 / Double(base)
        var i = index
        while i > 0 {
            result += Double(i % base) * fraction
            i /= base
            fraction /= Double(base)
        }
        return result
    }

    /// The first `count` primes.
    static func primes(count: Int) -> [Int] {
        var primes: [Int] = []
        var candidate = 2
        while primes.count < count {
            if primes.allSatisfy({ candidate % $0 != 0 }) { primes.append(candidate) }
            candidate += 1
        }
        return primes
    }
}
