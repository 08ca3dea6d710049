import Foundation

/// Maps data values to pixels along one axis, linear or logarithmic, and chooses its ticks.
struct ChartAxis {
    let isLog: Bool
    /// The domain, in data units.
    let lower: Double
    let upper: Double
    /// Pixel positions of `lower` and `upper` (for a vertical axis `start` is the bottom).
    let start: Double
    let end: Double

    /// An axis covering `values` with a margin of `padding` of the span on each side.
    init(covering values: [Double], isLog: Bool, start: Double, end: Double, padding: Double = 0.05) {
        self.isLog = isLog
        self.start = start
        self.end = end
        let usable = values.filter { $0.isFinite && (!isLog || $0 > 0) }
        var low = usable.min() ?? (isLog ? 1 : 0)
        var high = usable.max() ?? (isLog ? 10 : 1)
        if isLog {
            low = Foundation.log10(low)
            high = Foundation.log10(high)
        }
        if high - low < 1e-12 {
            let half = isLog ? 0.5 : max(abs(low) * 0.1, 0.5)
            low -= half
            high += half
        }
        let margin = (high - low) * padding
        lower = isLog ? Foundation.pow(10, low - margin) : low - margin
        upper = isLog ? Foundation.pow(10, high + margin) : high + margin
    }

    /// The pixel position of `value`.
    func position(_ value: Double) -> Double {
        let t: Double
        if isLog {
            let v = Foundation.log10(max(value, Double.leastNormalMagnitude))
            t = (v - Foundation.log10(lower)) / (Foundation.log10(upper) - Foundation.log10(lower))
        } else {
            t = (value - lower) / (upper - lower)
        }
        return start + t * (end - start)
    }

    /// Tick values inside the domain: decades (with 2 and 5 between when the span is short) on a log axis,
    /// steps of 1, 2 or 5 × 10^k on a linear one.
    var ticks: [Double] {
        if isLog {
            let low = Foundation.log10(lower)
            let high = Foundation.log10(upper)
            let span = high - low
            if span < 1 { return linearTicks(lower, upper, target: 5) }
            let multipliers: [Double] = span > 5 ? [1] : span > 2.5 ? [1, 3] : [1, 2, 5]
            var ticks: [Double] = []
            var decade = Foundation.floor(low)
            let step = span > 9 ? 2.0 : 1.0
            while decade <= Foundation.ceil(high) {
                for m in multipliers {
                    let value = m * Foundation.pow(10, decade)
                    if value >= lower * 0.9999 && value <= upper * 1.0001 { ticks.append(value) }
                }
                decade += step
            }
            return ticks
        }
        return linearTicks(lower, upper, target: 6)
    }

    private func linearTicks(_ low: Double, _ high: Double, target: Int) -> [Double] {
        let raw = (high - low) / Double(target)
        let magnitude = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var value = Foundation.ceil(low / step) * step
        var ticks: [Double] = []
        while value <= high + step * 1e-9 {
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return ticks
    }
}
