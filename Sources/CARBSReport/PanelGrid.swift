/// The layout of a picture made of equal panels in rows: where each panel and its plot area lie.
struct PanelGrid {
    /// One panel's plot area and the point its title is centred on.
    struct Frame {
        var left: Double
        var right: Double
        var top: Double
        var bottom: Double
        var titleY: Double
    }

    var columns: Int
    var panelWidth = 300.0
    var panelHeight = 250.0
    /// The height of the picture's title block above the panels.
    var header = 62.0

    /// The frame of panel `index` (row by row).
    func frame(_ index: Int) -> Frame {
        let originX = 10 + Double(index % columns) * panelWidth
        let originY = header + Double(index / columns) * panelHeight
        return Frame(
            left: originX + 66, right: originX + panelWidth - 16, top: originY + 30,
            bottom: originY + panelHeight - 52, titleY: originY + 18)
    }

    /// The picture's size for `count` panels.
    func size(panels count: Int) -> (width: Double, height: Double) {
        let rows = max((count + columns - 1) / columns, 1)
        return (Double(columns) * panelWidth + 20, header + Double(rows) * panelHeight + 10)
    }
}
