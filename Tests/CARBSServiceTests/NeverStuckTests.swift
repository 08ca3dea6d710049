import CARBSCore
import CARBSStore
import Foundation
import Synchronization
import Testing

@testable import CARBSService

/// A `suggest` that fails must not end the study: the same data would fail the same way after every restart.
@Suite("A study is never stuck", .timeLimit(.minutes(5)))
struct NeverStuckTests {
    @Test(
        "suggest fails with a numerical error on every model call: model-free suggestions go out and the study finishes"
    )
    func numericalFailureFallsBack() async throws {
        let fixture = try StudyFixture()
        defer { fixture.directory.remove() }
        let calls = Mutex(0)
        // The random phase (3 points) needs no model; every call after it fails as a singular kernel would.
        let failing: OptimizerService.Suggester = { optimizer, count in
            calls.withLock { $0 += 1 }
            guard optimizer.summary.successCount < 3 else {
                throw CARBSError(.numericalFailure, "injected: the kernel matrix is not positive definite")
            }
            return try optimizer.suggest(count: count)
        }
        let budget = 12
        let service = fixture.service(
            fixture.configuration(maxInFlight: 2, maxObservations: budget), persistence: try fixture.persistence(),
            transport: try fixture.transport(), suggester: failing)
        try await withTimeLimit(.seconds(120), "the study") {
            try await fixture.run(service, with: try fixture.workers(2))
        }
        try expectStudyComplete(fixture, budget: budget, service: service)
        let origins = try fixture.store().suggestions().map(\.origin)
        #expect(origins.filter { $0 == "fallback" }.count >= budget - 4, "model-free suggestions after the failures")
        #expect(calls.withLock { $0 } > 3)
        // A failed call leaves nothing half-issued: the core's outstanding suggestions are the published ones.
        #expect(try fixture.savedSnapshot().suggestionCount == (try fixture.store().suggestions().count))
    }

    @Test("the fallback points lie around the best observation, inside the bounds")
    func fallbackAroundBest() throws {
        var optimizer = try StudyFixture.newOptimizer()()
        let first = try optimizer.suggest(count: 4)
        for (index, suggestion) in first.enumerated() {
            try optimizer.observe(.success(id: suggestion.id, output: index == 2 ? -5 : Double(index), cost: 1))
        }
        let best = first[2].parameters
        let fallbacks = optimizer.fallbackSuggestions(count: 20)
        #expect(fallbacks.allSatisfy { $0.origin == .fallback })
        #expect(optimizer.outstandingCount == 20)
        for suggestion in fallbacks {
            for (name, value) in suggestion.parameters {
                #expect((-2...2).contains(value), "\(name) out of bounds")
            }
        }
        let meanDistance =
            fallbacks.map { s in hypot(s.parameters["x"]! - best["x"]!, s.parameters["y"]! - best["y"]!) }
            .reduce(0, +) / 20
        let otherDistance =
            fallbacks.map { s in
                hypot(s.parameters["x"]! - first[0].parameters["x"]!, s.parameters["y"]! - first[0].parameters["y"]!)
            }
            .reduce(0, +) / 20
        #expect(meanDistance < otherDistance, "centred on the best point, not on another")
    }
}
