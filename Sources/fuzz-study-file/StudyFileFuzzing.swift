import CARBSFuzzSupport
import CARBSMessaging
import CARBSStudyFile
import Foundation

/// One input through the study-file reader, as `carbs` reads a file a user wrote (YAML, or JSON as YAML).
///
/// Any `StudyFileError` is a pass: a bad file must be reported, never crash. A file the reader accepts must keep
/// the reader's promises: a valid study name, at least one parameter, a budget that ends the study, and the
/// same study when read again.
enum StudyFileFuzzing {
    static func check(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        guard let study = try? StudyFile.parse(yaml: text, baseDirectory: "/studies") else { return }
        precondition((try? QueueNames(study: study.name)) != nil, "accepted an invalid study name: \(study.name)")
        precondition(!study.parameters.isEmpty, "accepted a study without parameters")
        precondition(
            study.budget.maxObservations != nil || study.budget.maxTotalCost != nil,
            "accepted a study without a budget")
        precondition((try? StudyFile.parse(yaml: text, baseDirectory: "/studies")) == study, "read differently twice")
    }
}

@main
struct FuzzStudyFile {
    static func main() throws {
        try FuzzTarget.main(name: "fuzz-study-file", check: StudyFileFuzzing.check)
    }
}

#if CARBS_FUZZING
    /// The input libFuzzer generates, through the check.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzStudyFile(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
        StudyFileFuzzing.check(FuzzTarget.data(start, count))
        return 0
    }
#endif
