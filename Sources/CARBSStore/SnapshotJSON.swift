import CARBSCore
import Foundation

/// The JSON of optimizer snapshots and snapshot deltas as the store keeps them.
///
/// A snapshot holds NaN (the output of a failure reported without one) and possibly infinities, which plain JSON
/// cannot carry: `JSONEncoder` refuses them, and the first failed run would stop the service. They are written as the
/// strings `"nan"`, `"inf"` and `"-inf"`; read stored snapshots with `decode(_:from:)` (a plain `JSONDecoder` rejects
/// those strings).
public enum SnapshotJSON {
    /// Encodes any value, non-finite numbers as strings.
    /// - Throws: `EncodingError` (not for non-finite numbers).
    public static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    /// Decodes a value written by `encode(_:)` (or by a plain `JSONEncoder`).
    /// - Throws: `DecodingError` when the data is not a `T`.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(type, from: data)
    }
}
