import CARBSMessaging
import Foundation
import Synchronization

/// The cheap 2-parameter function the scripted workers "train": a bowl with its minimum at (0.3, −0.7); the cost
/// grows with `x` and is always ≥ 1.
enum TestObjective {
    static func output(_ params: [String: ParameterValue]) -> Double {
        let x = params["x"]?.doubleValue ?? 0
        let y = params["y"]?.doubleValue ?? 0
        return (x - 0.3) * (x - 0.3) + (y + 0.7) * (y + 0.7)
    }

    static func cost(_ params: [String: ParameterValue]) -> Double {
        3 + (params["x"]?.doubleValue ?? 0)
    }
}

/// What a scripted worker does with one suggestion (after sending `started` and acknowledging it).
enum WorkerAction: Sendable, Hashable {
    /// Report a success with `TestObjective`'s output and cost (or `cost` when given).
    case succeed(cost: Double? = nil)
    /// Report a `failure`.
    case fail
    /// Report `lost`.
    case lose
    /// Report the same success twice (an at-least-once redelivery seen from the optimizer).
    case succeedTwice
    /// Go silent: the run's lease must catch it.
    case stall

    static let succeed = WorkerAction.succeed(cost: nil)
}

/// Every suggestion the scripted workers received, in order, with its AMQP-style message id.
final class SuggestionJournal: Sendable {
    private let entries = Mutex<[(message: SuggestionMessage, messageID: String?)]>([])

    func record(_ message: SuggestionMessage, messageID: String?) {
        entries.withLock { $0.append((message, messageID)) }
    }

    var messages: [SuggestionMessage] { entries.withLock { $0.map(\.message) } }
    var messageIDs: [String?] { entries.withLock { $0.map(\.messageID) } }

    /// How many suggestions (attempts) were received so far.
    var count: Int { entries.withLock { $0.count } }
}

/// A worker that speaks the wire protocol directly over an embedded worker transport and follows a script: takes a
/// suggestion, sends `started`, acknowledges, then does what `script` says for it. Runs until cancelled.
struct ScriptedWorker: Sendable {
    let name: String
    let transport: EmbeddedWorkerTransport
    let journal: SuggestionJournal?
    /// How long a run "trains" between `started` and its result.
    let runTime: Duration
    let script: @Sendable (SuggestionMessage) -> WorkerAction

    init(
        name: String, broker: EmbeddedBroker, study: String, journal: SuggestionJournal? = nil,
        runTime: Duration = .zero, script: @escaping @Sendable (SuggestionMessage) -> WorkerAction = { _ in .succeed }
    ) throws {
        self.name = name
        self.runTime = runTime
        self.transport = try broker.workerTransport(study: study)
        self.journal = journal
        self.script = script
    }

    func run() async throws {
        try await transport.start()
        do {
            while !Task.isCancelled {
                guard let inbound = try await transport.receiveSuggestion(timeout: .milliseconds(200)) else { continue }
                let suggestion = try WireFormat.decodeSuggestion(inbound.body, expectedStudy: transport.queues.study)
                journal?.record(suggestion, messageID: inbound.messageID)
                let action = script(suggestion)
                try await send(.started, for: suggestion)
                try await transport.acknowledge(inbound)
                if runTime > .zero { try await Task.sleep(for: runTime) }
                switch action {
                case .succeed(let cost):
                    try await send(.result, for: suggestion, status: .success, cost: cost)
                case .succeedTwice:
                    try await send(.result, for: suggestion, status: .success)
                    try await send(.result, for: suggestion, status: .success)
                case .fail:
                    try await send(.result, for: suggestion, status: .failure)
                case .lose:
                    try await send(.result, for: suggestion, status: .lost)
                case .stall:
                    break
                }
            }
        } catch is CancellationError {
        } catch let error as TransportError where error.code == .closed {
        }
        await transport.shutdown()
    }

    /// Publishes a worker message about `suggestion`.
    func send(
        _ kind: WorkerMessage.Kind, for suggestion: SuggestionMessage, status: WorkerMessage.Status? = nil,
        cost: Double? = nil
    ) async throws {
        try await transport.publish(
            result: WorkerProtocol.outbound(
                WorkerProtocol.message(kind, for: suggestion, worker: name, status: status, cost: cost)))
    }
}

/// Builds worker messages the way a well-behaved worker would.
enum WorkerProtocol {
    static func message(
        _ kind: WorkerMessage.Kind, for suggestion: SuggestionMessage, worker: String,
        status: WorkerMessage.Status? = nil, cost: Double? = nil, attempt: Int? = nil
    ) -> WorkerMessage {
        var message = WorkerMessage(
            kind: kind, study: suggestion.study, suggestionID: suggestion.suggestionID,
            attempt: attempt ?? suggestion.attempt, worker: worker, sentAt: Date(), status: status)
        switch status {
        case .success?:
            message.output = TestObjective.output(suggestion.params)
            message.cost = cost ?? TestObjective.cost(suggestion.params)
        case .failure?:
            message.cost = cost
            message.message = "diverged"
        case .lost?, nil:
            break
        }
        return message
    }

    static func outbound(_ message: WorkerMessage) -> OutboundMessage {
        OutboundMessage(
            body: WireFormat.encode(message), messageID: message.messageID, correlationID: message.suggestionID)
    }
}
