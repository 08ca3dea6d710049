import CARBSCore
import CARBSMessaging
import Foundation
import ServiceLifecycle

/// Choosing suggestions and publishing them.
extension StudyRun {

    /// Chooses `count` suggestions: one fit for the whole batch, each point chosen with the others fantasized.
    /// If the optimizer fails (a numerical failure that the same data would repeat after every restart), the
    /// study goes on with model-free suggestions around the best point, and the failure is logged and counted.
    mutating func suggest(count: Int, into step: inout PersistenceStep) throws -> [Suggestion] {
        let fitsBefore = optimizer.fitCount
        let before = optimizer
        let started = ContinuousClock.now
        defer { lastSuggestDuration = ContinuousClock.now - started }
        var suggestions: [Suggestion]
        do {
            suggestions = try service.metrics.time(service.metrics.suggestLatency) {
                try service.suggester(&optimizer, count)
            }
        } catch {
            optimizer = before
            logger.warning(
                "the optimizer could not choose suggestions: using model-free ones around the best point",
                metadata: ["error": "\(error)", "count": "\(count)"])
            service.metrics.suggestFailures.increment()
            suggestions = optimizer.fallbackSuggestions(count: count)
        }
        optimizerChanged = true
        if optimizer.fitCount > fitsBefore { service.refitCounter.withLock { $0 += 1 } }
        service.metrics.suggestionsIssued.increment(by: suggestions.count)
        service.metrics.fallbackSuggestions.increment(by: suggestions.filter { $0.origin == .fallback }.count)
        for suggestion in suggestions {
            step.newSuggestions.append(
                .init(
                    id: suggestion.id, parameters: wireParameters(suggestion.parameters),
                    prediction: try suggestion.prediction.map { try SnapshotCoding.encode(value: $0) },
                    origin: suggestion.origin.rawValue))
            logger.debug(
                "suggestion",
                metadata: [
                    "suggestion.id": "\(suggestion.id)", "origin": "\(suggestion.origin.rawValue)",
                    "params": "\(suggestion.parameters)",
                ])
        }
        return suggestions
    }

    /// Publishes attempts concurrently (their confirms share the broker's round trips), then tells the machine
    /// (the confirmation is saved with the next commit). A crash before that leaves them `publishing`: the next
    /// start publishes them again, and the protocol's idempotence absorbs a duplicate.
    mutating func publish(_ attempts: [(id: String, attempt: Int)]) async throws {
        guard !attempts.isEmpty else { return }
        let now = service.clock()
        let outbound = try attempts.map { id, attempt -> OutboundMessage in
            let message = SuggestionMessage(
                study: configuration.study, suggestionID: id, attempt: attempt,
                params: wireParameters(optimizerParameters(of: id)), issuedAt: now,
                leaseSeconds: configuration.leaseSeconds, timeoutSeconds: configuration.timeoutSeconds)
            return OutboundMessage(body: WireFormat.encode(message), messageID: message.messageID, correlationID: id)
        }
        let transport = service.transport
        // A broker that refuses or cannot take the messages keeps a publish retrying; SIGTERM must still stop the
        // optimizer. Suggestions not confirmed stay `publishing` and go out again on the next start.
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for message in outbound {
                        group.addTask { try await transport.publish(suggestion: message) }
                    }
                    try await group.waitForAll()
                }
            }
        } catch  where Task.isShuttingDownGracefully || Task.isCancelled {
            throw CancellationError()
        }
        machine.published(attempts)
    }

    /// After a restart: suggestions saved but maybe never confirmed by the queue are published again.
    mutating func republishUnconfirmed() async throws {
        let pending = machine.unconfirmed
        guard !pending.isEmpty else { return }
        logger.info("publishing suggestions saved before the restart", metadata: ["count": "\(pending.count)"])
        try await publish(pending)
        try await flush()
    }
}
