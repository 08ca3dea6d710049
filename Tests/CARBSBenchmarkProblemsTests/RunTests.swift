import CARBSBenchmarkProblems
import CARBSCore
import Testing

@Suite("Random search and the run driver")
struct RunTests {
    @Test("random search is seeded and stays within bounds", arguments: BenchmarkProblems.all.map(\.name))
    func randomSearch(problemName: String) throws {
        let problem = try #require(BenchmarkProblems.named(problemName))
        var first = RandomSearch(parameters: problem.parameters, seed: 7)
        var second = RandomSearch(parameters: problem.parameters, seed: 7)
        var other = RandomSearch(parameters: problem.parameters, seed: 8)
        let a = first.suggest(count: 300)
        #expect(a.map(\.parameters) == second.suggest(count: 300).map(\.parameters))
        #expect(a.map(\.parameters) != other.suggest(count: 300).map(\.parameters))
        #expect(Set(a.map(\.id)).count == 300)
        for parameter in problem.parameters {
            let range = RandomSearch.samplingRange(of: parameter)
            let bounds = parameter.space.basicBounds
            let values = a.map { $0.parameters[parameter.name]! }
            for value in values {
                let basic = parameter.space.basic(fromParameter: value)
                #expect(basic > bounds.lower && basic < bounds.upper)
                #expect(basic >= range.lower - 0.1 && basic <= range.upper + 0.1)
                if parameter.space.isInteger { #expect(value == value.rounded()) }
            }
            // Samples spread over the range, not stuck at one point.
            let basics = values.map { parameter.space.basic(fromParameter: $0) }
            #expect(basics.max()! - basics.min()! > 0.8 * (range.upper - range.lower))
        }
    }

    @Test("an unbounded side is sampled 2 basic units from the center")
    func unboundedRange() {
        let learningRate = LRWidthProblem().parameters[0]
        let range = RandomSearch.samplingRange(of: learningRate)
        #expect(abs(range.lower - (-7)) < 1e-12 && abs(range.upper - (-3)) < 1e-12)
    }

    /// Random search that checks the driver's protocol: observes only pending ids, oldest first.
    struct Spy: BenchmarkOptimizer {
        var inner: RandomSearch
        var pending: [String] = []
        var maxPending = 0
        var pendingAfterEachObservation: [Int] = []
        var suggestCalls: [Int] = []

        mutating func suggest(count: Int) throws -> [BenchmarkSuggestion] {
            suggestCalls.append(count)
            let batch = inner.suggest(count: count)
            pending += batch.map(\.id)
            maxPending = max(maxPending, pending.count)
            return batch
        }

        mutating func observe(id: String, output: Double, cost: Double) throws {
            #expect(pending.first == id, "observes the oldest pending suggestion first")
            pending.removeFirst()
            pendingAfterEachObservation.append(pending.count)
        }
    }

    @Test("parallel-8 keeps 8 pending and yields 100 records", arguments: BenchmarkMode.allCases)
    func driver(mode: BenchmarkMode) throws {
        let problem = BraninCostProblem()
        var spy = Spy(inner: RandomSearch(parameters: problem.parameters, seed: 0))
        let run = BenchmarkRun(problem: problem, mode: mode, seed: 0)
        let records = try run.run(&spy)
        #expect(records.count == 100)
        #expect(records.map(\.index) == Array(0..<100))
        #expect(records.allSatisfy { $0.problem == "branin_cost" && $0.mode == mode.rawValue && !$0.failed })
        #expect(spy.pending.isEmpty)
        #expect(spy.maxPending == mode.pendingCount)
        #expect(spy.suggestCalls.reduce(0, +) == 100)
        #expect(spy.suggestCalls.first == mode.pendingCount)
        // While suggestions remain to be made, pending refills to the full count after each observation.
        let refills = 100 - mode.pendingCount
        #expect(spy.pendingAfterEachObservation.prefix(refills).allSatisfy { $0 == mode.pendingCount - 1 })
        #expect(
            Array(spy.pendingAfterEachObservation.suffix(mode.pendingCount))
                == Array((0..<mode.pendingCount).reversed()))
        // Records carry the evaluated result of their own parameters.
        for record in records {
            #expect(record.cost == problem.cost(record.params))
            #expect(abs(record.output! - problem.noiseFreeOutput(record.params)) < 1)
            #expect(record.suggestSeconds >= 0 && record.observeSeconds >= 0)
        }
        // Deterministic: the same seed gives the same records, timings aside.
        var again = RandomSearch(parameters: problem.parameters, seed: 0)
        let repeated = try run.run(&again)
        #expect(repeated.map(\.params) == records.map(\.params))
        #expect(repeated.map(\.output) == records.map(\.output))
    }
}
