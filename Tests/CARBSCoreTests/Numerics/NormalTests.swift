import CARBSCore
import Testing

@Suite("Normal distribution and expected improvement")
struct NormalTests {
    // Reference values from mpmath at 40 digits.
    @Test(
        "Φ is accurate in relative terms far into the lower tail",
        arguments: [
            (-1.0, 0.15865525393145705), (-5.0, 2.8665157187919391e-7), (-10.0, 7.6198530241605261e-24),
            (-20.0, 2.7536241186062337e-89), (-30.0, 4.9067139271481871e-198), (-37.5, 4.6053530095819548e-308),
            (3.0, 0.99865010196836991), (0.0, 0.5),
        ]
    )
    func cdfTails(z: Double, expected: Double) {
        #expect(NumericsTestData.relativeError(Normal.cdf(z), expected) < 1e-12)
    }

    @Test(
        "log Φ stays finite and accurate for very negative z",
        arguments: [
            (-1.0, -1.8410216450092635), (-10.0, -53.231285150512471), (-30.0, -454.3212439563432),
            (-1000.0, -500007.82669481218), (-1e6, -500000000014.73445), (3.0, -0.0013508099647481938),
            (8.0, -6.2209605742717861e-16),
        ]
    )
    func logCDF(z: Double, expected: Double) {
        #expect(NumericsTestData.relativeError(Normal.logCDF(z), expected) < 1e-12)
    }

    @Test(
        "erfcx matches high-precision values on both sides of the series switch",
        arguments: [
            (0.0, 1.0), (0.5, 0.61569034419292587), (3.0, 0.17900115118138995), (7.9, 0.070857477367396995),
            (8.0, 0.069985166200880928), (8.1, 0.06913392017734351), (20.0, 0.028174348741051319),
            (100.0, 0.0056416137829894329), (1e5, 5.6418958351954681e-6), (-1.0, 5.0089800807622835),
            (-5.0, 144009798674.66104),
        ]
    )
    func erfcx(x: Double, expected: Double) {
        #expect(NumericsTestData.relativeError(Normal.erfcx(x), expected) < 2e-14)
    }

    @Test("the density is φ(z) = exp(−z²/2)/√(2π)")
    func density() {
        #expect(abs(Normal.density(0) - 0.3989422804014327) < 1e-16)
        #expect(NumericsTestData.relativeError(Normal.density(3), 0.0044318484119380075) < 1e-14)
    }

    @Test(
        "EI in the lower tail matches high-precision values",
        arguments: [
            (-2.0, 0.0084907026168296375), (-5.0, 5.346165533832815e-8), (-7.9, 1.712707557436166e-16),
            (-8.0, 7.5502624119464989e-17), (-10.0, 7.474560254589328e-25), (-20.0, 1.3700124947295799e-90),
            (-30.0, 1.6319567340914012e-199),
        ]
    )
    func expectedImprovementTail(z: Double, expected: Double) {
        let value = expectedImprovement(mean: z, standardDeviation: 1, threshold: 0)
        #expect(NumericsTestData.relativeError(value, expected) < 1e-11)
        // Scale invariance: EI(σ·z, σ) = σ·EI(z, 1).
        let scaled = expectedImprovement(mean: 3 + 0.25 * z, standardDeviation: 0.25, threshold: 3)
        #expect(NumericsTestData.relativeError(scaled, 0.25 * expected) < 1e-10)
    }

    @Test("EI matches the naive formula where that is accurate")
    func expectedImprovementNaive() {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<500 {
            let sd = 0.01 + 3 * generator.nextUniform()
            let threshold = generator.nextNormal()
            let z = -1 + 6 * generator.nextUniform()
            let mean = threshold + z * sd
            let zz = (mean - threshold) / sd
            let naive = sd * (Normal.density(zz) + zz * Normal.cdf(zz))
            let value = expectedImprovement(mean: mean, standardDeviation: sd, threshold: threshold)
            #expect(abs(value - naive) <= 1e-12 * max(1, naive))
        }
        // Just below the switch at z = −1 both forms still agree closely.
        let z = -1.5
        let naive = Normal.density(z) + z * Normal.cdf(z)
        #expect(
            NumericsTestData.relativeError(expectedImprovement(mean: z, standardDeviation: 1, threshold: 0), naive)
                < 1e-12)
    }

    @Test("EI is finite, non-negative and monotone in the mean for z down to −1000 and σ down to 1e-12")
    func expectedImprovementRobust() {
        for sd in [1e-12, 1e-9, 1e-6, 1e-3, 1, 1e3] {
            var previous = Double.infinity
            for step in 0...2000 {
                let z = 5 - Double(step) * 0.5025  // 5 … −1000
                let value = expectedImprovement(mean: 0.3 + z * sd, standardDeviation: sd, threshold: 0.3)
                #expect(value.isFinite && value >= 0)
                #expect(value <= previous * (1 + 1e-12))
                previous = value
            }
        }
    }

    @Test("EI degenerates to max(mean − threshold, 0) without uncertainty and is 0 for non-finite input")
    func expectedImprovementDegenerate() {
        #expect(expectedImprovement(mean: 2, standardDeviation: 0, threshold: 1) == 1)
        #expect(expectedImprovement(mean: 1, standardDeviation: 0, threshold: 2) == 0)
        #expect(abs(expectedImprovement(mean: 2, standardDeviation: 1e-12, threshold: 1) - 1) < 1e-12)
        #expect(expectedImprovement(mean: 1, standardDeviation: 1e-12, threshold: 2) == 0)
        #expect(expectedImprovement(mean: 1, standardDeviation: 1e-300, threshold: 1) >= 0)
        #expect(expectedImprovement(mean: .nan, standardDeviation: 1, threshold: 0) == 0)
        #expect(expectedImprovement(mean: 1, standardDeviation: .nan, threshold: 0) == 0)
        #expect(expectedImprovement(mean: 1, standardDeviation: .infinity, threshold: 0) == 0)
        #expect(expectedImprovement(mean: 1, standardDeviation: -1, threshold: 0) == 1)
        #expect(expectedImprovement(mean: 1e308, standardDeviation: 1, threshold: -1e308) == 0)
    }
}
