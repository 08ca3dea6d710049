import CARBSService
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Shows a running study's progress: one updating status line on a terminal, a plain log line every few seconds
/// otherwise.
final class ProgressDisplay: Sendable {
    private let study: String
    private let isTerminal: Bool
    private let state = Mutex<(last: ContinuousClock.Instant?, shown: Bool)>((nil, false))

    init(study: String) {
        self.study = study
        isTerminal = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
    }

    func update(_ progress: StudyProgress) {
        let now = ContinuousClock.now
        let interval: Duration = isTerminal ? .milliseconds(200) : .seconds(5)
        let due = state.withLock { state -> Bool in
            if let last = state.last, now - last < interval { return false }
            state.last = now
            state.shown = true
            return true
        }
        guard due else { return }
        let line = Self.line(study: study, progress)
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Ends the status line.
    func finish() {
        if isTerminal && state.withLock({ $0.shown }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func line(study: String, _ p: StudyProgress) -> String {
        var parts: [String] = []
        let budget = p.maxObservations.map { "/\($0)" } ?? ""
        parts.append("\(study): \(p.observations)\(budget) observed")
        parts.append("\(p.inFlight) in flight (\(p.running) running)")
        if p.failures > 0 { parts.append("\(p.failures) failed") }
        if let best = p.bestOutput, let cost = p.bestCost {
            parts.append("best \(format(best)) at cost \(format(cost))")
        }
        parts.append("Pareto \(p.paretoSize)")
        let elapsed = Double(p.elapsed.components.seconds) + Double(p.elapsed.components.attoseconds) * 1e-18
        parts.append("\(formatDuration(elapsed)) elapsed")
        if let max = p.maxObservations, p.observations > 0, p.observations < max {
            let left = elapsed / Double(p.observations) * Double(max - p.observations)
            parts.append("~\(formatDuration(left)) left")
        }
        if p.isDraining { parts.append("finishing") }
        return parts.joined(separator: " · ")
    }

    static func format(_ value: Double) -> String {
        String(format: abs(value) >= 1e4 || (abs(value) < 1e-3 && value != 0) ? "%.3e" : "%.4g", value)
    }

    static func formatDuration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
