import ArgumentParser
import CARBSCore
import CARBSService
import CARBSStore

extension StudyFile {
    /// The earlier runs named by `warm_start`, read from their study database; empty without a `warm_start`.
    /// - Throws: A clean command-line error naming `warm_start.db` when the database cannot be read.
    func warmStartHistory() throws -> [HistoricalObservation] {
        guard let warmStart else { return [] }
        do {
            let store = try StudyStore.open(path: warmStart.database)
            return try store.observations().map {
                HistoricalObservation(
                    parameters: $0.params.mapValues(\.doubleValue), output: $0.output, cost: $0.cost,
                    isFailure: $0.isFailure)
            }
        } catch {
            throw CleanExit.message("warm_start.db: cannot read \(warmStart.database): \(error)", code: ExitCode(66))
        }
    }

    /// The optimizer of a new study: the study's settings, warm-started from `history`.
    ///
    /// A warm start moves the search center to the best earlier run; here it goes back to the study file's
    /// centers, because a study file that names a warm start (such as one `carbs extrapolate` writes) places its
    /// centers on purpose. The center steers the random phase and the fallback sampling; the earlier runs give the
    /// surrogate models and the Pareto set their start.
    /// - Throws: `CARBSError` naming the parameter when an earlier run does not fit this study's parameters.
    func makeOptimizer(warmStartedWith history: [HistoricalObservation]) throws(CARBSError) -> CARBSOptimizer {
        var optimizer = try CARBSOptimizer(configuration: configuration, parameters: parameters)
        guard !history.isEmpty else { return optimizer }
        let centers = optimizer.snapshot.searchCenter
        try optimizer.warmStart(with: history, fixedValues: warmStart?.fixedValues ?? [:])
        var snapshot = optimizer.snapshot
        snapshot.searchCenter = centers
        return try CARBSOptimizer(restoring: snapshot)
    }

    /// The optimizer service's settings, with the budget counting only the study's own runs: the optimizer counts
    /// the warm-start runs among its observations and cost, so the budget is raised by theirs.
    func serviceConfiguration(warmStartedWith history: [HistoricalObservation]) -> OptimizerService.Configuration {
        var configuration = serviceConfiguration
        guard !history.isEmpty else { return configuration }
        configuration.maxObservations = configuration.maxObservations.map { $0 + history.count }
        let earlierCost = history.reduce(0.0) { $0 + ($1.cost.map { $0.isFinite ? $0 : 0 } ?? 0) }
        configuration.maxTotalCost = configuration.maxTotalCost.map { $0 + earlierCost }
        return configuration
    }
}
