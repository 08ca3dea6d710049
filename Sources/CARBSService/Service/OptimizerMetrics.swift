import CARBSMessaging
import CoreMetrics
import Foundation

/// The optimizer service's metrics (swift-metrics), created once per service with bounded labels: a result's
/// status, a dead letter's reason code — never a suggestion id.
///
/// Counters count what this process did since it started (Prometheus counters start again at 0 after a
/// restart); the gauges say where the whole study stands.
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `carbs_suggestions_issued_total` | counter | |
/// | `carbs_results_total` | counter | `status`: success, failure, lost |
/// | `carbs_duplicate_results_total`, `carbs_late_results_total` | counter | |
/// | `carbs_dead_letters_total` | counter | `reason`: a protocol error code, or `other` |
/// | `carbs_lease_expiries_total`, `carbs_reissues_total`, `carbs_fallback_suggestions_total` | counter | |
/// | `carbs_suggest_failures_total` (a `suggest` that failed; model-free suggestions went out instead) | counter | |
/// | `carbs_suggest_duration_seconds`, `carbs_commit_duration_seconds` | timer (histogram) | |
/// | `carbs_in_flight`, `carbs_queued`, `carbs_observations`, `carbs_best_output` | gauge | |
public struct OptimizerMetrics: Sendable {
    /// The dead-letter reasons that get a label of their own (the protocol's error codes); others are `other`.
    public static let deadLetterReasons: [String] =
        [
            ProtocolError.Code.invalidJSON, .missingField, .invalidField, .unsupportedProtocol, .unknownKind,
            .unknownSuggestion, .wrongStudy, .invalidStudyName,
        ].map(\.rawValue) + ["other"]

    /// The result statuses counted by `carbs_results_total`.
    public static let resultStatuses: [WorkerMessage.Status] = [.success, .failure, .lost]

    public static let suggestLatencyLabel = "carbs_suggest_duration_seconds"
    public static let commitLatencyLabel = "carbs_commit_duration_seconds"

    let suggestionsIssued: Counter
    let results: [WorkerMessage.Status: Counter]
    let duplicates: Counter
    let lateResults: Counter
    let deadLetters: [String: Counter]
    let leaseExpiries: Counter
    let reissues: Counter
    let fallbackSuggestions: Counter
    let suggestFailures: Counter
    let suggestLatency: CoreMetrics.Timer
    let commitLatency: CoreMetrics.Timer
    let inFlight: Gauge
    let queued: Gauge
    let observations: Gauge
    let bestOutput: Gauge

    /// Creates every metric once through `factory` (default: the process's bootstrapped factory, a no-op unless
    /// one was bootstrapped).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        suggestionsIssued = Counter(label: "carbs_suggestions_issued_total", factory: factory)
        results = Dictionary(
            uniqueKeysWithValues: Self.resultStatuses.map {
                ($0, Counter(label: "carbs_results_total", dimensions: [("status", $0.rawValue)], factory: factory))
            })
        duplicates = Counter(label: "carbs_duplicate_results_total", factory: factory)
        lateResults = Counter(label: "carbs_late_results_total", factory: factory)
        deadLetters = Dictionary(
            uniqueKeysWithValues: Self.deadLetterReasons.map {
                ($0, Counter(label: "carbs_dead_letters_total", dimensions: [("reason", $0)], factory: factory))
            })
        leaseExpiries = Counter(label: "carbs_lease_expiries_total", factory: factory)
        reissues = Counter(label: "carbs_reissues_total", factory: factory)
        fallbackSuggestions = Counter(label: "carbs_fallback_suggestions_total", factory: factory)
        suggestFailures = Counter(label: "carbs_suggest_failures_total", factory: factory)
        suggestLatency = CoreMetrics.Timer(label: Self.suggestLatencyLabel, factory: factory)
        commitLatency = CoreMetrics.Timer(label: Self.commitLatencyLabel, factory: factory)
        inFlight = Gauge(label: "carbs_in_flight", factory: factory)
        queued = Gauge(label: "carbs_queued", factory: factory)
        observations = Gauge(label: "carbs_observations", factory: factory)
        bestOutput = Gauge(label: "carbs_best_output", factory: factory)
    }

    /// The label of a dead letter's reason: its protocol error code (the text before the first colon) when it is
    /// one of `deadLetterReasons`, else `other`.
    public static func reasonLabel(_ reason: String) -> String {
        let code = reason.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        return deadLetterReasons.contains(code) ? code : "other"
    }

    func countDeadLetter(reason: String) {
        deadLetters[Self.reasonLabel(reason)]?.increment()
    }

    func countResult(_ status: WorkerMessage.Status) {
        results[status]?.increment()
    }

    /// Runs `body` and records how long it took in `timer`.
    func time<T>(_ timer: CoreMetrics.Timer, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { timer.recordInterval(ContinuousClock.now - start) }
        return try body()
    }
}

extension CoreMetrics.Timer {
    func recordInterval(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
