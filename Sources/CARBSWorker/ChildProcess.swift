import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why the runner stopped a trainer before it finished by itself.
enum StopReason: Sendable, Hashable {
    case timedOut(Duration)
    case aborted
    case cancelled
}

/// Asks a running trainer to stop; safe from any thread. The first request wins.
final class RunControl: Sendable {
    private let request = Mutex<StopReason?>(nil)

    func requestStop(_ reason: StopReason) {
        request.withLock { current in
            if current == nil { current = reason }
        }
    }

    var stopRequest: StopReason? { request.withLock { $0 } }
}

/// Everything the runner saw of one trainer process.
struct ProcessRecord: Sendable {
    enum Termination: Sendable, Hashable {
        case exited(Int32)
        case signalled(Int32)
        /// Somebody else reaped the process (`waitpid` said `ECHILD`).
        case unknown
    }

    var termination: Termination
    var stopReason: StopReason?
    var standardOutputTail: String
    var standardErrorTail: String
    var lastReport: TrainerReport?
    var elapsed: Duration
    /// True when processes of the trainer's group were still alive after it exited (and were killed).
    var killedStrayProcesses: Bool
}

/// A trainer process: started with `posix_spawn` in a process group of its own, watched by one dedicated thread.
enum ChildProcess {
    struct Spawned: Sendable {
        var pid: pid_t
        var standardOutput: Int32
        var standardError: Int32
    }

    /// How often the watching thread looks at the process when its pipes are quiet.
    static let tick = 50  // milliseconds
    /// How long the pipes are read after the process exited (grandchildren that escaped the group may hold them).
    static let drainPeriod = Duration.seconds(2)

