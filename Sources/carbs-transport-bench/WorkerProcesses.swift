import CARBSAMQP
import Foundation
import Synchronization

/// The no-op worker processes of one measurement: this same binary run as `worker`.
final class WorkerProcesses {
    private var processes: [Process] = []

    /// Starts `count` workers of `study` (they wait for the study's queues themselves).
    func start(count: Int, study: String) throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for index in 1...count {
            let process = Process()
            process.executableURL =
                FileManager.default.isExecutableFile(atPath: executable.path)
                ? executable : URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = ["worker", "--study", study, "--id", "bench-\(index)"]
            process.standardInput = FileHandle.nullDevice
            try process.run()
            processes.append(process)
        }
    }

    /// SIGTERM to every worker; SIGKILL to those still running after `grace`.
    func terminate(grace: TimeInterval = 10) {
        for process in processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(grace)
        while processes.contains(where: \.isRunning) && Date() < deadline { usleep(20_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        processes.removeAll()
    }
}

/// Samples the number of ready messages in a queue every `interval` on a thread of its own (each sample is a
/// short blocking AMQP connection, kept off Swift's cooperative pool).
final class QueueDepthSampler: Sendable {
    struct Sample: Sendable {
        var instant: ContinuousClock.Instant
        var depth: Int
    }

    private let state = Mutex<(samples: [Sample], isStopped: Bool)>(([], false))
    private let finished = DispatchSemaphore(value: 0)
    private let url: BrokerURL
    private let queue: String
    private let interval: Duration

    /// Starts sampling at once.
    init(queue: String, interval: Duration = .milliseconds(100)) throws {
        url = try benchBrokerURL()
        self.queue = queue
        self.interval = interval
        Thread { [self] in sample() }.start()
    }

    private func sample() {
        let microseconds = interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
        while !state.withLock({ $0.isStopped }) {
            if let depth = try? AMQPAdministration.messageCount(url: url, queue: queue) {
                state.withLock { $0.samples.append(Sample(instant: .now, depth: depth)) }
            }
            usleep(UInt32(microseconds))
        }
        finished.signal()
    }

    /// Stops sampling and returns the samples.
    func stop() -> [Sample] {
        state.withLock { $0.isStopped = true }
        finished.wait()
        return state.withLock { $0.samples }
    }
}
