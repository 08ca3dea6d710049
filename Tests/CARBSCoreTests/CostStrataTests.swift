import Foundation
import Testing
@testable import CARBSCore

/// A branin-like problem with a cost that only `steps` drives: output = branin(x1, x2) + 50 / √steps.
enum BraninSteps {
    static let parameters: [Parameter] = [
        .init(name: "x1", space: .linear(min: -5, max: 10, scale: 5), center: 2.5),
        .init(name: "x2", space: .linear(min: 0, max: 15, scale: 5), center: 7.5),
        .init(name: "steps", space: .log(min: 10, max: 10000, integer: true), center: 100),
    ]

    static func output(_ p: [String: Double]) -> Double {
        let (x1, x2) = (p["x1"]!, p["x2"]!)
        let b = 5.1 / (4 * Double.pi * Double.pi)
        let c = 5 / Double.pi
        let branin = pow(x2 - b * x1 * x1 + c * x1 - 6, 2) + 10 * (1 - 1 / (8 * Double.pi)) * cos(x1) + 10
        return branin + 50 / p["steps"]!.squareRoot()
    }

    /// Thirty runs scattered over the box and over steps 30…3000.
    static func history(seed: UInt64) -> [HistoricalObservation] {
        var generator = SeededGenerator(seed: seed)
        return (0..<30).map { _ in
            let params = [
                "x1": -5 + 15 * generator.nextUniform(), "x2": 15 * generator.nextUniform(),
                "steps": pow(10, log10(30) + 2 * generator.nextUniform()).rounded(),
            ]
            return HistoricalObservation(parameters: params, output: output(params), cost: params["steps"]!)
        }
    }
}

@Suite("Cost strata")
struct CostStrataTests {
    func optimizer(
        _ parameters: [Parameter], seed: UInt64 = 0, configure: (inout CARBSConfiguration) -> Void = { _ in }
    ) throws -> CARBSOptimizer {
        var configuration = CARBSConfiguration(direction: .minimize, seed: seed)
        configure(&configuration)
        return try CARBSOptimizer(configuration: configuration, parameters: parameters)
    }

    @Test("a batch of 8 spans several strata of log cost; without stratification it bunches", arguments: [0, 1, 2] as [UInt64])
    func batchSpansStrata(seed: UInt64) throws {
        func octaves(_ batch: [Suggestion]) -> Int {
            Set(batch.map { Int(log2($0.parameters["steps"]!).rounded(.down)) }).count
        }
        var stratified = try optimizer(BraninSteps.parameters, seed: seed)
        try stratified.warmStart(with: BraninSteps.history(seed: seed + 10))
        let batch = try stratified.suggest(count: 8)
        #expect(batch.allSatisfy { $0.origin == .acquisition })
        #expect(octaves(batch) >= 4, "steps \(batch.map { $0.parameters["steps"]! })")
        // Some of the batch reach past the observed costs (30…3000) at one end or the other.
        let steps = batch.map { $0.parameters["steps"]! }
        #expect(steps.contains { $0 < 30 } || steps.contains { $0 > 3000 }, "steps \(steps)")

        var plain = try optimizer(BraninSteps.parameters, seed: seed) { $0.costStrataShare = 0 }
        try plain.warmStart(with: BraninSteps.history(seed: seed + 10))
        #expect(octaves(try plain.suggest(count: 8)) < octaves(batch))
    }

    @Test("a cheap level holding a bad point is revisited with the good learning rate found at a dearer width")
    func cheapLevelIsRepaired() throws {
        // Good learning rate (1e-3) at widths 64…512; the only cheap run (width 4) has a bad one (1e-5).
        var history = [64.0, 128, 256, 512].map { width in
            HistoricalObservation(
                parameters: ["learning_rate": 1e-3, "hidden_dim": width],
                output: LRWidth.noiseFree(["learning_rate": 1e-3, "hidden_dim": width]), cost: width)
        }
        let bad = ["learning_rate": 1e-5, "hidden_dim": 4.0]
        history.append(.init(parameters: bad, output: LRWidth.noiseFree(bad), cost: 4))
        var optimizer = try optimizer(LRWidth.parameters)
        try optimizer.warmStart(with: history)
        var noise = SeededGenerator(seed: 3)
        var repaired = false
        for _ in 0..<16 {
            let suggestion = try optimizer.suggest()[0]
            let result = LRWidth.evaluate(suggestion.parameters, noise: &noise)
            try optimizer.observe(.success(id: suggestion.id, output: result.output, cost: result.cost))
            // Width at most 8 and an output at most a quarter of the bad run's (lr within ~0.7 decades of 1e-3).
            if suggestion.parameters["hidden_dim"]! <= 8, LRWidth.noiseFree(suggestion.parameters) < LRWidth.noiseFree(bad) / 4 {
                repaired = true
            }
        }
        #expect(repaired)
    }

