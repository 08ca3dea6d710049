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
        let rows = Array(0..<200)
        let ranking = gp.boundSubsetRanking(covariances, neighbours: 16, stride: 4)
        #expect(Set(ranking).count == ranking.count && ranking.allSatisfy { (0..<300).contains($0) })
        let loose = gp.varianceUpperBounds(covariances, rows: rows, subset: Array(ranking.prefix(8)).sorted())
        let tight = gp.varianceUpperBounds(covariances, rows: rows, subset: Array(ranking.prefix(256)).sorted())
        let everything = gp.varianceUpperBounds(covariances, rows: rows, subset: Array(0..<300))
        // A subset of the rows gives the same bounds as those rows of the full call.
        let some = gp.varianceUpperBounds(covariances, rows: [7, 3], subset: Array(ranking.prefix(8)).sorted())
        #expect(abs(some[0] - loose[7]) < 1e-12 && abs(some[1] - loose[3]) < 1e-12)
        let prior = covariances.priorVariance
        for i in 0..<200 {
            let (e, t, l, a) = (exact[i], tight[i], loose[i], everything[i])
            #expect(e <= t)
            #expect(t <= prior[i])
            #expect(l <= prior[i])
            #expect(e <= l)
            // Conditioning on every training point is the exact variance (up to the bound's widening).
            #expect(abs(a - e) <= 1e-8 * prior[i])
        }
        // A bigger subset is a better bound on average.
        let tightSum: Double = tight.reduce(0, +)
        let looseSum: Double = loose.reduce(0, +)
        #expect(tightSum < looseSum)
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
