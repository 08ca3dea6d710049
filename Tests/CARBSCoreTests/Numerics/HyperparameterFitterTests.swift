import CARBSCore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("MAP-II hyperparameter fitting")
struct HyperparameterFitterTests {
    static func logParameters(_ h: KernelHyperparameters, kernel: CovarianceKernel) -> [Double] {
        (kernel.usesLinearVariance ? [log(h.linearVariance)] : []) + [log(h.variance)] + h.lengthscales.map { log($0) }
            + [log(h.noiseVariance)]
    }

    static func hyperparameters(_ theta: [Double], kernel: CovarianceKernel) -> KernelHyperparameters {
        let offset = kernel.usesLinearVariance ? 1 : 0
        let d = theta.count - offset - 2
        return KernelHyperparameters(
            linearVariance: kernel.usesLinearVariance ? exp(theta[0]) : 0,
            variance: exp(theta[offset]),
            lengthscales: (0..<d).map { exp(theta[offset + 1 + $0]) },
            noiseVariance: exp(theta[offset + 1 + d])
        )
    }

    @Test(
        "the analytic gradient matches central finite differences",
        arguments: [CovarianceKernel.linearPlusMatern32, .squaredExponential], [false, true]
    )
    func gradientMatchesFiniteDifferences(kernel: CovarianceKernel, withPrior: Bool) throws {
        let inputs = NumericsTestData.uniformMatrix(rows: 25, columns: 3, seed: 31)
        let targets = NumericsTestData.normalVector(count: 25, seed: 32)
        let prior: HyperparameterPrior? = withPrior ? .carbs(searchRadius: 0.3) : nil
        let point = KernelHyperparameters(
            linearVariance: 0.2, variance: 0.9, lengthscales: [0.25, 0.6, 1.3], noiseVariance: 0.03
        )
        let fitter = HyperparameterFitter()
        let (value, gradient) = try #require(
            fitter.logPosterior(kernel: kernel, inputs: inputs, targets: targets, hyperparameters: point, prior: prior)
        )
        // The value without a prior is the GP's own log marginal likelihood.
        if !withPrior {
            let gp = try GaussianProcess(kernel: kernel, hyperparameters: point, inputs: inputs, targets: targets)
            #expect(abs(value - gp.logMarginalLikelihood()) < 1e-9)
        }
        let theta = Self.logParameters(point, kernel: kernel)
        #expect(gradient.count == theta.count)
        let h = 1e-5
        for i in theta.indices {
            var plus = theta
            plus[i] += h
            var minus = theta
            minus[i] -= h
            let up = try #require(
                fitter.logPosterior(
                    kernel: kernel, inputs: inputs, targets: targets,
                    hyperparameters: Self.hyperparameters(plus, kernel: kernel), prior: prior
                )
            ).value
            let down = try #require(
                fitter.logPosterior(
                    kernel: kernel, inputs: inputs, targets: targets,
                    hyperparameters: Self.hyperparameters(minus, kernel: kernel), prior: prior
                )
            ).value
            let numeric = (up - down) / (2 * h)
            #expect(abs(numeric - gradient[i]) < 1e-5 * max(1, abs(numeric)), "parameter \(i)")
        }
    }

    @Test("recovers the lengthscales of data drawn from a known GP within a factor of 2")
    func recoversLengthscale() throws {
        let truth = KernelHyperparameters(
            linearVariance: 0.01, variance: 1, lengthscales: [0.5, 0.25], noiseVariance: 0.01)
        let n = 200
        let inputs = NumericsTestData.uniformMatrix(rows: n, columns: 2, range: 0...2, seed: 41)
        let prior = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: truth, inputs: Matrix(rows: 0, columns: 2), targets: []
        )
        var generator = SeededGenerator(seed: 42)
        let latent = prior.sampleJoint(at: inputs, using: &generator)
        let targets = latent.map { $0 + 0.1 * generator.nextNormal() }
        let fitted = HyperparameterFitter().fit(
            kernel: .linearPlusMatern32, inputs: inputs, targets: targets,
            starts: [.initial(dimensions: 2, searchRadius: 0.3)], prior: .carbs(searchRadius: 0.3),
            generator: &generator
        )
        for (estimate, actual) in zip(fitted.lengthscales, truth.lengthscales) {
            #expect(estimate > actual / 2 && estimate < actual * 2, "fitted \(fitted.lengthscales)")
        }
        #expect(fitted.variance > 0.25 && fitted.variance < 4, "fitted variance \(fitted.variance)")
    }

    @Test("the fit improves the log posterior over every start and the best start wins")
    func improvesOnStarts() throws {
        let inputs = NumericsTestData.uniformMatrix(rows: 60, columns: 3, seed: 51)
        let targets = (0..<60).map { i in sin(3 * inputs[i, 0]) + inputs[i, 1] * inputs[i, 1] }
        let prior = HyperparameterPrior.carbs(searchRadius: 0.3)
        let starts = [
            KernelHyperparameters.referenceParity(dimensions: 3), .initial(dimensions: 3, searchRadius: 0.3),
        ]
        var generator = SeededGenerator(seed: 1)
        let fitter = HyperparameterFitter()
        let fitted = fitter.fit(
            kernel: .linearPlusMatern32, inputs: inputs, targets: targets, starts: starts, prior: prior,
            generator: &generator
        )
        let fittedValue = try #require(
            fitter.logPosterior(
                kernel: .linearPlusMatern32, inputs: inputs, targets: targets, hyperparameters: fitted, prior: prior
            )
        ).value
        for start in starts {
            let startValue = try #require(
                fitter.logPosterior(
                    kernel: .linearPlusMatern32, inputs: inputs, targets: targets, hyperparameters: start, prior: prior
                )
            ).value
            #expect(fittedValue > startValue)
        }
        // Warm-starting from the optimum stays there.
        let refit = fitter.fit(
            kernel: .linearPlusMatern32, inputs: inputs, targets: targets, starts: [fitted], prior: prior,
            generator: &generator
        )
        let refitValue = try #require(
            fitter.logPosterior(
                kernel: .linearPlusMatern32, inputs: inputs, targets: targets, hyperparameters: refit, prior: prior
            )
        ).value
        #expect(refitValue >= fittedValue - 1e-6)
    }

    @Test("large data is fitted on a deterministic subset")
    func subsetIsDeterministic() {
        let inputs = NumericsTestData.uniformMatrix(rows: 400, columns: 2, seed: 61)
        let targets = (0..<400).map { i in inputs[i, 0] - inputs[i, 1] }
        let fitter = HyperparameterFitter(maxIterations: 10, maxFitPoints: 80)
        func run(seed: UInt64) -> (KernelHyperparameters, SeededGenerator) {
            var generator = SeededGenerator(seed: seed)
            let fitted = fitter.fit(
                kernel: .linearPlusMatern32, inputs: inputs, targets: targets,
                starts: [.initial(dimensions: 2, searchRadius: 0.3)], prior: .carbs(searchRadius: 0.3),
                generator: &generator
            )
            return (fitted, generator)
        }
        let (first, firstGenerator) = run(seed: 5)
        let (second, secondGenerator) = run(seed: 5)
        #expect(first == second)
        #expect(firstGenerator == secondGenerator)
        #expect(firstGenerator != SeededGenerator(seed: 5))
    }

    @Test("never throws: hopeless data returns the first start")
    func hopelessDataReturnsStart() {
        var generator = SeededGenerator(seed: 1)
        let start = KernelHyperparameters.initial(dimensions: 1, searchRadius: 0.3)
        let fitted = HyperparameterFitter().fit(
            kernel: .linearPlusMatern32, inputs: Matrix(rowVectors: [[0], [1]]), targets: [0, .nan], starts: [start],
            prior: .carbs(searchRadius: 0.3), generator: &generator
        )
        #expect(fitted == start)
        let empty = HyperparameterFitter().fit(
            kernel: .squaredExponential, inputs: Matrix(rows: 0, columns: 1), targets: [], starts: [start],
            prior: .carbs(searchRadius: 0.3), generator: &generator
        )
        #expect(empty == start)
    }
}
