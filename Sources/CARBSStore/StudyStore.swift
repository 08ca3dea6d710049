import CARBSMessaging
import Foundation
import GRDB

/// The durable state of one study's optimizer, in SQLite (WAL mode).
///
/// Everything the service changes in one cycle goes through one `write { }` call, which is one transaction: it
/// all lands or none of it does. A cycle of the optimizer service:
///
/// ```swift
/// try await store.write { tx in
///     for suggestion in new { try tx.insert(suggestion) }          // chosen this cycle
///     try tx.record(events, at: now)                                // the state machine's transitions, in order
///     for entry in received { try tx.log(entry) }                   // every message taken in, with its disposition
///     for observation in counted { try tx.insert(observation) }     // the results that counted
///     try tx.appendSnapshotDelta(delta, at: now)                    // what changed in the optimizer (or, now and
/// }                                                                 // then, `saveSnapshot` with all of it)
/// try await transport.acknowledge(messages)                         // only after the commit
/// ```
///
/// `record` appends to the event log (`study_event`) and applies each event to `suggestion` and `attempt`, which
/// hold the current state for resuming, `status` and `export`. `loadSnapshot()` gives the optimizer's state with
/// the deltas applied.
///
/// Times are stored with millisecond precision. `write` and `read` block the calling thread for the duration
/// of the transaction; they are not reentrant (never call one inside another's closure).
public final class StudyStore: Sendable {
    /// The study this database belongs to.
    public let study: String
    /// The database file; nil for an in-memory store.
    public let path: String?
    private let writer: any DatabaseWriter

    private init(study: String, path: String?, writer: any DatabaseWriter) {
        self.study = study
        self.path = path
        self.writer = writer
    }

    /// Opens the database at `path` for `study`, creating it (and storing `configuration`) if it is new.
    ///
    /// An existing database keeps the configuration it was created with; compare it with
    /// `studyConfiguration()` and replace it deliberately with `StoreTransaction.replaceStudyConfiguration(_:)`.
    /// - Parameters:
    ///   - path: The SQLite file; its directory must exist.
    ///   - study: The study name; an existing database of another study is refused.
    ///   - configuration: The study's configuration, opaque to the store (JSON, say).
    ///   - now: The creation time recorded for a new database.
    /// - Throws: `StoreError` `.studyMismatch` when the database belongs to another study; `.database` when
    ///   SQLite cannot open or migrate the file.
    public static func open(
        path: String, study: String, configuration: Data, now: Date = Date()
    ) throws(StoreError) -> StudyStore {
        let pool = try databaseCall("opening \(path)") { try DatabasePool(path: path, configuration: settings()) }
        let store = try prepare(writer: pool, path: path, study: study, configuration: configuration, now: now)
        return store
    }

