/// Why a store operation failed.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// SQLite failed (I/O, a full disk, a locked or corrupt file); `underlying` is GRDB's `DatabaseError`.
        public static let database = Code(rawValue: "database")
        /// The database belongs to another study than the one the caller named.
        public static let studyMismatch = Code(rawValue: "study_mismatch")
        /// The database has no study yet (it was never created by `StudyStore.open(path:study:configuration:)`).
        public static let noStudy = Code(rawValue: "no_study")
        /// An update named a row that does not exist.
        public static let notFound = Code(rawValue: "not_found")
        /// An insert collided with an existing row (a second observation for one suggestion, say).
        public static let duplicate = Code(rawValue: "duplicate")
        /// A stored value could not be read back (an unknown state, JSON that does not parse).
        public static let corrupt = Code(rawValue: "corrupt")
    }

    public var code: Code
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(message)" + (underlying.map { " (\($0))" } ?? "")
    }
}
