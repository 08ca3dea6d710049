import Logging

/// Collects one output stream of a trainer: keeps its tail, splits it into lines, writes the lines to the log
/// (size-capped) and remembers the last stdout line that is a result report.
///
/// Confined to the thread that reads the trainer's pipes.
struct OutputCapture {
    enum Stream: String, Sendable {
        case standardOutput = "stdout"
        case standardError = "stderr"
    }

    /// Lines longer than this are logged truncated.
    static let loggedLineLimit = 4096

    let stream: Stream
    /// The tail kept, and the total bytes written to the log.
    let limit: Int
    /// Whether lines are parsed as result reports (stdout only).
    let parsesReports: Bool
    let logger: Logger

    private(set) var tail: [UInt8] = []
    private(set) var lastReport: TrainerReport?
    private(set) var totalBytes = 0
    private var pendingLine: [UInt8] = []
    private var pendingLineOverflowed = false
    private var loggedBytes = 0
    private var loggingStopped = false

    init(stream: Stream, limit: Int, parsesReports: Bool, logger: Logger) {
        self.stream = stream
        self.limit = limit
        self.parsesReports = parsesReports
        self.logger = logger
    }

    /// The longest line kept whole for parsing; longer lines are logged truncated and never parsed.
    private var lineLimit: Int { max(limit, 64 * 1024) }

    /// Takes the next bytes read from the pipe.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        totalBytes += bytes.count
        tail.append(contentsOf: bytes)
        if tail.count > 2 * max(limit, 1024) { trimTail() }
        var start = 0
        for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "\n") {
            appendToLine(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            finishLine()
            start = index + 1
        }
        appendToLine(UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
    }

    /// The stream ended: a last line without a newline still counts.
    mutating func finish() {
        if !pendingLine.isEmpty || pendingLineOverflowed { finishLine() }
        trimTail()
    }

    /// The kept tail as text (invalid UTF-8 repaired).
    var tailText: String { String(decoding: tail.suffix(limit), as: UTF8.self) }

    private mutating func trimTail() {
        if tail.count > limit { tail.removeFirst(tail.count - limit) }
    }

    private mutating func appendToLine(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        let room = lineLimit - pendingLine.count
        if bytes.count <= room {
            pendingLine.append(contentsOf: bytes)
        } else {
            pendingLine.append(contentsOf: bytes.prefix(room))
            pendingLineOverflowed = true
        }
    }

    private mutating func finishLine() {
        var line = pendingLine[...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if parsesReports, !pendingLineOverflowed, let report = TrainerReport.parse(line: line) {
            lastReport = report
        }
        log(line, truncated: pendingLineOverflowed)
        pendingLine.removeAll(keepingCapacity: true)
        pendingLineOverflowed = false
    }

    private mutating func log(_ line: ArraySlice<UInt8>, truncated: Bool) {
        guard !loggingStopped else { return }
        let shown = line.prefix(Self.loggedLineLimit)
        if loggedBytes + shown.count > limit {
            loggingStopped = true
            logger.info(
                "trainer \(stream.rawValue) exceeds the log limit of \(limit) bytes; the rest is not logged",
                metadata: ["trainer.stream": "\(stream.rawValue)"])
            return
        }
        loggedBytes += shown.count
        var text = String(decoding: shown, as: UTF8.self)
        if truncated || shown.count < line.count { text += " …(line truncated)" }
        let level: Logger.Level = stream == .standardError ? .info : .debug
        logger.log(level: level, "\(text)", metadata: ["trainer.stream": "\(stream.rawValue)"])
    }
}
