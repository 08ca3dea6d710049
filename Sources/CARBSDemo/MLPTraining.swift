import CLAPACK
import Foundation

/// Trains the demo network from scratch: a two-hidden-layer ReLU MLP fitted with AdamW and a cosine learning-rate
/// schedule to a `DemoDataset`, scored by its mean squared error on the held-out validation rows.
///
/// Everything is fixed by the dataset and `seed` (initial weights, minibatch order), so the same hyperparameters
/// give the same validation loss on the same machine. Wider and longer runs cost more multiply-adds and, tuned
/// right, reach a lower validation loss.
///
/// ```swift
/// let training = MLPTraining(dataset: DemoDataset(seed: 0))
/// let result = try training.run(MLPHyperparameters(learningRate: 3e-3, hiddenDim: 64, steps: 500))
/// print(result.validationLoss, result.cost(.flops))
/// ```
public struct MLPTraining: Sendable {
    /// What a run's cost is.
    public enum CostMeasure: String, Sendable, Hashable, Codable, CaseIterable {
        /// The measured wall-clock seconds of training and validation (the default).
        case seconds
        /// The number of multiply-adds in the run's matrix products: deterministic, so a study is reproducible.
        case flops
    }

    /// What one run came to.
    public struct Result: Sendable, Hashable {
        /// Mean squared error on the validation rows (about 1 for predicting the mean).
        public var validationLoss: Double
        /// Mean squared error of the last minibatches (up to 20) of training.
        public var trainingLoss: Double
        /// Multiply-adds in the run's matrix products, training and validation.
        public var multiplyAdds: Double
        /// Wall-clock seconds of training and validation.
        public var seconds: Double
        /// The step at which the loss became non-finite or exceeded `divergenceLoss`, if it did.
        public var divergedAtStep: Int?

        /// True when training blew up (the learning rate was too high); the losses are then meaningless.
        public var isDiverged: Bool { divergedAtStep != nil }

        /// The run's cost as `measure` counts it.
        public func cost(_ measure: CostMeasure) -> Double {
            switch measure {
            case .seconds: max(seconds, 1e-6)
            case .flops: multiplyAdds
            }
        }
    }

    /// Why a run could not be made.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        /// The kind of problem.
        public struct Code: RawRepresentable, Sendable, Hashable {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            /// A hyperparameter is unknown or out of range.
            public static let invalidHyperparameter = Code(rawValue: "invalidHyperparameter")
            /// The caller asked the run to stop.
            public static let cancelled = Code(rawValue: "cancelled")
        }

        public var code: Code
        public var message: String

