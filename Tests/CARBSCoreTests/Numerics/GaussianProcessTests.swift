import CARBSCore
import Testing

@Suite("Gaussian process regression")
struct GaussianProcessTests {
    /// Squared exponential, variance 1, lengthscale 1, noise 0.01, no jitter; x = 0, 1, 2; y = 1, −1, 0.5.
    ///
    /// K + 0.01·I = [[1.01, e^(−1/2), e^(−2)], [e^(−1/2), 1.01, e^(−1/2)], [e^(−2), e^(−1/2), 1.01]]
    /// with e^(−1/2) = 0.6065306597126334, e^(−2) = 0.1353352832366127. At x* = 0.5:
    /// k* = (e^(−1/8), e^(−1/8), e^(−9/8)) = (0.8824969025845953, 0.8824969025845953, 0.32465246735834974).
    /// α = (K + 0.01·I)⁻¹·y = (3.5255726561705285, −4.8812019925379255, 2.9539250403272805);
    /// mean = k*·α = −0.23733963766317395; variance = 1 − k*ᵀ(K + 0.01·I)⁻¹k* = 0.02502048666131007;
    /// log p(y) = −½·yᵀα − ½·log|K + 0.01·I| − (3/2)·log 2π = −7.199200973668951.
    @Test("posterior and likelihood of a hand-computed three-point case")
    func threePointCase() throws {
        let gp = try GaussianProcess(
            kernel: .squaredExponential,
            hyperparameters: KernelHyperparameters(
                linearVariance: 5, variance: 1, lengthscales: [1], noiseVariance: 0.01),
            inputs: Matrix(rowVectors: [[0], [1], [2]]),
            targets: [1, -1, 0.5],
            jitter: 0
        )
        #expect(gp.count == 3)
        #expect(gp.jitter == 0)
        let (mean, variance) = gp.posterior(at: Matrix(rowVectors: [[0.5]]))
        #expect(abs(mean[0] - -0.23733963766317395) < 1e-13)
        #expect(abs(variance[0] - 0.02502048666131007) < 1e-13)
        #expect(abs(gp.logMarginalLikelihood() - -7.199200973668951) < 1e-12)
    }

    /// Linear (0.5) + Matérn-3/2 (variance 2, lengthscales 0.5 and 2), noise 0.1, no jitter, in two dimensions;
    /// reference values from a direct NumPy evaluation of R&W Algorithm 2.1.
    @Test("posterior of linear + Matérn-3/2 with ARD lengthscales matches a direct evaluation")
    func linearPlusMaternCase() throws {
        let gp = try GaussianProcess(
            kernel: .linearPlusMatern32,
            hyperparameters: KernelHyperparameters(
                linearVariance: 0.5, variance: 2, lengthscales: [0.5, 2], noiseVariance: 0.1
            ),
            inputs: Matrix(rowVectors: [[0, 0], [1, 0.5], [0.2, 1]]),
            targets: [0.3, -0.2, 1.0],
            jitter: 0
        )
        let points = Matrix(rowVectors: [[0.5, 0.5], [2, -1]])
        let (mean, variance) = gp.posterior(at: points)
        #expect(abs(mean[0] - 0.4531660386060291) < 1e-12)
        #expect(abs(mean[1] - -0.37030073908795746) < 1e-12)
        #expect(abs(variance[0] - 0.8939123161396803) < 1e-12)
        #expect(abs(variance[1] - 3.9706489200341757) < 1e-12)
        let joint = gp.posteriorCovariance(at: points)
        #expect(abs(joint.covariance[0, 1] - 0.11638929748420568) < 1e-12)
        #expect(joint.covariance[0, 1] == joint.covariance[1, 0])
        #expect(abs(joint.covariance[1, 1] - variance[1]) < 1e-12)
        #expect(abs(gp.logMarginalLikelihood() - -4.110770310701647) < 1e-12)
        #expect(gp.posterior(at: points, includeVariance: false).variance.isEmpty)
        #expect(gp.posterior(at: points, includeVariance: false).mean == mean)
    }

