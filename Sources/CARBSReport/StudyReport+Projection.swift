import CARBSCore
import Foundation

extension StudyReport {
    /// The projection picture: one panel for the output and one per parameter, each with the frontier points, the
    /// fitted law (solid within the frontier, dashed beyond it) and its bootstrap band out to the target cost, where
    /// a vertical line marks the cost and a bar the predicted interval.
    ///
    /// Bands are `path` elements of class `band`, laws `polyline`s of class `law`, predictions of class
    /// `prediction`. Without a projection the picture says why there is none.
    public var projectionSVG: String {
        guard let projection else {
            var svg = SVGDocument(width: 620, height: 90)
            svg.text("\(study): no projection", x: 20, y: 30, size: 17, anchor: "start", weight: "bold")
            svg.text(
                projectionNote ?? "no cost to project to", x: 20, y: 58, size: 12, anchor: "start",
                fill: SVGDocument.failure)
            return svg.rendered
        }
        let panels = 1 + parameters.count
        let grid = PanelGrid(columns: min(panels, 3))
        let size = grid.size(panels: panels)
        var svg = SVGDocument(width: size.width, height: size.height)
        svg.text(
            "\(study): projected to cost \(Formatting.number(projection.cost))", x: 20, y: 26, size: 17,
            anchor: "start", weight: "bold")
        let percent = "\(Int((projection.level * 100).rounded()))%"
        svg.text(
            "\(String(format: "%.1f", projection.ratio))× the dearest run · dots: \(projection.frontierPointCount) "
                + "Pareto points · line: fitted law (dashed beyond the frontier) · shaded: the law's \(percent) "
                + "bootstrap band · bar: \(percent) prediction interval",
            x: 20, y: 46, size: 12, anchor: "start",
            fill: projection.ratio > Extrapolation.defaultWarningRatio ? SVGDocument.failure : "#555555")
        let costs = frontier.map(\.cost) + [projection.cost]
        let samples = (0...48).map { i in
            projection.frontierCosts.lower
                * Foundation.pow(projection.cost / projection.frontierCosts.lower, Double(i) / 48)
        }
        let outputBands = samples.map { projection.output.band(atCost: $0, level: projection.level) }
        var specs: [PanelSpec] = [
            PanelSpec(
                title: "output ≈ \(Formatting.number(projection.output.value))", values: frontier.map(\.output),
                law: samples.map { projection.output.law.value(atCost: $0) }, band: outputBands,
                prediction: projection.output.value, interval: projection.output.interval,
                isLog: Self.prefersLogAxis(frontier.map(\.output) + outputBands.map(\.lower)))
        ]
        for (parameter, p) in zip(parameters, projection.parameters) {
            let band = samples.map { p.band(atCost: $0, level: projection.level, in: parameter.space) }
            let law = samples.map { p.isConstant ? p.value : p.lawValue(atCost: $0, in: parameter.space) }
            specs.append(
                PanelSpec(
                    title: "\(parameter.name) ≈ \(Formatting.number(p.value))" + (p.isConstant ? " (constant)" : ""),
                    values: frontier.map { $0.parameters[parameter.name] ?? .nan }, law: law, band: band,
                    prediction: p.value, interval: p.interval, isLog: p.space == .log))
        }
        for (index, spec) in specs.enumerated() {
            let frame = grid.frame(index)
            let (left, right, top, bottom) = (frame.left, frame.right, frame.top, frame.bottom)
            let x = ChartAxis(covering: costs, isLog: true, start: left, end: right, padding: 0.06)
            let covered = spec.values + spec.band.flatMap { [$0.lower, $0.upper] } + [spec.prediction]
            let y = ChartAxis(covering: covered, isLog: spec.isLog, start: bottom, end: top, padding: 0.08)
            svg.text(spec.title, x: (left + right) / 2, y: frame.titleY, size: 12.5, weight: "bold")
            svg.axes(
                x: x, y: y, xTitle: "cost", yTitle: index == 0 ? "output" : parameters[index - 1].name, tickSize: 10)
            let f = Formatting.coordinate
            svg.append(
                "<clipPath id=\"projection-\(index)\"><rect x=\"\(f(left))\" y=\"\(f(top))\" "
                    + "width=\"\(f(right - left))\" height=\"\(f(bottom - top))\"/></clipPath>")
            let usable = zip(samples, spec.band).filter { $0.1.lower.isFinite && $0.1.upper.isFinite }
            if !usable.isEmpty {
                let upper = usable.map { "\(f(x.position($0.0))),\(f(y.position($0.1.upper)))" }
                let lower = usable.reversed().map { "\(f(x.position($0.0))),\(f(y.position($0.1.lower)))" }
                svg.append(
                    "<path class=\"band\" d=\"M" + (upper + lower).joined(separator: "L") + "Z\" fill=\"#d62728\" "
                        + "fill-opacity=\"0.15\" stroke=\"none\" clip-path=\"url(#projection-\(index))\"/>")
            }
            let dearest = projection.frontierCosts.upper
            let inside = zip(samples, spec.law).filter { $0.0 <= dearest * 1.000001 }
            let beyond = zip(samples, spec.law).filter { $0.0 >= dearest / 1.2 }
            for (part, dash) in [(inside, ""), (beyond, " stroke-dasharray=\"6 3\"")] where part.count > 1 {
                let points = part.map { "\(f(x.position($0.0))),\(f(y.position($0.1)))" }.joined(separator: " ")
                svg.append(
                    "<polyline class=\"law\" points=\"\(points)\" fill=\"none\" stroke=\"#d62728\" "
                        + "stroke-width=\"1.8\"\(dash) clip-path=\"url(#projection-\(index))\"/>")
            }
            for (point, value) in zip(frontier, spec.values) where value.isFinite {
                svg.append(
                    "<circle class=\"frontier-point\" cx=\"\(f(x.position(point.cost)))\" cy=\"\(f(y.position(value)))\" "
                        + "r=\"4\" fill=\"#3b528b\" stroke=\"#222222\" stroke-width=\"0.7\"/>")
            }
            let px = x.position(projection.cost)
            svg.line(px, top, px, bottom, stroke: "#888888", dash: "3 3")
            if spec.interval.lower.isFinite && spec.interval.upper.isFinite {
                svg.append(
                    "<line class=\"prediction\" x1=\"\(f(px))\" y1=\"\(f(y.position(spec.interval.lower)))\" "
                        + "x2=\"\(f(px))\" y2=\"\(f(y.position(spec.interval.upper)))\" stroke=\"#d62728\" "
                        + "stroke-width=\"3\"/>")
            }
            svg.append(
                "<circle class=\"prediction\" cx=\"\(f(px))\" cy=\"\(f(y.position(spec.prediction)))\" r=\"5\" "
                    + "fill=\"#ffffff\" stroke=\"#d62728\" stroke-width=\"2\"><title>"
                    + Formatting.escaped(
                        "\(spec.title) at cost \(Formatting.number(projection.cost)), \(percent) interval "
                            + "\(Formatting.number(spec.interval.lower)) … \(Formatting.number(spec.interval.upper))")
                    + "</title></circle>")
        }
        return svg.rendered
    }

