import CARBSService
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The live view of a running study over HTTP: the dashboard page, the JSON API, Prometheus metrics, health and
/// readiness. Every route is a GET (other methods get 404); nothing it serves changes the study.
///
/// | path | what |
/// |---|---|
/// | `/` | the dashboard (updates itself every second) |
/// | `/api/v1/study`, `/api/v1/observations`, `/api/v1/in-flight` | JSON |
/// | `/plots/frontier.svg`, `/plots/scaling.svg` | the pictures of `CARBSReport`, as the study stands |
/// | `/metrics` | Prometheus text exposition |
/// | `/healthz` | 200 while the process is alive |
/// | `/readyz` | 200 when the broker is connected and the database writable, else 503 with the reasons |
///
/// It listens on 127.0.0.1 unless told otherwise; another address needs a bearer token (`Configuration.token`)
/// or an explicit `allowsInsecure`. With a token, every path but `/healthz` and `/readyz` (the probes) answers 401
/// without `Authorization: Bearer TOKEN` (or `?token=TOKEN`, which the page passes on to its requests).
public struct LiveViewServer: Service {
    public struct Configuration: Sendable {
        public var address: ListenAddress
        /// The bearer token every request but the probes must carry; nil: none needed.
        public var token: String?
        /// Allows a non-loopback address without a token.
        public var allowsInsecure: Bool

        public init(
            address: ListenAddress = .init(host: "127.0.0.1", port: 0), token: String? = nil,
            allowsInsecure: Bool = false
        ) {
            self.address = address
            self.token = token
            self.allowsInsecure = allowsInsecure
        }

        /// - Throws: `LiveViewError` `.unprotectedPublicAddress` for a non-loopback address with neither a token
        ///   nor `allowsInsecure`; `.invalidToken` for an empty token or one with other than printable ASCII.
        public func validate() throws(LiveViewError) {
            if let token {
                guard !token.isEmpty, token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                    throw LiveViewError(
                        .invalidToken, "--http-token: the token must be non-empty printable ASCII without spaces")
                }
            }
            if !address.isLoopback && token == nil && !allowsInsecure {
                throw LiveViewError(
                    .unprotectedPublicAddress,
                    "--http \(address): refusing to serve the study on a non-loopback address without --http-token "
                        + "(a bearer token) or --http-insecure")
            }
        }
    }

    public let configuration: Configuration
    let source: LiveViewSource
    let logger: Logger
    let onListening: @Sendable (ListenAddress) -> Void

    /// - Parameters:
    ///   - onListening: called once the socket is bound, with the port actually bound (port 0 picks one).
    /// - Throws: `LiveViewError` when the configuration is refused (see `Configuration.validate()`).
    public init(
        configuration: Configuration, source: LiveViewSource, logger: Logger,
        onListening: @escaping @Sendable (ListenAddress) -> Void = { _ in }
    ) throws(LiveViewError) {
        try configuration.validate()
        self.configuration = configuration
        self.source = source
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until a graceful shutdown (or cancellation).
    /// - Throws: `LiveViewError` `.cannotListen` when the address cannot be bound.
    public func run() async throws {
        let address = configuration.address
        let onListening = onListening
        let isListening = Mutex(false)
        let application = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "carbs"),
            onServerRunning: { channel in
                isListening.withLock { $0 = true }
                onListening(ListenAddress(host: address.host, port: channel.localAddress?.port ?? address.port))
            },
            logger: logger)
        do {
            try await application.run()
        } catch  where !(error is CancellationError) && !isListening.withLock({ $0 }) {
            throw LiveViewError(.cannotListen, "--http \(address): cannot listen there: \(error)")
        }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let source = source
        if let token = configuration.token {
            router.add(middleware: BearerTokenMiddleware(token: token, openPaths: ["/healthz", "/readyz"]))
        }
        router.get("/") { _, _ in
            Self.response(DashboardPage.html, type: "text/html; charset=utf-8")
        }
        router.get("/healthz") { _, _ in
            Self.response("ok\n", type: "text/plain; charset=utf-8")
        }
        router.get("/readyz") { _, _ in
            let problems = source.readinessProblems()
            return Self.response(
                problems.isEmpty ? "ready\n" : problems.joined(separator: "\n") + "\n",
                type: "text/plain; charset=utf-8",
                status: problems.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            Self.response(source.registry.emitToString(), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/api/v1/study") { _, _ in
            try Self.json(LiveViewDocuments.study(LiveViewDocuments.Snapshot(source: source)))
        }
        router.get("/api/v1/observations") { _, _ in
            try Self.json(LiveViewDocuments.observations(LiveViewDocuments.Snapshot(source: source)))
        }
        router.get("/api/v1/in-flight") { _, _ in
            try Self.json(LiveViewDocuments.inFlight(LiveViewDocuments.Snapshot(source: source)))
        }
        router.get("/plots/frontier.svg") { _, _ in
            Self.response(try LiveViewDocuments.Snapshot(source: source).report.paretoSVG, type: "image/svg+xml")
        }
        router.get("/plots/scaling.svg") { _, _ in
            Self.response(try LiveViewDocuments.Snapshot(source: source).report.scalingSVG, type: "image/svg+xml")
        }
        return router
    }

    static func response(_ text: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ document: some Encodable) throws -> Response {
        let data = try LiveViewDocuments.encoder.encode(document)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Answers 401 unless the request carries the token: `Authorization: Bearer TOKEN`, or `token=TOKEN` in the
/// query (a browser cannot add a header to the page's own address). Paths in `openPaths` need none.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]
    let openPaths: Set<String>

    init(token: String, openPaths: Set<String>) {
        self.token = Array(token.utf8)
        self.openPaths = openPaths
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if openPaths.contains(request.uri.path) { return try await next(request, context) }
        var offered: Substring?
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            offered = header.dropFirst("bearer ".count)
        } else if let query = request.uri.queryParameters["token"] {
            offered = query
        }
        guard let offered, Self.constantTimeEqual(Array(offered.utf8), token) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"carbs\""
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(
                status: .unauthorized, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: "a bearer token is required\n")))
        }
        return try await next(request, context)
    }

    /// Compares without returning early at the first difference (the time does not tell how much matched).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
