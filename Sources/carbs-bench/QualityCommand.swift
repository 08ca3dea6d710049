import ArgumentParser
import CARBSBenchmarkProblems
import CARBSCore
import Foundation
import Synchronization

/// `carbs-bench quality`: frontier regret of each problem × mode × variant × seed (`docs/benchmarks.md`).
struct QualityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Run the benchmark problems and summarise capped and frontier regret over seeds.",
        discussion: """
            Writes one JSON-lines record file per run, <problem>_<mode>_<variant>_seed<k>.jsonl, into --out; \
            prints one progress line per finished run on stderr and a summary table on stdout.
            """
    )

    @Option(help: "Comma-separated problems.")
    var problems = "lr_width,branin_cost,hartmann6_cost"

    @Option(help: "Comma-separated modes: sequential, parallel-8, parallel-32.")
    var modes = "sequential,parallel-8,parallel-32"

    @Option(help: "Comma-separated variants: carbs (defaults), parity (referenceParity), random (baseline).")
    var variants = "carbs,parity,random"

    @Option(help: "Seeds, e.g. 0-9 or 0,3,5-7.")
    var seeds = "0-9"

    @Option(help: "Directory for the record files.")
    var out = "bench-out/quality"

    @Option(help: "Runs executed at once, on separate threads.")
    var jobs = 1

    @Option(help: "Observations per run (the benchmark's is 100).")
    var observations = 100

    func validate() throws {
        _ = try parsedRuns()
        guard jobs >= 1 else { throw ValidationError("--jobs: \(jobs) is below 1") }
        guard observations >= 1 else { throw ValidationError("--observations: \(observations) is below 1") }
    }

    /// One run to make: problem, mode, variant, seed.
    struct RunSpec: Sendable {
        var problem: any BenchmarkProblem
        var mode: BenchmarkMode
        var variant: BenchmarkVariant
        var seed: UInt64
        var observations = 100

        var fileName: String { "\(problem.name)_\(mode.rawValue)_\(variant.rawValue)_seed\(seed).jsonl" }
    }

    /// What a finished run contributes to the summary.
    struct RunOutcome: Sendable {
        var spec: RunSpec
        var regret: FrontierRegret
        var suggestSeconds: [Double]
        var wallSeconds: Double
    }

    func parsedRuns() throws -> [RunSpec] {
        let problemList = try ListParsing.values(
            problems, option: "--problems", valid: BenchmarkProblems.all.map(\.name), BenchmarkProblems.named)
        let modeList = try ListParsing.values(
            modes, option: "--modes", valid: BenchmarkMode.allCases.map(\.rawValue), BenchmarkMode.init(rawValue:))
        let variantList = try ListParsing.values(
            variants, option: "--variants", valid: BenchmarkVariant.allCases.map(\.rawValue),
            BenchmarkVariant.init(rawValue:))
        let seedList = try ListParsing.seeds(seeds)
        var specs: [RunSpec] = []
        for problem in problemList {
            for mode in modeList {
                for variant in variantList {
                    for seed in seedList {
                        specs.append(
                            RunSpec(
                                problem: problem, mode: mode, variant: variant, seed: seed,
                                observations: observations))
                    }
                }
            }
        }
        return specs
    }

    func run() throws {
        // One thread for the linear algebra: reproducible records, and the figures are per core.
        NumericThreads.set(1)
        let specs = try parsedRuns()
        let directory = URL(fileURLWithPath: out, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let next = Mutex(0)
        let outcomes = Mutex([RunOutcome?](repeating: nil, count: specs.count))
        let firstError = Mutex<(any Error)?>(nil)
        let started = ContinuousClock.now
        // Each worker thread takes the next run until none is left; runs are independent and deterministic, so
        // the result does not depend on how they are spread over threads.
        DispatchQueue.concurrentPerform(iterations: min(jobs, specs.count)) { _ in
            while true {
                let index = next.withLock { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard index < specs.count, firstError.withLock({ $0 == nil }) else { return }
                do {
                    let outcome = try Self.execute(specs[index], directory: directory)
                    outcomes.withLock { $0[index] = outcome }
                    Self.reportProgress(
                        outcome, finished: outcomes.withLock { $0.count { $0 != nil } },
                        total: specs.count)
                } catch {
                    firstError.withLock { $0 = $0 ?? error }
                }
            }
        }
        if let error = firstError.withLock({ $0 }) { throw error }
        let finished = outcomes.withLock { $0.compactMap { $0 } }
        Self.standardError(
            "all \(finished.count) runs in \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s; records in \(directory.path)"
        )
        print(Self.summaryTable(finished))
    }

    static func execute(_ spec: RunSpec, directory: URL) throws -> RunOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let records = try BenchmarkRun(
            problem: spec.problem, mode: spec.mode, seed: spec.seed, observationCount: spec.observations
        ).run(spec.variant)
        let wallSeconds = (clock.now - start).seconds
        try BenchmarkRecord.jsonLines(records).write(
            to: directory.appendingPathComponent(spec.fileName), atomically: true, encoding: .utf8)
        return RunOutcome(
            spec: spec, regret: spec.problem.frontierRegret(observations: records),
            suggestSeconds: records.map(\.suggestSeconds), wallSeconds: wallSeconds)
    }

    static func reportProgress(_ outcome: RunOutcome, finished: Int, total: Int) {
        let spec = outcome.spec
        standardError(
            "[\(finished)/\(total)] \(spec.problem.name) \(spec.mode.rawValue) \(spec.variant.rawValue) seed \(spec.seed): "
                + "capped regret \(format(outcome.regret.cappedMean)), frontier regret \(format(outcome.regret.mean)), "
                + "\(outcome.regret.emptyLevelCount) empty levels, "
                + "\(String(format: "%.2f", outcome.wallSeconds)) s")
    }

    /// One row per problem × mode × variant: medians and spread over seeds.
    static func summaryTable(_ outcomes: [RunOutcome]) -> String {
        QualitySummary(runs: outcomes.map { outcome in
            QualitySummary.Run(
                problem: outcome.spec.problem.name, mode: outcome.spec.mode.rawValue,
                variant: outcome.spec.variant.rawValue, seed: outcome.spec.seed, regret: outcome.regret,
                suggestSeconds: outcome.suggestSeconds)
        }).table
    }

    static func format(_ value: Double) -> String {
        value.isFinite ? String(format: "%.3f", value) : "inf"
    }

    static func standardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
