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
            let entries = try transaction.suggestions(in: nil).compactMap { stored -> StudyLedger.Entry? in
                guard let phase = StudyLedger.Phase(rawValue: stored.state.rawValue) else { return nil }
                return StudyLedger.Entry(
                    id: stored.id, attempt: stored.attempt, phase: phase, leaseDeadline: stored.leaseDeadline,
                    worker: stored.worker)
            }
            return SavedStudy(snapshot: snapshot.data, entries: entries)
        }
    }

    public func commit(_ step: PersistenceStep) throws {
        let time = step.time
        try store.write { transaction in
            for suggestion in step.newSuggestions {
                try transaction.insert(
                    StoredSuggestion(
                        id: suggestion.id, params: suggestion.parameters, createdAt: time, predicted: suggestion.prediction,
                        origin: suggestion.origin))
                try transaction.insert(StoredAttempt(suggestionID: suggestion.id, attempt: 1, issuedAt: time))
            }
            for entry in step.entries {
                try apply(entry, in: transaction, at: time)
            }
            for expired in step.expiredAttempts {
                guard var attempt = try transaction.attempt(expired.attempt, ofSuggestion: expired.id) else { continue }
                attempt.outcome = .expired
                attempt.finishedAt = attempt.finishedAt ?? time
                try transaction.update(attempt)
            }
            for received in step.messages {
                let disposition = Self.disposition(received.disposition)
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
            }
        }
    }

    /// Brings the stored suggestion (and its attempt history) in line with a ledger entry.
    private func apply(_ entry: StudyLedger.Entry, in transaction: StoreTransaction, at time: Date) throws {
        guard let state = SuggestionState(rawValue: entry.phase.rawValue),
            let stored = try transaction.suggestion(id: entry.id)
        else { return }
        if state == .queued && stored.state == .publishing && stored.attempt == entry.attempt {
            try transaction.markPublished(entry.id, attempt: entry.attempt, at: time)
        }
        try transaction.recordProgress(
            ofSuggestion: entry.id, state: state, attempt: entry.attempt, worker: entry.worker,
            leaseDeadline: entry.leaseDeadline, at: time)
    }

    private static func disposition(_ value: PersistenceStep.ReceivedMessage.Disposition) -> MessageDisposition {
        switch value {
        case .applied: .applied
        case .duplicate: .duplicate
        case .late: .late
        case .ignored: .ignored
        case .rejected: .rejected
        case .heartbeat: .heartbeat
        case .started: .started
        }
    }
}
