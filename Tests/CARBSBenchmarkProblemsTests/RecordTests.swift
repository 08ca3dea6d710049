import CARBSBenchmarkProblems
import Foundation
import Testing

@Suite("Benchmark records")
struct RecordTests {
    static let documentedKeys = [
        "problem", "mode", "seed", "index", "params", "output", "cost", "failed", "suggest_seconds",
        "observe_seconds",
    ]

    /// The top-level keys of a JSON object, in the order they appear in the text.
    func keysInOrder(_ line: String) throws -> [String] {
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return object.keys.sorted {
            line.range(of: "\"\($0)\":")!.lowerBound < line.range(of: "\"\($1)\":")!.lowerBound
        }
    }

    @Test("a record encodes to exactly the documented keys, in the documented order")
    func documentedKeys() throws {
        let record = BenchmarkRecord(
            problem: "branin_cost", mode: "parallel-8", seed: 0, index: 17,
            params: ["x1": 3.1, "x2": 2.2, "steps": 316], output: 1.93, cost: 316,
            suggestSeconds: 0.012, observeSeconds: 0.0004)
        let line = try record.jsonLine()
        #expect(!line.contains("\n"))
        #expect(try keysInOrder(line) == Self.documentedKeys)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["problem"] as? String == "branin_cost")
        #expect(object["mode"] as? String == "parallel-8")
        #expect((object["index"] as? NSNumber)?.intValue == 17)
        #expect((object["cost"] as? NSNumber)?.doubleValue == 316)
        #expect((object["failed"] as? Bool) == false)
        #expect((object["params"] as? [String: Double]) == ["x1": 3.1, "x2": 2.2, "steps": 316])
        #expect(line.contains("\"params\":{\"steps\":316,\"x1\":3.1,\"x2\":2.2}"))
        #expect(
            try BenchmarkRecord.records(fromJSONLines: BenchmarkRecord.jsonLines([record, record])) == [
                record, record,
            ])
    }

    @Test("a failed record keeps every key, with null output and cost")
    func failedRecord() throws {
        let record = BenchmarkRecord(
            problem: "lr_width", mode: "sequential", seed: 3, index: 0,
            params: ["learning_rate": 1e-3, "hidden_dim": 8], output: nil, cost: nil,
            failed: true)
        let line = try record.jsonLine()
        #expect(try keysInOrder(line) == Self.documentedKeys)
        #expect(line.contains("\"output\":null") && line.contains("\"cost\":null"))
        #expect(try BenchmarkRecord.records(fromJSONLines: line) == [record])
    }
}
