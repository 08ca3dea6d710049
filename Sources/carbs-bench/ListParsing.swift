import ArgumentParser
import Foundation

/// Parsing of the comma-separated list options.
enum ListParsing {
    /// Splits `a,b,c` into trimmed, non-empty items.
    static func items(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Parses each item of `text` with `parse`; an item it rejects names the option and the valid values.
    static func values<T>(_ text: String, option: String, valid: [String], _ parse: (String) -> T?) throws -> [T] {
        let parsed = try items(text).map { item in
            guard let value = parse(item) else {
                throw ValidationError("\(option): '\(item)' is not one of \(valid.joined(separator: ", "))")
            }
            return value
        }
        guard !parsed.isEmpty else {
            throw ValidationError("\(option): give at least one of \(valid.joined(separator: ", "))")
        }
        return parsed
    }

    /// Parses seeds written as `0-9`, `3`, or a comma-separated mix such as `0-2,5,7-8`.
    static func seeds(_ text: String) throws -> [UInt64] {
        let invalid = ValidationError("--seeds: '\(text)' is not a seed list; use e.g. 0-9 or 0,3,5-7")
        var seeds: [UInt64] = []
        for item in items(text) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            switch bounds.count {
            case 1:
                guard let seed = UInt64(bounds[0]) else { throw invalid }
                seeds.append(seed)
            case 2:
                guard let low = UInt64(bounds[0]), let high = UInt64(bounds[1]), low <= high else { throw invalid }
                seeds += Array(low...high)
            default:
                throw invalid
            }
        }
        guard !seeds.isEmpty else { throw invalid }
        return seeds
    }
}
