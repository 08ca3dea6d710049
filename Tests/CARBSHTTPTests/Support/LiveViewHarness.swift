import CARBSCore
import CARBSHTTP
import CARBSMessaging
import CARBSService
import CARBSStore
import Foundation
import Logging
import Synchronization
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A study in process: the optimizer service over the embedded transport with a SQLite database in a temporary
/// directory, its live view on 127.0.0.1 (a free port), and the test as the worker (`runOnce`). Everything runs
/// inside `with { }` and is cancelled when the body returns.
struct LiveViewHarness {
    let study = "live-\(UInt32.random(in: 0...UInt32.max))"
    let directory: TemporaryDirectory
    let store: StudyStore
    let service: OptimizerService
    let worker: EmbeddedWorkerTransport
    let baseURL: String

    /// Runs `body` with a live study and its server.
    /// - Parameters:
    ///   - configuration: the server's settings; its address is replaced by 127.0.0.1:0.
    ///   - brokerConnected: what `/readyz` hears about the broker.
    static func with<T: Sendable>(
        configuration: LiveViewServer.Configuration = .init(), leaseSeconds: Int = 60,
        brokerConnected: @escaping @Sendable () -> Bool = { true },
        _ body: (LiveViewHarness) async throws -> T
    ) async throws -> T {
        let directory = try TemporaryDirectory(prefix: "carbs-http")
        defer { directory.remove() }
        let study = "live-\(UInt32.random(in: 0...UInt32.max))"
        let persistence = try SQLiteStudyPersistence(
            path: directory.path("study.sqlite"), study: study, configuration: Data("{}".utf8))
        let broker = EmbeddedBroker()
        let metrics = LiveViewMetrics()
        var logger = Logger(label: "carbs.http.test")
        logger.logLevel = .warning
        let service = OptimizerService(
            configuration: .init(study: study, maxInFlight: 2, maxObservations: 1000, leaseSeconds: leaseSeconds),
            transport: try broker.optimizerTransport(study: study), persistence: persistence,
            newOptimizer: {
                try CARBSOptimizer(
                    configuration: .init(direction: .minimize, seed: 3),
                    parameters: [
                        .init(name: "x", space: .linear(min: -5, max: 5), center: 1),
                        .init(name: "steps", space: .log(min: 10, max: 1000, integer: true), center: 100),
                    ])
            }, logger: logger, metrics: metrics.service)
        var configuration = configuration
        configuration.address = ListenAddress(host: "127.0.0.1", port: 0)
        let bound = Mutex<ListenAddress?>(nil)
        let server = try LiveViewServer(
            configuration: configuration,
            source: LiveViewSource(
                service: service, store: persistence.store, registry: metrics.registry,
                isBrokerConnected: brokerConnected),
            logger: logger, onListening: { address in bound.withLock { $0 = address } })
        let worker = try broker.workerTransport(study: study)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let deadline = ContinuousClock.now + .seconds(60)
            while bound.withLock({ $0 }) == nil {
                guard ContinuousClock.now < deadline else {
                    throw HarnessError("the live view did not start listening in 60 s")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            try await worker.start()
            let harness = LiveViewHarness(
                directory: directory, store: persistence.store, service: service, worker: worker,
                baseURL: "http://127.0.0.1:\(bound.withLock { $0!.port })")
            return try await body(harness)
        }
    }

    private init(
        directory: TemporaryDirectory, store: StudyStore, service: OptimizerService, worker: EmbeddedWorkerTransport,
        baseURL: String
    ) {
        self.directory = directory
        self.store = store
        self.service = service
        self.worker = worker
        self.baseURL = baseURL
    }

    var studyName: String { service.configuration.study }

    /// Takes one suggestion, reports `started`, acknowledges it, and reports a result (`copies` times).
    /// - Returns: The suggestion's id.
    @discardableResult
    func runOnce(status: WorkerMessage.Status = .success, copies: Int = 1) async throws -> String {
        let suggestion = try await start()
        let x = suggestion.params["x"]?.doubleValue ?? 0
        let steps = suggestion.params["steps"]?.doubleValue ?? 1
        let result = WorkerMessage(
            kind: .result, study: studyName, suggestionID: suggestion.suggestionID, attempt: suggestion.attempt,
            worker: "test-worker", sentAt: Date(), status: status,
            output: status == .success ? x * x + 100 / steps : nil, cost: steps)
        for _ in 0..<copies {
            try await worker.publish(
                result: OutboundMessage(
                    body: WireFormat.encode(result), messageID: UUID().uuidString,
                    correlationID: suggestion.suggestionID))
        }
        return suggestion.suggestionID
    }

    /// Takes one suggestion, reports `started` and acknowledges it, and says nothing more (its lease runs).
    @discardableResult
    func start() async throws -> SuggestionMessage {
        guard let inbound = try await worker.receiveSuggestion(timeout: .seconds(60)) else {
            throw HarnessError("no suggestion within 60 s")
        }
        let suggestion = try WireFormat.decodeSuggestion(inbound.body, expectedStudy: studyName)
        let started = WorkerMessage(
            kind: .started, study: studyName, suggestionID: suggestion.suggestionID, attempt: suggestion.attempt,
            worker: "test-worker", sentAt: Date())
        try await worker.publish(
            result: OutboundMessage(
                body: WireFormat.encode(started), messageID: UUID().uuidString, correlationID: suggestion.suggestionID))
        try await worker.acknowledge(inbound)
        return suggestion
    }

    /// Publishes a body that is not a valid worker message (it is dead-lettered).
    func publishGarbage(_ text: String) async throws {
        try await worker.publish(
            result: OutboundMessage(body: Data(text.utf8), messageID: UUID().uuidString, correlationID: "garbage"))
    }

    /// Polls until `condition` holds (every 50 ms, at most `timeout`).
    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while (try? condition()) != true {
            guard ContinuousClock.now < deadline else { throw HarnessError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// A minimal HTTP client (Foundation's URLSession) for the tests.
enum HTTP {
    struct Reply: Sendable {
        var status: Int
        var body: Data
        var headers: [String: String]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func request(_ url: String, method: String = "GET", headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 60
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return Reply(status: http.statusCode, body: data, headers: fields)
    }

    static func json(_ url: String, headers: [String: String] = [:]) async throws -> [String: Any] {
        let reply = try await request(url, headers: headers)
        guard reply.status == 200 else { throw HarnessError("GET \(url): \(reply.status) \(reply.text)") }
        return try JSONSerialization.jsonObject(with: reply.body) as! [String: Any]
    }
}
