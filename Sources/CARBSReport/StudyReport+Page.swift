import CARBSCore
import Foundation

extension StudyReport {
    /// One self-contained HTML page: both pictures inline, the Pareto table, the scaling laws and the settings.
    public var html: String {
        let e = Formatting.escaped
        let failures = observations.filter(\.isFailure).count
        var page: [String] = []
        page.append("<!DOCTYPE html>")
        page.append("<html lang=\"en\"><head><meta charset=\"utf-8\">")
        page.append("<title>\(e(study)) — CARBS report</title>")
        page.append(
            """
            <style>
            body { font-family: \(SVGDocument.font); color: #222; max-width: 1000px; margin: 2em auto; padding: 0 1em; }
            h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
            table { border-collapse: collapse; font-size: 0.9em; }
            th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #eee; text-align: right; }
            th { background: #f4f4f4; } td.name, th.name { text-align: left; }
            .warning { color: #b22222; } .muted { color: #666; }
            figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
            code { background: #f4f4f4; padding: 0.1em 0.3em; }
            </style></head><body>
            """)
        page.append("<h1>\(e(study))</h1>")
        let best = frontier.max { direction.sign * $0.output < direction.sign * $1.output }
        var facts =
            "\(observations.count) observations, \(failures) failed, \(frontier.count) points on the Pareto "
            + "frontier; \(direction == .minimize ? "lower" : "higher") output is better."
        if let best {
            facts += " Best output \(Formatting.number(best.output)) at cost \(Formatting.number(best.cost))."
        }
        page.append("<p>\(e(facts))</p>")

        page.append("<h2>Cost against output</h2>")
        page.append("<figure>\(paretoSVG)</figure>")

        page.append("<h2>Pareto set (cheapest first)</h2>")
        var table = "<table><tr><th>cost</th><th>output</th><th>runs</th>"
        table += parameters.map { "<th>\(e($0.name))</th>" }.joined() + "</tr>"
        for point in frontier {
            table += "<tr><td>\(Formatting.number(point.cost))</td><td>\(Formatting.number(point.output))</td>"
            table += "<td>\(point.count)</td>"
            table += parameters.map { "<td>\(Formatting.number(point.parameters[$0.name] ?? .nan))</td>" }.joined()
            table += "</tr>"
        }
        page.append(table + "</table>")

        page.append("<h2>Scaling laws</h2>")
        page.append(
            "<p class=\"muted\">For each parameter, a least-squares fit of log(value) against log(cost) over the "
                + "Pareto set: how the parameter should grow as you spend more.</p>")
        page.append(
            "<ul>" + scalingLaws.map { "<li><code>\(e($0.description))</code></li>" }.joined()
                + scalingWarnings.map { "<li class=\"warning\">\(e($0))</li>" }.joined() + "</ul>")
        page.append("<figure>\(scalingSVG)</figure>")
        if projection != nil || projectionNote != nil { page += projectionHTML }

        page.append("<h2>Study settings</h2>")
        var parameterTable = "<table><tr><th class=\"name\">parameter</th><th>space</th><th>min</th><th>max</th>"
        parameterTable += "<th>center</th><th>integer</th></tr>"
        for parameter in parameters {
            let space = parameter.space
            parameterTable += "<tr><td class=\"name\">\(e(parameter.name))</td><td>\(space.kind.rawValue)</td>"
            parameterTable += "<td>\(space.min.map(Formatting.number) ?? "–")</td>"
            parameterTable += "<td>\(space.max.map(Formatting.number) ?? "–")</td>"
            parameterTable += "<td>\(Formatting.number(parameter.center))</td>"
            parameterTable += "<td>\(space.isInteger ? "yes" : "no")</td></tr>"
        }
        page.append(parameterTable + "</table>")
        if !settings.isEmpty {
            var settingsTable = "<p></p><table><tr><th class=\"name\">setting</th><th class=\"name\">value</th></tr>"
            for setting in settings {
                settingsTable += "<tr><td class=\"name\">\(e(setting.name))</td>"
                settingsTable += "<td class=\"name\"><code>\(e(setting.value))</code></td></tr>"
            }
            page.append(settingsTable + "</table>")
        }
        page.append("<p class=\"muted\">Written by <code>carbs report</code>.</p>")
        page.append("</body></html>")
        return page.joined(separator: "\n") + "\n"
    }
}
