import ArgumentParser
import CARBSCore
import CARBSService
import CARBSStore
import Foundation
import TestSupport
import Testing

@testable import CARBSCommandLine

@Suite("carbs extrapolate, and the next rung of the ladder", .timeLimit(.minutes(5)))
struct ExtrapolateCommandTests {
    static func studyText(name: String, observations: Int) -> String {
        """
        name: \(name)
        direction: minimize
        parameters:
          x1: {space: linear, min: -5, max: 10, scale: 5, center: 2.5}
          x2: {space: linear, min: 0, max: 15, scale: 5, center: 7.5}
          steps: {space: log, min: 10, max: 10000, integer: true, center: 30}
        budget: {max_observations: \(observations)}
        max_in_flight: 4
        optimizer: {seed: 5}
        trainer: {builtin: branin_cost}
        """
    }

    /// Writes a study file of `observations` runs into `directory` and tunes it.
    /// - Returns: The study file's and the database's paths.
    static func tune(_ name: String, observations: Int, in directory: TemporaryDirectory) async throws -> (
        String, String
    ) {
        let study = directory.path("\(name).yaml")
        try studyText(name: name, observations: observations).write(toFile: study, atomically: true, encoding: .utf8)
        let database = directory.path("\(name).sqlite")
        try await TuneCommand.parse([
            study, "--db", database, "--out", directory.path("\(name)-report"), "--log-level", "error",
        ])
        .run()
        return (study, database)
    }

    @Test("study → extrapolate → study file → second study, which starts from the first one's runs")
    func ladder() async throws {
        let temporary = try TemporaryDirectory(prefix: "carbs-ladder")
        defer { temporary.remove() }
        let directory = temporary.url
        let (first, firstDatabase) = try await Self.tune("ladder", observations: 40, in: temporary)

        let old = try StudyStore.open(path: firstDatabase).observations()
        let dearest = old.compactMap(\.cost).max()!
        let next = directory.appendingPathComponent("next.yaml").path
        try ExtrapolateCommand.parse([
            "--db", firstDatabase, "--cost", "\(2 * dearest)", "--resamples", "200", "--study-file", next,
            "--base", first, "--next-max-observations", "8", "--next-samples-around-center", "2",
        ]).run()

        let written = try StudyFile.load(path: next)
        #expect(written.name == "ladder-next")
        #expect(written.budget.maxObservations == 8)
        #expect(written.warmStart?.database == URL(fileURLWithPath: firstDatabase).standardizedFileURL.path)
        #expect(written.parameters.map(\.name) == ["x1", "x2", "steps"])
        #expect(written.parameters.map(\.space) == (try StudyFile.load(path: first)).parameters.map(\.space))
        let steps = written.parameters[2]
        #expect(steps.center > 10, "the center follows the extrapolation, not the old center")
        #expect(written.configuration.initialSearchRadius >= 0.05 && written.configuration.initialSearchRadius <= 1)
        #expect(written.configuration.maxSuggestionCost == 4 * dearest)
        guard case .builtin("branin_cost", nil) = written.trainer else {
            Issue.record("the trainer was not copied from --base")
            return
        }

        let secondDatabase = directory.appendingPathComponent("next.sqlite").path
        try await TuneCommand.parse([
            next, "--db", secondDatabase, "--out", directory.path + "/r2", "--log-level", "error",
        ]).run()
        let store = try StudyStore.open(path: secondDatabase)
        #expect(try store.observations().count == 8)
        let snapshot = try #require(try store.loadSnapshot())
        let optimizer = try CARBSOptimizer(restoring: try SnapshotCoding.decode(snapshot.data))
        let summary = optimizer.summary
        #expect(summary.successCount + summary.failureCount == old.count + 8, "the old runs are in the new study")
        // The first runs sample around the extrapolated centers (the random phase), then the acquisition works
        // from the old frontier.
        let suggestions = try store.suggestions().sorted { $0.createdAt < $1.createdAt }
        // (At least 2: suggestions issued together before the second success all come from the random phase.)
        let random = suggestions.filter { $0.origin == "random" }.count
        #expect(random >= 2 && random <= 2 + written.maxInFlight - 1)
        #expect(suggestions.contains { $0.origin == "acquisition" || $0.origin == "resample" })
        #expect(written.configuration.numRandomSamples == old.filter { !$0.isFailure }.count + 2)
        #expect(optimizer.snapshot.searchCenter[2] == written.parameters[2].space.basic(fromParameter: steps.center))
    }

    @Test("bad input is refused with a clear message and a data-error exit code")
    func refusals() async throws {
        let temporary = try TemporaryDirectory(prefix: "carbs-refuse")
        defer { temporary.remove() }
        let (_, database) = try await Self.tune("tiny", observations: 3, in: temporary)
        #expect(throws: (any Error).self) { try ExtrapolateCommand.parse(["--db", database, "--cost", "1e5"]).run() }
        #expect(throws: (any Error).self) { try ExtrapolateCommand.parse(["--db", database, "--cost=-1"]) }
        #expect(throws: (any Error).self) {
            try ExtrapolateCommand.parse(["--db", database, "--cost", "100", "--study-file", "x.yaml"])
        }
    }

    @Test("a warm_start names a database, and bad ones are reported with their path")
    func warmStartInStudyFiles() throws {
        let text =
            Self.studyText(name: "warm", observations: 5) + "\nwarm_start: {db: old.sqlite, fixed_values: {x3: 1}}\n"
        let study = try StudyFile.parse(yaml: text, baseDirectory: "/studies")
        #expect(study.warmStart == .init(database: "/studies/old.sqlite", fixedValues: ["x3": 1]))
        do {
            _ = try StudyFile.parse(yaml: Self.studyText(name: "warm", observations: 5) + "\nwarm_start: {dbx: 1}\n")
            Issue.record("a warm_start without db was accepted")
        } catch {
            #expect(error.problems.contains { $0.hasPrefix("warm_start.dbx: is not a known setting") })
            #expect(error.problems.contains { $0.hasPrefix("warm_start.db: is required") })
        }
        // A database that is not there stops the study before it starts with exit code 66 (the message, naming
        // warm_start.db and the path, goes to standard error); it is not taken for an empty history.
        do {
            _ = try study.warmStartHistory()
            Issue.record("a missing warm-start database was read as an empty history")
        } catch {
            #expect(TuneCommand.exitCode(for: error) == ExitCode(66))
        }
    }
}
