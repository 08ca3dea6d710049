#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The log marginal likelihood (plus optional log priors) of kernel hyperparameters and its gradient with
/// respect to the log-parameters, for MAP-II fitting.
///
/// The parameter vector is `[log linearVariance (linear kernels only), log variance, log ℓ₁ … log ℓ_d,
/// log noiseVariance]`. The gradient is R&W eq. 5.9, `½·tr((α·αᵀ − K⁻¹)·∂K/∂θ)`, with `K⁻¹` from `dpotri`, and
/// for the lengthscales `∂K_ab/∂log ℓ_j = E_ab·(x_aj − x_bj)²/ℓ_j²` (Matérn-3/2: `E = 3·σ²·exp(−√3·r)`;
/// squared exponential: `E = k`), so that the `d` lengthscale traces are one `dsymm`:
/// `Σ_ab C_ab·(u_a − u_b)² = 2·Σ_a u_a²·(C·1)_a − 2·uᵀ·C·u` with `C = W ∘ E`.
struct MarginalLikelihoodObjective {
    let kernel: CovarianceKernel
    let count: Int
    let dimensions: Int
    let inputs: [Double]
    let targets: [Double]
    let prior: HyperparameterPrior?
    let jitter: Double
    /// `X·Xᵀ` (lower triangle) for the linear part.
    let linearGram: [Double]
    /// The allowed range of each log-parameter.
    let bounds: [ClosedRange<Double>]

    // Scratch space, reused between evaluations.
    private var covariance: [Double]
    private var stationaryPart: [Double]
    private var derivativeFactor: [Double]
    private var scaled: [Double]
    private var product: [Double]

    var parameterCount: Int { (kernel.usesLinearVariance ? 1 : 0) + 2 + dimensions }

    init(kernel: CovarianceKernel, inputs: Matrix, targets: [Double], prior: HyperparameterPrior?, jitter: Double) {
        precondition(targets.count == inputs.rows, "\(targets.count) targets for \(inputs.rows) inputs")
        let n = inputs.rows
        let d = inputs.columns
        self.kernel = kernel
        self.count = n
        self.dimensions = d
        self.inputs = inputs.elements
        self.targets = targets
        self.prior = prior
        self.jitter = jitter
        var gram = [Double](repeating: 0, count: kernel.usesLinearVariance ? n * n : 0)
        if kernel.usesLinearVariance && n > 0 && d > 0 {
            inputs.elements.withUnsafeBufferPointer { x in
                gram.withUnsafeMutableBufferPointer { gram in
                    LinearAlgebra.symmetricRankKLower(
                        x.baseAddress!, m: n, k: d, alpha: 1, beta: 0, into: gram.baseAddress!
                    )
                }
            }
        }
        self.linearGram = gram
        var bounds: [ClosedRange<Double>] = []
        let wide = log(1e-12)...log(1e12)
        if let prior {
            let width = prior.boundInStandardDeviations
            if kernel.usesLinearVariance { bounds.append(prior.linearVariance.logBounds(standardDeviations: width)) }
            bounds.append(prior.variance.logBounds(standardDeviations: width))
            for _ in 0..<d { bounds.append(prior.lengthscale.logBounds(standardDeviations: width)) }
            bounds.append(prior.noiseVariance.logBounds(standardDeviations: width))
        } else {
            bounds = Array(repeating: wide, count: (kernel.usesLinearVariance ? 1 : 0) + 2 + d)
        }
        self.bounds = bounds
        covariance = [Double](repeating: 0, count: n * n)
        stationaryPart = [Double](repeating: 0, count: n * n)
        derivativeFactor = [Double](repeating: 0, count: n * n)
        scaled = [Double](repeating: 0, count: n * d)
        product = [Double](repeating: 0, count: n * d)
    }

    /// The log-parameter vector of `hyperparameters`.
    func encode(_ hyperparameters: KernelHyperparameters) -> [Double] {
        precondition(
            hyperparameters.lengthscales.count == dimensions,
            "start has \(hyperparameters.lengthscales.count) lengthscales, the inputs have \(dimensions) columns"
        )
        var theta: [Double] = []
        if kernel.usesLinearVariance { theta.append(log(hyperparameters.linearVariance)) }
        theta.append(log(hyperparameters.variance))
        theta += hyperparameters.lengthscales.map { log($0) }
        theta.append(log(hyperparameters.noiseVariance))
        return theta
    }

