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
                let predicted = suggestion.prediction.flatMap { try? JSONDecoder().decode([String: Double].self, from: $0) }
                try transaction.insert(
                    StoredSuggestion(id: suggestion.id, params: suggestion.parameters, createdAt: time, predicted: predicted))
                try transaction.insert(StoredAttempt(suggestionID: suggestion.id, attempt: 1, issuedAt: time))
            }
            for entry in step.entries {
                try apply(entry, in: transaction, at: time)
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
                if var attempt = try transaction.attempt(message.attempt, ofSuggestion: message.suggestionID) {
                    attempt.finishedAt = message.finishedAt ?? time
                    attempt.outcome = message.status == .success ? .success : .failure
                    attempt.worker = attempt.worker ?? message.worker
                    try transaction.update(attempt)
                }
            }
            if let snapshot = step.snapshot {
                _ = try transaction.saveSnapshot(snapshot, at: time)
            }
        }
    }

    /// Brings the stored suggestion (and its attempts) in line with a ledger entry.
    private func apply(_ entry: StudyLedger.Entry, in transaction: StoreTransaction, at time: Date) throws {
        guard var stored = try transaction.suggestion(id: entry.id),
            let state = SuggestionState(rawValue: entry.phase.rawValue)
        else { return }
        if entry.attempt > stored.attempt {
            // The previous attempt was lost (reported, or its lease ran out); a new one is issued.
            if var previous = try transaction.attempt(stored.attempt, ofSuggestion: entry.id) {
                previous.outcome = previous.outcome ?? .lost
                previous.finishedAt = previous.finishedAt ?? time
                try transaction.update(previous)
            }
            for number in (stored.attempt + 1)...entry.attempt
            where try transaction.attempt(number, ofSuggestion: entry.id) == nil {
                try transaction.insert(StoredAttempt(suggestionID: entry.id, attempt: number, issuedAt: time))
            }
        }
        if state == .running && (stored.state != .running || entry.attempt != stored.attempt) {
            stored.attemptsStarted += 1
            if var attempt = try transaction.attempt(entry.attempt, ofSuggestion: entry.id), attempt.startedAt == nil {
                attempt.startedAt = time
                attempt.worker = entry.worker
                try transaction.update(attempt)
            }
        }
        if state == .queued && stored.state != .queued {
            if var attempt = try transaction.attempt(entry.attempt, ofSuggestion: entry.id), attempt.publishedAt == nil {
                attempt.publishedAt = time
                try transaction.update(attempt)
            }
        }
        if (state == .withdrawn || state == .forgotten),
            var attempt = try transaction.attempt(entry.attempt, ofSuggestion: entry.id), attempt.outcome == nil
        {
            attempt.outcome = state == .withdrawn ? .withdrawn : .lost
            attempt.finishedAt = time
            try transaction.update(attempt)
        }
        if state == .running { stored.lastHeardAt = time }
        stored.state = state
        stored.attempt = entry.attempt
        stored.worker = entry.worker ?? stored.worker
        stored.leaseDeadline = entry.leaseDeadline
        try transaction.update(stored)
    }

    private static func disposition(_ value: PersistenceStep.ReceivedMessage.Disposition) -> MessageDisposition {
        switch value {
        case .applied: .applied
        case .duplicate: .duplicate
        case .late, .ignored: .late
        case .rejected: .rejected
        case .heartbeat: .heartbeat
        case .started: .started
        }
    }
}
