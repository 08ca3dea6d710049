import CARBSMessaging
import Foundation
import Testing

@testable import CARBSCommandLine

/// The fuzz corpus of `fuzz-study-file` (Tests/FuzzCorpus/study-file), each file through the study-file reader.
@Suite("Study files: fuzz corpus")
struct StudyFileCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus/study-file")

    @Test("every corpus input is read or rejected with its problems, and what is read keeps the reader's promises")
    func corpusInputs() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).sorted()
        #expect(names.count >= 20, "the corpus is missing or was not minimised into \(Self.directory.path)")
        var accepted = 0
        for name in names {
            let text = String(
                decoding: try Data(contentsOf: Self.directory.appendingPathComponent(name)), as: UTF8.self)
            do {
                let study = try StudyFile.parse(yaml: text, baseDirectory: "/studies")
                accepted += 1
                #expect((try? QueueNames(study: study.name)) != nil, "\(name)")
                #expect(!study.parameters.isEmpty, "\(name)")
                #expect(study.budget.maxObservations != nil || study.budget.maxTotalCost != nil, "\(name)")
                #expect(try StudyFile.parse(yaml: text, baseDirectory: "/studies") == study, "\(name)")
            } catch {
                #expect(!error.problems.isEmpty, "\(name)")
            }
        }
        #expect(accepted > 0)
    }
}
