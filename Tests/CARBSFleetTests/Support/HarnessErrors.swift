import Foundation

/// A failure of the test harness itself (a bounded wait ran out, a process would not start).
struct FleetError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
