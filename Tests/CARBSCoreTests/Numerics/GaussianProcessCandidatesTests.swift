import Testing

@testable import CARBSCore

@Suite("Gaussian process: candidate scoring and appending in place")
struct GaussianProcessCandidatesTests {
    static func process(kernel: CovarianceKernel, rows: Int, seed: UInt64) throws -> GaussianProcess {
        let inputs = NumericsTestData.uniformMatrix(rows: rows, columns: 3, seed: seed)
        let targets = NumericsTestData.normalVector(count: rows, seed: seed + 1)
        let hyperparameters = KernelHyperparameters(
            linearVariance: 0.3, variance: 1.2, lengthscales: [0.2, 0.4, 0.7], noiseVariance: 0.01)
        return try GaussianProcess(kernel: kernel, hyperparameters: hyperparameters, inputs: inputs, targets: targets)
    }

    @Test(
        "kept cross-covariances give the posterior's means and variances",
        arguments: [CovarianceKernel.linearPlusMatern32, .squaredExponential]
    )
    func keptCovariances(kernel: CovarianceKernel) throws {
        let gp = try Self.process(kernel: kernel, rows: 120, seed: 21)
        let points = NumericsTestData.uniformMatrix(rows: 60, columns: 3, range: -0.2...1.2, seed: 23)
        let covariances = gp.candidateCovariances(at: points)
        let (mean, variance) = gp.posterior(at: points)
        let rows = [59, 0, 17, 33]
        let kept = gp.variances(covariances, rows: rows)
        for i in 0..<60 { #expect(abs(covariances.mean[i] - mean[i]) < 1e-10) }
        for (offset, row) in rows.enumerated() { #expect(abs(kept[offset] - variance[row]) < 1e-10) }
        #expect(covariances.priorVariance == gp.priorVariance(at: points))
    }

    @Test(
        "the subset bound is never below the exact variance nor above the prior, and tightens with the subset",
        arguments: [CovarianceKernel.linearPlusMatern32, .squaredExponential]
    )
    func varianceBound(kernel: CovarianceKernel) throws {
        let gp = try Self.process(kernel: kernel, rows: 300, seed: 31)
        let points = NumericsTestData.uniformMatrix(rows: 200, columns: 3, range: -0.2...1.2, seed: 33)
        let covariances = gp.candidateCovariances(at: points)
        let exact = gp.variances(covariances, rows: Array(0..<200))
        let loose = gp.varianceUpperBounds(covariances, neighbours: 2, maxSubset: 8)
        let tight = gp.varianceUpperBounds(covariances, neighbours: 16, maxSubset: 256)
        let everything = gp.varianceUpperBounds(covariances, neighbours: 300, maxSubset: 300)
        for i in 0..<200 {
            #expect(exact[i] <= tight[i])
            #expect(tight[i] <= covariances.priorVariance[i])
            #expect(loose[i] <= covariances.priorVariance[i])
            #expect(exact[i] <= loose[i])
            // Conditioning on every training point is the exact variance (up to the bound's widening).
            #expect(abs(everything[i] - exact[i]) <= 1e-8 * covariances.priorVariance[i])
        }
        // A bigger subset is a better bound on average.
        #expect(tight.reduce(0, +) < loose.reduce(0, +))
    }

    @Test("appending in place, past the spare room and again, equals a rebuild; a shared copy stays as it was")
    func appendInPlace() throws {
        let all = NumericsTestData.uniformMatrix(rows: 200, columns: 3, seed: 41)
        let targets = NumericsTestData.normalVector(count: 200, seed: 42)
        let hyperparameters = KernelHyperparameters(
            linearVariance: 0.3, variance: 1.2, lengthscales: [0.3, 0.5, 0.8], noiseVariance: 0.02)
        var gp = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: all.selectingRows(Array(0..<50)),
            targets: Array(targets[0..<50]))
        let before = gp
        // 150 single rows: the first append lays the factor out with 64 spare rows, and it runs out twice.
        for row in 50..<200 {
            try gp.append(inputs: all.selectingRows([row]), targets: [targets[row]])
        }
        #expect(gp.factorStride >= 200)
        let rebuilt = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: all, targets: targets)
        #expect(gp.inputs == rebuilt.inputs)
        #expect(gp.targets == rebuilt.targets)
        let points = NumericsTestData.uniformMatrix(rows: 30, columns: 3, seed: 43)
        let (mean, variance) = gp.posterior(at: points)
        let (expectedMean, expectedVariance) = rebuilt.posterior(at: points)
        for i in 0..<30 {
            #expect(abs(mean[i] - expectedMean[i]) < 1e-8)
            #expect(abs(variance[i] - expectedVariance[i]) < 1e-8)
        }
        #expect(abs(gp.logMarginalLikelihood() - rebuilt.logMarginalLikelihood()) < 1e-8)
        // Value semantics: the copy taken before the appends is the 50-point process.
        #expect(before.count == 50)
        let original = try GaussianProcess(
            kernel: .linearPlusMatern32, hyperparameters: hyperparameters, inputs: all.selectingRows(Array(0..<50)),
            targets: Array(targets[0..<50]))
        #expect(before.posterior(at: points).mean == original.posterior(at: points).mean)
    }
}
