import CLAPACK

/// Thin wrappers over the LAPACKE/CBLAS calls the Gaussian process uses; every matrix is row-major.
///
/// A symmetric row-major matrix whose lower triangle is filled is, read column-major, the same matrix with its
/// upper triangle filled. The LAPACK calls therefore run in column-major mode on the upper triangle, which
/// avoids the transposed copies LAPACKE makes for row-major input, and leave the row-major lower factor `L`
/// (`A = L·Lᵀ`) in place.
enum LinearAlgebra {
    private static let upper = CChar(UInt8(ascii: "U"))

    /// Replaces the lower triangle of the `n×n` row-major `matrix` with its Cholesky factor `L` and zeroes the
    /// strict upper triangle. The corresponding LAPACK call is `dpotrf`.
    ///
    /// - Returns: LAPACK's `info`: 0 on success, `k > 0` if the leading minor of order `k` is not positive
    ///   definite (the matrix content is then unspecified), `< 0` on an argument error or a NaN entry.
    static func choleskyInPlace(_ matrix: UnsafeMutablePointer<Double>, n: Int) -> Int {
        if n == 0 { return 0 }
        let info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, upper, clapack_int(n), matrix, clapack_int(n))
        if info == 0 {
            for i in 0..<n {
                for j in (i + 1)..<n { matrix[i * n + j] = 0 }
            }
        }
        return Int(info)
    }

    /// Replaces the Cholesky factor `L` (lower triangle) by the lower triangle of `(L·Lᵀ)⁻¹`.
    /// The corresponding LAPACK call is `dpotri`.
    static func inverseFromCholeskyInPlace(_ factor: UnsafeMutablePointer<Double>, n: Int) -> Int {
        if n == 0 { return 0 }
        return Int(LAPACKE_dpotri(LAPACK_COL_MAJOR, upper, clapack_int(n), factor, clapack_int(n)))
    }

    /// Solves `L·Lᵀ·x = b` in place given the lower Cholesky factor. The corresponding BLAS call is `dtrsv`.
    static func choleskySolveInPlace(_ factor: UnsafePointer<Double>, n: Int, _ b: UnsafeMutablePointer<Double>) {
        if n == 0 { return }
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, blasint(n), factor, blasint(n), b, 1)
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, blasint(n), factor, blasint(n), b, 1)
    }

    /// Solves `L·x = b` in place for the lower-triangular `L` (`n` rows of `stride` entries).
    /// The corresponding BLAS call is `dtrsv`.
    static func lowerSolveInPlace(
        _ factor: UnsafePointer<Double>, n: Int, stride: Int, _ b: UnsafeMutablePointer<Double>
    ) {
        if n == 0 { return }
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, blasint(n), factor, blasint(stride), b, 1)
    }

    /// Solves `Lᵀ·x = b` in place for the lower-triangular `L` (`n` rows of `stride` entries).
    /// The corresponding BLAS call is `dtrsv`.
    static func lowerTransposedSolveInPlace(
        _ factor: UnsafePointer<Double>, n: Int, stride: Int, _ b: UnsafeMutablePointer<Double>
    ) {
        if n == 0 { return }
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, blasint(n), factor, blasint(stride), b, 1)
    }

    /// Solves `X·Lᵀ = B` in place for the `rows×n` row-major `B` (each row `x` of the result is `L⁻¹·b`).
    /// The corresponding BLAS call is `dtrsm`.
    static func solveRightLowerTransposedInPlace(
        _ factor: UnsafePointer<Double>, n: Int, _ b: UnsafeMutablePointer<Double>, rows: Int
    ) {
        solveRightLowerTransposedInPlace(factor, n: n, stride: n, b, rows: rows)
    }

    /// `solveRightLowerTransposedInPlace` for a factor with `stride` entries per row (`stride ≥ n`).
    static func solveRightLowerTransposedInPlace(
        _ factor: UnsafePointer<Double>, n: Int, stride: Int, _ b: UnsafeMutablePointer<Double>, rows: Int
    ) {
        if n == 0 || rows == 0 { return }
        cblas_dtrsm(
            CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
            blasint(rows), blasint(n), 1, factor, blasint(stride), b, blasint(n)
        )
    }

    /// `C = alpha · A · Bᵀ + beta · C` for row-major `A` (`m×k`), `B` (`n×k`), `C` (`m×n`).
    /// The corresponding BLAS call is `dgemm`.
    static func multiplyTransposed(
        _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, m: Int, n: Int, k: Int,
        alpha: Double, beta: Double, into c: UnsafeMutablePointer<Double>
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<(m * n) { c[i] = beta == 0 ? 0 : beta * c[i] }
            return
        }
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(k), b, blasint(k), beta, c, blasint(n)
        )
    }

    /// `C = alpha · A · B + beta · C` for row-major `A` (`m×k`), `B` (`k×n`), `C` (`m×n`).
    /// The corresponding BLAS call is `dgemm`.
    static func multiply(
        _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, m: Int, n: Int, k: Int,
        alpha: Double, beta: Double, into c: UnsafeMutablePointer<Double>
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<(m * n) { c[i] = beta == 0 ? 0 : beta * c[i] }
            return
        }
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(k), b, blasint(n), beta, c, blasint(n)
        )
    }

    /// `y = A · x` for the row-major `m×n` matrix `A`. The corresponding BLAS call is `dgemv`.
    static func multiply(
        _ a: UnsafePointer<Double>, m: Int, n: Int, _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>
    ) {
        if m == 0 { return }
        if n == 0 {
            for i in 0..<m { y[i] = 0 }
            return
        }
        cblas_dgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(n), 1, a, blasint(n), x, 1, 0, y, 1)
    }

    /// `C = alpha · A · Aᵀ + beta · C` (lower triangle only) for the row-major `m×k` matrix `A`.
    /// The corresponding BLAS call is `dsyrk`.
    static func symmetricRankKLower(
        _ a: UnsafePointer<Double>, m: Int, k: Int, alpha: Double, beta: Double, into c: UnsafeMutablePointer<Double>
    ) {
        if m == 0 { return }
        if k == 0 {
            for i in 0..<(m * m) { c[i] = beta == 0 ? 0 : beta * c[i] }
            return
        }
        cblas_dsyrk(
            CblasRowMajor, CblasLower, CblasNoTrans, blasint(m), blasint(k), alpha, a, blasint(k), beta, c, blasint(m)
        )
    }

    /// `C = A · B` for the symmetric `m×m` row-major `A` of which only the lower triangle is read, and the
    /// row-major `m×n` matrix `B`. The corresponding BLAS call is `dsymm`.
    static func symmetricLowerMultiply(
        _ a: UnsafePointer<Double>, m: Int, _ b: UnsafePointer<Double>, n: Int, into c: UnsafeMutablePointer<Double>
    ) {
        if m == 0 || n == 0 { return }
        cblas_dsymm(
            CblasRowMajor, CblasLeft, CblasLower, blasint(m), blasint(n), 1, a, blasint(m), b, blasint(n), 0, c,
            blasint(n)
        )
    }

    /// Replaces the lower-triangular `L` (row-major, `n` rows of `stride` entries, zero above the diagonal) by
    /// `L⁻¹`.
    /// The corresponding LAPACK call is `dtrtri`.
    static func triangularInverseInPlace(_ factor: UnsafeMutablePointer<Double>, n: Int, stride: Int) -> Int {
        if n == 0 { return 0 }
        let nonUnit = CChar(UInt8(ascii: "N"))
        return Int(LAPACKE_dtrtri(LAPACK_COL_MAJOR, upper, nonUnit, clapack_int(n), factor, clapack_int(stride)))
    }

    /// `B = B · Mᵀ` in place for the lower-triangular `n×n` `M` and the `rows×n` row-major `B`.
    /// The corresponding BLAS call is `dtrmm`.
    static func multiplyRightLowerTransposedInPlace(
        _ triangle: UnsafePointer<Double>, n: Int, stride: Int, _ b: UnsafeMutablePointer<Double>, rows: Int
    ) {
        if n == 0 || rows == 0 { return }
        cblas_dtrmm(
            CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
            blasint(rows), blasint(n), 1, triangle, blasint(stride), b, blasint(n)
        )
    }
}