    @Test("a transfer origin moves only the dimension that drives cost, to the cost asked for")
    func transferKeepsTheOtherCoordinates() throws {
        var optimizer = try optimizer(BraninSteps.parameters)
        try optimizer.warmStart(with: BraninSteps.history(seed: 4))
        let models = try optimizer.fitSurrogates()
        let best = models.front.groups.last!.input
        let target = models.costTransform.scaled(logCost: log(15.0))
        let moved = try #require(optimizer.transfer(best, toScaledCost: target, costModel: models.cost))
        #expect(moved[0] == best[0] && moved[1] == best[1])
        let steps = optimizer.parameterValues(fromBasic: moved)["steps"]!
        #expect(steps >= 10 && steps <= 25, "steps \(steps)")
    }

    @Test("a stratum past a cost bound that no point can reach is folded back into the observed range")
    func unreachableStratumFolds() throws {
        // Widths from the lower bound (2) up: nothing can be cheaper than width 2.
        let history = [2.0, 4, 16, 64].map { width in
            HistoricalObservation(
                parameters: ["learning_rate": 1e-3, "hidden_dim": width],
                output: LRWidth.noiseFree(["learning_rate": 1e-3, "hidden_dim": width]), cost: width)
        }
        var optimizer = try optimizer(LRWidth.parameters)
        try optimizer.warmStart(with: history)
        let models = try optimizer.fitSurrogates()
        let below = optimizer.reachableStratum(CostStratum(target: -1.4, halfWidth: 0.1), models: models)
        #expect(abs(below.target - -0.6) < 1e-12)
        // Dearer than anything observed is reachable (the width can grow to 512): left as it is.
        let above = optimizer.reachableStratum(CostStratum(target: 1.4, halfWidth: 0.1), models: models)
        #expect(above.target == 1.4)
    }

    @Test("only candidates predicted inside the band compete, or the nearest when too few are")
    func eligibility() {
        let stratum = CostStratum(target: 0, halfWidth: 0.105)
        let costs = (0..<200).map { -1 + Double($0) / 100 }  // −1 … 0.99 in steps of 0.01
        let inside = CARBSOptimizer.eligibility(costs: costs, in: stratum)
        #expect(inside.count { $0 } == 21)
        #expect(zip(costs, inside).allSatisfy { cost, eligible in eligible == (abs(cost) <= 0.105) })
        let far = CostStratum(target: 5, halfWidth: 0.1)
        let nearest = CARBSOptimizer.eligibility(costs: costs, in: far)
        #expect(nearest.count { $0 } == 10)
        #expect(nearest.suffix(10).allSatisfy { $0 })
    }

    @Test("a fleet's first 32 random-phase points spread wider than the first 4, which are unchanged")
    func randomPhaseWidens() throws {
        var widened = try optimizer(LRWidth.parameters)
        var fixed = try optimizer(LRWidth.parameters) { $0.randomPhaseWidening = 0 }
        let a = try widened.suggest(count: 32).map { log10($0.parameters["learning_rate"]!) }
        let b = try fixed.suggest(count: 32).map { log10($0.parameters["learning_rate"]!) }
        #expect(Array(a.prefix(4)) == Array(b.prefix(4)))
        #expect(a.max()! - a.min()! > 2 * (b.max()! - b.min()!))
    }

    @Test("referenceParity switches every search change off")
    func parity() {
        let parity = CARBSConfiguration.referenceParity(direction: .minimize)
        #expect(parity.costStrataShare == 0 && parity.radiusSpread == 1 && parity.randomPhaseWidening == 0)
        #expect(parity.minParetoCostFraction == 0.2 && parity.resampleFrequency == 5)
        let defaults = CARBSConfiguration(direction: .minimize)
        #expect(defaults.costStrataShare > 0 && defaults.radiusSpread > 1 && defaults.randomPhaseWidening > 0)
    }

    @Test("a configuration saved before stratification existed decodes with it off")
    func oldConfigurationDecodes() throws {
        var object =
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(CARBSConfiguration(direction: .maximize)))
            as! [String: Any]
        for key in ["costStrataShare", "radiusSpread", "randomPhaseWidening", "stratumExplorationBias"] {
            #expect(object.removeValue(forKey: key) != nil, "\(key) is encoded")
        }
        let decoded = try JSONDecoder().decode(
            CARBSConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded.direction == .maximize)
        #expect(decoded.costStrataShare == 0 && decoded.radiusSpread == 1 && decoded.randomPhaseWidening == 0)
        // A current configuration round-trips unchanged.
        let current = CARBSConfiguration(direction: .minimize, seed: 9)
        #expect(try JSONDecoder().decode(CARBSConfiguration.self, from: JSONEncoder().encode(current)) == current)
    }

    @Test(
        "the new fields are validated",
        arguments: ["cost_strata_share", "radius_spread", "random_phase_widening", "stratum_exploration_bias"])
    func validation(field: String) {
        var configuration = CARBSConfiguration(direction: .minimize)
        switch field {
        case "cost_strata_share": configuration.costStrataShare = 1.5
        case "radius_spread": configuration.radiusSpread = 0.5
        case "random_phase_widening": configuration.randomPhaseWidening = -1
        default: configuration.stratumExplorationBias = .nan
        }
        do {
            try configuration.validate()
            Issue.record("\(field): an invalid value was accepted")
        } catch {
            #expect(error.message.contains("optimizer.\(field)"), "\(error.message)")
        }
    }
}
