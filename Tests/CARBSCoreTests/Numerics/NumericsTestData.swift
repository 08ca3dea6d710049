import CARBSCore

/// Seeded random data for the numerics tests.
enum NumericsTestData {
    static func uniformMatrix(rows: Int, columns: Int, range: ClosedRange<Double> = 0...1, seed: UInt64) -> Matrix {
        var generator = SeededGenerator(seed: seed)
        let width = range.upperBound - range.lowerBound
        let elements = (0..<(rows * columns)).map { _ in range.lowerBound + width * generator.nextUniform() }
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    static func normalVector(count: Int, seed: UInt64) -> [Double] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in generator.nextNormal() }
    }

    static func relativeError(_ actual: Double, _ expected: Double) -> Double {
        if actual == expected { return 0 }
        return abs(actual - expected) / max(abs(expected), Double.leastNormalMagnitude)
    }
}
