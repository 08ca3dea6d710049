import ArgumentParser
import CARBSCore
import CARBSMessaging
import CARBSService
import CARBSStore
import Foundation

/// Opens a study database for reading, with a clean error.
private func openExisting(_ path: String) throws -> StudyStore {
    do {
        return try StudyStore.open(path: path)
    } catch {
        throw CleanExit.message("cannot open \(path): \(error)", code: ExitCode(66))
    }
}

/// `carbs status`: where a study stands.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a study's progress, runs in flight, best result and Pareto set.")

    @Option(help: "The study database.")
    var db: String

    func run() async throws {
        let store = try openExisting(db)
        let (counts, snapshot, running) = try store.read { transaction in
            (
                try transaction.counts(), try transaction.loadSnapshot(),
                try transaction.suggestions(in: [.running, .queued, .publishing])
            )
        }
        print("Observations: \(counts.observations) (\(counts.failures) failed), total cost \(ProgressDisplay.format(counts.totalCost))")
        let states = SuggestionState.allCases.compactMap { state in counts.suggestions[state].map { "\(state.rawValue) \($0)" } }
        print("Suggestions: " + states.joined(separator: ", "))
        let messages = MessageDisposition.allCases.compactMap { d in counts.messages[d].map { "\(d.rawValue) \($0)" } }
        print("Messages: " + messages.joined(separator: ", "))
        if !running.isEmpty {
            print("In flight:")
            for suggestion in running.sorted(by: { $0.createdAt < $1.createdAt }) {
                let lease = suggestion.leaseDeadline.map { " lease until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                print("  \(suggestion.id) attempt \(suggestion.attempt) \(suggestion.state.rawValue)\(suggestion.worker.map { " on \($0)" } ?? "")\(lease)")
            }
        }
        if let snapshot {
            let state = try SnapshotCoding.decode(snapshot.data)
            let optimizer = try CARBSOptimizer(restoring: state)
            print("")
            print(SummaryPrinter(name: store.study, parameterNames: optimizer.parameters.map(\.name)).render(optimizer.summary))
        }
    }
}

/// `carbs export`: every observation that counted, as CSV or JSON lines.
struct ExportCommand: AsyncParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl
    }

    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write every observation of a study as CSV or JSON lines to stdout.")

    @Option(help: "The study database.")
    var db: String

    @Option(help: "csv or jsonl.")
    var format: Format = .csv

    func run() async throws {
        let store = try openExisting(db)
        let observations = try store.observations()
        let names = Array(Set(observations.flatMap(\.params.keys))).sorted()
        let iso = ISO8601DateFormatter()
        switch format {
        case .csv:
            print((["suggestion_id", "attempt", "status", "output", "cost"] + names + ["worker", "observed_at"]).joined(separator: ","))
            for o in observations {
                let cells: [String] =
                    [o.suggestionID, "\(o.attempt)", o.isFailure ? "failure" : "success", o.output.map { "\($0)" } ?? "",
                     o.cost.map { "\($0)" } ?? ""]
                    + names.map { o.params[$0]?.description ?? "" }
                    + [Self.csvQuoted(o.worker ?? ""), iso.string(from: o.observedAt)]
                print(cells.joined(separator: ","))
            }
        case .jsonl:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for o in observations {
                let line = ExportedObservation(
                    suggestionID: o.suggestionID, attempt: o.attempt, status: o.isFailure ? "failure" : "success",
                    output: o.output, cost: o.cost, params: o.params, worker: o.worker, observedAt: iso.string(from: o.observedAt),
                    message: o.message, metrics: o.metrics)
                print(String(decoding: try encoder.encode(line), as: UTF8.self))
            }
        }
    }

    static func csvQuoted(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    struct ExportedObservation: Encodable {
        var suggestionID: String
        var attempt: Int
        var status: String
        var output: Double?
        var cost: Double?
        var params: [String: ParameterValue]
        var worker: String?
        var observedAt: String
        var message: String?
        var metrics: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case suggestionID = "suggestion_id", attempt, status, output, cost, params, worker
            case observedAt = "observed_at", message, metrics
        }
    }
}