    /// Starts the trainer: stdin from `/dev/null`, stdout and stderr into pipes, a new process group (its id is
    /// the trainer's pid), default signal dispositions and an empty signal mask (the worker may ignore SIGTERM or
    /// SIGPIPE for its own reasons; the trainer must not inherit that).
    ///
    /// The corresponding C call is `posix_spawn`.
    static func spawn(_ invocation: TrainerInvocation) throws(TrainerRunner.Error) -> Spawned {
        let output = try makePipe()
        let error: (read: Int32, write: Int32)
        do {
            error = try makePipe()
        } catch let pipeError {
            close(output.read)
            close(output.write)
            throw pipeError
        }
        defer {
            close(output.write)
            close(error.write)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, error.write, 2)
        // Nothing else of the worker reaches the trainer: an inherited broker socket would keep the worker's
        // connection open after the worker died, and its unacknowledged suggestion would never be redelivered.
        closeDescriptors(from: 3, in: &actions)
        if let directory = invocation.workingDirectory {
            let status = addChangeDirectory(&actions, directory)
            guard status == 0 else {
                closeBoth(output, error)
                throw TrainerRunner.Error(
                    .spawnFailed, "cannot set the trainer's working directory to \(directory)", systemError: status)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP {
            sigaddset(&defaults, Int32(signal))
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = invocation.arguments.map { strdup($0) } + [nil]
        let envp = invocation.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }

        var pid: pid_t = 0
        let status = posix_spawn(&pid, invocation.executablePath, &actions, &attributes, argv, envp)
        guard status == 0 else {
            closeBoth(output, error)
            throw TrainerRunner.Error(
                .spawnFailed, "cannot start the trainer \(invocation.executablePath)", systemError: status)
        }
        return Spawned(pid: pid, standardOutput: output.read, standardError: error.read)
    }

    /// Watches a spawned trainer until it exited and its pipes are drained. Blocks: call it on a dedicated thread.
    ///
    /// Stops the trainer's whole process group with SIGTERM, then SIGKILL after `command.terminationGracePeriod`,
    /// when `timeout` passes or `control` asks for it. After the trainer exited, whatever is left of its group is
    /// killed (a stray grandchild would hold the GPU, or the pipes).
    static func watch(
        _ spawned: Spawned, command: TrainerCommand, timeout: Duration?, control: RunControl, logger: Logger
    ) -> ProcessRecord {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = timeout.map { start + $0 }
        let pid = spawned.pid
        var captures = [
            OutputCapture(
                stream: .standardOutput, limit: command.outputLimitBytes, parsesReports: true, logger: logger),
            OutputCapture(
                stream: .standardError, limit: command.outputLimitBytes, parsesReports: false, logger: logger),
        ]
        var descriptors = [spawned.standardOutput, spawned.standardError]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var stopReason: StopReason?
        var terminatedAt: ContinuousClock.Instant?
        var killed = false
        var termination: ProcessRecord.Termination?
        var exitedAt = start
        var killedStrays = false

        while true {
            readAvailable(from: &descriptors, into: &captures, buffer: &buffer)

            if termination == nil {
                var status: Int32 = 0
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid {
                    termination = decode(waitStatus: status)
                    exitedAt = clock.now
                    killedStrays = kill(-pid, SIGKILL) == 0
                } else if reaped < 0 && errno != EINTR {
                    termination = .unknown
                    exitedAt = clock.now
                }
            }

            let now = clock.now
            if termination == nil {
                if stopReason == nil {
                    if let requested = control.stopRequest {
                        stopReason = requested
                    } else if let deadline, let timeout, now >= deadline {
                        stopReason = .timedOut(timeout)
                    }
                    if let stopReason {
                        logger.info("stopping the trainer (\(stopReason)): SIGTERM to its process group")
                        kill(-pid, SIGTERM)
                        terminatedAt = now
                    }
                } else if !killed, let terminatedAt, now >= terminatedAt + command.terminationGracePeriod {
                    logger.warning("the trainer outlived its grace period: SIGKILL to its process group")
                    kill(-pid, SIGKILL)
                    killed = true
                }
            } else if descriptors.allSatisfy({ $0 < 0 }) || now >= exitedAt + drainPeriod {
                break
            }
        }
        for index in descriptors.indices where descriptors[index] >= 0 {
            close(descriptors[index])
            captures[index].finish()
        }
        if killedStrays {
            logger.warning("processes of the trainer's group outlived it and were killed")
        }
        return ProcessRecord(
            termination: termination ?? .unknown, stopReason: stopReason,
            standardOutputTail: captures[0].tailText, standardErrorTail: captures[1].tailText,
            lastReport: captures[0].lastReport, elapsed: exitedAt - start, killedStrayProcesses: killedStrays)
    }

    /// Waits up to one tick for output and reads what arrived; closes a pipe at its end.
    private static func readAvailable(
        from descriptors: inout [Int32], into captures: inout [OutputCapture], buffer: inout [UInt8]
    ) {
        var polled = descriptors.filter { $0 >= 0 }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&polled, nfds_t(polled.count), Int32(tick))
        guard ready > 0 else { return }
        for entry in polled where entry.revents != 0 {
            guard let index = descriptors.firstIndex(of: entry.fd) else { continue }
            let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.withUnsafeBytes { captures[index].append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                close(entry.fd)
                descriptors[index] = -1
                captures[index].finish()
            }
        }
    }

    private static func decode(waitStatus status: Int32) -> ProcessRecord.Termination {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(signal)
    }

    private static func makePipe() throws(TrainerRunner.Error) -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        // pipe2(O_CLOEXEC) is atomic: no other thread's posix_spawn can inherit the pipe in between. Glibc has it,
        // but Swift's Glibc module does not import it (it is a GNU extension), hence the lookup.
        typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
        let status: Int32
        if let symbol = dlsym(nil, "pipe2") {
            status = unsafeBitCast(symbol, to: Pipe2.self)(&descriptors, O_CLOEXEC)
        } else {
            status = pipe(&descriptors)
            if status == 0 {
                _ = fcntl(descriptors[0], F_SETFD, FD_CLOEXEC)
                _ = fcntl(descriptors[1], F_SETFD, FD_CLOEXEC)
            }
        }
        guard status == 0 else {
            throw TrainerRunner.Error(.spawnFailed, "cannot make a pipe for the trainer's output", systemError: errno)
        }
        return (descriptors[0], descriptors[1])
    }

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29+, not imported into Swift: a GNU extension).
    private static func addChangeDirectory(
        _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ directory: String
    ) -> Int32 {
        typealias AddChdir =
            @convention(c) (
                UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?
            ) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return ENOSYS }
        return unsafeBitCast(symbol, to: AddChdir.self)(actions, directory)
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+); on older systems, one `addclose` for each
    /// descriptor open now (listed in `/proc/self/fd`).
    private static func closeDescriptors(
        from lowest: Int32, in actions: UnsafeMutablePointer<posix_spawn_file_actions_t>
    ) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np"),
            unsafeBitCast(symbol, to: AddCloseFrom.self)(actions, lowest) == 0
        {
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap({ Int32($0) }) where descriptor >= lowest {
            if fcntl(descriptor, F_GETFD) >= 0 { posix_spawn_file_actions_addclose(actions, descriptor) }
        }
    }

    private static func closeBoth(_ first: (read: Int32, write: Int32), _ second: (read: Int32, write: Int32)) {
        close(first.read)
        close(second.read)
    }
}
