import Foundation
import Synchronization

/// A test step ran out of time: the thing it waited for did not happen.
struct TimeLimitExceeded: Error, CustomStringConvertible {
    var limit: Duration
    var what: String

    var description: String { "\(what) did not finish within \(limit)" }
}

/// Runs `body`, failing with `TimeLimitExceeded` (and cancelling it) if it takes longer than `limit`, so that a hang
/// fails the test instead of blocking CI.
func withTimeLimit<T: Sendable>(
    _ limit: Duration, _ what: String = "the test", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TimeLimitExceeded(limit: limit, what: what)
        }
        return value
    }
}

/// Polls `condition` every 10 ms until it holds; throws `TimeLimitExceeded` after `limit`.
func waitUntil(
    _ what: String, limit: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimeLimitExceeded(limit: limit, what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A clock the test moves by hand (the service's `clock:`).
final class ManualClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    func now() -> Date { current.withLock { $0 } }

    func advance(seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
