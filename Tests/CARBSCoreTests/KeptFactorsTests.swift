import Foundation
import Testing

@testable import CARBSCore

@Suite("Kept factors between fits of the hyperparameters")
struct KeptFactorsTests {
    /// CARBS on branin-with-steps with `observations` observed (every 17th a failure) and 4 pending runs, the
    /// local set capped at 60 rows, and the hyperparameters kept for `refitInterval` observations.
    static func optimizer(
        observations: Int, refitInterval: Int, refitFraction: Double = 0, seed: UInt64 = 0
    ) throws -> CARBSOptimizer {
        var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
        configuration.maxModelPoints = 60
        configuration.maxFitPoints = 40
        configuration.refitInterval = refitInterval
        configuration.refitFraction = refitFraction
        var optimizer = try CARBSOptimizer(configuration: configuration, parameters: BraninSteps.parameters)
        try BraninSteps.observeRandomHistory(&optimizer, count: observations, seed: seed + 1)
        _ = try optimizer.suggest(count: 4)
        return optimizer
    }

    /// Observes the oldest pending run (a failure when `failing`), then suggests one more.
    static func step(_ optimizer: inout CARBSOptimizer, failing: Bool = false) throws {
        let (id, parameters) = optimizer.outstanding[0]
        if failing {
            try optimizer.observe(.failure(id: id))
        } else {
            try optimizer.observe(
                .success(id: id, output: BraninSteps.output(parameters), cost: max(parameters["steps"]!, 1)))
        }
        _ = try optimizer.suggest(count: 1)
    }

    @Test("between fits the models are the kept rows plus every observation since, and match a fresh factorisation")
    func extendsTheKeptRows() throws {
        var optimizer = try Self.optimizer(observations: 200, refitInterval: 6)
        let kept = try #require(optimizer.snapshot.keptTrainingSet)
        #expect(kept.successes.count + kept.failures.count == 60)
        #expect(kept.successCount + kept.failureCount == 200)
        let hyperparameters = optimizer.snapshot.fitted
        try Self.step(&optimizer)
        try Self.step(&optimizer, failing: true)
        try Self.step(&optimizer)
        // Three observations later: the same kept set and hyperparameters; the models have 63 rows.
        #expect(optimizer.snapshot.keptTrainingSet == kept)
        #expect(optimizer.snapshot.fitted == hyperparameters)
        let models = try optimizer.fitSurrogates()
        #expect(models.output.count == 63)
        #expect(models.cost.count == kept.successes.count + 2)
        #expect(try #require(models.failure).count == 63)
        // The same rows, factorised from scratch, give the same posterior.
        let fresh = try GaussianProcess(
            kernel: models.output.kernel, hyperparameters: models.output.hyperparameters, inputs: models.output.inputs,
            targets: models.output.targets)
        let probes = Matrix(rows: 5, columns: 3, elements: (0..<15).map { Double($0 % 7) / 7 - 0.4 })
        let kept0 = models.output.posterior(at: probes)
        let fresh0 = fresh.posterior(at: probes)
        for i in 0..<5 {
            #expect(abs(kept0.mean[i] - fresh0.mean[i]) <= 1e-8 * max(1, abs(fresh0.mean[i])))
            #expect(abs(kept0.variance[i] - fresh0.variance[i]) <= 1e-8)
        }
    }

    @Test("the kept set is replaced at the next fit of the hyperparameters")
    func replacedAtTheNextFit() throws {
        var optimizer = try Self.optimizer(observations: 200, refitInterval: 3)
        let kept = try #require(optimizer.snapshot.keptTrainingSet)
        for _ in 0..<3 { try Self.step(&optimizer) }
        let next = try #require(optimizer.snapshot.keptTrainingSet)
        #expect(next != kept)
        #expect(next.successCount + next.failureCount == 203)
        #expect(next.successes.count + next.failures.count == 60)
    }

    @Test("a restored optimizer rebuilds the kept factors and continues with the same suggestions")
    func restoresExactly() throws {
        var original = try Self.optimizer(observations: 150, refitInterval: 5, seed: 2)
        try Self.step(&original)
        try Self.step(&original, failing: true)
        // Failures carry a NaN output: written as a string, as the store does.
        let encoder = SnapshotCoding.encoder
        let decoder = SnapshotCoding.decoder
        let data = try encoder.encode(original.snapshot)
        var restored = try CARBSOptimizer(restoring: decoder.decode(CARBSOptimizer.Snapshot.self, from: data))
        #expect(restored.keptFactors.output == nil)
        for round in 0..<7 {
            try Self.step(&original, failing: round == 3)
            try Self.step(&restored, failing: round == 3)
            // Compared as JSON: a failure's NaN output is never equal to itself.
            #expect(try encoder.encode(restored.snapshot) == encoder.encode(original.snapshot))
        }
        #expect(restored.outstanding.map(\.parameters) == original.outstanding.map(\.parameters))
    }

    @Test("with refit_interval 1 and refit_fraction 0 nothing is kept and the snapshot holds no kept set")
    func keepsNothingWhenFittingEveryCall() throws {
        var optimizer = try Self.optimizer(observations: 120, refitInterval: 1)
        try Self.step(&optimizer)
        #expect(optimizer.snapshot.keptTrainingSet == nil)
        #expect(optimizer.keptFactors.output == nil && optimizer.keptFactors.cost == nil)
    }

    @Test("the default schedule fits at every call up to 200 observations, then keeps the fit for 0.5% of them")
    func defaultSchedule() throws {
        let configuration = CARBSConfiguration(direction: .minimize)
        #expect(configuration.refitFraction == 0.005)
        #expect([100, 199, 200, 1000, 2000, 10_000].map { configuration.refitInterval(observations: $0) }
            == [1, 1, 1, 5, 10, 50])
        #expect(CARBSConfiguration.referenceParity(direction: .minimize).refitFraction == 0)
        var invalid = configuration
        invalid.refitFraction = 0.75
        #expect(throws: CARBSError.self) { try invalid.validate() }

        // At 600 observations the fit is kept for 3: two calls extend the factors, the third fits again.
        var optimizer = try Self.optimizer(observations: 600, refitInterval: 1, refitFraction: 0.005)
        let kept = try #require(optimizer.snapshot.keptTrainingSet)
        let fitted = optimizer.snapshot.fitted
        try Self.step(&optimizer)
        try Self.step(&optimizer)
        #expect(optimizer.snapshot.keptTrainingSet == kept && optimizer.snapshot.fitted == fitted)
        try Self.step(&optimizer)
        #expect(optimizer.snapshot.keptTrainingSet != kept)
        #expect(optimizer.snapshot.refitObservationCount == 603)
    }

    @Test("a configuration saved before refit_fraction existed decodes with it off")
    func oldConfigurationDecodesOff() throws {
        var json = try #require(
            JSONSerialization.jsonObject(with: JSONEncoder().encode(CARBSConfiguration(direction: .minimize)))
                as? [String: Any])
        json.removeValue(forKey: "refitFraction")
        let old = try JSONDecoder().decode(CARBSConfiguration.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.refitFraction == 0)
        #expect(!old.keepsHyperparameters)
    }
}
