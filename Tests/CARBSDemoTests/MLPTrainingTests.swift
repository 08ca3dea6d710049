import CARBSDemo
import Foundation
import Testing

@Suite("Demo MLP training")
struct MLPTrainingTests {
    /// A smaller dataset than the default keeps the debug-build tests quick.
    let training = MLPTraining(dataset: DemoDataset(seed: 7, trainingCount: 1024, validationCount: 512), seed: 3)

    @Test("validation loss decreases with training steps on a fixed seed")
    func lossDecreasesWithSteps() throws {
        var losses: [Double] = []
        for steps in [10, 100, 1000] {
            let result = try training.run(MLPHyperparameters(learningRate: 1e-2, hiddenDim: 32, steps: steps))
            #expect(!result.isDiverged)
            losses.append(result.validationLoss)
        }
        #expect(losses[0] > losses[1] && losses[1] > losses[2], "losses \(losses)")
        // The untrained scale is about 1 (the targets are standardised); 1000 steps must learn something real.
        #expect(losses[2] < 0.5 * losses[0], "losses \(losses)")
    }

    @Test("the same settings give the same validation loss, bit for bit")
    func deterministic() throws {
        let settings = MLPHyperparameters(learningRate: 1e-2, hiddenDim: 16, steps: 50, batchSize: 16)
        let first = try training.run(settings)
        let second = try training.run(settings)
        #expect(first.validationLoss == second.validationLoss)
        #expect(first.multiplyAdds == second.multiplyAdds)
    }

    @Test("flops cost grows with width, steps and batch size, and matches the run", arguments: [8, 32])
    func costGrows(width: Int) throws {
        let base = MLPHyperparameters(hiddenDim: width, steps: 400, batchSize: 16)
        var wider = base
        wider.hiddenDim *= 2
        var longer = base
        longer.steps *= 2
        var bigger = base
        bigger.batchSize *= 2
        let cost = training.multiplyAdds(base)
        #expect(training.multiplyAdds(wider) > 2 * cost)  // the h² term makes width more than linear
        #expect(training.multiplyAdds(longer) > 1.8 * cost)
        #expect(training.multiplyAdds(bigger) > 1.8 * cost)
        let result = try training.run(base)
        #expect(result.cost(.flops) == cost)
        #expect(result.cost(.seconds) > 0)
        // d = 8, h = width, B = 16: per step B(2dh + 3h² + 3h), plus one forward pass over the validation rows.
        let h = Double(width)
        let expected = 400 * 16 * (2 * 8 * h + 3 * h * h + 3 * h) + 512 * (8 * h + h * h + h)
        #expect(cost == expected)
    }

    @Test("a learning rate far too high diverges instead of returning a number")
    func divergence() throws {
        let result = try training.run(MLPHyperparameters(learningRate: 1e4, hiddenDim: 32, steps: 200))
        #expect(result.isDiverged)
        #expect(!result.validationLoss.isFinite)
    }

    @Test("cancellation stops a run")
    func cancellation() {
        #expect(throws: MLPTraining.Error.self) {
            try training.run(MLPHyperparameters(steps: 10_000)) { true }
        }
    }

    @Test("hyperparameters from study values: defaults, rounding, unknown names and bad values")
    func hyperparametersFromValues() throws {
        let settings = try MLPHyperparameters(values: ["hidden_dim": 63.6, "learning_rate": 0.01])
        #expect(settings.hiddenDim == 64)
        #expect(settings.learningRate == 0.01)
        #expect(settings.steps == MLPHyperparameters().steps)
        #expect(throws: MLPTraining.Error.self) { try MLPHyperparameters(values: ["lr": 0.1]) }
        #expect(throws: MLPTraining.Error.self) { try MLPHyperparameters(values: ["batch_size": 0]) }
        #expect(throws: MLPTraining.Error.self) { try MLPHyperparameters(values: ["learning_rate": -1]) }
    }

    @Test("the dataset is fixed by its seed and its targets are standardised")
    func dataset() {
        let a = DemoDataset(seed: 1, trainingCount: 4000, validationCount: 100)
        let b = DemoDataset(seed: 1, trainingCount: 4000, validationCount: 100)
        let c = DemoDataset(seed: 2, trainingCount: 4000, validationCount: 100)
        #expect(a == b)
        #expect(a.trainingTargets != c.trainingTargets)
        #expect(a.trainingInputs.count == 4000 * a.inputDimension)
        let mean = a.trainingTargets.reduce(0, +) / 4000
        let variance = a.trainingTargets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 4000
        #expect(abs(mean) < 0.02)
        #expect(abs(variance - (1 + a.noise * a.noise)) < 0.05)
    }
}
