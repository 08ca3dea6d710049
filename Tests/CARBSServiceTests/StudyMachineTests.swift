import CARBSMessaging
import CARBSStore
import Foundation
import Testing

@testable import CARBSService

/// The study's decisions without I/O or time: inputs in, actions and events out.
@Suite("Study machine")
struct StudyMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func machine(maxInFlight: Int = 2, maxObservations: Int? = nil, maxTotalCost: Double? = nil, grace: Double = 60)
        -> StudyMachine
    {
        StudyMachine(
            settings: .init(
                maxInFlight: maxInFlight, maxObservations: maxObservations, maxTotalCost: maxTotalCost,
                drainGrace: grace),
            ledger: StudyLedger(leaseSeconds: 30, maxAttempts: 2))
    }

    func message(
        _ kind: WorkerMessage.Kind, _ id: String, attempt: Int = 1, status: WorkerMessage.Status? = nil
    ) -> StudyMachine.Received {
        .message(
            WorkerMessage(
                kind: kind, study: "s", suggestionID: id, attempt: attempt, worker: "w1", sentAt: t0, status: status,
                output: status == .success ? 1 : nil, cost: status == .success ? 2 : nil))
    }

    func progress(_ observations: Int, cost: Double = 0) -> StudyMachine.Progress {
        .init(observations: observations, totalCost: cost)
    }

    /// A machine with `ids` issued and published, their events taken.
    func running(_ ids: [String], _ machine: inout StudyMachine) {
        _ = machine.issued(ids)
        machine.published(ids.map { ($0, 1) })
        _ = machine.received(ids.map { message(.started, $0) }, now: t0)
        _ = machine.takeEvents()
    }

    @Test("free slots are filled, but never past the observation budget")
    func fillsSlots() {
        var m = machine(maxInFlight: 4, maxObservations: 10)
        #expect(m.tick(now: t0, progress: progress(0)) == [.suggest(count: 4)])
        #expect(
            m.issued(["a", "b", "c"]) == [
                .publish(id: "a", attempt: 1), .publish(id: "b", attempt: 1), .publish(id: "c", attempt: 1),
            ])
        #expect(m.tick(now: t0, progress: progress(0)) == [.suggest(count: 1)])
        #expect(m.tick(now: t0, progress: progress(8)) == [], "8 observed + 3 in flight: nothing more to issue")
        #expect(m.takeEvents().map(\.kind) == [.issued, .issued, .issued])
    }

    @Test("a result is observed, logged and acknowledged; a second one is a duplicate; a stale attempt's is late")
    func results() {
        var m = machine()
        running(["a", "b"], &m)
        let first = m.received([message(.result, "a", status: .success)], now: t0)
        #expect(
            first == [
                .observe(message: 0, id: "a", status: .success), .log(message: 0, disposition: .applied, reason: nil),
                .acknowledge(message: 0),
            ])
        #expect(m.takeEvents() == [StudyEvent(.succeeded, suggestionID: "a", attempt: 1, worker: "w1")])
        guard case .log(0, .duplicate, _) = m.received([message(.result, "a", status: .success)], now: t0).first else {
            Issue.record("a second result must be logged as a duplicate")
            return
        }
        // b is lost once: attempt 2 goes out; then attempt 1's result arrives after attempt 2's.
        #expect(
            m.received([message(.result, "b", status: .lost)], now: t0) == [
                .lost(id: "b", attempt: 1, leaseExpired: false),
                .log(message: 0, disposition: .applied, reason: "lost: re-issued as attempt 2"),
                .publish(id: "b", attempt: 2), .acknowledge(message: 0),
            ])
        #expect(m.takeEvents().map(\.kind) == [.lost, .reissued])
        _ = m.received([message(.result, "b", attempt: 2, status: .success)], now: t0)
        guard case .log(0, .late, _) = m.received([message(.result, "b", attempt: 1, status: .success)], now: t0).first
        else {
            Issue.record("an earlier attempt's result after the count must be late")
            return
        }
    }

    @Test("bad messages are logged as rejected and dead-lettered, never acknowledged")
    func rejects() {
        var m = machine()
        let actions = m.received(
            [.undecodable(reason: "invalid_json: nope"), message(.result, "ghost", status: .success)], now: t0)
        #expect(actions.contains(.deadLetter(message: 0, reason: "invalid_json: nope")))
        #expect(actions.contains { if case .deadLetter(1, _) = $0 { true } else { false } })
        #expect(!actions.contains { if case .acknowledge = $0 { true } else { false } })
        #expect(actions.contains(.log(message: 0, disposition: .rejected, reason: "invalid_json: nope")))
        #expect(m.takeEvents().isEmpty)
    }

    @Test("a lease that runs out re-issues attempt 2, then forgets after max attempts")
    func leases() {
        var m = machine()
        running(["a"], &m)
        #expect(m.nextDeadline == t0.addingTimeInterval(30))
        let late = t0.addingTimeInterval(31)
        #expect(
            m.tick(now: late, progress: progress(0)) == [
                .lost(id: "a", attempt: 1, leaseExpired: true), .publish(id: "a", attempt: 2), .suggest(count: 1),
            ])
        #expect(m.takeEvents().map(\.kind) == [.expired, .reissued])
        m.published([("a", 2)])
        _ = m.received([message(.started, "a", attempt: 2)], now: late)
        let actions = m.tick(now: late.addingTimeInterval(31), progress: progress(0))
        #expect(
            actions.prefix(2) == [
                .lost(id: "a", attempt: 2, leaseExpired: true),
                .forget(id: "a", reason: "lease expired too often: forgotten"),
            ])
        #expect(m.takeEvents().map(\.kind) == [.published, .started, .expired, .forgotten])
    }

    @Test("budget reached: withdraw once, forget lost runs, finish when nothing runs")
    func drain() {
        var m = machine(maxInFlight: 3, maxTotalCost: 10)
        _ = m.issued(["a", "b", "c"])
        m.published([("a", 1), ("b", 1), ("c", 1)])
        _ = m.received([message(.started, "a"), message(.started, "b")], now: t0)
        _ = m.takeEvents()
        #expect(m.tick(now: t0, progress: progress(5, cost: 12)) == [.withdrawQueued])
        #expect(m.isDraining)
        #expect(m.freeSlots(progress(5, cost: 12)) == 0)
        #expect(m.withdrawQueued() == [.forget(id: "c", reason: "withdrawn from the queue: the budget was reached")])
        // b is lost: forgotten, not re-issued.
        let lost = m.received([message(.result, "b", status: .lost)], now: t0)
        #expect(lost.contains(.forget(id: "b", reason: "lost after the budget was reached: forgotten")))
        #expect(!lost.contains { if case .publish = $0 { true } else { false } })
        #expect(m.tick(now: t0, progress: progress(5, cost: 12)) == [], "a still runs")
        _ = m.received([message(.result, "a", status: .success)], now: t0)
        #expect(m.tick(now: t0, progress: progress(6, cost: 14)) == [.finish])
        #expect(m.takeEvents().map(\.kind) == [.withdrawn, .lost, .forgotten, .succeeded])
        #expect(m.tick(now: t0, progress: progress(6, cost: 14)) == [], "finished: nothing more")
    }

    @Test("the drain grace runs out: what still runs is forgotten and the study finishes")
    func graceRunsOut() {
        var m = machine(maxObservations: 1, grace: 60)
        running(["a", "b"], &m)
        _ = m.received([message(.result, "a", status: .success)], now: t0)
        #expect(m.tick(now: t0, progress: progress(1)) == [.withdrawQueued])
        _ = m.received([message(.heartbeat, "b")], now: t0.addingTimeInterval(40))
        #expect(m.tick(now: t0.addingTimeInterval(59), progress: progress(1)) == [])
        #expect(
            m.tick(now: t0.addingTimeInterval(61), progress: progress(1)) == [
                .forget(id: "b", reason: "still in flight when the study ended"), .finish,
            ])
    }

    @Test("after a restart, suggestions saved as publishing are the ones to publish again")
    func unconfirmed() {
        var ledger = StudyLedger(leaseSeconds: 30, maxAttempts: 3)
        ledger.issued(id: "b")
        ledger.issued(id: "a")
        ledger.published(id: "b")
        let m = StudyMachine(settings: .init(maxInFlight: 2, drainGrace: 1), ledger: ledger)
        #expect(m.unconfirmed.map(\.id) == ["a"])
    }
}
