import ArgumentParser
import CARBSHTTP
import CARBSService
import CARBSStore
import Foundation
import Logging
import ServiceLifecycle

/// The live view's flags, shared by `carbs optimizer` and `carbs tune`.
struct HTTPOptions: ParsableArguments {
    @Option(
        name: .customLong("http"),
        help: ArgumentHelp(
            "Serve the live view (dashboard, JSON API, /metrics, /healthz, /readyz) at HOST:PORT; port 0 picks a free one.",
            valueName: "host:port"))
    var address: String?

    @Option(
        name: .customLong("http-token"),
        help: "A bearer token every request but /healthz and /readyz must carry (default: $CARBS_HTTP_TOKEN).")
    var token: String?

    @Flag(name: .customLong("http-insecure"), help: "Allow a non-loopback --http address without a token.")
    var allowsInsecure = false

    /// The server's configuration, or nil when no address is given and there is no default.
    /// - Throws: `ValidationError` (exit 64) for a bad address, a bad token, or a public address without either a
    ///   token or `--http-insecure`.
    func configuration(defaultAddress: String? = nil) throws -> LiveViewServer.Configuration? {
        guard let text = address ?? defaultAddress else {
            if token != nil || allowsInsecure {
                throw ValidationError("--http-token and --http-insecure need --http HOST:PORT")
            }
            return nil
        }
        let environmentToken = ProcessInfo.processInfo.environment["CARBS_HTTP_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let configuration = LiveViewServer.Configuration(
                address: try ListenAddress(parsing: text), token: token ?? environmentToken,
                allowsInsecure: allowsInsecure)
            try configuration.validate()
            return configuration
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// The live view over a study's service and database, announced on standard error once it listens.
/// - Parameters:
///   - isBrokerConnected: whether the transport is connected now (for `/readyz`).
func makeLiveView(
    _ configuration: LiveViewServer.Configuration, service: OptimizerService, store: StudyStore,
    metrics: LiveViewMetrics, isBrokerConnected: @escaping @Sendable () -> Bool, logger: Logger
) throws -> LiveViewServer {
    let hasToken = configuration.token != nil
    return try LiveViewServer(
        configuration: configuration,
        source: LiveViewSource(
            service: service, store: store, registry: metrics.registry, isBrokerConnected: isBrokerConnected),
        logger: logger,
        onListening: { address in
            let hint = hasToken ? " (send Authorization: Bearer <token>, or open it with ?token=<token>)" : ""
            FileHandle.standardError.write(Data("carbs: live view at http://\(address)/\(hint)\n".utf8))
        })
}
