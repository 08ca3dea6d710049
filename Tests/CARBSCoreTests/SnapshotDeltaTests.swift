import Foundation
import Testing

@testable import CARBSCore

/// A full snapshot and the deltas taken after it describe the optimizer exactly; a delta's size does not grow
/// with the observations.
@Suite("Snapshot deltas")
struct SnapshotDeltaTests {
    func optimizer() throws -> CARBSOptimizer {
        var configuration = CARBSConfiguration(direction: .minimize, seed: 5)
        configuration.numRandomSamples = 4
        return try CARBSOptimizer(configuration: configuration, parameters: LRWidth.parameters)
    }

    /// JSON as a store writes it (NaN, the output of a failure, as a string), keys sorted: NaN ≠ NaN, so snapshots
    /// holding failures are compared by their JSON.
    func json(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    func decodeDelta(_ data: Data) throws -> CARBSOptimizer.SnapshotDelta {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(CARBSOptimizer.SnapshotDelta.self, from: data)
    }

    @Test("a snapshot plus the deltas after it equals the live snapshot, and restores to the same suggestions")
    func replayIsExact() throws {
        var live = try optimizer()
        let base = live.snapshot
        var mark = live.snapshotMark
        var deltas: [CARBSOptimizer.SnapshotDelta] = []
        var noise = SeededGenerator(seed: 1)
        for step in 0..<10 {
            let batch = try live.suggest(count: 3)
            for (index, suggestion) in batch.enumerated() {
                if index == 1 && step % 3 == 0 {
                    live.forget(suggestion.id)
                } else if index == 2 && step % 4 == 0 {
                    try live.observe(.failure(id: suggestion.id, cost: nil))
                } else {
                    let (output, cost) = LRWidth.evaluate(suggestion.parameters, noise: &noise)
                    try live.observe(.success(id: suggestion.id, output: output, cost: cost))
                }
            }
            let delta = live.snapshotDelta(since: mark)
            // Through JSON, as a store keeps it.
            deltas.append(try decodeDelta(json(delta)))
            mark = live.snapshotMark
        }
        _ = try live.suggest(count: 2)
        deltas.append(live.snapshotDelta(since: mark))
        let replayed = try CARBSOptimizer.snapshot(base, applying: deltas)
        #expect(try json(replayed) == json(live.snapshot))
        var restored = try CARBSOptimizer(restoring: replayed)
        #expect(try restored.suggest(count: 3) == live.suggest(count: 3))
    }

    @Test("a delta holds only the new records")
    func deltaHoldsOnlyNewRecords() throws {
        var live = try optimizer()
        var noise = SeededGenerator(seed: 2)
        for _ in 0..<40 {
            let suggestion = try live.suggest(count: 1)[0]
            let (output, cost) = LRWidth.evaluate(suggestion.parameters, noise: &noise)
            try live.observe(.success(id: suggestion.id, output: output, cost: cost))
        }
        let mark = live.snapshotMark
        let suggestion = try live.suggest(count: 1)[0]
        try live.observe(.success(id: suggestion.id, output: 1, cost: 4))
        let delta = live.snapshotDelta(since: mark)
        #expect(delta.newSuccesses.map(\.suggestionID) == [suggestion.id])
        #expect(delta.newFailures.isEmpty)
        #expect(delta.rest.successes.isEmpty && delta.rest.observedIDs.isEmpty)
        #expect(delta.end == live.snapshotMark)
    }

    @Test("a delta that does not continue the history is refused")
    func gapIsRefused() throws {
        var live = try optimizer()
        let base = live.snapshot
        let first = try live.suggest(count: 2)
        try live.observe(.success(id: first[0].id, output: 1, cost: 2))
        let mark = live.snapshotMark
        try live.observe(.success(id: first[1].id, output: 2, cost: 3))
        // The delta from the first observation onwards, without the one before it.
        #expect(throws: CARBSError.self) {
            try CARBSOptimizer.snapshot(base, applying: [live.snapshotDelta(since: mark)])
        }
    }
}
