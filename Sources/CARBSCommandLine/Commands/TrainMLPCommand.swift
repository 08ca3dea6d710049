import ArgumentParser
import CARBSDemo
import Foundation

/// `carbs train-mlp`: one run of the demo MLP, reported as the JSON line an external trainer prints.
struct TrainMLPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-mlp",
        abstract: "Train the demo MLP once and print its result as a JSON line (an external trainer's reference).",
        discussion: """
            Trains a two-hidden-layer MLP from scratch on a regression dataset generated from --dataset-seed and \
            prints {"output": <validation loss>, "cost": <seconds or multiply-adds>, "status": "success"}. \
            A run that diverges prints "status": "failure". Use it as a command trainer:
              trainer: {command: [carbs, train-mlp, --learning-rate, "{learning_rate}", --hidden-dim, "{hidden_dim}"]}
            """)

    @Option(help: "Adam's peak learning rate.")
    var learningRate: Double = MLPHyperparameters().learningRate

    @Option(help: "Units in each of the two hidden layers.")
    var hiddenDim: Int = MLPHyperparameters().hiddenDim

    @Option(help: "Training steps (minibatches).")
    var steps: Int = MLPHyperparameters().steps

    @Option(help: "Rows per minibatch.")
    var batchSize: Int = MLPHyperparameters().batchSize

    @Option(help: "Decoupled weight decay.")
    var weightDecay: Double = MLPHyperparameters().weightDecay

    @Option(help: "The cost to report: seconds (measured) or flops (multiply-adds, deterministic).")
    var cost: String = MLPTraining.CostMeasure.seconds.rawValue

    @Option(help: "Seed of the initial weights and minibatch order.")
    var seed: UInt64 = 0

    @Option(help: "Seed of the generated dataset.")
    var datasetSeed: UInt64 = 0

    var hyperparameters: MLPHyperparameters {
        MLPHyperparameters(
            learningRate: learningRate, hiddenDim: hiddenDim, steps: steps, batchSize: batchSize,
            weightDecay: weightDecay)
    }

    func validate() throws {
        guard MLPTraining.CostMeasure(rawValue: cost) != nil else {
            throw ValidationError("--cost: \"\(cost)\" is not allowed (seconds or flops)")
        }
        do {
            try hyperparameters.validate()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        let measure = MLPTraining.CostMeasure(rawValue: cost) ?? .seconds
        MLPTraining.useSingleThreadedBLAS()
        let training = MLPTraining(dataset: DemoDataset(seed: datasetSeed), seed: seed)
        let result = try training.run(hyperparameters)
        print(Self.resultLine(result, cost: measure))
    }

    /// The JSON line for `result`: `{"output":…,"cost":…,"status":"success",…}`.
    static func resultLine(_ result: MLPTraining.Result, cost: MLPTraining.CostMeasure) -> String {
        var fields: [(String, String)]
        if let step = result.divergedAtStep {
            fields = [
                ("output", "null"), ("cost", number(result.cost(cost))), ("status", "\"failure\""),
                ("message", "\"training diverged at step \(step)\""),
            ]
        } else {
            fields = [
                ("output", number(result.validationLoss)), ("cost", number(result.cost(cost))),
                ("status", "\"success\""),
            ]
        }
        var metrics = [("seconds", result.seconds), ("multiply_adds", result.multiplyAdds)]
        if result.trainingLoss.isFinite { metrics.insert(("training_loss", result.trainingLoss), at: 0) }
        fields.append(("metrics", "{" + metrics.map { "\"\($0.0)\":\(number($0.1))" }.joined(separator: ",") + "}"))
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    private static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }
}
