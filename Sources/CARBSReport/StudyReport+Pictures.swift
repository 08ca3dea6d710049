import CARBSCore
import Foundation

extension StudyReport {
    /// Every observation as cost (log axis) against output, coloured by order, failures marked as red crosses in
    /// a band above the plot, and the Pareto frontier as a step line.
    ///
    /// Each observation is one element of class `observation` (a `circle` for a success, a `path` for a failure).
    public var paretoSVG: String {
        let width = 780.0
        let height = 500.0
        let left = 84.0
        let right = 570.0
        let failures = observations.filter { !$0.isPlottableSuccess }
        let top = failures.isEmpty ? 70.0 : 96.0
        let bottom = height - 62
        let successes = observations.enumerated().filter { $0.element.isPlottableSuccess }
        let outputs = successes.map { $0.element.output! } + frontier.map(\.output)
        let costs = observations.compactMap(\.cost).filter { $0 > 0 && $0.isFinite } + frontier.map(\.cost)
        let logOutput = Self.prefersLogAxis(outputs)
        let x = ChartAxis(covering: costs, isLog: true, start: left, end: right)
        let y = ChartAxis(covering: outputs, isLog: logOutput, start: bottom, end: top)
        var svg = SVGDocument(width: width, height: height)
        svg.append(
            "<defs><linearGradient id=\"order\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">"
                + stride(from: 0.0, through: 1.0, by: 0.25).map {
                    "<stop offset=\"\($0)\" stop-color=\"\(Colormap.viridis($0))\"/>"
                }.joined() + "</linearGradient></defs>")
        svg.text("\(study): cost against output", x: left, y: 26, size: 17, anchor: "start", weight: "bold")
        let better = direction == .minimize ? "lower is better" : "higher is better"
        let repeated = frontier.contains { $0.count > 1 } ? " (repeated runs: their mean)" : ""
        svg.text(
            "\(observations.count) observations · \(failures.count) failed · \(frontier.count) on the Pareto "
                + "frontier\(repeated) · \(better)", x: left, y: 46, size: 12, anchor: "start", fill: "#555555")
        svg.axes(
            x: x, y: y, xTitle: "cost (log scale)",
            yTitle: "output" + (logOutput ? " (log scale, " : " (") + better + ")")

        if !failures.isEmpty {
            let bandTop = top - 26
            svg.rect(x: left, y: bandTop, width: right - left, height: 20, fill: "#fbeaea", stroke: "#e8b4b4")
            svg.text("failed", x: left - 8, y: bandTop + 14, size: 11, anchor: "end", fill: SVGDocument.failure)
        }

        // The frontier, under the points.
        if let first = frontier.first {
            let f = Formatting.coordinate
            var path = "M\(f(x.position(first.cost))),\(f(y.position(first.output)))"
            for point in frontier.dropFirst() {
                path += "H\(f(x.position(point.cost)))V\(f(y.position(point.output)))"
            }
            path += "H\(f(right))"
            svg.append(
                "<path class=\"frontier\" d=\"\(path)\" fill=\"none\" stroke=\"\(SVGDocument.frontier)\" "
                    + "stroke-width=\"2\" stroke-opacity=\"0.8\"/>")
        }

        let last = Double(max(observations.count - 1, 1))
        for (index, observation) in observations.enumerated() {
            let label = Self.tooltip(index: index, observation)
            if observation.isPlottableSuccess {
                let f = Formatting.coordinate
                svg.append(
                    "<circle class=\"observation\" data-index=\"\(index)\" cx=\"\(f(x.position(observation.cost!)))\" "
                        + "cy=\"\(f(y.position(observation.output!)))\" r=\"4.5\" "
                        + "fill=\"\(Colormap.viridis(Double(index) / last))\" stroke=\"#ffffff\" "
                        + "stroke-width=\"0.7\" fill-opacity=\"0.9\"><title>\(label)</title></circle>")
            } else {
                let px = observation.cost.flatMap { $0 > 0 && $0.isFinite ? x.position($0) : nil } ?? left + 8
                let py = top - 16
                svg.append(
                    "<path class=\"observation failure\" data-index=\"\(index)\" "
                        + "d=\"\(SVGDocument.crossPath(x: px, y: py, size: 4.5))\" stroke=\"\(SVGDocument.failure)\" "
                        + "stroke-width=\"2\" fill=\"none\"><title>\(label)</title></path>")
            }
        }
        for point in frontier {
            let f = Formatting.coordinate
            svg.append(
                "<circle class=\"frontier-point\" cx=\"\(f(x.position(point.cost)))\" "
                    + "cy=\"\(f(y.position(point.output)))\" r=\"7.5\" fill=\"none\" "
                    + "stroke=\"\(SVGDocument.frontier)\" stroke-width=\"1.5\"/>")
        }

        // Legend.
        let lx = right + 28
        var ly = top + 6
        svg.text("Legend", x: lx, y: ly, size: 13, anchor: "start", weight: "bold")
        ly += 22
        svg.text("observations, by order", x: lx, y: ly, size: 12, anchor: "start")
        ly += 8
        svg.rect(x: lx, y: ly, width: 150, height: 12, fill: "url(#order)", stroke: "#999999")
        ly += 26
        svg.text("first", x: lx, y: ly, size: 11, anchor: "start", fill: "#555555")
        svg.text("#\(observations.count)", x: lx + 150, y: ly, size: 11, anchor: "end", fill: "#555555")
        ly += 26
        svg.line(lx, ly - 4, lx + 26, ly - 4, stroke: SVGDocument.frontier, width: 2)
        svg.append(
            "<circle cx=\"\(Formatting.coordinate(lx + 13))\" cy=\"\(Formatting.coordinate(ly - 4))\" r=\"6\" "
                + "fill=\"none\" stroke=\"\(SVGDocument.frontier)\" stroke-width=\"1.5\"/>")
        svg.text("Pareto frontier (\(frontier.count))", x: lx + 34, y: ly, size: 12, anchor: "start")
        ly += 24
        svg.append(
            "<path d=\"\(SVGDocument.crossPath(x: lx + 13, y: ly - 4, size: 4.5))\" "
                + "stroke=\"\(SVGDocument.failure)\" stroke-width=\"2\" fill=\"none\"/>")
        svg.text("failed (\(failures.count))", x: lx + 34, y: ly, size: 12, anchor: "start")
        return svg.rendered
    }

