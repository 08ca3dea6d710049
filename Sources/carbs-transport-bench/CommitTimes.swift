import CoreMetrics
import Synchronization

/// A metrics factory that keeps the durations of the service's commits (`carbs_commit_duration_seconds`) and
/// ignores every other metric: the benchmark reports how long one commit takes at each n.
final class CommitTimes: MetricsFactory, Sendable {
    private let durations = Mutex<[Int64]>([])
    private let noop = NOOPMetricsHandler.instance

    /// The commits' durations in milliseconds, in order.
    var milliseconds: [Double] { durations.withLock { $0.map { Double($0) / 1e6 } } }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard label == "carbs_commit_duration_seconds" else { return noop }
        return Recorder(times: self)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { noop }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        noop
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { noop }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { noop }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    private final class Recorder: TimerHandler, Sendable {
        let times: CommitTimes
        init(times: CommitTimes) { self.times = times }
        func recordNanoseconds(_ duration: Int64) {
            times.durations.withLock { $0.append(duration) }
        }
    }
}

extension Array where Element == Double {
    /// The `q`-quantile (nearest rank) of the values; NaN when there are none.
    func quantile(_ q: Double) -> Double {
        guard !isEmpty else { return .nan }
        let sorted = self.sorted()
        return sorted[Swift.min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))]
    }
}
