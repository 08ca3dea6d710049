import CARBSMessaging
import Foundation
import Testing

@testable import CARBSService

@Suite("Study ledger once the budget is reached")
struct StudyLedgerDrainTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func message(_ kind: WorkerMessage.Kind, _ id: String, status: WorkerMessage.Status? = nil) -> WorkerMessage {
        WorkerMessage(kind: kind, study: "s", suggestionID: id, attempt: 1, worker: "w1", sentAt: t0, status: status)
    }

    @Test("after stopReissuing a lost report or an expired lease forgets the run at its first attempt")
    func lostRunsAreForgotten() {
        var ledger = StudyLedger(leaseSeconds: 60, maxAttempts: 3)
        for id in ["a", "b"] {
            ledger.issued(id: id)
            ledger.published(id: id)
            _ = ledger.receive(message(.started, id), now: t0)
        }
        ledger.stopReissuing()
        #expect(!ledger.reissuesLostRuns)
        #expect(ledger.receive(message(.result, "a", status: .lost), now: t0) == .forget(id: "a"))
        #expect(ledger.expireLeases(now: t0.addingTimeInterval(61)) == [.forget(id: "b")])
        #expect(ledger.entries.values.allSatisfy { $0.phase == .forgotten && $0.attempt == 1 })
        #expect(ledger.inFlightCount == 0)
    }
}
