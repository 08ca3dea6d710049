extension CARBSOptimizer {
    /// A point in an optimizer's history to take a delta from: how many observation records it held then. The
    /// records only ever grow by appending, so these two counts say which records are new since.
    public struct SnapshotMark: Sendable, Hashable, Codable {
        public var successes: Int
        public var failures: Int

        public init(successes: Int, failures: Int) {
            self.successes = successes
            self.failures = failures
        }
    }

    /// What changed in an optimizer since a mark, in a size that does not grow with the number of observations:
    /// the records appended since, and everything else as it is now (the outstanding suggestions, the generator,
    /// the search radius, the fitted hyperparameters, the counters).
    ///
    /// A full snapshot followed by the deltas taken after it restores exactly (`snapshot(_:applying:)`), so a
    /// store can write a delta per step and a full snapshot only now and then.
    public struct SnapshotDelta: Sendable, Hashable, Codable {
        /// The mark the delta was taken from.
        public var base: SnapshotMark
        public var newSuccesses: [ObservationRecord]
        public var newFailures: [ObservationRecord]
        /// The snapshot without its observation records and observed ids.
        public var rest: Snapshot

        /// The mark after this delta.
        public var end: SnapshotMark {
            SnapshotMark(successes: base.successes + newSuccesses.count, failures: base.failures + newFailures.count)
        }
    }

    /// The mark of the optimizer as it is now.
    public var snapshotMark: SnapshotMark {
        SnapshotMark(successes: state.successes.count, failures: state.failures.count)
    }

    /// The change since `mark` (a mark of this optimizer, taken earlier).
    public func snapshotDelta(since mark: SnapshotMark) -> SnapshotDelta {
        precondition(
            mark.successes <= state.successes.count && mark.failures <= state.failures.count,
            "snapshotDelta(since:) needs a mark of this optimizer's past")
        var rest = state
        rest.successes = []
        rest.failures = []
        rest.observedIDs = []
        return SnapshotDelta(
            base: mark, newSuccesses: Array(state.successes[mark.successes...]),
            newFailures: Array(state.failures[mark.failures...]), rest: rest)
    }

    /// The snapshot that `base` followed by `deltas` describes: equal to the snapshot the optimizer would have
    /// given after the last delta.
    /// - Throws: `CARBSError.invalidSnapshot` when a delta does not continue where the one before it ended.
    public static func snapshot(_ base: Snapshot, applying deltas: [SnapshotDelta]) throws(CARBSError) -> Snapshot {
        guard let last = deltas.last else { return base }
        var successes = base.successes
        var failures = base.failures
        var observed = Set(base.observedIDs)
        for delta in deltas {
            guard delta.base == SnapshotMark(successes: successes.count, failures: failures.count) else {
                throw CARBSError(
                    .invalidSnapshot,
                    "a snapshot delta starts at \(delta.base.successes) successes and \(delta.base.failures) failures, "
                        + "but the history before it holds \(successes.count) and \(failures.count)")
            }
            successes += delta.newSuccesses
            failures += delta.newFailures
            for record in delta.newSuccesses + delta.newFailures {
                if let id = record.suggestionID { observed.insert(id) }
            }
        }
        var result = last.rest
        result.successes = successes
        result.failures = failures
        result.observedIDs = observed.sorted()
        return result
    }
}