    /// The hyperparameters of a log-parameter vector (`linearVariance` is kept from `template` for kernels
    /// without a linear part).
    func decode(_ theta: [Double], template: KernelHyperparameters) -> KernelHyperparameters {
        var index = 0
        var result = template
        if kernel.usesLinearVariance {
            result.linearVariance = exp(theta[0])
            index = 1
        }
        result.variance = exp(theta[index])
        result.lengthscales = (0..<dimensions).map { exp(theta[index + 1 + $0]) }
        result.noiseVariance = exp(theta[index + 1 + dimensions])
        return result
    }

    /// `theta` moved into the bounds (non-finite entries go to the middle of their range).
    func clamped(_ theta: [Double]) -> [Double] {
        zip(theta, bounds).map { value, range in
            value.isFinite
                ? min(max(value, range.lowerBound), range.upperBound) : 0.5 * (range.lowerBound + range.upperBound)
        }
    }

    /// The log marginal likelihood plus the log priors, and its gradient; nil if `theta` is out of bounds or the
    /// kernel matrix is not positive definite.
    mutating func logPosterior(_ theta: [Double]) -> (value: Double, gradient: [Double])? {
        precondition(theta.count == parameterCount, "expected \(parameterCount) parameters, got \(theta.count)")
        for (value, range) in zip(theta, bounds) where !range.contains(value) { return nil }
        let n = count
        let d = dimensions
        let linearOffset = kernel.usesLinearVariance ? 1 : 0
        let linearVariance = kernel.usesLinearVariance ? exp(theta[0]) : 0
        let variance = exp(theta[linearOffset])
        let noise = exp(theta[linearOffset + 1 + d])
        var gradient = [Double](repeating: 0, count: parameterCount)
        var value = 0.0

        if n > 0 {
            guard
                let likelihood = logLikelihood(
                    theta: theta, linearVariance: linearVariance, variance: variance, noise: noise, gradient: &gradient
                )
            else { return nil }
            value = likelihood
        }
        if let prior {
            var index = 0
            func add(_ logNormal: HyperparameterPrior.LogNormal) {
                let (logDensity, derivative) = logNormal.logDensity(logValue: theta[index])
                value += logDensity
                gradient[index] += derivative
                index += 1
            }
            if kernel.usesLinearVariance { add(prior.linearVariance) }
            add(prior.variance)
            for _ in 0..<d { add(prior.lengthscale) }
            add(prior.noiseVariance)
        }
        guard value.isFinite, gradient.allSatisfy({ $0.isFinite }) else { return nil }
        return (value, gradient)
    }

