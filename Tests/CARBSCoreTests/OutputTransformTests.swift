import Foundation
import Testing
@testable import CARBSCore

@Suite("Output and cost transforms")
struct OutputTransformTests {
    @Test("quantile transform maps to a standard normal and inverts")
    func quantileInverts() {
        var generator = SeededGenerator(seed: 3)
        let values = (0..<100).map { _ in exp(2 * generator.nextNormal()) }
        let transform = QuantileTransform(fitting: values)
        let transformed = values.map(transform.transform)
        let mean = transformed.reduce(0, +) / Double(transformed.count)
        #expect(abs(mean) < 0.3)
        for value in values.sorted()[2..<98] {
            let back = transform.inverse(transform.transform(value))
            #expect(abs(back - value) <= 1e-9 * max(1, abs(value)), "\(value) → \(back)")
        }
        // Monotone.
        let sorted = values.sorted().map(transform.transform)
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0 <= $1 })
        // Extremes clip at Φ⁻¹(1e-7).
        #expect(abs(transform.transform(values.min()!) + 5.199) < 0.01)
        #expect(abs(transform.transform(values.max()!) - 5.199) < 0.01)
    }

    @Test("normal quantile inverts the cdf")
    func normalQuantile() {
        for p in [1e-10, 1e-5, 0.01, 0.3, 0.5, 0.77, 0.999, 1 - 1e-9] {
            #expect(abs(Normal.cdf(Normal.quantile(p)) - p) <= 1e-12 + 1e-9 * p)
        }
        #expect(Normal.quantile(0.5) == 0)
        #expect(abs(Normal.quantile(0.975) - 1.959963984540054) < 1e-12)
    }

    @Test("cost transform scales log cost into [−1, 1] and inverts")
    func costTransform() {
        let transform = CostTransform(fitting: [10, 100, 1000])
        #expect(abs(transform.transform(10) + 1) < 1e-12)
        #expect(abs(transform.transform(100)) < 1e-12)
        #expect(abs(transform.transform(1000) - 1) < 1e-12)
        #expect(abs(transform.inverse(transform.transform(316)) - 316) < 1e-9)
        let flat = CostTransform(fitting: [5, 5])
        #expect(flat.transform(5) == 0)
        #expect(abs(flat.inverse(0) - 5) < 1e-12)
    }
}
