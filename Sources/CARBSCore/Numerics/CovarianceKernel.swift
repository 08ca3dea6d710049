/// The covariance function of a Gaussian process.
///
/// Lengthscales are automatic-relevance-determination (ARD): `r = ‖(x − z) / ℓ‖` with one `ℓ` per input
/// dimension (Rasmussen & Williams, *Gaussian Processes for Machine Learning*, 2006, §4.2 and §5.1).
public enum CovarianceKernel: String, Sendable, Hashable, Codable {
    /// `k(x, z) = linearVariance · (x · z) + variance · (1 + √3 r) · exp(−√3 r)`: a linear kernel plus an ARD
    /// Matérn-3/2 (R&W eq. 4.17), the kernel of the CARBS output, cost and failure models.
    case linearPlusMatern32
    /// `k(x, z) = variance · exp(−r² / 2)` (`linearVariance` is ignored): used for the 1-D Pareto model.
    case squaredExponential

    /// Whether `linearVariance` takes part in this kernel.
    public var usesLinearVariance: Bool {
        self == .linearPlusMatern32
    }
}

/// The hyperparameters of a `CovarianceKernel` plus the Gaussian observation noise.
public struct KernelHyperparameters: Sendable, Hashable, Codable {
    /// The scale of the linear part (`≥ 0`).
    public var linearVariance: Double
    /// The scale of the stationary part (`≥ 0`).
    public var variance: Double
    /// One lengthscale (`> 0`) per input dimension.
    public var lengthscales: [Double]
    /// The variance of the Gaussian observation noise (`≥ 0`).
    public var noiseVariance: Double

    public init(linearVariance: Double, variance: Double, lengthscales: [Double], noiseVariance: Double) {
        self.linearVariance = linearVariance
        self.variance = variance
        self.lengthscales = lengthscales
        self.noiseVariance = noiseVariance
    }

    /// The reference implementation's effective values: both variances 1.1, lengthscales 0.27, noise 0.01.
    ///
    /// The reference re-fits with Adam but, as measured, its fits never take effect after the first model of a
    /// process, so its models behave as if these were fixed (see the CARBS algorithm page, §4).
    public static func referenceParity(dimensions: Int) -> KernelHyperparameters {
        precondition(dimensions >= 0, "dimensions must be non-negative, got \(dimensions)")
        return KernelHyperparameters(
            linearVariance: 1.1,
            variance: 1.1,
            lengthscales: Array(repeating: 0.27, count: dimensions),
            noiseVariance: 0.01
        )
    }

    /// The default initial point of a fit: both variances 1, every lengthscale = `searchRadius`, noise 0.01.
    public static func initial(dimensions: Int, searchRadius: Double) -> KernelHyperparameters {
        precondition(dimensions >= 0, "dimensions must be non-negative, got \(dimensions)")
        precondition(searchRadius > 0 && searchRadius.isFinite, "searchRadius must be positive, got \(searchRadius)")
        return KernelHyperparameters(
            linearVariance: 1,
            variance: 1,
            lengthscales: Array(repeating: searchRadius, count: dimensions),
            noiseVariance: 0.01
        )
    }

    /// Checks every value is finite and in range; the message names the offending field.
    func validate() throws(GPError) {
        func fail(_ message: String) -> GPError { GPError(code: .invalidInput, message: message) }
        guard linearVariance.isFinite, linearVariance >= 0 else {
            throw fail("linearVariance: \(linearVariance) is not a finite value ≥ 0")
        }
        guard variance.isFinite, variance >= 0 else {
            throw fail("variance: \(variance) is not a finite value ≥ 0")
        }
        guard noiseVariance.isFinite, noiseVariance >= 0 else {
            throw fail("noiseVariance: \(noiseVariance) is not a finite value ≥ 0")
        }
        for (index, lengthscale) in lengthscales.enumerated() where !(lengthscale.isFinite && lengthscale > 0) {
            throw fail("lengthscales[\(index)]: \(lengthscale) is not a finite value > 0")
        }
    }
}