    /// One panel per parameter: its value against cost along the Pareto frontier, with the fitted power law.
    public var scalingSVG: String {
        let grid = PanelGrid(columns: min(max(parameters.count, 1), 3))
        let size = grid.size(panels: parameters.count)
        var svg = SVGDocument(width: size.width, height: size.height)
        svg.text(
            "\(study): how each parameter scales with cost", x: 20, y: 26, size: 17, anchor: "start",
            weight: "bold")
        let subtitle =
            frontier.count < Self.minimumTrustedPoints
            ? "only \(frontier.count) Pareto points: too few to trust these fits"
            : "\(frontier.count) Pareto points (dots) · dashed line: least-squares fit of log value on log cost"
        svg.text(
            subtitle, x: 20, y: 46, size: 12, anchor: "start",
            fill: frontier.count < Self.minimumTrustedPoints ? SVGDocument.failure : "#555555")
        let laws = Dictionary(scalingLaws.map { ($0.parameter, $0) }, uniquingKeysWith: { a, _ in a })
        let costs = frontier.map(\.cost)
        for (index, parameter) in parameters.enumerated() {
            let frame = grid.frame(index)
            let (left, right, top, bottom) = (frame.left, frame.right, frame.top, frame.bottom)
            let values = frontier.map { $0.parameters[parameter.name] ?? .nan }
            let logValues = !values.isEmpty && values.allSatisfy { $0 > 0 && $0.isFinite }
            let x = ChartAxis(covering: costs, isLog: true, start: left, end: right, padding: 0.08)
            let y = ChartAxis(covering: values, isLog: logValues, start: bottom, end: top, padding: 0.1)
            let law = laws[parameter.name]
            let reason = values.contains { $0 <= 0 } ? "values ≤ 0" : "too few points"
            let title = law?.description ?? "\(parameter.name): no fit (\(reason))"
            svg.text(title, x: (left + right) / 2, y: frame.titleY, size: 12.5, weight: "bold")
            svg.axes(x: x, y: y, xTitle: "cost", yTitle: parameter.name, tickSize: 10)
            if let law {
                let f = Formatting.coordinate
                svg.append(
                    "<clipPath id=\"panel-\(index)\"><rect x=\"\(f(left))\" y=\"\(f(top))\" "
                        + "width=\"\(f(right - left))\" height=\"\(f(bottom - top))\"/></clipPath>")
                let samples = (0...40).map { i -> String in
                    let c = x.lower * Foundation.pow(x.upper / x.lower, Double(i) / 40)
                    return "\(f(x.position(c))),\(f(y.position(law.value(atCost: c))))"
                }
                svg.append(
                    "<polyline class=\"fit\" points=\"\(samples.joined(separator: " "))\" fill=\"none\" "
                        + "stroke=\"#d62728\" stroke-width=\"1.8\" stroke-dasharray=\"6 3\" "
                        + "clip-path=\"url(#panel-\(index))\"/>")
            }
            for (point, value) in zip(frontier, values) where value.isFinite {
                let f = Formatting.coordinate
                let colour = "#3b528b"
                svg.append(
                    "<circle class=\"frontier-point\" cx=\"\(f(x.position(point.cost)))\" "
                        + "cy=\"\(f(y.position(value)))\" r=\"4.5\" fill=\"\(colour)\" stroke=\"#222222\" "
                        + "stroke-width=\"0.7\"><title>cost \(Formatting.number(point.cost)), "
                        + "\(Formatting.escaped(parameter.name)) \(Formatting.number(value))</title></circle>")
            }
        }
        return svg.rendered
    }

    static func prefersLogAxis(_ values: [Double]) -> Bool {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), low > 0 else { return false }
        return high / low >= 20
    }

    static func tooltip(index: Int, _ observation: ReportObservation) -> String {
        var parts = ["#\(index + 1)"]
        if observation.isFailure { parts.append("failed") }
        if let cost = observation.cost { parts.append("cost \(Formatting.number(cost))") }
        if let output = observation.output { parts.append("output \(Formatting.number(output))") }
        parts += observation.parameters.sorted { $0.key < $1.key }.map { "\($0.key) \(Formatting.number($0.value))" }
        return Formatting.escaped(parts.joined(separator: ", "))
    }
}
