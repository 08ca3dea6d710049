/// The cross-covariances of a set of points (candidates) with a process's training inputs, computed once and
/// shared by their posterior means, cheap upper bounds on their posterior variances and their exact variances.
///
/// Choosing the acquisition's argmax needs the mean of every candidate but the variance of only those that can
/// still win; keeping the `m × n` kernel block avoids evaluating the kernel (an `exp` per entry) twice.
struct CandidateCovariances: Sendable {
    /// The number of points.
    let count: Int
    /// The number of training points of the process they were computed for.
    let trainingCount: Int
    /// `k(points_i, inputs_j)`, row-major `count × trainingCount`.
    let cross: [Double]
    /// The posterior means `k*ᵀ·α`.
    let mean: [Double]
    /// The prior variances `k(x, x)`: upper bounds on the posterior variances.
    let priorVariance: [Double]
}

extension GaussianProcess {
    /// The cross-covariances of the rows of `points` with the training inputs, their posterior means and prior
    /// variances.
    ///
    /// - Complexity: O(m·n·d) time and O(m·n) memory.
    func candidateCovariances(at points: Matrix) -> CandidateCovariances {
        let m = points.rows
        let n = count
        precondition(
            m == 0 || points.columns == inputs.columns,
            "points have \(points.columns) columns, the process has \(inputs.columns)"
        )
        let prepared = evaluator.prepare(points)
        var cross = [Double](repeating: 0, count: m * n)
        var mean = [Double](repeating: 0, count: m)
        if m > 0 && n > 0 {
            cross.withUnsafeMutableBufferPointer { cross in
                evaluator.crossCovariance(prepared, rows: 0..<m, preparedInputs, into: cross.baseAddress!)
                alpha.withUnsafeBufferPointer { alpha in
                    mean.withUnsafeMutableBufferPointer { mean in
                        LinearAlgebra.multiply(
                            cross.baseAddress!, m: m, n: n, alpha.baseAddress!, into: mean.baseAddress!)
                    }
                }
            }
        }
        let prior = (0..<m).map { evaluator.priorVariance(prepared, row: $0) }
        return CandidateCovariances(count: m, trainingCount: n, cross: cross, mean: mean, priorVariance: prior)
    }

    /// Exact posterior variances (latent, clamped at 0) of the points `rows` of `covariances`, in that order.
    ///
    /// One triangular solve `L⁻¹·k*` per point, as in `posterior(at:)`, from the kept cross-covariances.
    /// - Complexity: O(r·n²) for r rows.
    func variances(_ covariances: CandidateCovariances, rows: [Int]) -> [Double] {
        let n = count
        precondition(covariances.trainingCount == n, "covariances were computed for another training set")
        let r = rows.count
        if r == 0 { return [] }
        if n == 0 { return rows.map { covariances.priorVariance[$0] } }
        var block = [Double](repeating: 0, count: r * n)
        var result = [Double](repeating: 0, count: r)
        covariances.cross.withUnsafeBufferPointer { cross in
            block.withUnsafeMutableBufferPointer { block in
                let block = block.baseAddress!
                for (offset, row) in rows.enumerated() {
                    (block + offset * n).update(from: cross.baseAddress! + row * n, count: n)
                }
                factor.withUnsafeBufferPointer { factor in
                    LinearAlgebra.solveRightLowerTransposedInPlace(
                        factor.baseAddress!, n: n, stride: factorStride, block, rows: r)
                }
                for (offset, row) in rows.enumerated() {
                    let solved = block + offset * n
                    var explained = 0.0
                    for j in 0..<n { explained += solved[j] * solved[j] }
                    result[offset] = max(covariances.priorVariance[row] - explained, 0)
                }
            }
        }
        return result
    }

