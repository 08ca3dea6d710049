import Foundation
import Testing
@testable import CARBSCore

@Suite("Groups and the Pareto set")
struct ParetoFrontTests {
    /// A success at a one-dimensional input (the input doubles as the group's identity).
    func run(_ x: Double, output: Double, cost: Double) -> ObservationRecord {
        ObservationRecord(suggestionID: nil, input: [x], output: output, cost: cost, isFailure: false)
    }

    @Test("equal inputs form one group with mean output and cost")
    func grouping() {
        let groups = ObservationGroup.grouping(
            [run(1, output: 1, cost: 10), run(2, output: 5, cost: 20), run(1, output: 3, cost: 12)], sign: 1)
        #expect(groups.count == 2)
        #expect(groups[0].members == [0, 2])
        #expect(groups[0].meanOutput == 2)
        #expect(groups[0].maxOutput == 3)
        #expect(groups[0].meanCost == 11)
    }

    /// Four points (maximise). A is cheap and sampled twice (outputs 1.0 and 1.4, mean 1.2). B is one lucky run
    /// whose 1.3 beats A's mean but not A's best single run 1.4; C is sampled twice with mean 1.5; D is one run
    /// of 2.0, beating C's best single 1.6. Conservative: A, C, D; B dropped. Plain: A, B, C, D.
    func example() -> [ObservationRecord] {
        [
            run(0, output: 1.0, cost: 1), run(0, output: 1.4, cost: 1),  // A
            run(1, output: 1.3, cost: 2),  // B
            run(2, output: 1.4, cost: 3), run(2, output: 1.6, cost: 3),  // C
            run(3, output: 2.0, cost: 4),  // D
        ]
    }

    @Test("conservative mode keeps A, C, D and drops the lucky single run B")
    func conservative() {
        let front = ParetoFront(successes: example(), sign: 1, minParetoCostFraction: 0.2, conservative: true)
        #expect(front.groups.map { $0.input[0] } == [0, 2, 3])
    }

    @Test("plain mode keeps every improving group")
    func plain() {
        let front = ParetoFront(successes: example(), sign: 1, minParetoCostFraction: 0.2, conservative: false)
        #expect(front.groups.map { $0.input[0] } == [0, 1, 2, 3])
    }

    @Test("minimisation flips the order")
    func minimise() {
        let runs = [run(0, output: 5, cost: 1), run(1, output: 3, cost: 2), run(2, output: 4, cost: 3), run(3, output: 1, cost: 4)]
        let front = ParetoFront(successes: runs, sign: -1, minParetoCostFraction: 0, conservative: false)
        #expect(front.groups.map { $0.input[0] } == [0, 1, 3])
        #expect(front.groups.allSatisfy { $0.meanOutput <= 0 })
    }

    @Test("duplicate inputs with different costs still give a Pareto set (the reference crashes here)")
    func duplicateInputsDoNotCrash() {
        // Every input observed twice at very different costs: each group's mean cost lies above the 0.2
        // quantile of the individual costs, so no group is below the cheap floor.
        let runs = [
            run(0, output: 1, cost: 1), run(0, output: 1.1, cost: 100),
            run(1, output: 2, cost: 2), run(1, output: 2.1, cost: 200),
        ]
        let floor = Statistics.quantile(runs.map(\.cost), 0.2)
        #expect(ObservationGroup.grouping(runs, sign: 1).allSatisfy { $0.meanCost > floor })
        let front = ParetoFront(successes: runs, sign: 1, minParetoCostFraction: 0.2, conservative: true)
        #expect(front.groups.map { $0.input[0] } == [0, 1])
    }

    @Test("no member of the Pareto set dominates another")
    func noDomination() {
        var generator = SeededGenerator(seed: 7)
        let runs = (0..<200).map { i in
            run(Double(i), output: generator.nextUniform() * 10, cost: 1 + generator.nextUniform() * 100)
        }
        for conservative in [true, false] {
            let front = ParetoFront(successes: runs, sign: 1, minParetoCostFraction: 0.2, conservative: conservative)
            #expect(!front.groups.isEmpty)
            for (a, b) in zip(front.groups, front.groups.dropFirst()) {
                #expect(b.meanCost > a.meanCost)
                #expect(b.meanOutput > a.meanOutput)
            }
        }
    }

    @Test("pareto area walks the groups in cost order")
    func area() {
        let runs = [run(0, output: 1, cost: 1), run(1, output: 2, cost: 3), run(2, output: 4, cost: 6)]
        let front = ParetoFront(successes: runs, sign: 1, minParetoCostFraction: 0, conservative: false)
        #expect(front.area(sign: 1) == (3 - 1) * 1 + (6 - 3) * 2)
    }
}
