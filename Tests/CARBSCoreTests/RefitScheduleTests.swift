import Foundation
import Testing

@testable import CARBSCore

@Suite("Refit schedule (refit_interval)")
struct RefitScheduleTests {
    /// CARBS on `lr_width` with 8 pending runs, `rounds` results observed one at a time (the oldest first), a new
    /// suggestion after each; returns the optimizer and the suggested points in order.
    static func run(
        _ configuration: CARBSConfiguration, rounds: Int, from start: CARBSOptimizer? = nil,
        noiseSeed: UInt64 = 9
    ) throws -> (CARBSOptimizer, [[String: Double]]) {
        var optimizer = try start ?? CARBSOptimizer(configuration: configuration, parameters: LRWidth.parameters)
        var noise = SeededGenerator(seed: noiseSeed)
        var points: [[String: Double]] = []
        if optimizer.outstanding.isEmpty {
            points += try optimizer.suggest(count: 8).map(\.parameters)
        }
        for _ in 0..<rounds {
            let (id, parameters) = optimizer.outstanding[0]
            let result = LRWidth.evaluate(parameters, noise: &noise)
            try optimizer.observe(.success(id: id, output: result.output, cost: result.cost))
            points += try optimizer.suggest(count: 1).map(\.parameters)
        }
        return (optimizer, points)
    }

    @Test("hyperparameters are kept between scheduled refits and fitted again once the interval has passed")
    func keepsHyperparametersBetweenRefits() throws {
        var configuration = CARBSConfiguration(direction: .minimize, seed: 3)
        configuration.refitInterval = 4
        var (optimizer, _) = try Self.run(configuration, rounds: 10)
        let fitted = optimizer.snapshot.fitted
        let refitAt = try #require(optimizer.snapshot.refitObservationCount)
        var noise = SeededGenerator(seed: 11)
        var changedAt: [Int] = []
        for _ in 0..<8 {
            let (id, parameters) = optimizer.outstanding[0]
            let result = LRWidth.evaluate(parameters, noise: &noise)
            try optimizer.observe(.success(id: id, output: result.output, cost: result.cost))
            let before = optimizer.snapshot.fitted
            _ = try optimizer.suggest(count: 1)
            let observed = optimizer.snapshot.successes.count
            if optimizer.snapshot.fitted != before { changedAt.append(observed) }
            // Between refits the models keep the hyperparameters of the last one.
            if observed - refitAt < 4 { #expect(optimizer.snapshot.fitted == fitted) }
        }
        // Refits come exactly every 4 observations after the last one.
        #expect(!changedAt.isEmpty)
        #expect(changedAt.allSatisfy { ($0 - refitAt) % 4 == 0 })
        #expect(optimizer.snapshot.refitObservationCount == changedAt.last)
    }

    @Test("a restored optimizer continues with exactly the same suggestions between and across refits")
    func snapshotContinuesExactly() throws {
        var configuration = CARBSConfiguration(direction: .minimize, seed: 5)
        configuration.refitInterval = 3
        let (original, _) = try Self.run(configuration, rounds: 11)
        let data = try JSONEncoder().encode(original.snapshot)
        let snapshot = try JSONDecoder().decode(CARBSOptimizer.Snapshot.self, from: data)
        #expect(snapshot.refitObservationCount != nil)
        let restored = try CARBSOptimizer(restoring: snapshot)
        let (continued, expected) = try Self.run(configuration, rounds: 7, from: original, noiseSeed: 21)
        let (resumed, actual) = try Self.run(configuration, rounds: 7, from: restored, noiseSeed: 21)
        #expect(actual == expected)
        #expect(resumed.snapshot == continued.snapshot)
    }

    @Test("the default refits at every call, as before; old configurations and snapshots decode with it")
    func defaultsAndDecoding() throws {
        let configuration = CARBSConfiguration(direction: .minimize, seed: 1)
        #expect(configuration.refitInterval == 1)
        #expect(CARBSConfiguration.referenceParity(direction: .minimize).refitInterval == 1)
        var invalid = configuration
        invalid.refitInterval = 0
        #expect(throws: CARBSError.self) { try invalid.validate() }

        let (optimizer, _) = try Self.run(configuration, rounds: 6)
        #expect(optimizer.snapshot.refitObservationCount == 6)
        // A snapshot as it was written before the schedule existed: no refit count, no refit_interval.
        var json = try #require(
            JSONSerialization.jsonObject(with: JSONEncoder().encode(optimizer.snapshot)) as? [String: Any])
        json.removeValue(forKey: "refitObservationCount")
        var stored = try #require(json["configuration"] as? [String: Any])
        stored.removeValue(forKey: "refitInterval")
        json["configuration"] = stored
        let old = try JSONDecoder().decode(
            CARBSOptimizer.Snapshot.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.refitObservationCount == nil)
        #expect(old.configuration.refitInterval == 1)
        var restored = try CARBSOptimizer(restoring: old)
        var original = optimizer
        #expect(try restored.suggest(count: 2).map(\.parameters) == original.suggest(count: 2).map(\.parameters))
    }
}