    /// The projection as an HTML section: the table, the warnings and the picture.
    var projectionHTML: [String] {
        let e = Formatting.escaped
        var page = ["<h2>Projection</h2>"]
        guard let projection else {
            page.append("<p class=\"warning\">\(e(projectionNote ?? "No projection."))</p>")
            return page
        }
        let n = Formatting.number
        let percent = "\(Int((projection.level * 100).rounded()))%"
        page.append(
            "<p class=\"muted\">"
                + e(
                    "Each parameter's law fitted along the Pareto frontier in its own space, and the output's law "
                        + "E + A·cost^(−α) (Huber loss on log residuals), extrapolated to cost \(n(projection.cost)) "
                        + "(\(String(format: "%.1f", projection.ratio))× the dearest run). Intervals: \(percent) "
                        + "bootstrap over the frontier points, resampled in blocks of \(projection.blockLength) "
                        + "neighbours. `carbs extrapolate` prints the same with a backtest and can write the next study file."
                )
                + "</p>")
        var table = "<table><tr><th class=\"name\">quantity</th><th>value</th><th>\(percent) interval</th>"
        table += "<th>exponent/slope</th><th>\(percent) interval</th><th>R²</th><th class=\"name\">note</th></tr>"
        for p in projection.parameters {
            table += "<tr><td class=\"name\">\(e(p.name)) (\(p.space.rawValue))</td><td>\(n(p.value))</td>"
            table += "<td>\(n(p.interval.lower)) … \(n(p.interval.upper))</td>"
            table += "<td>\(String(format: "%.3f", p.law.slope))</td>"
            table += "<td>\(String(format: "%.3f", p.slopeInterval.lower)) … "
            table += "\(String(format: "%.3f", p.slopeInterval.upper))</td>"
            table += "<td>\(p.law.rSquared.isNaN ? "–" : String(format: "%.2f", p.law.rSquared))</td>"
            table += "<td class=\"name\">\(p.isConstant ? "constant: frontier median" : "")</td></tr>"
        }
        let output = projection.output
        table += "<tr><td class=\"name\">output</td><td>\(n(output.value))</td>"
        table += "<td>\(n(output.interval.lower)) … \(n(output.interval.upper))</td>"
        table += "<td>α \(String(format: "%.3f", output.law.exponent))</td>"
        table += "<td>\(String(format: "%.3f", output.exponentInterval.lower)) … "
        table += "\(String(format: "%.3f", output.exponentInterval.upper))</td><td>–</td>"
        table += "<td class=\"name\">E \(n(output.law.limit))</td></tr>"
        page.append(table + "</table>")
        if !projection.warnings.isEmpty {
            page.append("<ul>" + projection.warnings.map { "<li class=\"warning\">\(e($0))</li>" }.joined() + "</ul>")
        }
        page.append("<figure>\(projectionSVG)</figure>")
        return page
    }
}

/// What one panel of the projection picture shows.
private struct PanelSpec {
    var title: String
    /// The frontier points' values.
    var values: [Double]
    /// The law at the sample costs.
    var law: [Double]
    /// The band at the sample costs.
    var band: [Interval]
    var prediction: Double
    var interval: Interval
    var isLog: Bool
}
