/// When a commit writes the optimizer's complete snapshot instead of a delta.
///
/// A delta holds only what changed (the new observation records and the small rest of the state), so a commit
/// costs the same at n = 10 and n = 10,000. Restoring reads the last complete snapshot and every delta since;
/// a complete snapshot is written once the deltas since the last one add up to its own size (at least
/// `minimumDeltaBytes`), so the deltas never hold more than about one more snapshot's worth and the complete writes
/// cost, spread over the commits between them, about as much as the deltas themselves.
struct CheckpointSchedule: Sendable, Hashable {
    var minimumDeltaBytes = 1 << 20
    /// The size of the last complete snapshot; nil until one is written in this run (the first commit of a run
    /// writes one, so a restart starts from a single snapshot).
    private(set) var snapshotBytes: Int?
    private(set) var deltaBytes = 0

    /// Whether the next optimizer write should be a complete snapshot.
    var wantsSnapshot: Bool {
        guard let snapshotBytes else { return true }
        return deltaBytes >= max(snapshotBytes, minimumDeltaBytes)
    }

    mutating func wroteSnapshot(bytes: Int) {
        snapshotBytes = bytes
        deltaBytes = 0
    }

    mutating func wroteDelta(bytes: Int) {
        deltaBytes += bytes
    }
}
