#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Evaluates a kernel with fixed hyperparameters on blocks of points.
///
/// Squared distances use `‖x‖² + ‖z‖² − 2·x·z` on the lengthscale-scaled inputs so that the `O(m·n·d)` part is
/// one `dgemm`; the `O(m·n)` remainder is a tight loop over contiguous memory.
struct KernelEvaluator: Sendable {
    let kernel: CovarianceKernel
    let linearVariance: Double
    let variance: Double
    let inverseLengthscales: [Double]

    var dimensions: Int { inverseLengthscales.count }
    var hasLinearPart: Bool { kernel.usesLinearVariance && linearVariance != 0 }

    init(kernel: CovarianceKernel, hyperparameters: KernelHyperparameters) {
        self.kernel = kernel
        self.linearVariance = kernel.usesLinearVariance ? hyperparameters.linearVariance : 0
        self.variance = hyperparameters.variance
        self.inverseLengthscales = hyperparameters.lengthscales.map { 1 / $0 }
    }

    /// Points prepared for repeated covariance evaluation.
    struct Prepared: Sendable {
        /// The raw coordinates, row-major `count×dimensions`.
        var raw: [Double]
        /// The coordinates divided by the lengthscales.
        var scaled: [Double]
        /// `‖scaled row‖²`.
        var scaledSquaredNorms: [Double]
        var count: Int
    }

    func prepare(_ points: Matrix) -> Prepared {
        precondition(
            points.columns == dimensions || points.rows == 0,
            "Points have \(points.columns) columns, the kernel has \(dimensions) lengthscales"
        )
        let d = dimensions
        let count = points.rows
        var scaled = [Double](repeating: 0, count: count * d)
        var norms = [Double](repeating: 0, count: count)
        points.elements.withUnsafeBufferPointer { raw in
            inverseLengthscales.withUnsafeBufferPointer { inverse in
                scaled.withUnsafeMutableBufferPointer { scaled in
                    for i in 0..<count {
                        var norm = 0.0
                        for j in 0..<d {
                            let value = raw[i * d + j] * inverse[j]
                            scaled[i * d + j] = value
                            norm += value * value
                        }
                        norms[i] = norm
                    }
                }
            }
        }
        return Prepared(
            raw: points.rows == 0 ? [] : points.elements, scaled: scaled, scaledSquaredNorms: norms, count: count)
    }

    /// `k(x, x)` for row `i` of `points`.
    func priorVariance(_ points: Prepared, row i: Int) -> Double {
        var result = variance
        if hasLinearPart {
            let d = dimensions
            var norm = 0.0
            for j in 0..<d { norm += points.raw[i * d + j] * points.raw[i * d + j] }
            result += linearVariance * norm
        }
        return result
    }

    /// `k(a_i, b_j)` for one pair of rows (the same formula as `crossCovariance`, evaluated directly).
    func covariance(_ a: Prepared, row i: Int, _ b: Prepared, row j: Int) -> Double {
        let d = dimensions
        var dot = 0.0
        for p in 0..<d { dot += a.scaled[i * d + p] * b.scaled[j * d + p] }
        let r2 = max(a.scaledSquaredNorms[i] + b.scaledSquaredNorms[j] - 2 * dot, 0)
        var result: Double
        switch kernel {
        case .linearPlusMatern32:
            let s = (3 * r2).squareRoot()
            result = variance * (1 + s) * exp(-s)
        case .squaredExponential:
            result = variance * exp(-0.5 * r2)
        }
        if hasLinearPart {
            var linear = 0.0
            for p in 0..<d { linear += a.raw[i * d + p] * b.raw[j * d + p] }
            result += linearVariance * linear
        }
        return result
    }

