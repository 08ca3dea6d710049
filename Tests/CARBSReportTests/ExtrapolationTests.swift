import CARBSCore
import CARBSReport
import Foundation
import Testing

@Suite("Laws and their extrapolation")
struct ExtrapolationTests {
    /// Frontier points on exact laws in each kind of space, with a loss E + A·cost^(−α) that falls with cost.
    static func exactFrontier(count: Int = 12) -> [StudyReport.FrontierPoint] {
        (0..<count).map { i in
            let cost = 10 * pow(2, Double(i))
            let u = log(cost)
            return StudyReport.FrontierPoint(
                parameters: [
                    "width": 3 * pow(cost, 0.4),
                    "offset": -3 + 0.5 * u,
                    "dropout": 1 / (pow(10, -(-2 + 0.1 * u)) + 1),
                ], output: 0.5 + 4 * pow(cost, -0.3), cost: cost)
        }
    }

    static let parameters = [
        Parameter(name: "width", space: .log(min: 1, max: 1e6, integer: true), center: 10),
        Parameter(name: "offset", space: .linear(min: -10, max: 10), center: 0),
        Parameter(name: "dropout", space: .logit(min: 0.001, max: 0.999), center: 0.1),
    ]

    static func report(_ frontier: [StudyReport.FrontierPoint], parameters: [Parameter] = parameters) -> StudyReport {
        let observations = frontier.map {
            ReportObservation(parameters: $0.parameters, output: $0.output, cost: $0.cost, isFailure: false)
        }
        return StudyReport(study: "exact", direction: .minimize, parameters: parameters, observations: observations)
    }

    /// Fewer resamples than the default: these tests check the laws, not the intervals' coverage.
    static let quick: Extrapolation.Configuration = {
        var configuration = Extrapolation.Configuration()
        configuration.resamples = 200
        return configuration
    }()

    @Test("a least-squares line through exact points is exact, with R² 1")
    func exactLine() throws {
        let line = try #require(LeastSquaresLine.fit(x: [0, 1, 2, 3], y: [1, 3, 5, 7]))
        #expect(abs(line.slope - 2) < 1e-12)
        #expect(abs(line.intercept - 1) < 1e-12)
        #expect(abs(line.rSquared - 1) < 1e-12)
        #expect(LeastSquaresLine.fit(x: [2, 2, 2], y: [1, 2, 3]) == nil)
    }

    @Test("each space's law is fitted in that space, negative linear values included")
    func lawsInTheirOwnSpaces() throws {
        let frontier = Self.exactFrontier()
        let cost = 10 * frontier.last!.cost
        let extrapolation = try Self.report(frontier).extrapolation(toCost: cost, configuration: Self.quick)
        let byName = Dictionary(uniqueKeysWithValues: extrapolation.parameters.map { ($0.name, $0) })
        let width = try #require(byName["width"])
        #expect(width.space == .log)
        #expect(abs(width.law.slope - 0.4) < 1e-9)
        #expect(width.value == (3 * pow(cost, 0.4)).rounded(), "an integer space rounds the value")
        let offset = try #require(byName["offset"])
        #expect(offset.space == .linear)
        #expect(frontier.contains { $0.parameters["offset"]! < 0 }, "the linear parameter takes negative values")
        #expect(abs(offset.law.slope - 0.5) < 1e-9)
        #expect(abs(offset.value - (-3 + 0.5 * log(cost))) < 1e-9)
        let dropout = try #require(byName["dropout"])
        #expect(dropout.space == .logit)
        #expect(abs(dropout.law.slope - 0.1) < 1e-9)
        #expect(abs(dropout.value - 1 / (pow(10, -(-2 + 0.1 * log(cost))) + 1)) < 1e-9)
        for projection in extrapolation.parameters {
            #expect(!projection.isConstant, "\(projection.name)")
            #expect(projection.interval.contains(projection.value), "\(projection.name)")
            #expect(projection.pointCount == frontier.count)
        }
    }

    @Test("a value past its bound is held at the bound, with a warning")
    func clampedAtTheBound() throws {
        var parameters = Self.parameters
        parameters[0].space.max = 500
        let frontier = Self.exactFrontier()
        let extrapolation = try Self.report(frontier, parameters: parameters).extrapolation(
            toCost: 1e6, configuration: Self.quick)
        let width = extrapolation.parameters[0]
        #expect(width.value == 500)
        #expect(width.interval.upper <= 500)
        #expect(width.clampedTo == 500)
        #expect(extrapolation.warnings.contains { $0.contains("width") && $0.contains("bound") })
    }

