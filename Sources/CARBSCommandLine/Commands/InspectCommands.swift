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
        print(
            "Observations: \(counts.observations) (\(counts.failures) failed), total cost \(ProgressDisplay.format(counts.totalCost))"
        )
        let states = SuggestionState.allCases.compactMap { state in
            counts.suggestions[state].map { "\(state.rawValue) \($0)" }
        }
        print("Suggestions: " + states.joined(separator: ", "))
        let messages = MessageDisposition.allCases.compactMap { d in counts.messages[d].map { "\(d.rawValue) \($0)" } }
        print("Messages: " + messages.joined(separator: ", "))
        if !running.isEmpty {
            print("In flight:")
            for suggestion in running.sorted(by: { $0.createdAt < $1.createdAt }) {
                let lease =
                    suggestion.leaseDeadline.map { " lease until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                print(
                    "  \(suggestion.id) attempt \(suggestion.attempt) \(suggestion.state.rawValue)\(suggestion.worker.map { " on \($0)" } ?? "")\(lease)"
                )
            }
        }
        if let snapshot {
            let state = try SnapshotCoding.decode(snapshot.data)
            let optimizer = try CARBSOptimizer(restoring: state)
            print("")
            print(
                SummaryPrinter(name: store.study, parameterNames: optimizer.parameters.map(\.name)).render(
                    optimizer.summary))
        }
    }
}

/// `carbs export`: every observation that counted, as CSV or JSON lines.
struct ExportCommand: AsyncParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl
    }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Write every observation of a study (or, with --events, its event log) as CSV or JSON lines to stdout.")

    @Option(help: "The study database.")
    var db: String

    @Option(help: "csv or jsonl.")
    var format: Format = .csv

    @Flag(
        help: "Write the event log instead: every suggestion's transitions (issued, published, started, …), in order.")
    var events = false

    func run() async throws {
        let store = try openExisting(db)
        if events {
            for line in try eventLines(store) { print(line) }
            return
        }
        let observations = try store.observations()
        let names = Array(Set(observations.flatMap(\.params.keys))).sorted()
        let iso = ISO8601DateFormatter()
        switch format {
        case .csv:
            print(
                (["suggestion_id", "attempt", "status", "output", "cost"] + names + ["worker", "observed_at"]).joined(
                    separator: ","))
            for o in observations {
                let cells: [String] =
                    [
                        o.suggestionID, "\(o.attempt)", o.isFailure ? "failure" : "success",
                        o.output.map { "\($0)" } ?? "",
                        o.cost.map { "\($0)" } ?? "",
                    ]
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
                    output: o.output, cost: o.cost, params: o.params, worker: o.worker,
                    observedAt: iso.string(from: o.observedAt),
                    message: o.message, metrics: o.metrics)
                print(String(decoding: try encoder.encode(line), as: UTF8.self))
            }
        }
    }

    /// The event log as lines of the chosen format (CSV with a header row, or one JSON object per line).
    func eventLines(_ store: StudyStore) throws -> [String] {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let log = try store.read { try $0.events() }
        switch format {
        case .csv:
            return ["seq,recorded_at,kind,suggestion_id,attempt,worker,lease_deadline"]
                + log.map { logged in
                    let event = logged.event
                    return
                        [
                            "\(logged.sequence)", iso.string(from: logged.recordedAt), event.kind.rawValue,
                            event.suggestionID,
                            "\(event.attempt)", Self.csvQuoted(event.worker ?? ""),
                            event.leaseDeadline.map(iso.string) ?? "",
                        ].joined(separator: ",")
                }
        case .jsonl:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try log.map { logged in
                let event = logged.event
                let line = ExportedEvent(
                    seq: logged.sequence, recordedAt: iso.string(from: logged.recordedAt), kind: event.kind.rawValue,
                    suggestionID: event.suggestionID, attempt: event.attempt, worker: event.worker,
                    leaseDeadline: event.leaseDeadline.map(iso.string))
                return String(decoding: try encoder.encode(line), as: UTF8.self)
            }
        }
    }

    struct ExportedEvent: Encodable {
        var seq: Int64
        var recordedAt: String
        var kind: String
        var suggestionID: String
        var attempt: Int
        var worker: String?
        var leaseDeadline: String?

        enum CodingKeys: String, CodingKey {
            case seq
            case recordedAt = "recorded_at"
            case kind
            case suggestionID = "suggestion_id"
            case attempt, worker
            case leaseDeadline = "lease_deadline"
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
            case suggestionID = "suggestion_id"
            case attempt, status, output, cost, params, worker
            case observedAt = "observed_at"
            case message, metrics
        }
    }
}
