import CARBSCore
import CARBSReport
import Foundation
import TestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Counts elements by name and by class while parsing an SVG.
private final class SVGCounter: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var classes: [String: Int] = [:]

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements[elementName, default: 0] += 1
        for name in (attributes["class"] ?? "").split(separator: " ") { classes[String(name), default: 0] += 1 }
    }

    /// Parses `text`; nil when it is not well-formed XML.
    static func count(_ text: String) -> SVGCounter? {
        let parser = XMLParser(data: Data(text.utf8))
        let counter = SVGCounter()
        parser.delegate = counter
        return parser.parse() ? counter : nil
    }
}

@Suite("Reports")
struct ReportTests {
    static let parameters = [
        Parameter(name: "hidden_dim", space: .log(min: 4, max: 512, integer: true), center: 32),
        Parameter(name: "learning_rate", space: .log(min: 1e-5, max: 1), center: 1e-3),
        Parameter(name: "offset", space: .linear(min: -5, max: 5), center: 0),
    ]

    /// Observations on an exact power law: hidden_dim = 2·cost^0.5, learning_rate = 0.1·cost^-0.25, output falling
    /// with cost; plus dominated points and two failures.
    static func observations() -> [ReportObservation] {
        var observations: [ReportObservation] = []
        for (index, cost) in [1.0, 4, 16, 64, 256, 1024].enumerated() {
            observations.append(
                ReportObservation(
                    parameters: [
                        "hidden_dim": 2 * pow(cost, 0.5), "learning_rate": 0.1 * pow(cost, -0.25),
                        "offset": Double(index) - 2.5,
                    ],
                    output: 1 / (1 + log(cost)), cost: cost, isFailure: false))
            observations.append(
                ReportObservation(
                    parameters: ["hidden_dim": 50, "learning_rate": 0.5, "offset": 0], output: 2 + Double(index),
                    cost: cost * 1.5, isFailure: false))
        }
        observations.append(
            ReportObservation(
                parameters: ["hidden_dim": 8, "learning_rate": 0.9, "offset": 1], output: nil,
                cost: 3, isFailure: true))
        observations.append(
            ReportObservation(
                parameters: ["hidden_dim": 8, "learning_rate": 0.9, "offset": 1], output: nil,
                cost: nil, isFailure: true))
        return observations
    }

    static func report(summary: CARBSSummary? = nil) -> StudyReport {
        StudyReport(
            study: "unit", direction: .minimize, parameters: parameters, observations: observations(),
            summary: summary, settings: [.init("budget.max_observations", "14")])
    }

    @Test("the scaling fit recovers a known power law exactly")
    func powerLaw() throws {
        let costs = [0.5, 2, 10, 300, 7000, 1e6]
        let law = try #require(ScalingLaw.fit(parameter: "p", costs: costs, values: costs.map { 3 * pow($0, 0.42) }))
        #expect(abs(law.exponent - 0.42) < 1e-12)
        #expect(abs(law.coefficient - 3) < 1e-9)
        #expect(abs(law.rSquared - 1) < 1e-12)
        #expect(law.pointCount == 6)
        #expect(law.description == "p ∝ cost^0.42 (R² 1.00)")
        let decreasing = try #require(ScalingLaw.fit(parameter: "q", costs: costs, values: costs.map { pow($0, -1.5) }))
        #expect(abs(decreasing.exponent + 1.5) < 1e-12)
    }

    @Test("a noisy law has R² below 1; degenerate inputs give no fit or a constant")
    func imperfectAndDegenerate() throws {
        let costs = [1.0, 10, 100, 1000]
        let noisy = try #require(ScalingLaw.fit(parameter: "p", costs: costs, values: [1, 4, 8, 40]))
        #expect(noisy.rSquared > 0.8 && noisy.rSquared < 1)
        #expect(ScalingLaw.fit(parameter: "p", costs: [5], values: [1]) == nil)
        #expect(ScalingLaw.fit(parameter: "p", costs: [5, 5, 5], values: [1, 2, 3]) == nil)
        #expect(ScalingLaw.fit(parameter: "p", costs: [1, 2], values: [-1, -2]) == nil)
        let constant = try #require(ScalingLaw.fit(parameter: "p", costs: costs, values: [7, 7, 7, 7]))
        #expect(constant.exponent == 0)
        #expect(constant.rSquared.isNaN)
        #expect(constant.description.contains("constant"))
    }

    @Test("without a summary the frontier is the non-dominated successes, and the laws fit along it")
    func frontierAndLaws() throws {
        let report = Self.report()
        #expect(report.frontier.map(\.cost) == [1, 4, 16, 64, 256, 1024])
        let laws = Dictionary(uniqueKeysWithValues: report.scalingLaws.map { ($0.parameter, $0) })
        #expect(abs(try #require(laws["hidden_dim"]).exponent - 0.5) < 1e-12)
        #expect(abs(try #require(laws["learning_rate"]).exponent + 0.25) < 1e-12)
        #expect(laws["offset"] == nil)
        #expect(report.scalingWarnings.contains { $0.hasPrefix("offset: no scaling law") })
        #expect(!report.scalingWarnings.contains { $0.hasPrefix("warning:") })
        #expect(report.scalingLawLines.contains("  hidden_dim ∝ cost^0.50 (R² 1.00)"))
        #expect(report.frontierTable.count == 2 + 6)
    }

