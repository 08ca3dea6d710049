import CARBSCore
import Foundation

/// Where the study stands, for `onProgress`, the live view and the gauges.
extension StudyRun {
    /// Tells `onProgress`, the live view and the gauges where the study stands.
    mutating func report(phase: LiveStudy.Phase? = nil) {
        let counts = [optimizer.observationCount, optimizer.outstandingCount, optimizer.suggestionCount]
        let summary: CARBSSummary
        let now = ContinuousClock.now
        if let cached = reportedSummary,
            cached.counts == counts || (phase == nil && now - cached.at < min(summaryBuildTime * 20, .seconds(1)))
        {
            summary = cached.summary
        } else {
            summary = optimizer.summary
            summaryBuildTime = ContinuousClock.now - now
            reportedSummary = (counts, now, summary)
        }
        let running = machine.ledger.entries.values.filter { $0.phase == .running }.count
        let queued = machine.ledger.entries.values.filter { $0.phase == .queued || $0.phase == .publishing }.count
        // Counts and cost are current; failures, the best point and the Pareto size come from the summary (at most
        // `summaryInterval` old while the study runs).
        let progress = StudyProgress(
            observations: optimizer.observationCount, maxObservations: configuration.maxObservations,
            totalCost: optimizer.cumulativeCost, maxTotalCost: configuration.maxTotalCost,
            inFlight: machine.ledger.inFlightCount, running: running, failures: summary.failureCount,
            bestOutput: summary.best?.output, bestCost: summary.best?.cost, paretoSize: summary.paretoSet.count,
            elapsed: ContinuousClock.now - started, isDraining: machine.isDraining)
        let metrics = service.metrics
        metrics.inFlight.record(progress.inFlight)
        metrics.queued.record(queued)
        metrics.observations.record(progress.observations)
        if let best = progress.bestOutput { metrics.bestOutput.record(best) }
        let parameters = optimizer.parameters
        let direction = optimizer.configuration.direction
        service.liveState.withLock { live in
            live.phase = phase ?? (machine.isDraining ? .draining : .running)
            live.progress = progress
            live.summary = summary
            live.parameters = parameters
            live.direction = direction
        }
        service.onProgress?(progress)
    }
}