    @Test("a process without data is the prior")
    func emptyProcess() throws {
        let hyperparameters = KernelHyperparameters.referenceParity(dimensions: 2)
        let gp = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: Matrix(rows: 0, columns: 2),
            targets: []
        )
        let (mean, variance) = gp.posterior(at: Matrix(rowVectors: [[1, 2]]))
        #expect(mean == [0])
        #expect(abs(variance[0] - (1.1 + 1.1 * 5)) < 1e-12)
        #expect(gp.logMarginalLikelihood() == 0)
        let appended = try gp.appending(inputs: Matrix(rowVectors: [[1, 2]]), targets: [0.5])
        #expect(appended.count == 1)
    }

    @Test(
        "blocked posterior agrees with the joint posterior across block boundaries",
        arguments: [CovarianceKernel.linearPlusMatern32, .squaredExponential]
    )
    func blockedPosterior(kernel: CovarianceKernel) throws {
        let inputs = NumericsTestData.uniformMatrix(rows: 150, columns: 4, seed: 1)
        let targets = NumericsTestData.normalVector(count: 150, seed: 2)
        let gp = try GaussianProcess(
            kernel: kernel, hyperparameters: .initial(dimensions: 4, searchRadius: 0.4), inputs: inputs,
            targets: targets
        )
        let points = NumericsTestData.uniformMatrix(rows: 3000, columns: 4, range: -0.5...1.5, seed: 3)
        let (mean, variance) = gp.posterior(at: points)
        let check = [0, 1, 1746, 1747, 1748, 2999]
        let joint = gp.posteriorCovariance(at: points.selectingRows(check))
        for (index, row) in check.enumerated() {
            #expect(abs(mean[row] - joint.mean[index]) < 1e-10)
            #expect(abs(variance[row] - joint.covariance[index, index]) < 1e-10)
        }
        #expect(variance.allSatisfy { $0 >= 0 && $0.isFinite })
        let prior = gp.priorVariance(at: points)
        #expect(zip(variance, prior).allSatisfy { $0 <= $1 })
    }

    @Test("large problems (parallel kernel rows, several dtrsm blocks) agree with the serial likelihood code")
    func largeProblem() throws {
        let n = 600
        let inputs = NumericsTestData.uniformMatrix(rows: n, columns: 5, seed: 13)
        let targets = NumericsTestData.normalVector(count: n, seed: 14)
        let hyperparameters = KernelHyperparameters.initial(dimensions: 5, searchRadius: 0.3)
        let gp = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: inputs, targets: targets
        )
        let direct = try #require(
            HyperparameterFitter().logPosterior(
                kernel: .linearPlusMatern32, inputs: inputs, targets: targets, hyperparameters: hyperparameters,
                prior: nil
            )
        )
        #expect(abs(gp.logMarginalLikelihood() - direct.value) < 1e-8 * abs(direct.value))
        // m < 2n: the dtrsm path, in blocks of 436 rows.
        let points = NumericsTestData.uniformMatrix(rows: 1000, columns: 5, seed: 15)
        let (mean, variance) = gp.posterior(at: points)
        let check = [0, 435, 436, 999]
        let joint = gp.posteriorCovariance(at: points.selectingRows(check))
        for (index, row) in check.enumerated() {
            #expect(abs(mean[row] - joint.mean[index]) < 1e-9)
            #expect(abs(variance[row] - joint.covariance[index, index]) < 1e-9)
        }
    }

    @Test(
        "appending extends the factor to the same process as a rebuild on all data",
        arguments: [CovarianceKernel.linearPlusMatern32, .squaredExponential]
    )
    func appendingEqualsRebuild(kernel: CovarianceKernel) throws {
        let all = NumericsTestData.uniformMatrix(rows: 48, columns: 3, seed: 4)
        let targets = NumericsTestData.normalVector(count: 48, seed: 5)
        let hyperparameters = KernelHyperparameters(
            linearVariance: 0.3, variance: 1.2, lengthscales: [0.3, 0.5, 0.8], noiseVariance: 0.02
        )
        let base = try GaussianProcess(
            kernel: kernel, hyperparameters: hyperparameters, inputs: all.selectingRows(Array(0..<40)),
            targets: Array(targets[0..<40])
        )
        // One block of 7, then a single point.
        let appended = try base.appending(inputs: all.selectingRows(Array(40..<47)), targets: Array(targets[40..<47]))
            .appending(inputs: all.selectingRows([47]), targets: [targets[47]])
        let rebuilt = try GaussianProcess(
            kernel: kernel, hyperparameters: hyperparameters, inputs: all, targets: targets)
        #expect(appended.count == 48)
        #expect(appended.inputs == rebuilt.inputs)
        #expect(appended.targets == rebuilt.targets)
        let points = NumericsTestData.uniformMatrix(rows: 25, columns: 3, seed: 6)
        let (mean, variance) = appended.posterior(at: points)
        let (expectedMean, expectedVariance) = rebuilt.posterior(at: points)
        for i in 0..<25 {
            #expect(abs(mean[i] - expectedMean[i]) < 1e-8)
            #expect(abs(variance[i] - expectedVariance[i]) < 1e-8)
        }
        #expect(abs(appended.logMarginalLikelihood() - rebuilt.logMarginalLikelihood()) < 1e-8)
    }

    @Test("duplicate inputs without noise escalate the jitter instead of failing")
    func jitterEscalation() throws {
        // Matérn variance 1 and no linear part: a duplicated row gives an exactly zero pivot.
        let hyperparameters = KernelHyperparameters(
            linearVariance: 0, variance: 1, lengthscales: [0.5, 0.5], noiseVariance: 0
        )
        let inputs = Matrix(rowVectors: [[0.1, 0.2], [0.1, 0.2], [0.9, 0.4], [0.1, 0.2], [0.5, 0.5]])
        let gp = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: inputs,
            targets: [1, 2, 0, 3, 0.5], jitter: 0
        )
        #expect(gp.jitter > 0)
        #expect(gp.jitter <= 1e-8)
        // Noise-free with three copies: the mean there is their average.
        let (mean, variance) = gp.posterior(at: Matrix(rowVectors: [[0.1, 0.2]]))
        #expect(abs(mean[0] - 2) < 1e-4)
        #expect(variance[0] >= 0 && variance[0] < 1e-6)
    }

    @Test("a matrix no jitter can rescue throws instead of crashing")
    func hopelessMatrix() {
        // k = 2¹⁰⁰·x·z: the jitter (at most 100) vanishes against 2¹⁰⁰ and the duplicate's pivot stays 0.
        let hyperparameters = KernelHyperparameters(
            linearVariance: 0x1p100, variance: 0, lengthscales: [1], noiseVariance: 0
        )
        #expect(throws: GPError.self) {
            try GaussianProcess(
                kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: Matrix(rowVectors: [[1], [1]]),
                targets: [0, 1]
            )
        }
        do {
            _ = try GaussianProcess(
                kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: Matrix(rowVectors: [[1], [1]]),
                targets: [0, 1]
            )
        } catch {
            #expect(error.code == .notPositiveDefinite)
        }
        // Overflowing kernel entries.
        let overflowing = KernelHyperparameters(linearVariance: 1e300, variance: 1, lengthscales: [1], noiseVariance: 0)
        #expect(throws: GPError.self) {
            try GaussianProcess(
                kernel: .linearPlusMatern32, hyperparameters: overflowing,
                inputs: Matrix(rowVectors: [[1e10], [2e10]]),
                targets: [0, 1]
            )
        }
    }

    @Test("invalid data and hyperparameters throw invalidInput naming the field")
    func invalidInput() {
        let good = KernelHyperparameters.initial(dimensions: 1, searchRadius: 0.3)
        var negativeNoise = good
        negativeNoise.noiseVariance = -1
        var zeroLengthscale = good
        zeroLengthscale.lengthscales = [0]
        let cases: [(KernelHyperparameters, Matrix, [Double], String)] = [
            (good, Matrix(rowVectors: [[0], [1]]), [0, .nan], "targets[1]"),
            (good, Matrix(rowVectors: [[0], [.infinity]]), [0, 1], "inputs[1][0]"),
            (negativeNoise, Matrix(rowVectors: [[0]]), [0], "noiseVariance"),
            (zeroLengthscale, Matrix(rowVectors: [[0]]), [0], "lengthscales[0]"),
        ]
        for (hyperparameters, inputs, targets, field) in cases {
            do {
                _ = try GaussianProcess(
                    kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: inputs, targets: targets
                )
                Issue.record("expected a throw for \(field)")
            } catch {
                #expect(error.code == .invalidInput)
                #expect(error.message.contains(field))
            }
        }
    }

    @Test("joint samples have the posterior mean and covariance")
    func jointSampleMoments() throws {
        let inputs = NumericsTestData.uniformMatrix(rows: 12, columns: 2, seed: 7)
        let targets = NumericsTestData.normalVector(count: 12, seed: 8)
        let gp = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: .initial(dimensions: 2, searchRadius: 0.5), inputs: inputs,
            targets: targets
        )
        let points = Matrix(rowVectors: [[0.5, 0.5], [0.55, 0.5], [1.5, 1.2]])
        let (mean, covariance) = gp.posteriorCovariance(at: points)
        var generator = SeededGenerator(seed: 9)
        let draws = 20_000
        var sums = [Double](repeating: 0, count: 3)
        var products = [Double](repeating: 0, count: 9)
        for _ in 0..<draws {
            let sample = gp.sampleJoint(at: points, using: &generator)
            for i in 0..<3 {
                let centred = sample[i] - mean[i]
                sums[i] += centred
                for j in 0..<3 { products[i * 3 + j] += centred * (sample[j] - mean[j]) }
            }
        }
        for i in 0..<3 {
            let sd = covariance[i, i].squareRoot()
            // The sample mean's standard error is sd/√draws; allow 5 of them.
            #expect(abs(sums[i] / Double(draws)) < 5 * sd / Double(draws).squareRoot())
            for j in 0..<3 {
                let empirical = products[i * 3 + j] / Double(draws)
                let scale = (covariance[i, i] * covariance[j, j]).squareRoot()
                // Standard error of a covariance estimate is at most ~√2·scale/√draws.
                #expect(abs(empirical - covariance[i, j]) < 5 * 1.5 * scale / Double(draws).squareRoot())
            }
        }
        // The two nearby points are strongly correlated.
        #expect(covariance[0, 1] / (covariance[0, 0] * covariance[1, 1]).squareRoot() > 0.85)
        // Seeded: the same generator state gives the same draw.
        var first = SeededGenerator(seed: 10)
        var second = SeededGenerator(seed: 10)
        #expect(gp.sampleJoint(at: points, using: &first) == gp.sampleJoint(at: points, using: &second))
    }

    @Test("a sample at a training point of a noise-free process reproduces its target")
    func sampleAtTrainingPoint() throws {
        let inputs = Matrix(rowVectors: [[0.2], [0.7]])
        let gp = try GaussianProcess(
            kernel: .squaredExponential,
            hyperparameters: KernelHyperparameters(
                linearVariance: 0, variance: 1, lengthscales: [0.3], noiseVariance: 0),
            inputs: inputs, targets: [1.5, -0.5], jitter: 1e-10
        )
        var generator = SeededGenerator(seed: 12)
        let draw = gp.sampleJoint(at: Matrix(rowVectors: [[0.2], [0.2], [0.7]]), using: &generator)
        #expect(abs(draw[0] - 1.5) < 1e-4)
        #expect(abs(draw[1] - 1.5) < 1e-4)
        #expect(abs(draw[2] - -0.5) < 1e-4)
    }
}
