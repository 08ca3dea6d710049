import Testing

@testable import CARBSAMQP

@Suite("Confirm and acknowledgement bookkeeping (no broker)")
struct BookkeepingTests {
    @Test("confirms: single, multiple, out of order, reset")
    func confirms() {
        var tracker = ConfirmTracker<String>()
        let tags = ["a", "b", "c", "d", "e"].map { tracker.published($0) }
        #expect(tags == [1, 2, 3, 4, 5])
        #expect(tracker.settle(tag: 2, multiple: false) == ["b"])
        #expect(tracker.settle(tag: 3, multiple: true) == ["a", "c"])
        #expect(tracker.settle(tag: 3, multiple: true) == [])
        #expect(tracker.settle(tag: 9, multiple: false) == [])
        #expect(tracker.count == 2)
        #expect(tracker.reset() == ["d", "e"])
        #expect(tracker.published("f") == 1)
        #expect(tracker.settle(tag: 1, multiple: true) == ["f"])
        #expect(tracker.isEmpty)
    }

    @Test("acks: a contiguous oldest run becomes one multiple ack")
    func contiguousAck() {
        var unsettled = UnsettledDeliveries()
        for tag in 1...5 as ClosedRange<UInt64> { unsettled.delivered(tag) }
        #expect(unsettled.acknowledge([1, 2, 3]) == [.init(tag: 3, multiple: true)])
        #expect(unsettled.count == 2)
        #expect(unsettled.acknowledge([5]) == [.init(tag: 5, multiple: false)])
        #expect(unsettled.acknowledge([4]) == [.init(tag: 4, multiple: false)])
        #expect(unsettled.isEmpty)
    }

    @Test("acks: a gap keeps the later tags single, and unknown tags are ignored")
    func gapsAndUnknown() {
        var unsettled = UnsettledDeliveries()
        for tag in [1, 2, 3, 4, 6, 7] as [UInt64] { unsettled.delivered(tag) }
        // 3 is held back by the caller: 1-2 as one multiple ack, 4 and 7 singly.
        #expect(
            unsettled.acknowledge([7, 1, 2, 4, 99])
                == [.init(tag: 2, multiple: true), .init(tag: 4, multiple: false), .init(tag: 7, multiple: false)])
        #expect(unsettled.contains(3) && unsettled.contains(6))
        let removed = unsettled.remove(3)
        let removedAgain = unsettled.remove(3)
        #expect(removed && !removedAgain)
        #expect(unsettled.acknowledge([6]) == [.init(tag: 6, multiple: false)])
        #expect(unsettled.isEmpty)
    }

    @Test("backoff doubles up to the cap; jitter only shortens")
    func backoff() {
        let backoff = AMQPConfiguration.Backoff(
            initialDelay: .milliseconds(200), maximumDelay: .seconds(10), jitter: 0.5)
        #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(200))
        #expect(backoff.delay(attempt: 3, random: 0) == .milliseconds(1600))
        #expect(backoff.delay(attempt: 10, random: 0) == .seconds(10))
        #expect(backoff.delay(attempt: 1000, random: 0) == .seconds(10))
        #expect(backoff.delay(attempt: 3, random: 1) == .milliseconds(800))
    }
}