    @Test("too few Pareto points bring a warning")
    func fewPoints() {
        let observations = [
            ReportObservation(parameters: ["hidden_dim": 4], output: 1, cost: 1, isFailure: false),
            ReportObservation(parameters: ["hidden_dim": 8], output: 0.5, cost: 4, isFailure: false),
        ]
        let report = StudyReport(
            study: "few", direction: .minimize, parameters: [Self.parameters[0]], observations: observations)
        #expect(report.scalingLaws.count == 1)
        #expect(report.scalingWarnings.first?.contains("only 2 points") == true)
        #expect(report.scalingSVG.contains("too few to trust"))
    }

    @Test("the summary's Pareto set is the frontier when given")
    func summaryFrontier() throws {
        // CARBSSummary is Codable but has no public memberwise initialiser.
        let json = """
            {"successCount": 2, "failureCount": 0, "outstandingCount": 0, "cumulativeCost": 3, "paretoArea": 0,
             "resampleCount": 1, "paretoSet": [
                {"parameters": {"hidden_dim": 8}, "output": 0.5, "cost": 2, "count": 2, "outputSpread": 0.1},
                {"parameters": {"hidden_dim": 4}, "output": 1, "cost": 1, "count": 1, "outputSpread": 0}]}
            """
        let summary = try JSONDecoder().decode(CARBSSummary.self, from: Data(json.utf8))
        let report = Self.report(summary: summary)
        #expect(report.frontier.map(\.cost) == [1, 2])
        #expect(report.frontier.map(\.count) == [1, 2])
    }

    @Test("pareto.svg parses and has one point per observation, failures marked, and the frontier")
    func paretoSVG() throws {
        let report = Self.report()
        let counter = try #require(SVGCounter.count(report.paretoSVG))
        #expect(counter.classes["observation"] == report.observations.count)
        #expect(counter.classes["failure"] == 2)
        #expect(counter.classes["frontier"] == 1)
        #expect(counter.classes["frontier-point"] == report.frontier.count)
        #expect(counter.elements["svg"] == 1)
        #expect(report.paretoSVG.contains("cost (log scale)"))
    }

    @Test("scaling.svg parses and has one panel with a fitted line per fittable parameter")
    func scalingSVG() throws {
        let report = Self.report()
        let counter = try #require(SVGCounter.count(report.scalingSVG))
        #expect(counter.classes["fit"] == 2)
        #expect(counter.classes["frontier-point"] == report.frontier.count * report.parameters.count)
        #expect(report.scalingSVG.contains("hidden_dim ∝ cost^0.50"))
    }

    @Test("the report files are written, and the page is self-contained")
    func files() throws {
        let directory = try TemporaryDirectory(prefix: "carbs-report")
        defer { directory.remove() }
        let report = Self.report()
        let out = directory.url.appendingPathComponent("nested/report")
        let written = try report.write(to: out)
        #expect(written.map(\.lastPathComponent) == ["pareto.svg", "scaling.svg", "report.html"])
        for url in written {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
            #expect(size > 500)
        }
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<svg ").count - 1 == 2)
        #expect(html.contains("budget.max_observations"))
        #expect(html.contains("hidden_dim ∝ cost^0.50"))
        #expect(!html.contains("src=\"") && !html.contains("href=\""))
    }
}

extension ReportTests {
    @Test("the projection section: projection.svg has a band, a law and a prediction per panel, and the page shows it")
    func projection() throws {
        var report = Self.report()
        report.project(toCost: 1e4)
        let projection = try #require(report.projection)
        #expect(projection.cost == 1e4)
        let counter = try #require(SVGCounter.count(report.projectionSVG))
        let panels = 1 + report.parameters.count
        #expect(counter.classes["band"] == panels)
        #expect(counter.classes["law"] ?? 0 >= panels, "each panel has its law, split where the frontier ends")
        #expect(counter.classes["prediction"] == 2 * panels)
        #expect(counter.classes["frontier-point"] == report.frontier.count * panels)
        let directory = try TemporaryDirectory(prefix: "carbs-projection")
        defer { directory.remove() }
        let written = try report.write(to: directory.url)
        #expect(written.map(\.lastPathComponent) == ["pareto.svg", "scaling.svg", "projection.svg", "report.html"])
        let html = report.html
        #expect(html.contains("<h2>Projection</h2>"))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 3)
        #expect(html.contains("extrapolated to cost 1.000e+04"))
    }

    @Test("without enough frontier points the projection section says why")
    func noProjection() throws {
        var report = Self.report()
        report.frontier = Array(report.frontier.prefix(3))
        report.project()
        #expect(report.projection == nil)
        let note = try #require(report.projectionNote)
        #expect(note.contains("3 points on its Pareto frontier; extrapolating needs at least 5"))
        #expect(report.html.contains("3 points on its Pareto frontier"))
        #expect(SVGCounter.count(report.projectionSVG) != nil)
    }
}