    @Test("a parameter that does not move with cost is reported constant, at its frontier median")
    func constantParameter() throws {
        var generator = SeededGenerator(seed: 7)
        var frontier = Self.exactFrontier(count: 20)
        for i in frontier.indices {
            frontier[i].parameters["offset"] = 2 + 0.3 * generator.nextNormal()
        }
        let extrapolation = try Self.report(frontier).extrapolation(toCost: 1e8, configuration: Self.quick)
        let offset = extrapolation.parameters[1]
        #expect(offset.isConstant)
        #expect(offset.slopeInterval.contains(0))
        let values = frontier.map { $0.parameters["offset"]! }.sorted()
        #expect(abs(offset.value - (values[9] + values[10]) / 2) < 1e-12)
        #expect(offset.interval.contains(offset.value))
    }

    @Test("the output law recovers E, A and α from exact points, and an outlier does not drag it")
    func outputLaw() throws {
        let costs = (0..<12).map { 10 * pow(2, Double($0)) }
        var outputs = costs.map { 0.5 + 4 * pow($0, -0.3) }
        let (law, residuals) = try #require(
            SaturatingPowerLaw.fit(costs: costs, outputs: outputs, direction: .minimize))
        #expect(residuals == .logarithmic)
        #expect(abs(law.limit - 0.5) < 1e-3)
        #expect(abs(law.exponent - 0.3) < 1e-3)
        #expect(abs(law.value(atCost: 1e6) - (0.5 + 4 * pow(1e6, -0.3))) < 1e-3)
        outputs[6] *= 1.5
        let (robust, _) = try #require(SaturatingPowerLaw.fit(costs: costs, outputs: outputs, direction: .minimize))
        #expect(abs(robust.value(atCost: 1e6) - (0.5 + 4 * pow(1e6, -0.3))) < 0.02)
    }

    @Test("a rising output (maximise) with values ≤ 0 is fitted on relative residuals")
    func risingOutput() throws {
        let costs = (0..<12).map { 10 * pow(2, Double($0)) }
        let outputs = costs.map { 1 - 6 * pow($0, -0.25) }
        #expect(outputs.contains { $0 < 0 })
        let (law, residuals) = try #require(
            SaturatingPowerLaw.fit(costs: costs, outputs: outputs, direction: .maximize))
        #expect(residuals == .relative)
        #expect(abs(law.limit - 1) < 1e-3)
        #expect(abs(law.exponent - 0.25) < 1e-3)
    }

    @Test("the same seed gives the same intervals")
    func deterministic() throws {
        let report = Self.report(Self.exactFrontier())
        var configuration = Extrapolation.Configuration()
        configuration.resamples = 200
        let a = try report.extrapolation(toCost: 1e6, configuration: configuration)
        let b = try report.extrapolation(toCost: 1e6, configuration: configuration)
        #expect(a == b)
    }

    @Test("past ten times the dearest run there is a warning; the backtest runs")
    func ratioWarningAndBacktest() throws {
        let frontier = Self.exactFrontier()
        let report = Self.report(frontier)
        let near = try report.extrapolation(toCost: 5 * frontier.last!.cost, configuration: Self.quick)
        #expect(!near.warnings.contains { $0.contains("dearest observed") })
        let far = try report.extrapolation(toCost: 50 * frontier.last!.cost, configuration: Self.quick)
        #expect(far.warnings.first?.contains("50.0× the dearest observed run") == true)
        let backtest = try #require(far.backtest)
        #expect(backtest.holdOutCount == 2)
        #expect(backtest.fittedPointCount == 10)
        #expect(backtest.output.insideCount == 2)
        #expect(backtest.output.medianError < 1e-3, "exact laws predict exactly")
    }

    @Test("bad input is refused with a message naming it")
    func refusals() throws {
        let frontier = Self.exactFrontier()
        let report = Self.report(frontier)
        #expect(throws: ReportError.self) { try report.extrapolation(toCost: .nan) }
        do {
            _ = try report.extrapolation(toCost: 5)
            Issue.record("a cost below the cheapest frontier point was accepted")
        } catch {
            #expect(error.code == .costBelowFrontier)
            #expect(error.message.contains("--cost: 5 is below the cheapest frontier point's cost 10"))
        }
        do {
            _ = try Self.report(Array(frontier.prefix(4))).extrapolation(toCost: 1e6, configuration: Self.quick)
            Issue.record("a frontier of four points was accepted")
        } catch {
            #expect(error.code == .tooFewFrontierPoints)
            #expect(error.message.contains("4 points on its Pareto frontier; extrapolating needs at least 5"))
        }
        var missing = frontier
        for i in missing.indices { missing[i].parameters["width"] = nil }
        do {
            _ = try Self.report(missing).extrapolation(toCost: 1e6, configuration: Self.quick)
            Issue.record("a parameter with no value on the frontier was accepted")
        } catch {
            #expect(error.code == .parameterNotFittable)
            #expect(error.message.hasPrefix("parameters.width: cannot be fitted: only 0 of the 12 frontier points"))
        }
    }
}
