import CARBSCore
import CARBSStore
import Foundation

/// The JSON of an optimizer snapshot as the service stores it (`SnapshotJSON`: non-finite numbers as strings).
public enum SnapshotCoding {
    /// Encodes a snapshot, non-finite numbers as strings.
    /// - Throws: `EncodingError` (not for non-finite numbers).
    public static func encode(_ snapshot: CARBSOptimizer.Snapshot) throws -> Data {
        try SnapshotJSON.encode(snapshot)
    }

    /// Encodes any value the same way (a suggestion's prediction, a snapshot delta).
    static func encode(value: some Encodable) throws -> Data {
        try SnapshotJSON.encode(value)
    }

    /// Decodes a snapshot written by `encode(_:)` (or by a plain `JSONEncoder`).
    /// - Throws: `DecodingError` when the data is not a snapshot.
    public static func decode(_ data: Data) throws -> CARBSOptimizer.Snapshot {
        try SnapshotJSON.decode(CARBSOptimizer.Snapshot.self, from: data)
    }
}