    /// Opens an existing study database, whatever its study (for `status` and `export`).
    /// - Throws: `StoreError` `.noStudy` when the file holds no study; `.database` when SQLite fails.
    public static func open(path: String) throws(StoreError) -> StudyStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.noStudy, "no study database at \(path)")
        }
        let pool = try databaseCall("opening \(path)") { try DatabasePool(path: path, configuration: settings()) }
        return try prepare(writer: pool, path: path, study: nil, configuration: nil, now: Date())
    }

    /// A store that lives in memory only (for tests and throwaway runs).
    /// - Throws: `StoreError` `.database` when SQLite fails.
    public static func inMemory(study: String, configuration: Data, now: Date = Date()) throws(StoreError) -> StudyStore
    {
        let queue = try databaseCall("creating an in-memory database") { try DatabaseQueue(configuration: settings()) }
        return try prepare(writer: queue, path: nil, study: study, configuration: configuration, now: now)
    }

    private static func settings() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // `status` and `export` may read while the optimizer writes.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // A committed result must survive a power loss before it is acknowledged: sync the WAL on commit.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return configuration
    }

    /// Migrates the schema, then creates the study row or checks it against `study`.
    private static func prepare(
        writer: any DatabaseWriter, path: String?, study: String?, configuration: Data?, now: Date
    ) throws(StoreError) -> StudyStore {
        let location = path ?? "the in-memory database"
        try databaseCall("migrating \(location)") { try migrator.migrate(writer) }
        let name: String = try databaseCall("reading the study of \(location)") {
            try writer.write { db -> String in
                let existing = try String.fetchOne(db, sql: "SELECT name FROM study WHERE id = 1")
                switch (existing, study, configuration) {
                case (let existing?, let study?, _) where existing != study:
                    throw StoreError(
                        .studyMismatch,
                        "\(location) belongs to study \"\(existing)\", not \"\(study)\"; use another database file")
                case (let existing?, _, _):
                    return existing
                case (nil, let study?, let configuration?):
                    try db.execute(
                        sql: "INSERT INTO study (id, name, configuration, created_at) VALUES (1, ?, ?, ?)",
                        arguments: [study, configuration, now])
                    return study
                default:
                    throw StoreError(.noStudy, "\(location) holds no study")
                }
            }
        }
        return StudyStore(study: name, path: path, writer: writer)
    }

    // MARK: Transactions

    /// Runs `body` in one write transaction: everything it did is committed when it returns, nothing if it
    /// throws.
    /// - Throws: What `body` throws; `StoreError` `.database` when SQLite fails to begin or commit.
    public func write<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try StudyStore.rethrowingDatabaseErrors("writing") {
            try writer.write { db in try body(StoreTransaction(db: db)) }
        }
    }

    /// `write(_:)` for async callers: the transaction runs on GRDB's writer queue, so the caller's thread (a
    /// cooperative one) is free while SQLite works and syncs.
    public func write<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) throws -> T) async throws -> T {
        do {
            return try await writer.write { db in try body(StoreTransaction(db: db)) }
        } catch let error as DatabaseError {
            throw StoreError(
                .database, "writing failed: \(error.message ?? error.resultCode.description)", underlying: error)
        }
    }

    /// Runs `body` against a consistent snapshot of the database, read-only (writes in it fail).
    /// - Throws: What `body` throws; `StoreError` `.database` when SQLite fails.
    public func read<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try StudyStore.rethrowingDatabaseErrors("reading") {
            try writer.read { db in try body(StoreTransaction(db: db)) }
        }
    }

    // MARK: Reading

    /// The suggestions in any of `states` (all when nil), oldest first.
    public func suggestions(in states: Set<SuggestionState>? = nil) throws -> [StoredSuggestion] {
        try read { try $0.suggestions(in: states) }
    }

    /// The observations that counted, in the order they counted.
    public func observations() throws -> [StoredObservation] {
        try read { try $0.observations() }
    }

    /// Totals for budgets and progress.
    public func counts() throws -> StudyCounts {
        try read { try $0.counts() }
    }

    /// The latest `limit` logged messages (all when nil), oldest first.
    public func messageLog(limit: Int? = nil) throws -> [LoggedMessage] {
        try read { try $0.messageLog(limit: limit) }
    }

    /// The last saved optimizer snapshot; nil before the first save.
    public func loadSnapshot() throws -> OptimizerSnapshot? {
        try read { try $0.loadSnapshot() }
    }

    /// The configuration stored with the study.
    public func studyConfiguration() throws -> Data {
        try read { try $0.studyConfiguration() }
    }

    /// SQLite's journal mode for this database (`wal` for a file, `memory` in memory).
    public func journalMode() throws -> String {
        try read { tx in try tx.sqlite { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" } }
    }

    // MARK: Errors

    /// Runs a GRDB call, turning its errors into `StoreError` `.database`.
    static func databaseCall<T>(_ what: String, _ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError(
                .database, "\(what) failed: \(error.message ?? error.resultCode.description)", underlying: error)
        } catch {
            throw StoreError(.database, "\(what) failed: \(error)")
        }
    }

    /// Runs a transaction, turning GRDB's own errors into `StoreError` and passing the caller's through.
    private static func rethrowingDatabaseErrors<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw StoreError(
                .database, "\(what) failed: \(error.message ?? error.resultCode.description)", underlying: error)
        }
    }
}
