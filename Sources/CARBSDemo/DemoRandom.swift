import Foundation

/// The demo's own seeded generator (SplitMix64), so a dataset and a training run are fixed by their seeds.
///
/// Reference: Steele, Lea & Flood, "Fast splittable pseudorandom number generators" (OOPSLA 2014).
struct DemoRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1) with 53 random bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform value in [low, high).
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    /// A standard normal value (Box–Muller).
    mutating func normal() -> Double {
        let u1 = 1 - unit()  // in (0, 1]
        let u2 = unit()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// A uniform index in 0..<count.
    mutating func index(below count: Int) -> Int {
        Int(next() % UInt64(count))
    }
}
