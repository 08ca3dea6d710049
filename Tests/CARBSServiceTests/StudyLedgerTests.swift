import CARBSMessaging
import Foundation
import Testing

@testable import CARBSService

@Suite("Study ledger")
struct StudyLedgerTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func message(
        _ kind: WorkerMessage.Kind, _ id: String, attempt: Int = 1, status: WorkerMessage.Status? = nil
    ) -> WorkerMessage {
        WorkerMessage(
            kind: kind, study: "s", suggestionID: id, attempt: attempt, worker: "w1", sentAt: t0, status: status,
            output: status == .success ? 1 : nil, cost: status == .success ? 2 : nil)
    }

    func ledger(_ ids: [String], maxAttempts: Int = 3) -> StudyLedger {
        var ledger = StudyLedger(leaseSeconds: 60, maxAttempts: maxAttempts)
        for id in ids {
            ledger.issued(id: id)
            ledger.published(id: id)
        }
        return ledger
    }

    @Test("the first result counts; later ones are duplicates")
    func firstResultCounts() {
        var ledger = ledger(["a"])
        #expect(
            ledger.receive(message(.result, "a", status: .success), now: t0)
                == .observe(id: "a", attempt: 1, status: .success))
        guard case .duplicate = ledger.receive(message(.result, "a", status: .success), now: t0) else {
            Issue.record("second result must be a duplicate")
            return
        }
        #expect(ledger.entries["a"]?.phase == .finished)
        #expect(ledger.inFlightCount == 0)
    }

    @Test("started arms a lease; heartbeats extend it; expiry re-issues with the next attempt")
    func leases() {
        var ledger = ledger(["a"])
        #expect(ledger.receive(message(.started, "a"), now: t0) == .leaseRenewed(id: "a"))
        #expect(ledger.nextLeaseDeadline == t0.addingTimeInterval(60))
        #expect(ledger.expireLeases(now: t0.addingTimeInterval(59)).isEmpty)
        _ = ledger.receive(message(.heartbeat, "a"), now: t0.addingTimeInterval(50))
        #expect(ledger.expireLeases(now: t0.addingTimeInterval(100)).isEmpty)
        #expect(ledger.expireLeases(now: t0.addingTimeInterval(111)) == [.reissue(id: "a", attempt: 2)])
        #expect(ledger.entries["a"]?.phase == .publishing)
        #expect(ledger.entries["a"]?.attempt == 2)
    }

    @Test("a queued suggestion has no lease")
    func queuedHasNoLease() {
        var ledger = ledger(["a"])
        #expect(ledger.expireLeases(now: t0.addingTimeInterval(1e6)).isEmpty)
    }

    @Test("lost re-issues up to max attempts, then forgets")
    func lostAndMaxAttempts() {
        var ledger = ledger(["a"], maxAttempts: 2)
        #expect(
            ledger.receive(message(.result, "a", attempt: 1, status: .lost), now: t0) == .reissue(id: "a", attempt: 2))
        ledger.published(id: "a")
        #expect(ledger.receive(message(.result, "a", attempt: 2, status: .lost), now: t0) == .forget(id: "a"))
        #expect(ledger.entries["a"]?.phase == .forgotten)
    }

    @Test("a late result of an earlier attempt still counts when it is the first")
    func lateResultOfEarlierAttempt() {
        var ledger = ledger(["a"])
        _ = ledger.receive(message(.started, "a"), now: t0)
        _ = ledger.expireLeases(now: t0.addingTimeInterval(61))
        ledger.published(id: "a")
        #expect(
            ledger.receive(message(.result, "a", attempt: 1, status: .success), now: t0)
                == .observe(id: "a", attempt: 1, status: .success))
        guard case .duplicate = ledger.receive(message(.result, "a", attempt: 2, status: .success), now: t0) else {
            Issue.record("the re-issued attempt's result must be a duplicate")
            return
        }
        // A stale started of attempt 1 after the re-issue changes nothing.
        guard case .ignore = ledger.receive(message(.started, "a", attempt: 1), now: t0) else {
            Issue.record("stale started must be ignored")
            return
        }
    }

    @Test("unknown suggestions and never-issued attempts are rejected")
    func rejections() {
        var ledger = ledger(["a"])
        guard case .reject(let reason) = ledger.receive(message(.result, "zzz", status: .success), now: t0) else {
            Issue.record("unknown id must be rejected")
            return
        }
        #expect(reason.contains("unknown_suggestion"))
        guard case .reject = ledger.receive(message(.started, "a", attempt: 7), now: t0) else {
            Issue.record("future attempt must be rejected")
            return
        }
    }

    @Test("withdrawing at the end forgets what is still in flight")
    func withdraw() {
        var ledger = ledger(["a", "b", "c"])
        _ = ledger.receive(message(.started, "b"), now: t0)
        _ = ledger.receive(message(.result, "c", status: .failure), now: t0)
        #expect(ledger.withdrawAll() == [.forget(id: "a"), .forget(id: "b")])
        #expect(ledger.entries["a"]?.phase == .withdrawn)
        #expect(ledger.entries["b"]?.phase == .forgotten)
        #expect(ledger.entries["c"]?.phase == .failed)
    }
}
