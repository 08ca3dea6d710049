/// A dense matrix of `Double`s stored row by row.
///
/// Rows are the natural unit for CARBS: one row per point (observation or candidate), one column per input
/// dimension. The storage is exactly `elements`, row-major, so it can be handed to BLAS/LAPACK without copying.
public struct Matrix: Sendable, Hashable, Codable {
    /// The number of rows.
    public var rows: Int
    /// The number of columns.
    public var columns: Int
    /// The entries, row by row: entry `(i, j)` is `elements[i * columns + j]`.
    public var elements: [Double]

    /// Creates a matrix from its row-major entries.
    ///
    /// - Precondition: `elements.count == rows * columns` and both dimensions are non-negative.
    public init(rows: Int, columns: Int, elements: [Double]) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative, got \(rows)×\(columns)")
        precondition(
            elements.count == rows * columns,
            "Matrix \(rows)×\(columns) needs \(rows * columns) elements, got \(elements.count)"
        )
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// Creates a matrix with every entry equal to `repeating`.
    public init(rows: Int, columns: Int, repeating: Double = 0) {
        self.init(rows: rows, columns: columns, elements: Array(repeating: repeating, count: rows * columns))
    }

    /// Creates a matrix whose rows are `rowVectors`; an empty array gives a 0×0 matrix.
    ///
    /// - Precondition: all rows have the same length.
    public init(rowVectors: [[Double]]) {
        let columns = rowVectors.first?.count ?? 0
        var elements: [Double] = []
        elements.reserveCapacity(rowVectors.count * columns)
        for (index, row) in rowVectors.enumerated() {
            precondition(row.count == columns, "Row \(index) has \(row.count) entries, expected \(columns)")
            elements.append(contentsOf: row)
        }
        self.init(rows: rowVectors.count, columns: columns, elements: elements)
    }

    /// The entry in `row`, `column`.
    public subscript(row: Int, column: Int) -> Double {
        get {
            precondition(
                row >= 0 && row < rows && column >= 0 && column < columns, "Index (\(row), \(column)) out of range")
            return elements[row * columns + column]
        }
        set {
            precondition(
                row >= 0 && row < rows && column >= 0 && column < columns, "Index (\(row), \(column)) out of range")
            elements[row * columns + column] = newValue
        }
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Double] {
        precondition(i >= 0 && i < rows, "Row \(i) out of range 0..<\(rows)")
        return Array(elements[(i * columns)..<((i + 1) * columns)])
    }

    /// The rows at `indices`, in that order.
    public func selectingRows(_ indices: [Int]) -> Matrix {
        var selected: [Double] = []
        selected.reserveCapacity(indices.count * columns)
        for i in indices {
            precondition(i >= 0 && i < rows, "Row \(i) out of range 0..<\(rows)")
            selected.append(contentsOf: elements[(i * columns)..<((i + 1) * columns)])
        }
        return Matrix(rows: indices.count, columns: columns, elements: selected)
    }

    /// This matrix with the rows of `other` appended below.
    ///
    /// - Precondition: both have the same number of columns (or one of them has no rows).
    public func appendingRows(of other: Matrix) -> Matrix {
        if other.rows == 0 { return self }
        if rows == 0 { return other }
        precondition(other.columns == columns, "Cannot stack \(other.columns) columns under \(columns)")
        return Matrix(rows: rows + other.rows, columns: columns, elements: elements + other.elements)
    }

    /// The transpose.
    public func transposed() -> Matrix {
        var result = Matrix(rows: columns, columns: rows)
        for i in 0..<rows {
            for j in 0..<columns {
                result.elements[j * rows + i] = elements[i * columns + j]
            }
        }
        return result
    }

    /// Whether every entry is finite.
    public var isFinite: Bool {
        elements.allSatisfy { $0.isFinite }
    }

    private enum CodingKeys: String, CodingKey {
        case rows, columns, elements
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try container.decode(Int.self, forKey: .rows)
        let columns = try container.decode(Int.self, forKey: .columns)
        let elements = try container.decode([Double].self, forKey: .elements)
        guard rows >= 0, columns >= 0, elements.count == rows * columns else {
            throw DecodingError.dataCorruptedError(
                forKey: .elements, in: container,
                debugDescription: "Matrix \(rows)×\(columns) needs \(rows * columns) elements, got \(elements.count)"
            )
        }
        self.init(rows: rows, columns: columns, elements: elements)
    }
}
