import CARBSMessaging
import Foundation
import GRDB

/// The typed operations available inside `StudyStore.write { }` and `StudyStore.read { }`.
///
/// Valid only during the closure it is passed to. Every method throws `StoreError`; writes fail inside `read`.
public struct StoreTransaction {
    let db: Database

    // MARK: Study

    /// The configuration stored with the study.
    public func studyConfiguration() throws -> Data {
        try run("reading the study configuration") {
            guard let data = try Data.fetchOne(db, sql: "SELECT configuration FROM study WHERE id = 1") else {
                throw StoreError(.noStudy, "the database holds no study")
            }
            return data
        }
    }

    /// Replaces the study's configuration (when a resumed study's file changed in an allowed way).
    public func replaceStudyConfiguration(_ configuration: Data) throws {
        try run("replacing the study configuration") {
            try db.execute(sql: "UPDATE study SET configuration = ? WHERE id = 1", arguments: [configuration])
        }
    }

    /// When the study's database was created.
    public func studyCreatedAt() throws -> Date {
        try run("reading the study creation time") {
            guard let date = try Date.fetchOne(db, sql: "SELECT created_at FROM study WHERE id = 1") else {
                throw StoreError(.noStudy, "the database holds no study")
            }
            return date
        }
    }

    // MARK: Suggestions

    /// Stores a new suggestion.
    /// - Throws: `StoreError` `.duplicate` when the id exists.
    public func insert(_ suggestion: StoredSuggestion) throws {
        try run("inserting suggestion \(suggestion.id)", duplicate: "suggestion \(suggestion.id) exists") {
            try suggestion.insert(db)
        }
    }

    /// Replaces a stored suggestion's fields.
    /// - Throws: `StoreError` `.notFound` when there is no such suggestion.
    public func update(_ suggestion: StoredSuggestion) throws {
        try run("updating suggestion \(suggestion.id)") {
            do {
                try suggestion.update(db)
            } catch is RecordError {
                throw StoreError(.notFound, "no suggestion \(suggestion.id) to update")
            }
        }
    }

    /// The suggestion with this id, if any.
    public func suggestion(id: String) throws -> StoredSuggestion? {
        try run("reading suggestion \(id)") { try StoredSuggestion.fetchOne(db, key: id) }
    }

    /// The suggestions in any of `states` (all when nil), oldest first.
    public func suggestions(in states: Set<SuggestionState>? = nil) throws -> [StoredSuggestion] {
        try run("reading suggestions") {
            var request = StoredSuggestion.all()
            if let states {
                request = request.filter(states.map(\.rawValue).contains(Column("state")))
            }
            return try request.order(Column("created_at"), Column.rowID).fetchAll(db)
        }
    }

