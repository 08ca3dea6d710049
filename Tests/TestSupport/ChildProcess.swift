import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One child process of a broker test (the `carbs` binary, `rabbitmqctl`, …), its output in a log file.
///
/// Spawned with `posix_spawn` and reaped with `waitpid` (not Foundation's `Process`, which on Linux counts a
/// process as running while any descendant holds its monitoring descriptor: a daemonising `rabbitmq-server
/// -detached` would never "exit"). The child gets default signal dispositions and no descriptor above 2.
/// Every wait is bounded; `kill()` is safe to call at any time, also after the process exited.
public final class ChildProcess {
    /// A short name for messages: `optimizer`, `worker victim`.
    public let name: String
    /// Standard output and error, interleaved.
    public let logPath: String
    public let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: Added to (and overriding) the test process's own environment.
    public init(
        name: String, executable: String, arguments: [String], environment: [String: String] = [:],
        logPath: String, workingDirectory: String? = nil
    ) throws {
        self.name = name
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        Self.closeDescriptors(from: 3, in: &actions)
        if let workingDirectory, Self.addChangeDirectory(&actions, workingDirectory) != 0 {
            throw HarnessError("cannot start \(name) in \(workingDirectory)")
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP {
            sigaddset(&defaults, Int32(signal))
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let merged = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw HarnessError("cannot start \(name) (\(executable)): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    deinit {
        kill()
    }

    /// Whether it has not exited yet (reaps it when it has).
    public var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        guard reaped == pid else { return reaped == 0 }
        // WIFSIGNALED / WEXITSTATUS, written out (the macros are not imported).
        let signal = raw & 0x7F
        status = signal != 0 ? 128 + signal : (raw >> 8) & 0xFF
        return false
    }

    /// Sends a signal (`SIGKILL` for `kill -9`, `SIGTERM` for a graceful stop).
    public func send(_ signal: Int32) {
        guard isRunning else { return }
        signalProcess(pid, signal)
    }

    /// `kill -9` unless it already exited, then waits (briefly) until it is reaped.
    public func kill() {
        send(SIGKILL)
        let deadline = Date().addingTimeInterval(5)
        while isRunning && Date() < deadline { usleep(10_000) }
    }

    /// Waits for the process to exit and returns its exit status (128 + n when signal n ended it).
    /// - Throws: `HarnessError` when it is still running after `timeout` (it is left running: the caller's
    ///   teardown kills it).
    public func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("\(name) did not exit within \(timeout)\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return exitStatus
    }

    /// The exit status once the process exited (128 + n when signal n ended it).
    public var exitStatus: Int32 {
        guard !isRunning, let status else { preconditionFailure("\(name) is still running") }
        return status
    }

    /// The last lines of the process's output, for failure messages.
    public func logTail(lines: Int = 25) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
        return "--- \(name) (\(logPath)) ---\n" + tail.joined(separator: "\n")
    }

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29+), looked up at run time.
    private static func addChangeDirectory(
        _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ directory: String
    ) -> Int32 {
        typealias AddChdir =
            @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return ENOSYS }
        return unsafeBitCast(symbol, to: AddChdir.self)(actions, directory)
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), else one `addclose` per open descriptor.
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
}

/// `kill(2)`, outside `ChildProcess` whose `kill()` would shadow it.
public func signalProcess(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}

/// A failure of a test harness itself (a bounded wait ran out, a process would not start).
public struct HarnessError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
