/// Right-aligned plain-text tables for terminals.
public enum TextTable {
    /// The header, a rule of dashes and the rows, each column as wide as its widest cell.
    public static func lines(header: [String], rows: [[String]]) -> [String] {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in String(repeating: " ", count: max(widths[i] - cell.count, 0)) + cell }
                .joined(separator: "  ")
        }
        return [line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)
    }
}
