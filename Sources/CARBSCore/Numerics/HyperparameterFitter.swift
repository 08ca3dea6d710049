/// Fits kernel hyperparameters by MAP-II: maximises the log marginal likelihood plus log priors.
///
/// Optimises on log-parameters with `LBFGS` and analytic gradients (Rasmussen & Williams 2006, §5.4.1, eq. 5.9),
/// from a few starting points (a warm start from the previous fit plus a default point), with a bounded number
/// of iterations and of data points, so a refit costs milliseconds even with thousands of observations.
public struct HyperparameterFitter: Sendable {
    /// The bound on L-BFGS iterations per start.
    public var maxIterations: Int
    /// Fits on a random subset of this many rows when there is more data.
    public var maxFitPoints: Int
    /// L-BFGS stops once every component of the log-posterior gradient is below this.
    public var gradientTolerance: Double = 1e-2
    /// L-BFGS stops once an iteration improves the log posterior by less than this times `max(1, |value|)`.
    public var relativeDecreaseTolerance: Double = 1e-6

    public init(maxIterations: Int = 30, maxFitPoints: Int = 300) {
        precondition(maxIterations >= 0, "maxIterations must be non-negative, got \(maxIterations)")
        precondition(maxFitPoints >= 1, "maxFitPoints must be positive, got \(maxFitPoints)")
        self.maxIterations = maxIterations
        self.maxFitPoints = maxFitPoints
    }

    /// The MAP estimate of the hyperparameters, the best over runs from each start.
    ///
    /// The noise fitted is the observation noise on top of `jitter` (the fixed diagonal the `GaussianProcess`
    /// adds as well). Starts are clamped into the prior's hard box; duplicates are run once. With several
    /// distinct starts, L-BFGS runs `maxIterations / 5` iterations from each, then continues from the best of
    /// them for the remaining iterations, so the total stays near `maxIterations` however many starts there are.
    ///
    /// - Parameters:
    ///   - kernel: The covariance function.
    ///   - inputs: One row per observation.
    ///   - targets: One value per row.
    ///   - starts: Starting points, e.g. the previous optimum (warm start) and `KernelHyperparameters.initial`.
    ///     Each needs `inputs.columns` lengthscales. When empty, the prior medians are the start.
    ///   - prior: The log-normal priors and bounds.
    ///   - jitter: The diagonal jitter, as in `GaussianProcess`.
    ///   - generator: Draws the subset when `inputs.rows > maxFitPoints` (otherwise it is not used).
    /// - Returns: The best estimate found; if every start fails numerically, the first start unchanged. Never
    ///   throws.
    /// - Complexity: O((maxIterations · (1 + starts / 5)) · (p³ + p²·d)) with `p = min(n, maxFitPoints)`.
    public func fit(
        kernel: CovarianceKernel,
        inputs: Matrix,
        targets: [Double],
        starts: [KernelHyperparameters],
        prior: HyperparameterPrior,
        jitter: Double = 1e-4,
        generator: inout SeededGenerator
    ) -> KernelHyperparameters {
        precondition(targets.count == inputs.rows, "\(targets.count) targets for \(inputs.rows) inputs")
        let d = inputs.columns
        let medians = KernelHyperparameters(
            linearVariance: prior.linearVariance.median,
            variance: prior.variance.median,
            lengthscales: Array(repeating: prior.lengthscale.median, count: d),
            noiseVariance: prior.noiseVariance.median
        )
        let starts = starts.isEmpty ? [medians] : starts
        let fallback = starts[0]
        guard inputs.rows > 0, inputs.isFinite, targets.allSatisfy({ $0.isFinite }) else { return fallback }

        let (fitInputs, fitTargets) = subset(inputs: inputs, targets: targets, generator: &generator)
        var objective = MarginalLikelihoodObjective(
            kernel: kernel, inputs: fitInputs, targets: fitTargets, prior: prior, jitter: jitter
        )
        let parameterCount = objective.parameterCount
        func run(from theta0: [Double], iterations: Int) -> LBFGS.Result {
            var optimizer = LBFGS(memory: 8, maxIterations: iterations, gradientTolerance: gradientTolerance)
            optimizer.relativeDecreaseTolerance = relativeDecreaseTolerance
            return optimizer.minimize(from: theta0) { theta in
                guard let (value, gradient) = objective.logPosterior(theta) else {
                    return (.infinity, [Double](repeating: 0, count: parameterCount))
                }
                return (-value, gradient.map { -$0 })
            }
        }

        var uniqueStarts: [(theta: [Double], template: KernelHyperparameters)] = []
        for start in starts {
            let theta = objective.clamped(objective.encode(start))
            if !uniqueStarts.contains(where: { $0.theta == theta }) { uniqueStarts.append((theta, start)) }
        }
        // With several starts, probe each for a few iterations and spend the rest of the budget on the best.
        let probeIterations = uniqueStarts.count > 1 ? min(maxIterations, max(1, maxIterations / 5)) : maxIterations
        var best: (result: LBFGS.Result, template: KernelHyperparameters)? = nil
        for start in uniqueStarts {
            let result = run(from: start.theta, iterations: probeIterations)
            if result.value.isFinite, best == nil || result.value < best!.result.value {
                best = (result, start.template)
            }
        }
        if let probed = best, !probed.result.converged, probeIterations < maxIterations {
            let result = run(from: probed.result.x, iterations: maxIterations - probeIterations)
            if result.value.isFinite, result.value <= probed.result.value {
                best = (result, probed.template)
            }
        }
        guard let best else { return fallback }
        return objective.decode(best.result.x, template: best.template)
    }

    /// The log marginal likelihood (R&W eq. 2.30) plus, if `prior` is given, the log-normal log priors (up to a
    /// constant), and its gradient with respect to the log-parameters
    /// `[log linearVariance (linear kernels only), log variance, log ℓ₁ … log ℓ_d, log noiseVariance]`.
    ///
    /// - Returns: nil if the kernel matrix is not positive definite or (with a prior) a parameter is outside
    ///   the prior's hard box.
    public func logPosterior(
        kernel: CovarianceKernel,
        inputs: Matrix,
        targets: [Double],
        hyperparameters: KernelHyperparameters,
        prior: HyperparameterPrior?,
        jitter: Double = 1e-4
    ) -> (value: Double, gradient: [Double])? {
        var objective = MarginalLikelihoodObjective(
            kernel: kernel, inputs: inputs, targets: targets, prior: prior, jitter: jitter
        )
        return objective.logPosterior(objective.encode(hyperparameters))
    }

    /// A deterministic random subset of at most `maxFitPoints` rows (in their original order).
    private func subset(
        inputs: Matrix, targets: [Double], generator: inout SeededGenerator
    ) -> (Matrix, [Double]) {
        let n = inputs.rows
        guard n > maxFitPoints else { return (inputs, targets) }
        var indices = Array(0..<n)
        for i in 0..<maxFitPoints {
            let j = i + min(Int(generator.nextUniform() * Double(n - i)), n - i - 1)
            indices.swapAt(i, j)
        }
        let chosen = indices[0..<maxFitPoints].sorted()
        return (inputs.selectingRows(chosen), chosen.map { targets[$0] })
    }
}
