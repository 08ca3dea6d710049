import CARBSService
import CARBSStore
import Foundation
import Prometheus

/// What the live view reads: the running service's read-only view, the study database (read transactions
/// only), the metrics registry, and whether the broker is connected. The live view never writes to any of them.
public struct LiveViewSource: Sendable {
    public var service: OptimizerService
    public var store: StudyStore
    public var registry: PrometheusCollectorRegistry
    /// Whether the transport is connected to the broker now (the embedded transport: always).
    public var isBrokerConnected: @Sendable () -> Bool

    public init(
        service: OptimizerService, store: StudyStore, registry: PrometheusCollectorRegistry,
        isBrokerConnected: @escaping @Sendable () -> Bool
    ) {
        self.service = service
        self.store = store
        self.registry = registry
        self.isBrokerConnected = isBrokerConnected
    }

    /// Ready: the broker is connected, the last commit succeeded and the database file and its directory are
    /// writable. Returns the reasons it is not (empty when ready).
    func readinessProblems() -> [String] {
        var problems: [String] = []
        if !isBrokerConnected() { problems.append("broker: not connected") }
        let live = service.live
        if let error = live.lastCommitError { problems.append("database: the last commit failed: \(error)") }
        if let path = store.path {
            let directory = (path as NSString).deletingLastPathComponent
            for file in [path, directory.isEmpty ? "." : directory] where access(file, W_OK) != 0 {
                problems.append("database: \(file) is not writable")
            }
        }
        return problems
    }
}

/// The service's metrics, registered in a Prometheus registry of their own: pass `service` to the
/// `OptimizerService` and `registry` to the `LiveViewSource`. Create it once per process.
public struct LiveViewMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let service: OptimizerMetrics

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A suggestion fits four GPs (milliseconds to a minute); a commit is one SQLite transaction with an fsync.
        factory.durationHistogramBuckets = [
            OptimizerMetrics.suggestLatencyLabel: [
                .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
            ],
            OptimizerMetrics.commitLatencyLabel: [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
            ],
        ]
        service = OptimizerMetrics(factory: factory)
    }
}
