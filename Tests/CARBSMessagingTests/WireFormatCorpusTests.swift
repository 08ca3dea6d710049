import Foundation
import Testing

@testable import CARBSMessaging

/// The fuzz corpus of `fuzz-wire-format` (Tests/FuzzCorpus/wire-format), each file through the decoders.
@Suite("Wire format: fuzz corpus")
struct WireFormatCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus/wire-format")

    static func corpus() throws -> [(name: String, body: Data)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { ($0, try Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    @Test("every corpus input is decoded or rejected with a ProtocolError, and what decodes survives a round trip")
    func corpusInputs() throws {
        let corpus = try Self.corpus()
        #expect(corpus.count >= 20, "the corpus is missing or was not minimised into \(Self.directory.path)")
        var decoded = 0
        for (name, body) in corpus {
            if let message = try? WireFormat.decodeWorkerMessage(body) {
                decoded += 1
                let encoded = WireFormat.encode(message)
                let again = try #require(
                    try? WireFormat.decodeWorkerMessage(encoded, expectedStudy: message.study), "\(name)")
                #expect(WireFormat.encode(again) == encoded, "\(name)")
            }
            if let suggestion = try? WireFormat.decodeSuggestion(body) {
                decoded += 1
                let encoded = WireFormat.encode(suggestion)
                let again = try #require(
                    try? WireFormat.decodeSuggestion(encoded, expectedStudy: suggestion.study), "\(name)")
                #expect(WireFormat.encode(again) == encoded, "\(name)")
            }
            if let params = try? WireFormat.decodeParameters(body) {
                #expect(try WireFormat.decodeParameters(WireFormat.encodeParameters(params)) == params, "\(name)")
            }
        }
        // The corpus keeps inputs that reach every branch, including the accepting ones.
        #expect(decoded > 0)
    }
}
