import Foundation

#if CARBS_FUZZING
    import CLibFuzzer
#endif

/// How a fuzz target runs: under libFuzzer when built for fuzzing, otherwise as a replay of the files it is given.
///
/// Built with `-sanitize=fuzzer -D CARBS_FUZZING` (`.ci/fuzz.sh`), `main` hands the command line to libFuzzer's
/// driver. (The link keeps SwiftPM's `main`, which calls this, or libFuzzer's, which calls the target's
/// `LLVMFuzzerTestOneInput` directly: either way libFuzzer runs.) In a normal build it passes every file named on
/// the command line (directories by their files) to `check` once, so that a corpus or a crash file can be replayed
/// without the sanitizer.
public enum FuzzTarget {
    /// Runs the target and exits with libFuzzer's status, or replays its arguments.
    /// - Parameters:
    ///   - name: The executable's name, for the replay's summary line.
    ///   - check: One input's check: it returns on a pass and traps on a bug. In a fuzzing build libFuzzer calls
    ///     it through the target's `LLVMFuzzerTestOneInput`.
    public static func main(name: String, check: (Data) -> Void) throws -> Never {
        #if CARBS_FUZZING
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
        #else
            let files = try CorpusFiles.listed(in: CommandLine.arguments.dropFirst())
            for file in files {
                check(try Data(contentsOf: file))
            }
            print("\(name): \(files.count) inputs replayed, none crashed")
            exit(0)
        #endif
    }

    /// The bytes libFuzzer passes, as `Data`.
    public static func data(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Data {
        start.map { Data(bytes: $0, count: count) } ?? Data()
    }
}
