import Foundation

extension Extrapolation {
    /// The extrapolation as terminal lines: the parameters, the output, the backtest and the warnings.
    public var tableLines: [String] {
        let n = Formatting.number
        let percent = "\(Int((level * 100).rounded()))%"
        var lines = [
            "Extrapolation of \(study) to cost \(n(cost)): \(String(format: "%.1f", ratio))× the dearest observed run "
                + "(\(n(dearestObservedCost)))",
            "Fitted over \(frontierPointCount) Pareto frontier points (costs \(n(frontierCosts.lower)) … "
                + "\(n(frontierCosts.upper))); value intervals: \(percent) prediction intervals (the law's bootstrap "
                + "over those points, \(resampleCount) resamples in blocks of \(blockLength) neighbours, widened by the "
                + "frontier's scatter around it); slope intervals: the bootstrap's",
            "",
        ]
        let header = [
            "parameter", "space", "value at \(n(cost))", "\(percent) interval", "exponent/slope", "\(percent) interval",
            "R²", "points", "note",
        ]
        let rows = parameters.map { p -> [String] in
            [
                p.name, p.space.rawValue, n(p.value), "\(n(p.interval.lower)) … \(n(p.interval.upper))",
                String(format: "%.3f", p.law.slope),
                "\(String(format: "%.3f", p.slopeInterval.lower)) … \(String(format: "%.3f", p.slopeInterval.upper))",
                p.law.rSquared.isNaN ? "–" : String(format: "%.2f", p.law.rSquared), "\(p.pointCount)",
                p.isConstant ? "constant (slope interval holds 0): frontier median" : "scales",
            ]
        }
        lines += TextTable.lines(header: header, rows: rows)
        lines.append("")
        let law = output.law
        let form = direction == .minimize ? "E + A·cost^(−α)" : "E − A·cost^(−α)"
        lines.append(
            "output at \(n(cost)): \(n(output.value))  (\(percent) interval \(n(output.interval.lower)) … "
                + "\(n(output.interval.upper)))")
        lines.append(
            "  law \(form), Huber loss on \(output.residuals == .logarithmic ? "log" : "relative") residuals: "
                + "E \(n(law.limit)) (\(n(output.limitInterval.lower)) … \(n(output.limitInterval.upper))), "
                + "α \(String(format: "%.3f", law.exponent)) (\(String(format: "%.3f", output.exponentInterval.lower)) … "
                + "\(String(format: "%.3f", output.exponentInterval.upper)))")
        if let backtest {
            lines.append("")
            lines.append(
                "Backtest: refit without the \(backtest.holdOutCount) dearest frontier points (costs "
                    + "\(n(backtest.heldOutCosts.first!)) … \(n(backtest.heldOutCosts.last!))) on the other "
                    + "\(backtest.fittedPointCount), then predicted them:")
            let rows = (backtest.parameters + [backtest.output]).map { check -> [String] in
                [
                    check.name, n(check.predicted.last!), n(check.actual.last!), Self.errorText(check),
                    "\(check.insideCount) of \(backtest.holdOutCount)",
                ]
            }
            lines += TextTable.lines(
                header: [
                    "", "predicted at dearest", "actual", "median error", "inside \(percent) prediction interval",
                ], rows: rows
            ).map { "  " + $0 }
        }
        if !warnings.isEmpty {
            lines.append("")
            lines += warnings
        }
        return lines
    }

    /// A backtest error in words: a factor for log spaces, relative for the output, absolute otherwise.
    static func errorText(_ check: Backtest.Check) -> String {
        guard !check.medianError.isNaN else { return "–" }
        switch check.space {
        case .log: return "×" + String(format: "%.2f", Foundation.exp(check.medianError))
        case nil: return String(format: "%.1f%%", 100 * check.medianError)
        case .linear: return Formatting.number(check.medianError)
        case .logit: return Formatting.number(check.medianError) + " in logit"
        }
    }
}