        public init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }

        public var description: String { message }
    }

    /// A training loss above this (a thousand times that of predicting the mean) counts as divergence.
    public static let divergenceLoss = 1000.0

    /// The data the network is trained and validated on.
    public let dataset: DemoDataset
    /// Fixes the initial weights and the minibatch order.
    public let seed: UInt64

    /// Creates a trainer for `dataset`.
    public init(dataset: DemoDataset = DemoDataset(), seed: UInt64 = 0) {
        self.dataset = dataset
        self.seed = seed
    }

    /// Makes OpenBLAS use one thread for the whole process.
    ///
    /// The demo's matrices are small and a study trains several networks at once, one per worker: OpenBLAS's own
    /// threads then only contend with the workers (measured here: a 256-wide run took 2.1–2.4 s on one thread
    /// against 3.2–4.8 s with OpenBLAS's default threads on a busy 2-core machine, with identical results).
    /// The corresponding OpenBLAS call is `openblas_set_num_threads(1)`.
    public static func useSingleThreadedBLAS() {
        openblas_set_num_threads(1)
    }

    /// The multiply-adds a run with `hyperparameters` makes (the `flops` cost), without running it.
    public func multiplyAdds(_ hyperparameters: MLPHyperparameters) -> Double {
        let d = dataset.inputDimension
        let h = hyperparameters.hiddenDim
        let perStep =
            MLPNetwork.forwardMultiplyAdds(inputDimension: d, hiddenDim: h, rows: hyperparameters.batchSize)
            + MLPNetwork.backwardMultiplyAdds(inputDimension: d, hiddenDim: h, rows: hyperparameters.batchSize)
        return Double(hyperparameters.steps) * perStep
            + MLPNetwork.forwardMultiplyAdds(inputDimension: d, hiddenDim: h, rows: dataset.validationCount)
    }

    /// Trains a network from scratch with `hyperparameters` and measures it on the validation rows.
    ///
    /// A run that diverges stops at once and returns a result with `divergedAtStep` set.
    /// - Parameters:
    ///   - hyperparameters: The run's settings.
    ///   - isCancelled: Polled every few steps; when it returns true the run stops and throws `.cancelled`.
    /// - Returns: The validation loss, the cost in seconds and multiply-adds.
    /// - Throws: `MLPTraining.Error` for invalid hyperparameters or cancellation.
    /// - Complexity: `multiplyAdds(hyperparameters)` multiply-adds.
    public func run(
        _ hyperparameters: MLPHyperparameters, isCancelled: () -> Bool = { false }
    ) throws(Error) -> Result {
        try hyperparameters.validate()
        let clock = ContinuousClock()
        let started = clock.now
        let d = dataset.inputDimension
        let batch = hyperparameters.batchSize
        let validationChunk = 256
        var random = DemoRandom(seed: seed ^ 0x7EA1_0000_0000_0000)
        let network = MLPNetwork(
            inputDimension: d, hiddenDim: hyperparameters.hiddenDim, capacity: max(batch, validationChunk),
            random: &random)
        var batchInputs = [Double](repeating: 0, count: batch * d)
        var batchTargets = [Double](repeating: 0, count: batch)
        var order = Array(0..<dataset.trainingCount)
        var cursor = order.count
        var recentLosses: [Double] = []
        var divergedAt: Int?
        let steps = hyperparameters.steps
        for step in 0..<steps {
            if step % 16 == 0 && isCancelled() { throw Error(.cancelled, "the run was cancelled at step \(step)") }
            for row in 0..<batch {
                if cursor == order.count {
                    order.shuffle(using: &random)
                    cursor = 0
                }
                let source = order[cursor]
                cursor += 1
                batchTargets[row] = dataset.trainingTargets[source]
                for j in 0..<d { batchInputs[row * d + j] = dataset.trainingInputs[source * d + j] }
            }
            let loss = batchInputs.withUnsafeBufferPointer { x in
                batchTargets.withUnsafeBufferPointer { y in
                    network.forward(x.baseAddress!, rows: batch)
                    return network.backward(x.baseAddress!, targets: y.baseAddress!, rows: batch)
                }
            }
            guard loss.isFinite, loss <= Self.divergenceLoss else {
                divergedAt = step
                break
            }
            if steps - step <= 20 { recentLosses.append(loss) }
            let progress = Double(step) / Double(steps)
            let rate = hyperparameters.learningRate * 0.5 * (1 + cos(Double.pi * progress))
            network.adamStep(learningRate: rate, weightDecay: hyperparameters.weightDecay)
        }
        var validationLoss = Double.nan
        if divergedAt == nil {
            validationLoss = meanSquaredError(network, chunk: validationChunk)
            if !validationLoss.isFinite || validationLoss > Self.divergenceLoss { divergedAt = steps }
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Result(
            validationLoss: validationLoss,
            trainingLoss: recentLosses.isEmpty ? .nan : recentLosses.reduce(0, +) / Double(recentLosses.count),
            multiplyAdds: multiplyAdds(hyperparameters), seconds: seconds, divergedAtStep: divergedAt)
    }

    private func meanSquaredError(_ network: MLPNetwork, chunk: Int) -> Double {
        let d = dataset.inputDimension
        var total = 0.0
        dataset.validationInputs.withUnsafeBufferPointer { inputs in
            var start = 0
            while start < dataset.validationCount {
                let rows = min(chunk, dataset.validationCount - start)
                network.forward(inputs.baseAddress! + start * d, rows: rows)
                for i in 0..<rows {
                    let error = network.outputs[i] - dataset.validationTargets[start + i]
                    total += error * error
                }
                start += rows
            }
        }
        return total / Double(dataset.validationCount)
    }
}