    /// Writes `k(a_i, b_j)` for `i` in `rows` and every `j` into `out` (row-major `rows.count × b.count`).
    func crossCovariance(
        _ a: Prepared, rows: Range<Int>, _ b: Prepared, into out: UnsafeMutablePointer<Double>
    ) {
        let m = rows.count
        let n = b.count
        let d = dimensions
        if m == 0 || n == 0 { return }
        if d == 0 {
            out.update(repeating: 0, count: m * n)
        } else {
            a.scaled.withUnsafeBufferPointer { aScaled in
                b.scaled.withUnsafeBufferPointer { bScaled in
                    LinearAlgebra.multiplyTransposed(
                        aScaled.baseAddress! + rows.lowerBound * d, bScaled.baseAddress!, m: m, n: n, k: d,
                        alpha: -2, beta: 0, into: out
                    )
                }
            }
        }
        a.scaledSquaredNorms.withUnsafeBufferPointer { aNorms in
            b.scaledSquaredNorms.withUnsafeBufferPointer { bNorms in
                let bNorms = bNorms.baseAddress!
                let aNorms = aNorms.baseAddress! + rows.lowerBound
                ParallelRows.forEachChunk(rows: m, columns: n) { chunk in
                    for i in chunk {
                        Self.stationaryRow(
                            kernel: kernel, variance: variance, rowNorm: aNorms[i], columnNorms: bNorms,
                            row: out + i * n, count: n
                        )
                    }
                }
            }
        }
        if hasLinearPart && d > 0 {
            a.raw.withUnsafeBufferPointer { aRaw in
                b.raw.withUnsafeBufferPointer { bRaw in
                    LinearAlgebra.multiplyTransposed(
                        aRaw.baseAddress! + rows.lowerBound * d, bRaw.baseAddress!, m: m, n: n, k: d,
                        alpha: linearVariance, beta: 1, into: out
                    )
                }
            }
        }
    }

    /// Turns `row[j] = −2·xᵢ·zⱼ` (scaled inputs) into the stationary kernel value, in place:
    /// `r² = max(‖xᵢ‖² + ‖zⱼ‖² − 2·xᵢ·zⱼ, 0)`. A branch-free loop over contiguous memory.
    @inline(__always)
    static func stationaryRow(
        kernel: CovarianceKernel, variance: Double, rowNorm: Double, columnNorms: UnsafePointer<Double>,
        row: UnsafeMutablePointer<Double>, count: Int
    ) {
        switch kernel {
        case .linearPlusMatern32:
            for j in 0..<count {
                let r2 = max(rowNorm + columnNorms[j] + row[j], 0)
                let s = (3 * r2).squareRoot()
                row[j] = variance * (1 + s) * exp(-s)
            }
        case .squaredExponential:
            for j in 0..<count {
                let r2 = max(rowNorm + columnNorms[j] + row[j], 0)
                row[j] = variance * exp(-0.5 * r2)
            }
        }
    }

    /// The symmetric `n×n` covariance matrix of `points` without noise: the lower triangle with an exact
    /// diagonal, and the upper triangle too if `fillUpper` (otherwise it holds unspecified values).
    ///
    /// One `dsyrk` for the scaled inner products, the stationary part on the lower triangle only, and one more
    /// `dsyrk` for the linear part.
    func covarianceMatrix(_ points: Prepared, fillUpper: Bool = true) -> [Double] {
        let n = points.count
        let d = dimensions
        var result = [Double](repeating: 0, count: n * n)
        if n == 0 { return result }
        result.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress!
            if d > 0 {
                points.scaled.withUnsafeBufferPointer { scaled in
                    LinearAlgebra.symmetricRankKLower(scaled.baseAddress!, m: n, k: d, alpha: -2, beta: 0, into: out)
                }
            }
            points.scaledSquaredNorms.withUnsafeBufferPointer { norms in
                let norms = norms.baseAddress!
                ParallelRows.forEachChunk(rows: n, columns: n, shape: .lowerTriangle) { chunk in
                    for i in chunk {
                        Self.stationaryRow(
                            kernel: kernel, variance: variance, rowNorm: norms[i], columnNorms: norms,
                            row: out + i * n, count: i
                        )
                        out[i * n + i] = variance
                    }
                }
            }
            if hasLinearPart && d > 0 {
                points.raw.withUnsafeBufferPointer { raw in
                    LinearAlgebra.symmetricRankKLower(
                        raw.baseAddress!, m: n, k: d, alpha: linearVariance, beta: 1, into: out
                    )
                }
            }
            if fillUpper {
                for i in 0..<n {
                    for j in 0..<i { out[j * n + i] = out[i * n + j] }
                }
            }
        }
        return result
    }
}
