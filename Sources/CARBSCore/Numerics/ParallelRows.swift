import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Splits element-wise work over the rows of a matrix into contiguous chunks and runs them on
/// `NumericThreads.count` cores.
///
/// Only for loops whose rows write disjoint memory and reduce nothing, so that the result is bit-for-bit the
/// result of the serial loop whatever the scheduling (deterministic). Small jobs run serially on the caller.
enum ParallelRows {
    /// The shape of the work: every row costs the same, or row `i` costs `i` (a lower triangle).
    enum Shape {
        case rectangle
        case lowerTriangle
    }

    /// The number of threads to use: `NumericThreads.count`, at most the online processors and at most 8.
    static var threadCount: Int {
        let online = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return min(max(min(online, NumericThreads.count), 1), 8)
    }

    /// Jobs with fewer element operations than this run serially.
    static let minimumParallelWork = 150_000

    /// Calls `body` on contiguous row ranges covering `0..<rows` exactly once, of roughly equal work.
    ///
    /// - Parameters:
    ///   - rows: The number of rows.
    ///   - columns: Elements per row (for `.lowerTriangle`, the row count: row `i` has `i` elements).
    ///   - shape: How the work is distributed over the rows.
    ///   - body: Processes one range of rows; called concurrently for different ranges.
    static func forEachChunk(
        rows: Int, columns: Int, shape: Shape = .rectangle, _ body: (Range<Int>) -> Void
    ) {
        let work = shape == .rectangle ? rows * columns : rows * columns / 2
        let chunks = min(Self.threadCount, rows)
        if chunks <= 1 || work < minimumParallelWork {
            body(0..<rows)
            return
        }
        let boundaries = (0...chunks).map { chunk -> Int in
            switch shape {
            case .rectangle:
                return rows * chunk / chunks
            case .lowerTriangle:
                // Equal areas of the triangle: the k-th boundary is at rows·√(k/chunks).
                return chunk == chunks ? rows : Int((Double(chunk) / Double(chunks)).squareRoot() * Double(rows))
            }
        }
        withoutActuallyEscaping(body) { body in
            // Safe: `concurrentPerform` returns only after every iteration has finished, so `body` does not
            // outlive this call, and the iterations process disjoint row ranges.
            let box = UncheckedSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                box.value(boundaries[chunk]..<boundaries[chunk + 1])
            }
        }
    }
}

/// Carries a value across a concurrency boundary whose safety the caller proves (see `ParallelRows`).
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
