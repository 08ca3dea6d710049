import Foundation
import GRDB

extension StoreTransaction {
    /// Appends `events` to the event log, in order, and applies each to the `suggestion` and `attempt` tables:
    ///
    /// - `issued`: attempt 1 gets its row (the suggestion itself must be inserted first);
    /// - `published`: a `publishing` suggestion becomes `queued`; the attempt gets `published_at`;
    /// - `started`, `heartbeat`: the suggestion is `running` with the worker and lease; the attempt's first such
    ///   event gives it `started_at` and counts in `attempts_started`;
    /// - `succeeded`, `failed`: the suggestion is `finished` or `failed`; the attempt is closed with that outcome;
    /// - `lost`, `expired`: the attempt is closed as lost or expired (a `reissued` or `forgotten` follows);
    /// - `reissued`: the suggestion is `publishing` again as the new attempt, which gets its row;
    /// - `forgotten`, `withdrawn`: the suggestion is settled so; an attempt still open is closed as lost or
    ///   withdrawn.
    ///
    /// - Throws: `StoreError` `.notFound` for an event of a suggestion (or attempt) that is not stored.
    public func record(_ events: [StudyEvent], at time: Date) throws {
        // Formatted once: a cycle records hundreds of events at the same time, and formatting a date is the
        // dearest part of writing one.
        let stamp = time.databaseValue
        for event in events {
            try record(event, at: stamp)
        }
    }

    private func record(_ event: StudyEvent, at time: DatabaseValue) throws {
        let id = event.suggestionID
        try run("recording \(event.kind.rawValue) of suggestion \(id)") {
            try execute(
                """
                INSERT INTO study_event (recorded_at, kind, suggestion_id, attempt, worker, lease_deadline)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [time, event.kind, id, event.attempt, event.worker, event.leaseDeadline])
            switch event.kind {
            case .issued, .reissued:
                if event.kind == .reissued {
                    try updateSuggestion(
                        id, "state = ?, attempt = ?, worker = NULL, lease_deadline = NULL",
                        [SuggestionState.publishing, event.attempt])
                }
                try execute(
                    "INSERT INTO attempt (suggestion_id, attempt, issued_at) VALUES (?, ?, ?)",
                    [id, event.attempt, time])
            case .published:
                try execute(
                    "UPDATE suggestion SET state = ? WHERE suggestion_id = ? AND state = ? AND attempt = ?",
                    [SuggestionState.queued, id, SuggestionState.publishing, event.attempt])
                try updateAttempt(id, event.attempt, "published_at = ?", [time])
            case .started, .heartbeat:
                let firstStart =
                    try Bool.fetchOne(
                        db.cachedStatement(
                            sql: "SELECT started_at IS NULL FROM attempt WHERE suggestion_id = ? AND attempt = ?"),
                        arguments: [id, event.attempt]) ?? false
                try updateSuggestion(
                    id,
                    "state = ?, worker = ?, lease_deadline = ?, last_heard_at = ?"
                        + (firstStart ? ", attempts_started = attempts_started + 1" : ""),
                    [SuggestionState.running, event.worker, event.leaseDeadline, time])
                if firstStart {
                    try updateAttempt(id, event.attempt, "started_at = ?, worker = ?", [time, event.worker])
                }
            case .succeeded, .failed:
                let state: SuggestionState = event.kind == .succeeded ? .finished : .failed
                try updateSuggestion(
                    id, "state = ?, lease_deadline = NULL, worker = COALESCE(?, worker)", [state, event.worker])
                try close(id, event.attempt, event.kind == .succeeded ? .success : .failure, at: time)
            case .lost, .expired:
                try updateSuggestion(id, "lease_deadline = NULL", [])
                try close(id, event.attempt, event.kind == .lost ? .lost : .expired, at: time)
            case .forgotten, .withdrawn:
                let state: SuggestionState = event.kind == .forgotten ? .forgotten : .withdrawn
                try updateSuggestion(id, "state = ?, lease_deadline = NULL", [state])
                try close(id, event.attempt, event.kind == .forgotten ? .lost : .withdrawn, at: time)
            }
        }
    }

    /// The logged events, oldest first: all of them, or those of one suggestion.
    public func events(suggestionID: String? = nil) throws -> [LoggedStudyEvent] {
        try run("reading the event log") {
            var sql = "SELECT seq, recorded_at, kind, suggestion_id, attempt, worker, lease_deadline FROM study_event"
            var arguments: StatementArguments = []
            if let suggestionID {
                sql += " WHERE suggestion_id = ?"
                arguments = [suggestionID]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY seq", arguments: arguments).map { row in
                LoggedStudyEvent(
                    sequence: row["seq"], recordedAt: row["recorded_at"],
                    event: StudyEvent(
                        try row.decode(forColumn: "kind"), suggestionID: row["suggestion_id"], attempt: row["attempt"],
                        worker: row["worker"], leaseDeadline: row["lease_deadline"]))
            }
        }
    }

    private func updateSuggestion(_ id: String, _ assignments: String, _ values: [(any DatabaseValueConvertible)?])
        throws
    {
        try execute("UPDATE suggestion SET \(assignments) WHERE suggestion_id = ?", values + [id])
        guard db.changesCount == 1 else { throw StoreError(.notFound, "no suggestion \(id)") }
    }

    private func updateAttempt(
        _ id: String, _ attempt: Int, _ assignments: String, _ values: [(any DatabaseValueConvertible)?]
    ) throws {
        try execute(
            "UPDATE attempt SET \(assignments) WHERE suggestion_id = ? AND attempt = ?", values + [id, attempt])
        guard db.changesCount == 1 else { throw StoreError(.notFound, "no attempt \(attempt) of suggestion \(id)") }
    }

    /// Closes an attempt that is still open.
    private func close(_ id: String, _ attempt: Int, _ outcome: AttemptOutcome, at time: DatabaseValue) throws {
        try execute(
            "UPDATE attempt SET finished_at = ?, outcome = ? WHERE suggestion_id = ? AND attempt = ? AND outcome IS NULL",
            [time, outcome, id, attempt])
    }

    /// Runs a statement prepared once per connection (a cycle runs the same few statements hundreds of times).
    private func execute(_ sql: String, _ values: [(any DatabaseValueConvertible)?]) throws {
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(values))
    }
}
