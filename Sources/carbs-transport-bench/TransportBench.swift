import ArgumentParser
import CARBSAMQP
import Foundation
import Logging

/// `carbs-transport-bench`: suggestion → result round trips per second over RabbitMQ with no-op worker
/// processes, the optimizer's refit included; and how fast a burst of results turns into new suggestions.
@main
struct TransportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carbs-transport-bench",
        abstract: "Round trips per second over RabbitMQ with no-op workers, and the optimizer's answer to a burst.",
        discussion: """
            The broker comes from CARBS_BROKER_URL (default amqp://guest:guest@127.0.0.1:5672/%2f). The optimizer \
            (OptimizerService over the AMQP transport, SQLite persistence in a temporary file) runs in this \
            process, pre-loaded with n observations of a cheap function; the workers are separate processes of \
            this same binary (`carbs-transport-bench worker`) whose trainer answers at once.
            """,
        subcommands: [RunCommand.self, WorkerCommand.self, RefitCommand.self], defaultSubcommand: RunCommand.self)
}

/// The broker URL from `CARBS_BROKER_URL`, else the local default.
func benchBrokerURL() throws -> BrokerURL {
    try BrokerURL(
        ProcessInfo.processInfo.environment["CARBS_BROKER_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2f")
}

/// A logger on standard error that only shows problems (or everything with `CARBS_BENCH_LOG=debug`).
func benchLogger(_ label: String) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    let level = ProcessInfo.processInfo.environment["CARBS_BENCH_LOG"].flatMap(Logger.Level.init(rawValue:))
    logger.logLevel = level ?? .warning
    return logger
}
