import CARBSCore
import CARBSStore
import Foundation
import Testing

@Suite("Study store: snapshot deltas")
struct SnapshotDeltaStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func optimizer() throws -> CARBSOptimizer {
        var configuration = CARBSConfiguration(direction: .minimize, seed: 3)
        configuration.numRandomSamples = 3
        return try CARBSOptimizer(
            configuration: configuration,
            parameters: [Parameter(name: "x", space: .linear(min: -2, max: 2), center: 0.5)])
    }

    /// JSON with sorted keys (NaN ≠ NaN, so snapshots holding failures are compared by their JSON).
    func sorted(_ snapshot: CARBSOptimizer.Snapshot) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(snapshot)
    }

    @Test("the stored snapshot is the last complete one with every delta since applied")
    func deltasApply() throws {
        let store = try StudyStore.inMemory(study: "s", configuration: Data("{}".utf8))
        var live = try optimizer()
        let first = try SnapshotJSON.encode(live.snapshot)
        #expect(try store.write { try $0.saveSnapshot(first, at: t0) } == 1)
        var mark = live.snapshotMark
        for step in 1...4 {
            let suggestion = try live.suggest(count: 1)[0]
            if step == 2 {
                try live.observe(.failure(id: suggestion.id, cost: nil))
            } else {
                try live.observe(.success(id: suggestion.id, output: Double(step), cost: 1))
            }
            let delta = try SnapshotJSON.encode(live.snapshotDelta(since: mark))
            mark = live.snapshotMark
            #expect(
                try store.write { try $0.appendSnapshotDelta(delta, at: t0.addingTimeInterval(Double(step))) }
                    == Int64(step + 1))
        }
        #expect(try store.read { try $0.snapshotDeltaCount() } == 4)
        let loaded = try #require(try store.loadSnapshot())
        #expect(loaded.version == 5)
        #expect(loaded.updatedAt == t0.addingTimeInterval(4))
        let restored = try SnapshotJSON.decode(CARBSOptimizer.Snapshot.self, from: loaded.data)
        #expect(try sorted(restored) == sorted(live.snapshot))

        // A complete snapshot replaces the deltas.
        try store.write { _ = try $0.saveSnapshot(SnapshotJSON.encode(live.snapshot), at: t0.addingTimeInterval(9)) }
        #expect(try store.read { try $0.snapshotDeltaCount() } == 0)
        #expect(try store.loadSnapshot()?.version == 6)
    }

    @Test("a delta needs a complete snapshot before it; a delta that does not fit is reported as corrupt")
    func refusals() throws {
        let store = try StudyStore.inMemory(study: "s", configuration: Data("{}".utf8))
        let early = #expect(throws: StoreError.self) {
            try store.write { try $0.appendSnapshotDelta(Data("{}".utf8), at: t0) }
        }
        #expect(early?.code == .notFound)
        var live = try optimizer()
        try store.write { _ = try $0.saveSnapshot(SnapshotJSON.encode(live.snapshot), at: t0) }
        let suggestion = try live.suggest(count: 1)[0]
        try live.observe(.success(id: suggestion.id, output: 1, cost: 1))
        // A delta from a later mark than the stored history ends at: a gap.
        let ahead = live.snapshotMark
        let next = try live.suggest(count: 1)[0]
        try live.observe(.success(id: next.id, output: 2, cost: 1))
        try store.write {
            _ = try $0.appendSnapshotDelta(SnapshotJSON.encode(live.snapshotDelta(since: ahead)), at: t0)
        }
        let corrupt = #expect(throws: StoreError.self) { try store.loadSnapshot() }
        #expect(corrupt?.code == .corrupt)
    }
}
