import Foundation
import Testing
@testable import CARBSCore

@Suite("Local training set")
struct LocalTrainingSetTests {
    /// CARBS on branin-with-steps after `count` random-ish observations (and a few failures), with `maxModelPoints`.
    func optimizer(count: Int, maxModelPoints: Int, maxFitPoints: Int = 150, seed: UInt64 = 0) throws
        -> CARBSOptimizer
    {
        var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
        configuration.maxModelPoints = maxModelPoints
        configuration.maxFitPoints = maxFitPoints
        var optimizer = try CARBSOptimizer(configuration: configuration, parameters: BraninSteps.parameters)
        try BraninSteps.observeRandomHistory(&optimizer, count: count, seed: seed + 1)
        return optimizer
    }

    @Test("at most max_model_points observations: every Pareto member, then the nearest to an origin")
    func nearestAndPareto() throws {
        var optimizer = try optimizer(count: 300, maxModelPoints: 60)
        _ = try optimizer.suggest(count: 4)  // pending runs are origins too
        let front = optimizer.paretoFront(conservative: true)
        let local = optimizer.localTrainingSet(front: front)
        #expect(local.successes.count + local.failures.count == 60)
        #expect(Set(front.groups.flatMap(\.members)).isSubset(of: Set(local.successes)))
        #expect(Set(local.priority) == Set(0..<60))
        // Every observation left out is at least as far from every origin as every kept one that is not Pareto.
        let lengthscales = try #require(optimizer.snapshot.fitted.output?.lengthscales)
        let origins = front.groups.map(\.input) + optimizer.snapshot.outstanding.map(\.input)
        func distance(_ x: [Double]) -> Double {
            origins.map { o in zip(zip(x, o), lengthscales).reduce(0) { $0 + pow(($1.0.0 - $1.0.1) / $1.1, 2) } }.min()!
        }
        let members = Set(front.groups.flatMap(\.members))
        let successes = optimizer.snapshot.successes
        let kept = Set(local.successes)
        let keptFar = local.successes.filter { !members.contains($0) }.map { distance(successes[$0].input) }.max()!
        let droppedNear = successes.indices.filter { !kept.contains($0) }.map { distance(successes[$0].input) }.min()!
        #expect(keptFar <= droppedNear * (1 + 1e-12))
    }

    @Test("up to max_model_points the models see everything, and the suggestions are the exact model's")
    func smallStudiesAreExact() throws {
        var local = try optimizer(count: 120, maxModelPoints: 1000)
        var exact = try optimizer(count: 120, maxModelPoints: .max)
        let front = local.paretoFront(conservative: true)
        let set = local.localTrainingSet(front: front)
        #expect(set.successes.count == local.snapshot.successes.count)
        #expect(set.failures.count == local.snapshot.failures.count)
        #expect(try local.suggest(count: 3).map(\.parameters) == exact.suggest(count: 3).map(\.parameters))
    }

    @Test("hyperparameters are fitted on the rows nearest the origins, without drawing random numbers")
    func fitSubsetIsDeterministic() throws {
        var optimizer = try optimizer(count: 200, maxModelPoints: 120, maxFitPoints: 40)
        _ = try optimizer.suggest()  // a first fit: lengthscales to measure distances with
        let before = optimizer.snapshot.generator
        _ = try optimizer.fitSurrogates()
        #expect(optimizer.snapshot.generator == before)
    }

    @Test("a restored optimizer with a local training set continues with the same suggestions")
    func snapshotIsExact() throws {
        var original = try optimizer(count: 150, maxModelPoints: 50)
        _ = try original.suggest(count: 2)
        // Failures have NaN outputs: encode non-finite numbers as strings, as the service's snapshot coding does.
        let encoder = SnapshotCoding.encoder
        let decoder = SnapshotCoding.decoder
        let data = try encoder.encode(original.snapshot)
        var restored = try CARBSOptimizer(restoring: decoder.decode(CARBSOptimizer.Snapshot.self, from: data))
        #expect(try original.suggest(count: 3).map(\.parameters) == restored.suggest(count: 3).map(\.parameters))
    }

    @Test("with far more observations than max_model_points, suggesting stays near the exact model's answer")
    func localMatchesExactNearTheOrigins() throws {
        var local = try optimizer(count: 400, maxModelPoints: 150)
        var exact = try optimizer(count: 400, maxModelPoints: .max)
        let localModels = try local.fitSurrogates()
        let exactModels = try exact.fitSurrogates()
        // At the Pareto origins, the two output models agree closely (same hyperparameters on the same nearest
        // rows would give the same answer; the exact fit differs a little).
        let origins = Matrix(rowVectors: localModels.front.groups.map(\.input))
        let a = localModels.output.posterior(at: origins, includeVariance: false).mean
        let b = exactModels.output.posterior(at: origins, includeVariance: false).mean
        let worst = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(worst < 0.5, "largest difference \(worst) (surrogate units)")
    }
}
