/// Publisher-confirm bookkeeping for one channel: delivery tags count up from 1 after `confirm.select`; the
/// broker confirms (basic.ack) or refuses (basic.nack) each tag, or with `multiple` every tag up to one.
///
/// A pure value: the publisher thread does the I/O. `reset()` after a reconnect hands back the unconfirmed
/// items, in publishing order, to be published again.
struct ConfirmTracker<Item> {
    private var items: [UInt64: Item] = [:]
    /// The next tag the channel will assign.
    private(set) var nextTag: UInt64 = 1
    /// No tag below this one is still unconfirmed.
    private var lowestUnconfirmed: UInt64 = 1

    /// Number of published, unconfirmed items.
    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    /// Records a publish; returns its delivery tag.
    mutating func published(_ item: Item) -> UInt64 {
        let tag = nextTag
        items[tag] = item
        nextTag += 1
        return tag
    }

    /// The broker settled `tag` (and, when `multiple`, every earlier tag): returns the settled items in order.
    mutating func settle(tag: UInt64, multiple: Bool) -> [Item] {
        guard multiple else {
            guard let item = items.removeValue(forKey: tag) else { return [] }
            advanceLowest()
            return [item]
        }
        var settled: [Item] = []
        var current = lowestUnconfirmed
        while current <= tag && current < nextTag {
            if let item = items.removeValue(forKey: current) { settled.append(item) }
            current += 1
        }
        lowestUnconfirmed = max(lowestUnconfirmed, min(tag + 1, nextTag))
        advanceLowest()
        return settled
    }

    /// Changes the unconfirmed item with `tag` in place (e.g. to mark it returned).
    mutating func update(tag: UInt64, _ change: (inout Item) -> Void) {
        guard var item = items[tag] else { return }
        change(&item)
        items[tag] = item
    }

    /// The unconfirmed tags and items, in publishing order.
    var unconfirmed: [(tag: UInt64, item: Item)] {
        items.sorted { $0.key < $1.key }.map { (tag: $0.key, item: $0.value) }
    }

    /// Forgets the channel (it closed): returns every unconfirmed item in publishing order; tags restart at 1.
    mutating func reset() -> [Item] {
        let pending = unconfirmed.map(\.item)
        items = [:]
        nextTag = 1
        lowestUnconfirmed = 1
        return pending
    }

    private mutating func advanceLowest() {
        while lowestUnconfirmed < nextTag && items[lowestUnconfirmed] == nil {
            lowestUnconfirmed += 1
        }
    }
}
