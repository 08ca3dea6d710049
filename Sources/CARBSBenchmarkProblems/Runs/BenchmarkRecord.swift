import Foundation

/// One observation of a benchmark run, as one JSON line (`docs/benchmarks.md`, "Record format").
///
/// The keys are exactly `problem, mode, seed, index, params, output, cost, failed, suggest_seconds,
/// observe_seconds`; ``jsonLine()`` writes them in that order, with `params` in sorted key order, so the same run
/// writes the same bytes. `output` and `cost` are `null` for a failed run (the keys are always present).
public struct BenchmarkRecord: Codable, Sendable, Hashable {
    /// The problem's name, e.g. `branin_cost`.
    public var problem: String
    /// The run mode, `sequential` or `parallel-8`.
    public var mode: String
    /// The run's seed.
    public var seed: UInt64
    /// Position in the order observed, from 0.
    public var index: Int
    /// The suggested parameter values, in parameter space.
    public var params: [String: Double]
    /// The observed (noisy) output; `nil` when the run failed.
    public var output: Double?
    /// The observed cost; `nil` when the run failed.
    public var cost: Double?
    /// Whether the run failed.
    public var failed: Bool
    /// Time spent choosing the suggestion that produced this observation (model fitting included).
    public var suggestSeconds: Double
    /// Time spent taking the result in.
    public var observeSeconds: Double

    /// Creates a record.
    public init(
        problem: String, mode: String, seed: UInt64, index: Int, params: [String: Double],
        output: Double?, cost: Double?, failed: Bool = false, suggestSeconds: Double = 0, observeSeconds: Double = 0
    ) {
        self.problem = problem
        self.mode = mode
        self.seed = seed
        self.index = index
        self.params = params
        self.output = output
        self.cost = cost
        self.failed = failed
        self.suggestSeconds = suggestSeconds
        self.observeSeconds = observeSeconds
    }

    enum CodingKeys: String, CodingKey {
        case problem, mode, seed, index, params, output, cost, failed
        case suggestSeconds = "suggest_seconds"
        case observeSeconds = "observe_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(problem, forKey: .problem)
        try container.encode(mode, forKey: .mode)
        try container.encode(seed, forKey: .seed)
        try container.encode(index, forKey: .index)
        try container.encode(params, forKey: .params)
        // Keys are always present: a failed run writes null rather than leaving them out.
        if let output {
            try container.encode(output, forKey: .output)
        } else {
            try container.encodeNil(forKey: .output)
        }
        if let cost { try container.encode(cost, forKey: .cost) } else { try container.encodeNil(forKey: .cost) }
        try container.encode(failed, forKey: .failed)
        try container.encode(suggestSeconds, forKey: .suggestSeconds)
        try container.encode(observeSeconds, forKey: .observeSeconds)
    }

    /// The record as one JSON line (no trailing newline), keys in the documented order.
    ///
    /// Foundation's `JSONEncoder` does not keep key order on Linux, so the object is assembled here from values
    /// that `JSONEncoder` encodes one by one (escaping and number formatting stay Foundation's).
    public func jsonLine() throws -> String {
        let encoder = Self.encoder
        func json(_ value: some Encodable) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        let fields: [(CodingKeys, String)] = [
            (.problem, try json(problem)),
            (.mode, try json(mode)),
            (.seed, try json(seed)),
            (.index, try json(index)),
            (.params, try json(params)),
            (.output, try output.map(json) ?? "null"),
            (.cost, try cost.map(json) ?? "null"),
            (.failed, try json(failed)),
            (.suggestSeconds, try json(suggestSeconds)),
            (.observeSeconds, try json(observeSeconds)),
        ]
        return "{" + fields.map { "\"\($0.0.stringValue)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Records as JSON lines, one per line, each line ending in a newline.
    public static func jsonLines(_ records: [BenchmarkRecord]) throws -> String {
        try records.map { try $0.jsonLine() + "\n" }.joined()
    }

    /// Reads records from JSON lines (blank lines are skipped).
    public static func records(fromJSONLines text: String) throws -> [BenchmarkRecord] {
        let decoder = JSONDecoder()
        return try text.split(whereSeparator: \.isNewline).map { line in
            try decoder.decode(BenchmarkRecord.self, from: Data(line.utf8))
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
