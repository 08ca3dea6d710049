import GRDB

extension StudyStore {
    /// The schema, one migration per released change. Never edit a released migration: add one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "study") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("name", .text).notNull()
                t.column("configuration", .blob).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "optimizer_state") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("snapshot", .blob).notNull()
                t.column("updated_at", .datetime).notNull()
                t.column("version", .integer).notNull()
            }
            try db.create(table: "suggestion") { t in
                t.primaryKey("suggestion_id", .text)
                t.column("params", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("state", .text).notNull().indexed()
                    .check { SuggestionState.allCases.map(\.rawValue).contains($0) }
                t.column("attempt", .integer).notNull().check { $0 >= 1 }
                t.column("attempts_started", .integer).notNull().defaults(to: 0)
                t.column("worker", .text)
                t.column("last_heard_at", .datetime)
                t.column("lease_deadline", .datetime)
                t.column("predicted", .text)
                t.column("origin", .text)
            }
            try db.create(table: "attempt") { t in
                t.column("suggestion_id", .text).notNull()
                    .references("suggestion", column: "suggestion_id", onDelete: .cascade)
                t.column("attempt", .integer).notNull().check { $0 >= 1 }
                t.primaryKey(["suggestion_id", "attempt"])
                t.column("issued_at", .datetime).notNull()
                t.column("published_at", .datetime)
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("outcome", .text).check { $0 == nil || AttemptOutcome.allCases.map(\.rawValue).contains($0) }
                t.column("worker", .text)
            }
            try db.create(table: "message_log") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("received_at", .datetime).notNull()
                t.column("suggestion_id", .text).indexed()
                t.column("attempt", .integer)
                t.column("kind", .text)
                t.column("status", .text)
                t.column("body", .text).notNull()
                t.column("disposition", .text).notNull()
                    .check { MessageDisposition.allCases.map(\.rawValue).contains($0) }
                t.column("reason", .text)
            }
            // One row per suggestion whose result counted; rowid order is the order they counted in.
            try db.create(table: "observation") { t in
                t.primaryKey("suggestion_id", .text)
                t.column("attempt", .integer).notNull()
                t.column("output", .double)
                t.column("cost", .double)
                t.column("is_failure", .boolean).notNull()
                t.column("params", .text).notNull()
                t.column("observed_at", .datetime).notNull()
                t.column("worker", .text)
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("message", .text)
                t.column("metrics", .text)
            }
        }
        // The event log of suggestions (append-only), and snapshot deltas: a commit writes what changed in the
        // optimizer since the last one, the full snapshot (`optimizer_state`) only now and then.
        migrator.registerMigration("v2") { db in
            try db.create(table: "study_event") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("recorded_at", .datetime).notNull()
                t.column("kind", .text).notNull()
                    .check { StudyEvent.Kind.allCases.map(\.rawValue).contains($0) }
                t.column("suggestion_id", .text).notNull().indexed()
                t.column("attempt", .integer).notNull()
                t.column("worker", .text)
                t.column("lease_deadline", .datetime)
            }
            try db.create(table: "optimizer_delta") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("delta", .blob).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("version", .integer).notNull()
            }
        }
        return migrator
    }
}
