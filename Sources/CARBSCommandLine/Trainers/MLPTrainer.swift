import CARBSDemo
import CARBSMessaging
import CARBSWorker
import Dispatch
import Foundation
import Synchronization

/// The `builtin-mlp` trainer: trains the demo MLP of CARBSDemo in process, off Swift's cooperative pool.
///
/// Output is the validation loss; cost is the measured training seconds or, with `cost: flops`, the
/// deterministic multiply-add count. A run that diverges is a failure.
struct MLPTrainer: Trainer {
    /// The name a study file gives it: `trainer: {builtin: builtin-mlp}`.
    static let name = "builtin-mlp"

    let training: MLPTraining
    let cost: MLPTraining.CostMeasure

    /// Creates the trainer; it sets OpenBLAS to one thread for the process (see
    /// `MLPTraining.useSingleThreadedBLAS`).
    init(cost: MLPTraining.CostMeasure = .seconds, training: MLPTraining = MLPTraining()) {
        self.cost = cost
        self.training = training
        MLPTraining.useSingleThreadedBLAS()
    }

    func train(_ suggestion: SuggestionMessage, heartbeat: Heartbeat) async throws -> TrainerOutcome {
        let started = Date()
        let hyperparameters: MLPHyperparameters
        do {
            hyperparameters = try MLPHyperparameters(values: suggestion.params.mapValues(\.doubleValue))
        } catch {
            return TrainerOutcome(status: .failure, message: error.message, startedAt: started, finishedAt: Date())
        }
        let result = try await runOffPool(hyperparameters)
        return Self.outcome(result, cost: cost, startedAt: started)
    }

    /// The outcome a run's result gives: success with output and cost, or failure when it diverged.
    static func outcome(
        _ result: MLPTraining.Result, cost: MLPTraining.CostMeasure, startedAt: Date
    ) -> TrainerOutcome {
        let metrics = [
            "training_loss": result.trainingLoss, "seconds": result.seconds, "multiply_adds": result.multiplyAdds,
        ].filter { $0.value.isFinite }
        if let step = result.divergedAtStep {
            return TrainerOutcome(
                status: .failure, cost: result.cost(cost), metrics: metrics,
                message: "training diverged at step \(step) (the loss became non-finite or exceeded "
                    + "\(Int(MLPTraining.divergenceLoss)))", startedAt: startedAt, finishedAt: Date())
        }
        return TrainerOutcome(
            status: .success, output: result.validationLoss, cost: result.cost(cost), metrics: metrics,
            startedAt: startedAt, finishedAt: Date())
    }

    /// Runs the training on a Dispatch thread so a long run never holds one of the cooperative pool's few threads;
    /// task cancellation stops it within a few steps.
    private func runOffPool(_ hyperparameters: MLPHyperparameters) async throws -> MLPTraining.Result {
        let flag = CancellationFlag()
        let training = self.training
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async {
                    do throws(MLPTraining.Error) {
                        continuation.resume(returning: try training.run(hyperparameters) { flag.isSet })
                    } catch  where error.code == .cancelled {
                        continuation.resume(throwing: CancellationError())
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            flag.set()
        }
    }
}

/// A one-way flag shared between a task's cancellation handler and the thread running the training.
private final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .relaxed) }

    func set() {
        value.store(true, ordering: .relaxed)
    }
}
