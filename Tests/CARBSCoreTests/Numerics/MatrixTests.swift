import CARBSCore
import Foundation
import Testing

@Suite("Matrix and numerics value types")
struct MatrixTests {
    @Test("row-major storage, rows, selection, stacking and transpose")
    func basics() {
        var matrix = Matrix(rowVectors: [[1, 2, 3], [4, 5, 6]])
        #expect(matrix.rows == 2 && matrix.columns == 3)
        #expect(matrix.elements == [1, 2, 3, 4, 5, 6])
        #expect(matrix[1, 0] == 4)
        matrix[1, 0] = -4
        #expect(matrix.elements[3] == -4)
        #expect(matrix.row(1) == [-4, 5, 6])
        #expect(matrix.selectingRows([1, 1, 0]).elements == [-4, 5, 6, -4, 5, 6, 1, 2, 3])
        #expect(matrix.appendingRows(of: Matrix(rowVectors: [[7, 8, 9]])).row(2) == [7, 8, 9])
        #expect(matrix.appendingRows(of: Matrix(rows: 0, columns: 0)) == matrix)
        #expect(matrix.transposed() == Matrix(rowVectors: [[1, -4], [2, 5], [3, 6]]))
        #expect(Matrix(rows: 2, columns: 2, repeating: 1.5).elements == [1.5, 1.5, 1.5, 1.5])
        #expect(Matrix(rowVectors: []).rows == 0)
    }

    @Test("Codable round-trips and rejects an element count that does not fit the shape")
    func codable() throws {
        let matrix = Matrix(rowVectors: [[1, 2], [3, 4]])
        let data = try JSONEncoder().encode(matrix)
        #expect(try JSONDecoder().decode(Matrix.self, from: data) == matrix)
        let broken = Data(#"{"rows": 2, "columns": 2, "elements": [1, 2, 3]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Matrix.self, from: broken) }
    }

    @Test("priors round-trip through Codable and reject a non-positive median")
    func priorCodable() throws {
        let prior = HyperparameterPrior.carbs(searchRadius: 0.3)
        let data = try JSONEncoder().encode(prior)
        #expect(try JSONDecoder().decode(HyperparameterPrior.self, from: data) == prior)
        let broken = Data(#"{"median": -1, "logStandardDeviation": 0.5}"#.utf8)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(HyperparameterPrior.LogNormal.self, from: broken)
        }
    }

    @Test("the named hyperparameter points")
    func namedHyperparameters() {
        let parity = KernelHyperparameters.referenceParity(dimensions: 3)
        #expect(parity.linearVariance == 1.1 && parity.variance == 1.1 && parity.noiseVariance == 0.01)
        #expect(parity.lengthscales == [0.27, 0.27, 0.27])
        let initial = KernelHyperparameters.initial(dimensions: 2, searchRadius: 0.4)
        #expect(initial.linearVariance == 1 && initial.variance == 1 && initial.noiseVariance == 0.01)
        #expect(initial.lengthscales == [0.4, 0.4])
        let prior = HyperparameterPrior.carbs(searchRadius: 0.4)
        #expect(prior.noiseVariance.median == 0.01 && prior.noiseVariance.logStandardDeviation == 0.5)
        #expect(prior.lengthscale.median == 0.4)
    }
}