    private mutating func logLikelihood(
        theta: [Double], linearVariance: Double, variance: Double, noise: Double, gradient: inout [Double]
    ) -> Double? {
        let n = count
        let d = dimensions
        let kernel = self.kernel
        let linearOffset = kernel.usesLinearVariance ? 1 : 0
        let diagonalAddition = noise + jitter
        let inverseLengthscales = (0..<d).map { exp(-theta[linearOffset + 1 + $0]) }
        var norms = [Double](repeating: 0, count: n)
        for a in 0..<n {
            var norm = 0.0
            for j in 0..<d {
                let value = inputs[a * d + j] * inverseLengthscales[j]
                scaled[a * d + j] = value
                norm += value * value
            }
            norms[a] = norm
        }
        let hasLinear = kernel.usesLinearVariance

        // Kernel matrix (lower triangle), its stationary part and the lengthscale-derivative factor E.
        let factorization: Int = covariance.withUnsafeMutableBufferPointer { covarianceBuffer in
            let k = covarianceBuffer.baseAddress!
            scaled.withUnsafeBufferPointer { scaled in
                if d > 0 {
                    LinearAlgebra.symmetricRankKLower(scaled.baseAddress!, m: n, k: d, alpha: 1, beta: 0, into: k)
                } else {
                    k.update(repeating: 0, count: n * n)
                }
            }
            stationaryPart.withUnsafeMutableBufferPointer { stationary in
                derivativeFactor.withUnsafeMutableBufferPointer { factor in
                    linearGram.withUnsafeBufferPointer { gram in
                        for a in 0..<n {
                            let row = a * n
                            for b in 0...a {
                                let r2 = a == b ? 0 : max(norms[a] + norms[b] - 2 * k[row + b], 0)
                                let stationaryValue: Double
                                switch kernel {
                                case .linearPlusMatern32:
                                    let s = (3 * r2).squareRoot()
                                    let e = exp(-s)
                                    stationaryValue = variance * (1 + s) * e
                                    factor[row + b] = 3 * variance * e
                                case .squaredExponential:
                                    stationaryValue = variance * exp(-0.5 * r2)
                                    factor[row + b] = stationaryValue
                                }
                                stationary[row + b] = stationaryValue
                                k[row + b] = stationaryValue + (hasLinear ? linearVariance * gram[row + b] : 0)
                            }
                            k[row + a] += diagonalAddition
                        }
                    }
                }
            }
            return LinearAlgebra.choleskyInPlace(k, n: n)
        }
        guard factorization == 0 else { return nil }

        var alpha = targets
        var logDeterminant = 0.0
        var dataFit = 0.0
        covariance.withUnsafeBufferPointer { factor in
            alpha.withUnsafeMutableBufferPointer { alpha in
                LinearAlgebra.choleskySolveInPlace(factor.baseAddress!, n: n, alpha.baseAddress!)
            }
        }
        for a in 0..<n {
            logDeterminant += log(covariance[a * n + a])
            dataFit += targets[a] * alpha[a]
        }
        let logLikelihood = -0.5 * dataFit - logDeterminant - 0.5 * Double(n) * log(2 * Double.pi)

        let inversion = covariance.withUnsafeMutableBufferPointer { factor in
            LinearAlgebra.inverseFromCholeskyInPlace(factor.baseAddress!, n: n)
        }
        guard inversion == 0 else { return nil }

        // W = α·αᵀ − K⁻¹ (lower); the traces of W·∂K/∂θ; C = W ∘ E (lower, into derivativeFactor).
        var linearTrace = 0.0
        var varianceTrace = 0.0
        var noiseTrace = 0.0
        var rowSums = [Double](repeating: 0, count: n)
        covariance.withUnsafeBufferPointer { inverse in
            stationaryPart.withUnsafeBufferPointer { stationary in
                derivativeFactor.withUnsafeMutableBufferPointer { factor in
                    linearGram.withUnsafeBufferPointer { gram in
                        for a in 0..<n {
                            let row = a * n
                            let alphaA = alpha[a]
                            for b in 0..<a {
                                let w = alphaA * alpha[b] - inverse[row + b]
                                varianceTrace += 2 * w * stationary[row + b]
                                if hasLinear { linearTrace += 2 * w * gram[row + b] }
                                let c = w * factor[row + b]
                                factor[row + b] = c
                                rowSums[a] += c
                                rowSums[b] += c
                            }
                            let w = alphaA * alphaA - inverse[row + a]
                            varianceTrace += w * stationary[row + a]
                            if hasLinear { linearTrace += w * gram[row + a] }
                            noiseTrace += w
                            let c = w * factor[row + a]
                            factor[row + a] = c
                            rowSums[a] += c
                        }
                    }
                }
            }
        }
        if hasLinear { gradient[0] = 0.5 * linearVariance * linearTrace }
        gradient[linearOffset] = 0.5 * varianceTrace
        gradient[linearOffset + 1 + d] = 0.5 * noise * noiseTrace

        if d > 0 {
            derivativeFactor.withUnsafeBufferPointer { factor in
                scaled.withUnsafeBufferPointer { scaled in
                    product.withUnsafeMutableBufferPointer { product in
                        LinearAlgebra.symmetricLowerMultiply(
                            factor.baseAddress!, m: n, scaled.baseAddress!, n: d, into: product.baseAddress!
                        )
                    }
                }
            }
            // ½·Σ_ab C_ab (u_a − u_b)² = Σ_a u_a²·rowSum_a − Σ_a u_a·(C·u)_a
            for j in 0..<d {
                var trace = 0.0
                for a in 0..<n {
                    let u = scaled[a * d + j]
                    trace += u * (u * rowSums[a] - product[a * d + j])
                }
                gradient[linearOffset + 1 + j] = trace
            }
        }
        return logLikelihood
    }
}
