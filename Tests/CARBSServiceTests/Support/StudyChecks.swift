import CARBSCore
import CARBSService
import CARBSStore
import Foundation
import Testing

/// The invariants of a finished study: exactly `budget` observations, each suggestion counted at most once, the
/// store and the optimizer's snapshot agreeing, and nothing left in flight.
func expectStudyComplete(
    _ fixture: StudyFixture, budget: Int, service: OptimizerService?,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let store = try fixture.store()
    let observations = try store.observations()
    let ids = observations.map(\.suggestionID)
    #expect(observations.count == budget, "store observations", sourceLocation: sourceLocation)
    #expect(Set(ids).count == ids.count, "an observation was counted twice", sourceLocation: sourceLocation)
    let open = try store.suggestions(in: [.publishing, .queued, .running])
    #expect(open.isEmpty, "suggestions still in flight: \(open.map(\.id))", sourceLocation: sourceLocation)

    let snapshot = try fixture.savedSnapshot()
    #expect(snapshot.successes.count + snapshot.failures.count == budget, sourceLocation: sourceLocation)
    #expect(Set(snapshot.observedIDs) == Set(ids), "the core and the store disagree", sourceLocation: sourceLocation)
    #expect(snapshot.outstanding.isEmpty, sourceLocation: sourceLocation)
    try expectEventLogMatchesTables(fixture, sourceLocation: sourceLocation)

    if let service {
        let result = try #require(service.result, sourceLocation: sourceLocation)
        #expect(result.ending == .budgetReached, sourceLocation: sourceLocation)
        #expect(result.summary.successCount + result.summary.failureCount == budget, sourceLocation: sourceLocation)
        #expect(result.summary.outstandingCount == 0, sourceLocation: sourceLocation)
    }
}

/// What a crash leaves must be consistent, whichever step it interrupted: the suggestions the store has in flight
/// are exactly the core's outstanding ones, and its observations exactly the core's observed ones.
func expectConsistentSavedState(_ fixture: StudyFixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let store = try fixture.store()
    guard try store.loadSnapshot() != nil else {
        #expect(try store.suggestions().isEmpty, "suggestions saved without a snapshot", sourceLocation: sourceLocation)
        return
    }
    let snapshot = try fixture.savedSnapshot()
    let inFlight = Set(try store.suggestions(in: [.publishing, .queued, .running]).map(\.id))
    #expect(
        inFlight == Set(snapshot.outstanding.map(\.id)), "store in flight vs core outstanding",
        sourceLocation: sourceLocation)
    let observed = Set(try store.observations().map(\.suggestionID))
    #expect(
        observed == Set(snapshot.observedIDs), "store observations vs core observations", sourceLocation: sourceLocation
    )
    try expectEventLogMatchesTables(fixture, sourceLocation: sourceLocation)
}

/// The event log tells the same story as the tables: replaying every suggestion's events gives its stored state
/// and attempt, and no suggestion has more than one counting result (nothing counted twice).
func expectEventLogMatchesTables(_ fixture: StudyFixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let store = try fixture.store()
    let events = try store.read { try $0.events() }
    var replayed: [String: (state: SuggestionState, attempt: Int, results: Int)] = [:]
    for logged in events {
        let event = logged.event
        var entry = replayed[event.suggestionID] ?? (.publishing, 1, 0)
        switch event.kind {
        case .issued: entry = (.publishing, event.attempt, 0)
        case .reissued: entry = (.publishing, event.attempt, entry.results)
        case .published where entry.state == .publishing && entry.attempt == event.attempt: entry.state = .queued
        case .published: break
        case .started, .heartbeat: entry.state = .running
        case .succeeded: entry = (.finished, entry.attempt, entry.results + 1)
        case .failed: entry = (.failed, entry.attempt, entry.results + 1)
        case .lost, .expired: break
        case .forgotten: entry.state = .forgotten
        case .withdrawn: entry.state = .withdrawn
        }
        replayed[event.suggestionID] = entry
    }
    let stored = try store.suggestions()
    #expect(Set(replayed.keys) == Set(stored.map(\.id)), "suggestions without events", sourceLocation: sourceLocation)
    for suggestion in stored {
        let entry = replayed[suggestion.id]
        #expect(entry?.state == suggestion.state, "\(suggestion.id): replayed state", sourceLocation: sourceLocation)
        #expect(
            entry?.attempt == suggestion.attempt, "\(suggestion.id): replayed attempt", sourceLocation: sourceLocation)
        #expect((entry?.results ?? 0) <= 1, "\(suggestion.id) counted twice", sourceLocation: sourceLocation)
    }
    let counted = replayed.values.reduce(0) { $0 + $1.results }
    #expect(
        counted == (try store.observations().count), "counting events vs observations", sourceLocation: sourceLocation)
}
