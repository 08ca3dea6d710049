import CARBSStore
import Foundation
import Testing

@testable import CARBSCommandLine

@Suite("carbs tune, end to end", .timeLimit(.minutes(5)))
struct TuneCommandTests {
    @Test("a small study runs to its budget, writes its report, and a second start finds it finished")
    func tuneEndToEnd() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("carbs-tune-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let studyPath = directory.appendingPathComponent("study.yaml").path
        try """
        name: tune-e2e
        direction: minimize
        parameters:
          x1: {space: linear, min: -5, max: 10, scale: 5, center: 2.5}
          x2: {space: linear, min: 0, max: 15, scale: 5, center: 7.5}
          steps: {space: log, min: 10, max: 10000, integer: true, center: 100}
        budget: {max_observations: 12}
        max_in_flight: 3
        optimizer: {seed: 3}
        trainer: {builtin: branin_cost}
        """.write(toFile: studyPath, atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("study.sqlite").path
        let report = directory.appendingPathComponent("report").path

        for _ in 0..<2 {
            let command = try TuneCommand.parse([
                studyPath, "--workers", "3", "--db", database, "--out", report, "--log-level", "error",
            ])
            try await command.run()
        }

        let store = try StudyStore.open(path: database)
        let observations = try store.observations()
        #expect(observations.count == 12)
        #expect(Set(observations.map(\.suggestionID)).count == 12)
        #expect(observations.allSatisfy { !$0.isFailure && ($0.cost ?? 0) >= 10 })
        for file in ["pareto.svg", "scaling.svg", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: report + "/" + file), "\(file)")
        }

        // `carbs export --events`: the event log, one JSON object per line, in order.
        let export = try ExportCommand.parse(["--db", database, "--events", "--format", "jsonl"])
        let lines = try export.eventLines(store)
        let events = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(events.map { $0["seq"] as? Int } == Array(1...events.count).map { $0 })
        #expect(events.filter { $0["kind"] as? String == "succeeded" }.count == 12)
        let firstKinds = Dictionary(grouping: events, by: { $0["suggestion_id"] as? String ?? "" }).mapValues {
            $0.first?["kind"] as? String
        }
        #expect(firstKinds.count == 12 && firstKinds.values.allSatisfy { $0 == "issued" })
        let csv = try ExportCommand.parse(["--db", database, "--events"]).eventLines(store)
        #expect(csv.first == "seq,recorded_at,kind,suggestion_id,attempt,worker,lease_deadline")
        #expect(csv.count == lines.count + 1)
    }

    @Test("an interrupted tune resumes: queued suggestions lost with the process are published again")
    func interruptedTuneResumes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("carbs-resume-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let studyPath = directory.appendingPathComponent("study.yaml").path
        // One worker and four in flight: when it stops, three suggestions wait in the (in-process) queue.
        try """
        name: tune-resume
        direction: minimize
        parameters:
          x1: {space: linear, min: -5, max: 10, scale: 5, center: 2.5}
          x2: {space: linear, min: 0, max: 15, scale: 5, center: 7.5}
          steps: {space: log, min: 10, max: 10000, integer: true, center: 100}
        budget: {max_observations: 40}
        max_in_flight: 4
        lease_seconds: 300
        trainer: {builtin: branin_cost}
        """.write(toFile: studyPath, atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("study.sqlite").path
        let arguments = [
            studyPath, "--workers", "1", "--db", database, "--out", directory.path + "/r", "--log-level", "error",
        ]

        let first = try TuneCommand.parse(arguments)
        let running = Task { try await first.run() }
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let store = try? StudyStore.open(path: database), (try? store.observations().count) ?? 0 >= 4 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        running.cancel()
        _ = try? await running.value
        let stopped = try StudyStore.open(path: database).observations().count
        #expect(stopped < 40, "the study finished before it could be interrupted")

        // Without publishing the lost queued suggestions again, this would wait for them for ever.
        let second = try TuneCommand.parse(arguments)
        let resumed = Task { try await second.run() }
        let finished = Task {
            try await Task.sleep(for: .seconds(120))
            resumed.cancel()
        }
        try await resumed.value
        finished.cancel()
        let observations = try StudyStore.open(path: database).observations()
        #expect(observations.count == 40)
        #expect(Set(observations.map(\.suggestionID)).count == 40)
    }

    @Test("a bad study file stops before anything starts")
    func badStudyFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("carbs-bad-\(UUID()).yaml").path
        try "name: bad\ndirection: sideways\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let command = try TuneCommand.parse([path, "--db", path + ".sqlite"])
        await #expect(throws: (any Error).self) { try await command.run() }
        #expect(!FileManager.default.fileExists(atPath: path + ".sqlite"))
    }
}
