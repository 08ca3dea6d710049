import CARBSMessaging
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One concrete trainer process to start: the command with a suggestion's values filled in.
struct TrainerInvocation: Sendable, Hashable {
    /// The path handed to `posix_spawn` (absolute, or relative to the working directory when it has a `/`).
    var executablePath: String
    /// `argv`, placeholders replaced.
    var arguments: [String]
    /// The complete environment of the trainer.
    var environment: [String: String]
    var workingDirectory: String?

    /// Fills in `command` for `suggestion`.
    /// - Parameters:
    ///   - inherited: The worker's own environment.
    ///   - resultFile: The path published as `CARBS_RESULT_FILE`.
    /// - Throws: `TrainerRunner.Error` with code `.programNotFound` when the program is not on `PATH`.
    init(
        command: TrainerCommand, suggestion: SuggestionMessage, inherited: [String: String], resultFile: String
    ) throws(TrainerRunner.Error) {
        arguments = command.arguments.map { Self.substitute(placeholdersIn: $0, with: suggestion.params) }
        var environment = inherited.merging(command.environment) { _, added in added }
        for (key, value) in Self.carbsVariables(for: suggestion, resultFile: resultFile) {
            environment[key] = value
        }
        self.environment = environment
        workingDirectory = command.workingDirectory
        executablePath = try Self.resolve(program: arguments[0], searchPath: environment["PATH"])
    }

    /// Replaces every `{name}` naming a parameter with its value; other braces stay as they are.
    static func substitute(placeholdersIn argument: String, with params: [String: ParameterValue]) -> String {
        guard argument.contains("{") else { return argument }
        var result = ""
        var rest = argument[...]
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "}") else {
                rest = rest[open...]
                break
            }
            let name = String(rest[afterOpen..<close])
            if let value = params[name] {
                result += value.description
                rest = rest[rest.index(after: close)...]
            } else {
                // Not a placeholder: keep the brace and look for the next one after it.
                result += "{"
                rest = rest[afterOpen...]
            }
        }
        result += rest
        return result
    }

    /// `CARBS_PARAMS`, `CARBS_PARAM_<NAME>`, `CARBS_SUGGESTION_ID`, `CARBS_STUDY`, `CARBS_ATTEMPT` and
    /// `CARBS_RESULT_FILE`.
    static func carbsVariables(for suggestion: SuggestionMessage, resultFile: String) -> [String: String] {
        var variables = [
            "CARBS_PARAMS": parametersJSON(suggestion.params),
            "CARBS_SUGGESTION_ID": suggestion.suggestionID,
            "CARBS_STUDY": suggestion.study,
            "CARBS_ATTEMPT": String(suggestion.attempt),
            "CARBS_RESULT_FILE": resultFile,
        ]
        for (name, value) in suggestion.params {
            variables["CARBS_PARAM_" + environmentName(for: name)] = value.description
        }
        return variables
    }

    /// The parameter name upper-cased, every character other than an ASCII letter or digit replaced by `_`.
    static func environmentName(for parameter: String) -> String {
        String(
            String.UnicodeScalarView(
                parameter.unicodeScalars.map { scalar in
                    switch scalar {
                    case "a"..."z": Unicode.Scalar(scalar.value - 32)!
                    case "A"..."Z", "0"..."9": scalar
                    default: "_"
                    }
                }))
    }

    /// The parameters as one JSON object with sorted keys: integers as JSON integers, reals always with a
    /// fraction or exponent (`100.0`), so a reader can tell them apart.
    static func parametersJSON(_ params: [String: ParameterValue]) -> String {
        String(decoding: WireFormat.encodeParameters(params), as: UTF8.self)
    }

    /// Finds `program` on `searchPath` unless it names a path itself (contains `/`).
    static func resolve(program: String, searchPath: String?) throws(TrainerRunner.Error) -> String {
        guard !program.isEmpty else {
            throw TrainerRunner.Error(.programNotFound, "the trainer command's program (arguments[0]) is empty")
        }
        if program.contains("/") { return program }
        let directories = (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for directory in directories where !directory.isEmpty {
            let candidate = String(directory.hasSuffix("/") ? directory + program : directory + "/" + program)
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw TrainerRunner.Error(
            .programNotFound, "trainer program \"\(program)\" was not found in PATH (\(searchPath ?? "unset"))")
    }
}
