/// Why a message could not be accepted; the text becomes the dead-letter reason.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidJSON = Code(rawValue: "invalid_json")
        public static let missingField = Code(rawValue: "missing_field")
        public static let invalidField = Code(rawValue: "invalid_field")
        public static let unsupportedProtocol = Code(rawValue: "unsupported_protocol")
        public static let unknownKind = Code(rawValue: "unknown_kind")
        public static let unknownSuggestion = Code(rawValue: "unknown_suggestion")
        public static let wrongStudy = Code(rawValue: "wrong_study")
        public static let invalidStudyName = Code(rawValue: "invalid_study_name")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
