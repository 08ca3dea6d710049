import CARBSCore
import Foundation

/// The JSON of an optimizer snapshot as the service stores it.
///
/// A snapshot holds NaN (the output of a failure reported without one) and possibly infinities, which plain JSON
/// cannot carry: `JSONEncoder` refuses them, and the first failed run would stop the service. They are written as the
/// strings `"nan"`, `"inf"` and `"-inf"`; read stored snapshots with `decode(_:)` (a plain `JSONDecoder` rejects
/// those strings).
public enum SnapshotCoding {
    /// Encodes a snapshot, non-finite numbers as strings.
    /// - Throws: `EncodingError` (not for non-finite numbers).
    public static func encode(_ snapshot: CARBSOptimizer.Snapshot) throws -> Data {
        try encode(value: snapshot)
    }

    /// Encodes any value the same way (a suggestion's prediction, say).
    static func encode(value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    /// Decodes a snapshot written by `encode(_:)` (or by a plain `JSONEncoder`).
    /// - Throws: `DecodingError` when the data is not a snapshot.
    public static func decode(_ data: Data) throws -> CARBSOptimizer.Snapshot {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(CARBSOptimizer.Snapshot.self, from: data)
    }
}
