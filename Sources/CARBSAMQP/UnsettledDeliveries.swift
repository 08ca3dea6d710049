/// The deliveries of one consumer channel not yet acknowledged or rejected, and how to acknowledge a batch with
/// as few frames as possible.
///
/// A pure value: the consumer thread does the I/O. Tags arrive in increasing order.
struct UnsettledDeliveries {
    /// One basic.ack frame to send.
    struct Acknowledgement: Equatable {
        var tag: UInt64
        var multiple: Bool
    }

    private var tags: [UInt64] = []
    private var start = 0

    var count: Int { tags.count - start }
    var isEmpty: Bool { count == 0 }

    func contains(_ tag: UInt64) -> Bool { find(tag) != nil }

    /// Records a delivery.
    mutating func delivered(_ tag: UInt64) {
        precondition(tags.last.map { $0 < tag } ?? true, "delivery tags must increase")
        tags.append(tag)
    }

    /// Settles `tag` alone (reject or single ack). Returns false when it was not unsettled.
    mutating func remove(_ tag: UInt64) -> Bool {
        guard let index = find(tag) else { return false }
        tags.remove(at: index)
        compact()
        return true
    }

    /// Settles the given tags and returns the basic.ack frames that do it: one `multiple` ack for the longest
    /// run of the oldest unsettled tags that are all in `batch`, then single acks for the rest. Tags not
    /// unsettled are ignored.
    mutating func acknowledge(_ batch: some Sequence<UInt64>) -> [Acknowledgement] {
        let wanted = Set(batch)
        var prefixEnd = start
        while prefixEnd < tags.count && wanted.contains(tags[prefixEnd]) {
            prefixEnd += 1
        }
        var frames: [Acknowledgement] = []
        var acknowledged = Set<UInt64>()
        if prefixEnd > start {
            let last = tags[prefixEnd - 1]
            frames.append(Acknowledgement(tag: last, multiple: prefixEnd - start > 1))
            acknowledged.formUnion(tags[start..<prefixEnd])
            start = prefixEnd
        }
        var remaining: [UInt64] = []
        for tag in tags[start...] {
            if wanted.contains(tag) && !acknowledged.contains(tag) {
                frames.append(Acknowledgement(tag: tag, multiple: false))
            } else {
                remaining.append(tag)
            }
        }
        tags = remaining
        start = 0
        return frames
    }

    /// Forgets everything (the channel closed).
    mutating func reset() {
        tags = []
        start = 0
    }

    private func find(_ tag: UInt64) -> Int? {
        var low = start
        var high = tags.count
        while low < high {
            let middle = (low + high) / 2
            if tags[middle] < tag { low = middle + 1 } else { high = middle }
        }
        return low < tags.count && tags[low] == tag ? low : nil
    }

    private mutating func compact() {
        if start > 1024 && start * 2 > tags.count {
            tags.removeFirst(start)
            start = 0
        }
    }
}
