import CARBSMessaging
import CARBSStore
import Foundation

/// `StudyPersistence` over the SQLite study store: each step is one transaction.
public final class SQLiteStudyPersistence: StudyPersistence {
    public let store: StudyStore

    /// Opens (or creates) the study database at `path`.
    /// - Parameters:
    ///   - study: the study name; a database of another study is refused.
    ///   - configuration: what identifies the study's settings (stored when the database is created).
    public convenience init(path: String, study: String, configuration: Data) throws {
        self.init(store: try StudyStore.open(path: path, study: study, configuration: configuration))
    }

    public init(store: StudyStore) {
        self.store = store
    }

    public func resume() throws -> SavedStudy? {
        try store.read { transaction in
            guard let snapshot = try transaction.loadSnapshot() else { return nil }
            let entries = try transaction.suggestions(in: nil).map { stored in
                StudyLedger.Entry(
                    id: stored.id, attempt: stored.attempt, phase: stored.state, leaseDeadline: stored.leaseDeadline,
                    worker: stored.worker)
            }
            return SavedStudy(snapshot: snapshot.data, entries: entries)
        }
    }

    public func commit(_ step: PersistenceStep) async throws {
        try await store.write { transaction in
            try Self.write(step, in: transaction)
        }
    }

    private static func write(_ step: PersistenceStep, in transaction: StoreTransaction) throws {
        let time = step.time
        for suggestion in step.newSuggestions {
            try transaction.insert(
                StoredSuggestion(
                    id: suggestion.id, params: suggestion.parameters, createdAt: time, predicted: suggestion.prediction,
                    origin: suggestion.origin))
        }
        try transaction.record(step.events, at: time)
        for received in step.messages {
            let disposition = received.disposition
            if let message = received.message {
                _ = try transaction.log(
                    LoggedMessage(message, body: received.body, receivedAt: time, disposition: disposition, reason: received.reason))
            } else {
                _ = try transaction.log(
                    LoggedMessage(
                        receivedAt: time, body: String(decoding: received.body, as: UTF8.self), disposition: disposition,
                        reason: received.reason))
            }
        }
        for result in step.results {
            let message = result.message
            try transaction.insert(
                StoredObservation(
                    suggestionID: message.suggestionID, attempt: message.attempt,
                    output: message.status == .success ? message.output : nil, cost: message.cost,
                    isFailure: message.status != .success, params: result.parameters, observedAt: time,
                    worker: message.worker, startedAt: message.startedAt, finishedAt: message.finishedAt,
                    message: message.message, metrics: message.metrics))
        }
        if let snapshot = step.snapshot {
            _ = try transaction.saveSnapshot(snapshot, at: time)
        } else if let delta = step.snapshotDelta {
            _ = try transaction.appendSnapshotDelta(delta, at: time)
        }
    }
}
