import Foundation

/// A noisy nonlinear regression task generated from a seed, split into training and held-out validation rows.
///
/// Inputs are uniform in [-1, 1]^`inputDimension`. The target is a sum of `components` random sinusoidal ridges
/// plus one pairwise interaction, standardised to zero mean and unit variance over the training rows, with
/// Gaussian noise of standard deviation `noise` added to every row. Predicting the mean therefore scores a mean
/// squared error of about 1, and a perfect model scores about `noise²`.
public struct DemoDataset: Sendable, Hashable {
    /// How many input features each row has.
    public let inputDimension: Int
    /// Training inputs, row-major, `trainingCount × inputDimension`.
    public let trainingInputs: [Double]
    /// Training targets, one per row.
    public let trainingTargets: [Double]
    /// Validation inputs, row-major, `validationCount × inputDimension`.
    public let validationInputs: [Double]
    /// Validation targets, one per row.
    public let validationTargets: [Double]
    /// The standard deviation of the noise added to the standardised targets.
    public let noise: Double

    /// The number of training rows.
    public var trainingCount: Int { trainingTargets.count }
    /// The number of validation rows.
    public var validationCount: Int { validationTargets.count }

    /// Generates the dataset that `seed` determines.
    /// - Parameters:
    ///   - seed: Fixes the target function, the rows and the noise.
    ///   - trainingCount: Rows to train on.
    ///   - validationCount: Held-out rows the validation loss is measured on.
    ///   - inputDimension: Features per row.
    ///   - components: Sinusoidal ridges in the target function (more is harder).
    ///   - noise: Standard deviation of the target noise, relative to the target's.
    public init(
        seed: UInt64 = 0, trainingCount: Int = 8192, validationCount: Int = 1024, inputDimension: Int = 8,
        components: Int = 12, noise: Double = 0.1
    ) {
        precondition(trainingCount > 1 && validationCount > 0 && inputDimension > 1 && components > 0)
        var random = DemoRandom(seed: seed ^ 0xDA7A_5E7D_0000_0001)
        let d = inputDimension
        var frequencies: [[Double]] = []
        var phases: [Double] = []
        var amplitudes: [Double] = []
        for _ in 0..<components {
            frequencies.append((0..<d).map { _ in 1.2 * random.normal() })
            phases.append(random.uniform(0, 2 * Double.pi))
            amplitudes.append(random.uniform(0.5, 1.5))
        }
        func target(_ x: ArraySlice<Double>) -> Double {
            var value = 1.5 * x[x.startIndex] * x[x.startIndex + 1]
            for k in 0..<components {
                var dot = phases[k]
                for (j, xj) in x.enumerated() { dot += frequencies[k][j] * xj }
                value += amplitudes[k] * sin(dot)
            }
            return value
        }
        func rows(_ count: Int) -> (inputs: [Double], targets: [Double]) {
            let inputs = (0..<(count * d)).map { _ in random.uniform(-1, 1) }
            let targets = (0..<count).map { target(inputs[($0 * d)..<($0 * d + d)]) }
            return (inputs, targets)
        }
        let training = rows(trainingCount)
        let validation = rows(validationCount)
        let mean = training.targets.reduce(0, +) / Double(trainingCount)
        let variance = training.targets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(trainingCount)
        let scale = 1 / max(variance.squareRoot(), 1e-12)
        func standardised(_ targets: [Double]) -> [Double] {
            targets.map { ($0 - mean) * scale + noise * random.normal() }
        }
        self.inputDimension = d
        self.noise = noise
        trainingInputs = training.inputs
        validationInputs = validation.inputs
        trainingTargets = standardised(training.targets)
        validationTargets = standardised(validation.targets)
    }
}
