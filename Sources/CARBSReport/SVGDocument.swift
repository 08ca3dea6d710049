/// A small SVG writer: elements appended in order, text escaped, one shared font and palette.
struct SVGDocument {
    let width: Double
    let height: Double
    private(set) var body: [String] = []

    static let font = "DejaVu Sans, Helvetica, Arial, sans-serif"
    static let ink = "#222222"
    static let grid = "#e4e4e4"
    static let failure = "#d62728"
    static let frontier = "#111111"

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    mutating func append(_ element: String) {
        body.append(element)
    }

    mutating func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = ink, width: Double = 1,
        dash: String? = nil
    ) {
        let f = Formatting.coordinate
        let dashing = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        append(
            "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\" "
                + "stroke-width=\"\(width)\"\(dashing)/>")
    }

    mutating func text(
        _ content: String, x: Double, y: Double, size: Double = 12, anchor: String = "middle", weight: String? = nil,
        fill: String = ink, rotate: Double? = nil
    ) {
        let f = Formatting.coordinate
        let transform = rotate.map { " transform=\"rotate(\($0) \(f(x)) \(f(y)))\"" } ?? ""
        let bold = weight.map { " font-weight=\"\($0)\"" } ?? ""
        append(
            "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
                + "\(bold)\(transform)>\(Formatting.escaped(content))</text>")
    }

    mutating func rect(
        x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String = "none",
        extra: String = ""
    ) {
        let f = Formatting.coordinate
        append(
            "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"\(fill)\" "
                + "stroke=\"\(stroke)\"\(extra)/>")
    }

    /// A cross (×) centred at (x, y), as a path.
    static func crossPath(x: Double, y: Double, size: Double) -> String {
        let f = Formatting.coordinate
        return "M\(f(x - size)),\(f(y - size))L\(f(x + size)),\(f(y + size))"
            + "M\(f(x - size)),\(f(y + size))L\(f(x + size)),\(f(y - size))"
    }

    /// Draws the axes of a plot area with ticks, grid lines, tick labels and axis titles.
    mutating func axes(x: ChartAxis, y: ChartAxis, xTitle: String, yTitle: String, tickSize: Double = 11) {
        let left = x.start
        let right = x.end
        let bottom = y.start
        let top = y.end
        rect(x: left, y: top, width: right - left, height: bottom - top, fill: "#ffffff", stroke: "#999999")
        for tick in x.ticks {
            let px = x.position(tick)
            line(px, top, px, bottom, stroke: SVGDocument.grid)
            line(px, bottom, px, bottom + 5, stroke: "#999999")
            text(Formatting.tick(tick), x: px, y: bottom + 18, size: tickSize)
        }
        for tick in y.ticks {
            let py = y.position(tick)
            line(left, py, right, py, stroke: SVGDocument.grid)
            line(left - 5, py, left, py, stroke: "#999999")
            text(Formatting.tick(tick), x: left - 8, y: py + 4, size: tickSize, anchor: "end")
        }
        rect(x: left, y: top, width: right - left, height: bottom - top, fill: "none", stroke: "#999999")
        text(xTitle, x: (left + right) / 2, y: bottom + 38, size: tickSize + 2)
        text(yTitle, x: left - 52, y: (top + bottom) / 2, size: tickSize + 2, rotate: -90)
    }

    /// The finished document.
    var rendered: String {
        let f = Formatting.coordinate
        return
            ([
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" "
                    + "viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"\(SVGDocument.font)\">",
                "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>",
            ]
            + body + ["</svg>"]).joined(separator: "\n") + "\n"
    }
}

/// Viridis, sampled at five points and interpolated linearly (van der Walt & Smith, matplotlib 2015).
enum Colormap {
    private static let anchors: [(Double, Double, Double)] = [
        (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
    ]

    /// The colour at `t` in [0, 1], as `#rrggbb`.
    static func viridis(_ t: Double) -> String {
        let clamped = min(max(t.isFinite ? t : 0, 0), 1) * Double(anchors.count - 1)
        let index = min(Int(clamped), anchors.count - 2)
        let f = clamped - Double(index)
        let a = anchors[index]
        let b = anchors[index + 1]
        func mix(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * f).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}
