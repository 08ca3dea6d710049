import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The inbox of a connection thread: commands posted from any task, and a pipe that wakes the thread's `poll`
/// when one arrives.
final class Mailbox<Command: Sendable>: Sendable {
    private struct State {
        var commands: [Command] = []
        var isSealed = false
    }

    private let state = Mutex(State())
    /// Readable while commands are waiting (the read end of the pipe).
    let descriptor: Int32
    private let writeDescriptor: Int32

    init() {
        var descriptors: [Int32] = [-1, -1]
        let status = pipe(&descriptors)
        precondition(status == 0, "pipe failed: errno \(errno)")
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        descriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        Glibc.close(descriptor)
        Glibc.close(writeDescriptor)
    }

    /// Queues a command and wakes the thread.
    /// - Returns: false when the thread has stopped; the caller must then fail the command itself.
    func post(_ command: Command) -> Bool {
        let accepted = state.withLock { state in
            guard !state.isSealed else { return false }
            state.commands.append(command)
            return true
        }
        if accepted {
            // A full pipe already wakes the thread: a failed write is fine.
            var one: UInt8 = 1
            _ = write(writeDescriptor, &one, 1)
        }
        return accepted
    }

    /// Takes every command posted so far (called by the thread).
    func take() -> [Command] {
        var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &scratch, { read(descriptor, $0.baseAddress, $0.count) }) == 64 {}
        return state.withLock { state in
            let commands = state.commands
            state.commands.removeAll(keepingCapacity: true)
            return commands
        }
    }

    /// Refuses further commands and returns those not taken yet (called by the thread as it stops).
    func seal() -> [Command] {
        state.withLock { state in
            state.isSealed = true
            let commands = state.commands
            state.commands = []
            return commands
        }
    }
}

/// Waits until `descriptors` become readable or `timeout` passes.
/// - Returns: which descriptors are readable.
func waitForInput(_ descriptors: [Int32], timeout: Duration) -> [Bool] {
    var fds = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let (seconds, attoseconds) = timeout.components
    let milliseconds = max(
        0, min(Int64(Int32.max), seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    let count = poll(&fds, nfds_t(fds.count), Int32(milliseconds))
    guard count > 0 else { return Array(repeating: false, count: descriptors.count) }
    return fds.map { $0.revents != 0 }
}