    /// Sets the state of a suggestion.
    /// - Throws: `StoreError` `.notFound` when there is no such suggestion.
    public func setState(_ state: SuggestionState, ofSuggestion id: String) throws {
        try run("setting the state of suggestion \(id)") {
            try db.execute(sql: "UPDATE suggestion SET state = ? WHERE suggestion_id = ?", arguments: [state, id])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "no suggestion \(id)") }
        }
    }

    // MARK: Attempts

    /// Stores a new attempt of a suggestion (the suggestion must exist).
    /// - Throws: `StoreError` `.duplicate` when the attempt exists.
    public func insert(_ attempt: StoredAttempt) throws {
        try run(
            "inserting attempt \(attempt.attempt) of \(attempt.suggestionID)",
            duplicate: "attempt \(attempt.attempt) of suggestion \(attempt.suggestionID) exists"
        ) {
            try attempt.insert(db)
        }
    }

    /// Replaces a stored attempt's fields.
    /// - Throws: `StoreError` `.notFound` when there is no such attempt.
    public func update(_ attempt: StoredAttempt) throws {
        try run("updating attempt \(attempt.attempt) of \(attempt.suggestionID)") {
            do {
                try attempt.update(db)
            } catch is RecordError {
                throw StoreError(.notFound, "no attempt \(attempt.attempt) of suggestion \(attempt.suggestionID)")
            }
        }
    }

    /// One attempt of a suggestion, if stored.
    public func attempt(_ number: Int, ofSuggestion id: String) throws -> StoredAttempt? {
        try run("reading attempt \(number) of \(id)") {
            try StoredAttempt.fetchOne(db, key: ["suggestion_id": id, "attempt": number])
        }
    }

    /// The attempts of a suggestion, first to last.
    public func attempts(ofSuggestion id: String) throws -> [StoredAttempt] {
        try run("reading the attempts of \(id)") {
            try StoredAttempt.filter(Column("suggestion_id") == id).order(Column("attempt")).fetchAll(db)
        }
    }

    // MARK: Message log

    /// Appends a received message to the log; returns it with its id.
    @discardableResult
    public func log(_ message: LoggedMessage) throws -> LoggedMessage {
        try run("logging a message") {
            var logged = message
            logged.id = nil
            try logged.insert(db)
            return logged
        }
    }

    /// Logged messages, oldest first: the latest `limit` (all when nil), only those of one suggestion when
    /// `suggestionID` is given, only those with one disposition (the dead letters: `.rejected`) when
    /// `disposition` is given.
    public func messageLog(
        limit: Int? = nil, suggestionID: String? = nil, disposition: MessageDisposition? = nil
    ) throws -> [LoggedMessage] {
        try run("reading the message log") {
            var request = LoggedMessage.all()
            if let suggestionID { request = request.filter(Column("suggestion_id") == suggestionID) }
            if let disposition { request = request.filter(Column("disposition") == disposition) }
            guard let limit else { return try request.order(Column("id")).fetchAll(db) }
            return try request.order(Column("id").desc).limit(limit).fetchAll(db).reversed()
        }
    }

    // MARK: Observations

    /// Records a result that counted.
    /// - Throws: `StoreError` `.duplicate` when the suggestion already has an observation.
    public func insert(_ observation: StoredObservation) throws {
        try run(
            "inserting the observation of \(observation.suggestionID)",
            duplicate: "suggestion \(observation.suggestionID) already has an observation"
        ) {
            try observation.insert(db)
        }
    }

    /// The observation of a suggestion, if its result counted.
    public func observation(suggestionID: String) throws -> StoredObservation? {
        try run("reading the observation of \(suggestionID)") { try StoredObservation.fetchOne(db, key: suggestionID) }
    }

    /// The observations, in the order they counted.
    public func observations() throws -> [StoredObservation] {
        try run("reading observations") { try StoredObservation.order(Column.rowID).fetchAll(db) }
    }

    // MARK: Totals

    /// Totals for budgets and progress.
    public func counts() throws -> StudyCounts {
        try run("counting") {
            var counts = StudyCounts()
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM suggestion GROUP BY state") {
                counts.suggestions[try row.decode(forColumn: "state")] = try row.decode(forColumn: "n")
            }
            if let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS n, TOTAL(is_failure) AS failures, TOTAL(cost) AS cost FROM observation")
            {
                counts.observations = try row.decode(forColumn: "n")
                counts.failures = Int(try row.decode(Double.self, forColumn: "failures"))
                counts.totalCost = try row.decode(forColumn: "cost")
            }
            let sql = "SELECT disposition, COUNT(*) AS n FROM message_log GROUP BY disposition"
            for row in try Row.fetchAll(db, sql: sql) {
                counts.messages[try row.decode(forColumn: "disposition")] = try row.decode(forColumn: "n")
            }
            return counts
        }
    }

    // MARK: Escape hatch

    /// Direct access to the GRDB connection for queries this type does not offer (reports, say). Keep the
    /// schema's invariants if you write through it.
    public func sqlite<T>(_ body: (Database) throws -> T) throws -> T {
        try run("running a query") { try body(db) }
    }

    // MARK: Errors

    /// Runs a GRDB call; its errors become `StoreError` (`.duplicate` for a primary-key clash when `duplicate`
    /// is given, `.database` otherwise).
    func run<T>(_ what: String, duplicate: String? = nil, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            if let duplicate, error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw StoreError(.duplicate, duplicate, underlying: error)
            }
            throw StoreError(
                .database, "\(what) failed: \(error.message ?? error.resultCode.description)", underlying: error)
        } catch let error as ProtocolError {
            throw StoreError(.corrupt, "\(what) failed: \(error.message)", underlying: error)
        } catch {
            throw StoreError(.database, "\(what) failed: \(error)")
        }
    }
}
