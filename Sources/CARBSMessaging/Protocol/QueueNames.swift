/// The queue names of one study (protocol version 1).
public struct QueueNames: Sendable, Hashable {
    /// The study name, `[A-Za-z0-9._-]`, 1 to 100 characters.
    public let study: String

    /// Validates `study` and derives the queue names from it.
    /// - Throws: `ProtocolError` with code `.invalidStudyName` when the name breaks the rules.
    public init(study: String) throws(ProtocolError) {
        try QueueNames.validate(study: study)
        self.study = study
    }

    /// Optimizer → workers.
    public var suggestions: String { "carbs.\(study).suggestions" }
    /// Workers → optimizer: `started`, `heartbeat` and `result` messages.
    public var results: String { "carbs.\(study).results" }
    /// Rejected messages, each with the reason it was rejected.
    public var dead: String { "carbs.\(study).dead" }

    /// Checks a study name against the protocol's rules.
    public static func validate(study: String) throws(ProtocolError) {
        let allowed = study.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard !study.isEmpty, study.utf8.count <= 100, allowed else {
            throw ProtocolError(
                .invalidStudyName,
                "study name \"\(study)\" is not allowed (use 1 to 100 characters from A-Z a-z 0-9 . _ -)"
            )
        }
    }
}
