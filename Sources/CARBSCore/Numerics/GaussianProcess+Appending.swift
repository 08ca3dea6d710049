extension GaussianProcess {
    /// This process conditioned on extra data, with the same hyperparameters (see `append(inputs:targets:)`).
    ///
    /// - Throws: `GPError.invalidInput` for non-finite data; `GPError.notPositiveDefinite` if even the rebuild
    ///   fails.
    /// - Complexity: O(k·n² + k²·n + k³ + (n + k)²) for `k` new points.
    public func appending(inputs newInputs: Matrix, targets newTargets: [Double]) throws(GPError) -> GaussianProcess {
        var extended = self
        try extended.append(inputs: newInputs, targets: newTargets)
        return extended
    }

    /// Conditions this process on extra data, with the same hyperparameters.
    ///
    /// Extends the Cholesky factor by one block: `L₂₁ = K₂₁·L₁₁⁻ᵀ`, `L₂₂ = chol(K₂₂ + σ²·I − L₂₁·L₂₁ᵀ)`, without
    /// refactorising the old part (the jitter of this process is reused), and `L⁻¹·y` by the new rows alone; only
    /// `α = L⁻ᵀ·(L⁻¹·y)` is solved again. The factor's rows are kept with spare room, so when this value's storage
    /// is not shared the old rows are neither copied nor moved. If the new block is not positive definite, the
    /// whole process is rebuilt from scratch, which escalates the jitter.
    ///
    /// - Throws: `GPError.invalidInput` for non-finite data; `GPError.notPositiveDefinite` if even the rebuild
    ///   fails (the process is then unchanged).
    /// - Complexity: O(k·n² + k²·n + k³) for `k` new points, plus O((n + k)²) when the spare room runs out.
    public mutating func append(inputs newInputs: Matrix, targets newTargets: [Double]) throws(GPError) {
        let k = newInputs.rows
        precondition(newTargets.count == k, "\(newTargets.count) targets for \(k) inputs")
        if k == 0 { return }
        precondition(
            newInputs.columns == inputs.columns,
            "new inputs have \(newInputs.columns) columns, the process has \(inputs.columns)"
        )
        try Self.checkFinite(inputs: newInputs, targets: newTargets)
        let n = count
        let newPrepared = evaluator.prepare(newInputs)

        // K₂₁ (k×n), then L₂₁ = K₂₁·L₁₁⁻ᵀ in place; the corner K₂₂ + σ²·I − L₂₁·L₂₁ᵀ and its factor.
        var lower = [Double](repeating: 0, count: k * n)
        var corner = evaluator.covarianceMatrix(newPrepared, fillUpper: false)
        let noise = hyperparameters.noiseVariance + jitter
        let stride = factorStride
        let info = lower.withUnsafeMutableBufferPointer { lower -> Int in
            if n > 0 {
                evaluator.crossCovariance(newPrepared, rows: 0..<k, preparedInputs, into: lower.baseAddress!)
                factor.withUnsafeBufferPointer { factor in
                    LinearAlgebra.solveRightLowerTransposedInPlace(
                        factor.baseAddress!, n: n, stride: stride, lower.baseAddress!, rows: k
                    )
                }
            }
            return corner.withUnsafeMutableBufferPointer { corner -> Int in
                let corner = corner.baseAddress!
                for i in 0..<k { corner[i * k + i] += noise }
                if n > 0 {
                    LinearAlgebra.symmetricRankKLower(lower.baseAddress!, m: k, k: n, alpha: -1, beta: 1, into: corner)
                }
                return LinearAlgebra.choleskyInPlace(corner, n: k)
            }
        }
        if info != 0 || corner.contains(where: { !$0.isFinite }) || lower.contains(where: { !$0.isFinite }) {
            self = try GaussianProcess(
                kernel: kernel, hyperparameters: hyperparameters, inputs: inputs.appendingRows(of: newInputs),
                targets: targets + newTargets, jitter: jitter
            )
            return
        }

        let total = n + k
        if factorStride < total { reserveFactorRows(total + Self.spareRows(for: total)) }
        let newStride = factorStride
        factor.reserveCapacity(newStride * newStride)
        var newForward = [Double](repeating: 0, count: k)
        for i in 0..<k {
            var sum = newTargets[i]
            for j in 0..<n { sum -= lower[i * n + j] * forward[j] }
            for j in 0..<i { sum -= corner[i * k + j] * newForward[j] }
            newForward[i] = sum / corner[i * k + i]
            var row = [Double](repeating: 0, count: newStride)
            for j in 0..<n { row[j] = lower[i * n + j] }
            for j in 0...i { row[n + j] = corner[i * k + j] }
            factor.append(contentsOf: row)
        }
        forward += newForward
        alpha = Self.backSolve(factor: factor, n: total, stride: newStride, forward)
        inputs = inputs.appendingRows(of: newInputs)
        targets += newTargets
        preparedInputs.raw += newPrepared.raw
        preparedInputs.scaled += newPrepared.scaled
        preparedInputs.scaledSquaredNorms += newPrepared.scaledSquaredNorms
        preparedInputs.count = total
    }

    /// Rows of spare room left when the factor is laid out again: an eighth of its size, at least 64.
    static func spareRows(for count: Int) -> Int { max(64, count / 8) }

    /// Lays the factor out again with `stride` entries per row (`stride ≥ count`), so that rows up to `stride`
    /// can be appended without moving the old ones.
    mutating func reserveFactorRows(_ stride: Int) {
        let n = count
        precondition(stride >= n, "a stride of \(stride) cannot hold \(n) rows")
        if stride == factorStride { return }
        var laidOut = [Double]()
        laidOut.reserveCapacity(stride * stride)
        laidOut.append(contentsOf: repeatElement(0, count: n * stride))
        let old = factorStride
        factor.withUnsafeBufferPointer { factor in
            laidOut.withUnsafeMutableBufferPointer { laidOut in
                for i in 0..<n {
                    (laidOut.baseAddress! + i * stride).update(from: factor.baseAddress! + i * old, count: i + 1)
                }
            }
        }
        factor = laidOut
        factorStride = stride
    }
}

extension GaussianProcess {
    /// Replaces the training targets, keeping the inputs and the factor: only `L⁻¹·y` and `α` are solved again,
    /// because the Cholesky factor depends on the inputs and hyperparameters alone.
    ///
    /// - Throws: `GPError.invalidInput` for a non-finite target.
    /// - Complexity: O(n²).
    public mutating func replaceTargets(_ newTargets: [Double]) throws(GPError) {
        precondition(newTargets.count == count, "\(newTargets.count) targets for \(count) training points")
        try Self.checkFinite(inputs: Matrix(rows: 0, columns: inputs.columns), targets: newTargets)
        targets = newTargets
        forward = Self.forwardSolve(factor: factor, n: count, stride: factorStride, newTargets)
        alpha = Self.backSolve(factor: factor, n: count, stride: factorStride, forward)
    }
}