    /// Training points for the subsets of `varianceUpperBounds`, most useful first: each of every `stride`-th row
    /// of `covariances` votes for its `neighbours` most correlated training points; ranked by votes, then index.
    /// - Complexity: O(m·n / stride).
    func boundSubsetRanking(_ covariances: CandidateCovariances, neighbours: Int, stride: Int) -> [Int] {
        let n = count
        let m = covariances.count
        let q = min(neighbours, n)
        guard q > 0, m > 0 else { return [] }
        var votes = [Int](repeating: 0, count: n)
        var values = [Double](repeating: 0, count: q)
        var indices = [Int](repeating: 0, count: q)
        covariances.cross.withUnsafeBufferPointer { cross in
            for row in Swift.stride(from: 0, to: m, by: max(stride, 1)) {
                // The q largest entries of this row: insertion into a small array; most entries are rejected by
                // one comparison against the current minimum.
                let k = cross.baseAddress! + row * n
                var filled = 0
                var minimum = -Double.infinity
                var minimumSlot = 0
                for j in 0..<n {
                    if filled < q {
                        values[filled] = k[j]
                        indices[filled] = j
                        filled += 1
                        if filled < q { continue }
                    } else if k[j] > minimum {
                        values[minimumSlot] = k[j]
                        indices[minimumSlot] = j
                    } else {
                        continue
                    }
                    minimum = values[0]
                    minimumSlot = 0
                    for slot in 1..<q where values[slot] < minimum {
                        minimum = values[slot]
                        minimumSlot = slot
                    }
                }
                for slot in 0..<filled { votes[indices[slot]] += 1 }
            }
        }
        return (0..<n).filter { votes[$0] > 0 }.sorted { (votes[$0], -$0) > (votes[$1], -$1) }
    }

    /// Upper bounds on the posterior variances of the points `rows` of `covariances` that cost far less than the
    /// exact variances: their posterior variances given only the training points `subset`.
    ///
    /// Conditioning on more data never increases a Gaussian posterior variance, so the variance given a subset of
    /// the training points (with the same noise and jitter) bounds the variance given all of them. Each bound is
    /// widened by `1e-9` of the prior variance to cover rounding, and never exceeds the prior variance.
    /// - Complexity: O(s³ + r·s²) for r rows and a subset of s points.
    func varianceUpperBounds(_ covariances: CandidateCovariances, rows: [Int], subset: [Int]) -> [Double] {
        let n = count
        let prior = rows.map { covariances.priorVariance[$0] }
        let s = subset.count
        let r = rows.count
        guard s > 0, r > 0 else { return prior }
        // Cholesky of K_SS + (σₙ² + jitter)·I.
        var system = evaluator.covarianceMatrix(evaluator.prepare(inputs.selectingRows(subset)), fillUpper: false)
        let noise = hyperparameters.noiseVariance + jitter
        let info = system.withUnsafeMutableBufferPointer { system in
            for a in 0..<s { system[a * s + a] += noise }
            return LinearAlgebra.choleskyInPlace(system.baseAddress!, n: s)
        }
        guard info == 0 else { return prior }
        // ‖L_S⁻¹·k_S‖² for every row at once.
        var gathered = [Double](repeating: 0, count: r * s)
        covariances.cross.withUnsafeBufferPointer { cross in
            for (offset, row) in rows.enumerated() {
                for (a, j) in subset.enumerated() { gathered[offset * s + a] = cross[row * n + j] }
            }
        }
        gathered.withUnsafeMutableBufferPointer { gathered in
            system.withUnsafeBufferPointer { system in
                LinearAlgebra.solveRightLowerTransposedInPlace(
                    system.baseAddress!, n: s, gathered.baseAddress!, rows: r)
            }
        }
        return (0..<r).map { offset in
            var explained = 0.0
            for a in 0..<s { explained += gathered[offset * s + a] * gathered[offset * s + a] }
            guard explained.isFinite else { return prior[offset] }
            return min(max(prior[offset] - explained, 0) + 1e-9 * prior[offset], prior[offset])
        }
    }
}
