import CARBSCore
import Foundation
import GRDB

extension StoreTransaction {
    /// Saves the optimizer's complete serialized state, replacing the previous one and the deltas written since;
    /// returns the new version (1, 2, …).
    @discardableResult
    public func saveSnapshot(_ data: Data, at date: Date) throws -> Int64 {
        try run("saving the optimizer snapshot") {
            let version = try currentVersion() + 1
            try db.execute(
                sql: """
                    INSERT INTO optimizer_state (id, snapshot, updated_at, version) VALUES (1, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at,
                        version = excluded.version
                    """,
                arguments: [data, date, version])
            try db.execute(sql: "DELETE FROM optimizer_delta")
            return version
        }
    }

    /// Appends what changed in the optimizer since the last save (a `CARBSOptimizer.SnapshotDelta` in
    /// `SnapshotJSON`); its size does not grow with the study. Returns the new version.
    /// - Throws: `StoreError` `.notFound` before the first full snapshot.
    @discardableResult
    public func appendSnapshotDelta(_ delta: Data, at date: Date) throws -> Int64 {
        try run("appending an optimizer snapshot delta") {
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM optimizer_state WHERE id = 1") != nil else {
                throw StoreError(.notFound, "a snapshot delta needs a full snapshot before it")
            }
            let version = try currentVersion() + 1
            try db.execute(
                sql: "INSERT INTO optimizer_delta (delta, created_at, version) VALUES (?, ?, ?)",
                arguments: [delta, date, version])
            return version
        }
    }

    /// How many deltas were appended since the last full snapshot.
    public func snapshotDeltaCount() throws -> Int {
        try run("counting snapshot deltas") { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM optimizer_delta") ?? 0 }
    }

    /// The optimizer's state as of the last save: the last full snapshot with the deltas since applied (one
    /// complete snapshot, in `SnapshotJSON`); nil before the first save.
    /// - Throws: `StoreError` `.corrupt` when the stored snapshot or a delta cannot be read.
    public func loadSnapshot() throws -> OptimizerSnapshot? {
        try run("loading the optimizer snapshot") {
            guard let row = try Row.fetchOne(db, sql: "SELECT snapshot, updated_at, version FROM optimizer_state")
            else { return nil }
            let base = OptimizerSnapshot(
                data: try row.decode(forColumn: "snapshot"), updatedAt: try row.decode(forColumn: "updated_at"),
                version: try row.decode(forColumn: "version"))
            let rows = try Row.fetchAll(db, sql: "SELECT delta, created_at, version FROM optimizer_delta ORDER BY seq")
            guard let last = rows.last else { return base }
            do {
                let deltas = try rows.map { row in
                    try SnapshotJSON.decode(CARBSOptimizer.SnapshotDelta.self, from: try row.decode(forColumn: "delta"))
                }
                let full = try CARBSOptimizer.snapshot(
                    SnapshotJSON.decode(CARBSOptimizer.Snapshot.self, from: base.data), applying: deltas)
                return OptimizerSnapshot(
                    data: try SnapshotJSON.encode(full), updatedAt: try last.decode(forColumn: "created_at"),
                    version: try last.decode(forColumn: "version"))
            } catch {
                throw StoreError(.corrupt, "the optimizer snapshot and its deltas do not fit together: \(error)")
            }
        }
    }

    private func currentVersion() throws -> Int64 {
        let full = try Int64.fetchOne(db, sql: "SELECT version FROM optimizer_state WHERE id = 1") ?? 0
        let delta = try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM optimizer_delta") ?? 0
        return max(full, delta)
    }
}
