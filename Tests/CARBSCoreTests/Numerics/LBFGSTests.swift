import CARBSCore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("L-BFGS")
struct LBFGSTests {
    static func rosenbrock(_ x: [Double]) -> (value: Double, gradient: [Double]) {
        var value = 0.0
        var gradient = [Double](repeating: 0, count: x.count)
        for i in 0..<(x.count - 1) {
            let a = x[i + 1] - x[i] * x[i]
            let b = 1 - x[i]
            value += 100 * a * a + b * b
            gradient[i] += -400 * x[i] * a - 2 * b
            gradient[i + 1] += 200 * a
        }
        return (value, gradient)
    }

    @Test("finds the minimum of the Rosenbrock function", arguments: [2, 10])
    func rosenbrock(dimension: Int) {
        var start = [Double](repeating: 1, count: dimension)
        for i in stride(from: 0, to: dimension, by: 2) { start[i] = -1.2 }
        let result = LBFGS(maxIterations: 500, gradientTolerance: 1e-8).minimize(from: start, Self.rosenbrock)
        #expect(result.converged)
        for value in result.x { #expect(abs(value - 1) < 1e-5) }
        #expect(result.value < 1e-10)
    }

    @Test("steps back from a region where the objective is not finite")
    func nonFiniteRegion() {
        // Rosenbrock, but NaN outside the box |x|, |y| ≤ 1.5, where full steps often land.
        var nanEvaluations = 0
        let result = LBFGS(maxIterations: 500, gradientTolerance: 1e-8).minimize(from: [-1.2, 1]) { x in
            if x.contains(where: { abs($0) > 1.5 }) {
                nanEvaluations += 1
                return (.nan, [.nan, .nan])
            }
            return Self.rosenbrock(x)
        }
        #expect(abs(result.x[0] - 1) < 1e-5 && abs(result.x[1] - 1) < 1e-5)
        #expect(result.value.isFinite)

        let hopeless = LBFGS().minimize(from: [1]) { _ in (.infinity, [0]) }
        #expect(!hopeless.converged)
        #expect(hopeless.x == [1])
        #expect(hopeless.iterations == 0)
    }

    @Test("the maximiser of a 1-D GP likelihood agrees with a grid search")
    func gpLikelihood() throws {
        // Noisy samples of a smooth function; the lengthscale of a squared-exponential GP is the only free
        // parameter (variance 1, noise 0.01 fixed).
        let xs = (0..<30).map { Double($0) / 29 * 4 }
        let noise = NumericsTestData.normalVector(count: 30, seed: 21)
        let ys = zip(xs, noise).map { sin(1.7 * $0) + 0.1 * $1 }
        let inputs = Matrix(rows: 30, columns: 1, elements: xs)
        func negativeLogLikelihood(_ logLengthscale: Double) -> (Double, Double) {
            let hyperparameters = KernelHyperparameters(
                linearVariance: 0, variance: 1, lengthscales: [exp(logLengthscale)], noiseVariance: 0.01
            )
            guard
                let (value, gradient) = HyperparameterFitter().logPosterior(
                    kernel: .squaredExponential, inputs: inputs, targets: ys, hyperparameters: hyperparameters,
                    prior: nil
                )
            else { return (.infinity, 0) }
            // Parameters: [log variance, log ℓ, log noise].
            return (-value, -gradient[1])
        }
        var bestGrid = (value: Double.infinity, logLengthscale: 0.0)
        for step in 0...5000 {
            let logLengthscale = -3 + Double(step) * 0.001
            let (value, _) = negativeLogLikelihood(logLengthscale)
            if value < bestGrid.value { bestGrid = (value, logLengthscale) }
        }
        let result = LBFGS(gradientTolerance: 1e-7).minimize(from: [log(0.3)]) { x in
            let (value, derivative) = negativeLogLikelihood(x[0])
            return (value, [derivative])
        }
        #expect(result.converged)
        #expect(abs(result.x[0] - bestGrid.logLengthscale) < 0.001)
        #expect(result.value <= bestGrid.value + 1e-9)
    }
}
