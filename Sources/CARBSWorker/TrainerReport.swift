import Foundation

/// What a trainer said about its run: the result file, or the last JSON line on stdout with an `output` field.
///
/// ```json
/// {"output": 0.31, "cost": 12.5, "status": "success", "metrics": {"accuracy": 0.93}, "message": "..."}
/// ```
/// Parsing is lenient where leniency is harmless: `NaN` and `Infinity` (Python's `json.dumps` writes them) parse
/// so that a non-finite output is reported as such, non-numeric metrics are skipped, unknown fields ignored.
struct TrainerReport: Sendable, Hashable {
    /// True when the object has an `output` field at all (whatever its type).
    var hasOutput: Bool
    /// The `output` field when it is a number.
    var output: Double?
    /// The raw `output` field when it is not a number, for the error message.
    var invalidOutput: String?
    var cost: Double?
    var status: String?
    var message: String?
    var metrics: [String: Double]

    /// Parses one JSON object; `nil` when `data` is not a JSON object.
    static func parse(_ data: Data) -> TrainerReport? {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return try? decoder.decode(Decoded.self, from: data).report
    }

    /// Parses a stdout line: it counts only if it is a JSON object with an `output` field.
    static func parse(line: some Collection<UInt8>) -> TrainerReport? {
        guard let first = line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }),
            first == UInt8(ascii: "{"),
            containsOutputKey(line),
            let report = parse(Data(line)),
            report.hasOutput
        else { return nil }
        return report
    }

    private static func containsOutputKey(_ line: some Collection<UInt8>) -> Bool {
        let needle = Array("output".utf8)
        let bytes = Array(line)
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A JSON scalar as far as a report cares.
    private enum Scalar: Decodable {
        case number(Double)
        case other(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bool = try? container.decode(Bool.self) {
                self = .other(String(bool))
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let string = try? container.decode(String.self) {
                self = .other("\"\(string)\"")
            } else if container.decodeNil() {
                self = .other("null")
            } else {
                self = .other("a JSON array or object")
            }
        }
    }

    private struct Decoded: Decodable {
        var report: TrainerReport

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            let outputKey = Key(stringValue: "output")
            var report = TrainerReport(
                hasOutput: container.contains(outputKey), output: nil, invalidOutput: nil, cost: nil, status: nil,
                message: nil, metrics: [:])
            if report.hasOutput {
                switch try container.decode(Scalar.self, forKey: outputKey) {
                case .number(let number): report.output = number
                case .other(let text): report.invalidOutput = text
                }
            }
            if case .number(let cost)? = try? container.decodeIfPresent(Scalar.self, forKey: Key(stringValue: "cost")) {
                report.cost = cost
            }
            report.status = try? container.decodeIfPresent(String.self, forKey: Key(stringValue: "status"))
            report.message = try? container.decodeIfPresent(String.self, forKey: Key(stringValue: "message"))
            let metricsKey = Key(stringValue: "metrics")
            if let metrics = try? container.nestedContainer(keyedBy: Key.self, forKey: metricsKey) {
                for key in metrics.allKeys {
                    if case .number(let value)? = try? metrics.decode(Scalar.self, forKey: key), value.isFinite {
                        report.metrics[key.stringValue] = value
                    }
                }
            }
            self.report = report
        }
    }
}
