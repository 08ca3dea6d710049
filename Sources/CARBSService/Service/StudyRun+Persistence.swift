import CARBSCore
import CARBSMessaging
import Foundation
import ServiceLifecycle

/// Committing a cycle, and the conversions the commits need.
extension StudyRun {

    /// Commits the step with the machine's events and, if the optimizer changed, a delta of it (or, now and
    /// then, its complete snapshot).
    mutating func commit(_ step: inout PersistenceStep, completeSnapshot: Bool = false) async throws {
        step.events += machine.takeEvents()
        var snapshotBytes: Int?
        var deltaBytes: Int?
        if optimizerChanged || completeSnapshot {
            if checkpoints.wantsSnapshot || completeSnapshot {
                let data = try SnapshotCoding.encode(optimizer.snapshot)
                step.snapshot = data
                snapshotBytes = data.count
            } else {
                let data = try SnapshotCoding.encode(value: optimizer.snapshotDelta(since: savedMark))
                step.snapshotDelta = data
                deltaBytes = data.count
            }
        }
        guard !step.isEmpty else { return }
        let persistence = service.persistence
        let written = step
        do {
            let started = ContinuousClock.now
            // Not cancellable: a commit half-abandoned would leave the optimizer ahead of the store.
            try await Task { try await persistence.commit(written) }.value
            service.metrics.commitLatency.recordInterval(ContinuousClock.now - started)
        } catch {
            service.liveState.withLock { $0.lastCommitError = "\(error)" }
            throw error
        }
        service.liveState.withLock {
            $0.lastCommitAt = written.time
            $0.lastCommitError = nil
        }
        if let snapshotBytes { checkpoints.wroteSnapshot(bytes: snapshotBytes) }
        if let deltaBytes { checkpoints.wroteDelta(bytes: deltaBytes) }
        savedMark = optimizer.snapshotMark
        optimizerChanged = false
    }

    mutating func flush(completeSnapshot: Bool = false) async throws {
        var step = PersistenceStep(time: service.clock())
        try await commit(&step, completeSnapshot: completeSnapshot)
    }

    func optimizerParameters(of id: String) -> [String: Double] {
        optimizer.parameters(ofOutstanding: id) ?? [:]
    }

    func wireParameters(_ values: [String: Double]) -> [String: ParameterValue] {
        values.reduce(into: [:]) { result, pair in
            result[pair.key] =
                integerParameters.contains(pair.key) ? .integer(Int(pair.value.rounded())) : .real(pair.value)
        }
    }
}
