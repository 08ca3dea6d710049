#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CARBSOptimizer {
    /// Chooses `count` new points (section 6), each with the ones before it fantasized as pending runs.
    ///
    /// The surrogate models are fitted at most once per call, so a batch costs one fit plus one cheap Cholesky
    /// extension per point. Every suggestion is remembered as outstanding until it is observed or forgotten.
    /// - Throws: `CARBSError.numericalFailure` if a model cannot be fitted even with maximal jitter.
    public mutating func suggest(count: Int = 1) throws(CARBSError) -> [Suggestion] {
        precondition(count >= 0, "suggest(count:) needs a count ≥ 0")
        var batch = BatchContext()
        var suggestions: [Suggestion] = []
        for _ in 0..<count {
            suggestions.append(try suggestOne(&batch))
        }
        return suggestions
    }

    /// Models fitted for the current batch, their output model extended with fantasies.
    struct BatchContext {
        /// The output model has the first `fantasized` outstanding suggestions added as fantasies.
        var models: SurrogateModels?
        var fantasized = 0
    }

    private mutating func suggestOne(_ batch: inout BatchContext) throws(CARBSError) -> Suggestion {
        if state.successes.count < configuration.numRandomSamples {
            return issue(randomPhasePoint(), origin: .random)
        }
        if let point = resamplePoint() {
            state.resampleCount += 1
            return issue(point, origin: .resample)
        }
        if batch.models == nil {
            batch.models = try fitSurrogates()
            batch.fantasized = 0
        }
        try fantasizePending(&batch)
        let models = batch.models!
        let stratum = costStratum(models: models).map { reachableStratum($0, models: models) }
        let origins = stratum.map { stratumOrigins(for: $0, models: models) } ?? models.front.groups.map(\.input)
        let radius = suggestionRadius()
        let candidates = generateCandidates(around: origins, radius: radius)
        guard
            let choice = choose(
                among: candidates, origins: origins, radius: radius, models: models, fantasy: models.output,
                stratum: stratum)
        else {
            return issue(sample(around: origins), origin: .fallback)
        }
        return issue(choice.point, origin: .acquisition, prediction: choice.prediction)
    }

    /// Records a new outstanding suggestion.
    mutating func issue(_ point: [Double], origin: Suggestion.Origin, prediction: Prediction? = nil)
        -> Suggestion
    {
        let id = makeSuggestionID()
        state.outstanding.append(PendingSuggestion(id: id, input: point, origin: origin))
        state.suggestionCount += 1
        return Suggestion(id: id, parameters: parameterValues(fromBasic: point), origin: origin, prediction: prediction)
    }

    /// Section 6.2: every `resample_frequency` successes, the least-sampled (non-conservative) Pareto group is run
    /// again; outstanding suggestions at the same point count as samples; ties go to the cheapest.
    private func resamplePoint() -> [Double]? {
        let frequency = configuration.resampleFrequency
        guard frequency > 0, state.successes.count > (state.resampleCount + 1) * frequency else { return nil }
        let front = paretoFront(conservative: false)
        guard !front.groups.isEmpty else { return nil }
        let pending = state.outstanding.map { $0.input.map(ObservationGroup.quantize) }
        let chosen = front.groups.min { a, b in
            let keyA = a.input.map(ObservationGroup.quantize)
            let keyB = b.input.map(ObservationGroup.quantize)
            let countA = a.count + pending.filter { $0 == keyA }.count
            let countB = b.count + pending.filter { $0 == keyB }.count
            return (countA, a.meanCost) < (countB, b.meanCost)
        }
        return chosen?.input
    }

    /// Section 5: gives every outstanding suggestion not yet in the fantasy model a fantasy output (a joint draw
    /// from the posterior, or its mean) and extends the model's Cholesky factor with them.
    private mutating func fantasizePending(_ batch: inout BatchContext) throws(CARBSError) {
        let pending = state.outstanding[batch.fantasized...].map(\.input)
        guard !pending.isEmpty, batch.models != nil else { return }
        let points = Matrix(rows: pending.count, columns: dimensions, elements: pending.flatMap { $0 })
        // No copy of the model is bound here, so that its storage stays unshared for the append below.
        let fantasies = fantasyOutputs(at: points, model: batch.models!.output)
        do {
            // Extended in place: nothing else holds the model's factor, so its n² entries are not copied.
            try batch.models!.output.append(inputs: points, targets: fantasies)
        } catch {
            throw CARBSError(.numericalFailure, "pending runs could not be fantasized: \(error)")
        }
        batch.fantasized = state.outstanding.count
    }

    /// Fantasy outputs for pending runs at `points`: a joint posterior draw, or the posterior mean.
    private mutating func fantasyOutputs(at points: Matrix, model: GaussianProcess) -> [Double] {
        switch configuration.pendingEstimator {
        case .thompson:
            return model.sampleJoint(at: points, using: &state.generator)
        case .mean:
            return model.posterior(at: points, includeVariance: false).mean
        }
    }

    /// Scores the candidates (section 6.4) and returns the acquisition's argmax, or nil when none is admissible.
    ///
    /// Exact, but lazy: the output model is evaluated only at the candidates that compete (those in the stratum's
    /// band, within `max_suggestion_cost`), and the posterior *variances* (the expensive part, O(n²) per
    /// candidate) only for candidates that can still win. EI grows with σ and the success probability is at most
    /// 1, so an upper bound on the variance gives every candidate an upper bound on its acquisition: the variance
    /// given only a subset of the training points, those most correlated with the candidates (conditioning on less
    /// data never lowers a Gaussian posterior variance), which costs O(s²) per candidate instead of O(n²): 64
    /// points for every candidate, then 256 for those the first bound and the best exact score so far leave in.
    /// Candidates are scored exactly in decreasing order of the bound, in blocks, until the next bound cannot beat
    /// the best exact score. The result is the same argmax (ties to the lowest index) as scoring everything, up to
    /// the last bit BLAS may round differently in blocks of other sizes.
    ///
    /// With a cost stratum, only candidates whose predicted cost lies in its band compete (or, when too few do,
    /// those nearest to it), the random Pareto-cost clamp is off, and a candidate predicted cheaper than every
    /// Pareto group is measured against the lowest observed output: at a cost where nothing has been observed,
    /// any success extends the frontier.
    private mutating func choose(
        among candidates: [[Double]], origins: [[Double]], radius: Double, models: SurrogateModels,
        fantasy: GaussianProcess, stratum: CostStratum?
    ) -> (point: [Double], prediction: Prediction)? {
        guard !candidates.isEmpty else { return nil }
        let d = dimensions
        let m = candidates.count
        let points = Matrix(rows: m, columns: d, elements: candidates.flatMap { $0 })
        let costMean = models.cost.posterior(at: points, includeVariance: false).mean

        // Pareto value at each candidate's predicted cost, clamped into the frontier's cost range.
        let range = models.paretoRange
        let clampedCosts = costMean.map { min(max($0, range.lowerBound), range.upperBound) }
        var paretoValues = models.pareto.posterior(
            at: Matrix(rows: m, columns: 1, elements: clampedCosts), includeVariance: false
        ).mean
        var eligible = [Bool](repeating: true, count: m)
        if let stratum {
            for i in 0..<m where costMean[i] < range.lowerBound {
                paretoValues[i] = models.lowestTarget
            }
            eligible = Self.eligibility(costs: costMean, in: stratum)
        } else if configuration.clampEIAtRandomParetoCost, let floor = randomParetoFloor(models) {
            paretoValues = paretoValues.map { max($0, floor) }
        }
        let bias = stratum == nil ? configuration.explorationBias : configuration.stratumExplorationBias
        let maxCost = configuration.maxSuggestionCost
        // Only the candidates that compete need the output model: `scored[j]` is the candidate of row j.
        let scored = (0..<m).filter { i in
            eligible[i] && (maxCost.map { models.costTransform.inverse(costMean[i]) < $0 } ?? true)
        }
        let covariances = fantasy.candidateCovariances(
            at: Matrix(rows: scored.count, columns: d, elements: scored.flatMap { candidates[$0] }))

        // Cheap terms for every competing candidate.
        let logNormaliser = -0.5 * Double(d) * log(2 * Double.pi * radius * radius)
        var logSearch = [Double](repeating: -.infinity, count: scored.count)
        for (j, i) in scored.enumerated() {
            var nearest = Double.infinity
            for origin in origins {
                var distance = 0.0
                for k in 0..<d {
                    let delta = candidates[i][k] - origin[k]
                    distance += delta * delta
                }
                nearest = min(nearest, distance)
            }
            logSearch[j] = logNormaliser - nearest / (2 * radius * radius)
        }
        /// The upper bound of row j's log acquisition given an upper bound on its variance.
        func logBound(_ j: Int, variance: Double) -> Double {
            Acquisition.logExpectedImprovement(
                mean: covariances.mean[j], standardDeviation: variance.squareRoot(),
                threshold: paretoValues[scored[j]] + bias) + logSearch[j] + 1e-9
        }

        var best = -Double.infinity
        var bestIndex = -1
        var bestRow = -1
        var bestDetails = (sd: 0.0, logEI: -Double.infinity, success: 1.0)
        var isScored = [Bool](repeating: false, count: scored.count)
        /// Scores rows exactly (their variances from `variances`, or solved now) and keeps the best.
        func scoreExactly(_ rows: [Int], variances known: [Double]? = nil) {
            let variance = known ?? fantasy.variances(covariances, rows: rows)
            var success = [Double](repeating: 1, count: rows.count)
            var logSuccess = [Double](repeating: 0, count: rows.count)
            if let failure = models.failure {
                let blockPoints = Matrix(
                    rows: rows.count, columns: d, elements: rows.flatMap { candidates[scored[$0]] })
                let posterior = failure.posterior(at: blockPoints)
                let noise = failure.hyperparameters.noiseVariance
                for b in rows.indices {
                    let z = -posterior.mean[b] / (posterior.variance[b] + noise).squareRoot()
                    success[b] = Normal.cdf(z)
                    logSuccess[b] = Normal.logCDF(z)
                }
            }
            for (b, j) in rows.enumerated() {
                isScored[j] = true
                let i = scored[j]
                let sd = max(variance[b], 0).squareRoot()
                let logEI = Acquisition.logExpectedImprovement(
                    mean: covariances.mean[j], standardDeviation: sd, threshold: paretoValues[i] + bias)
                let score = logEI + logSearch[j] + logSuccess[b]
                // NaN never wins: comparisons with it are false. Ties go to the lower index.
                if score > best || (score == best && i < bestIndex) {
                    best = score
                    bestIndex = i
                    bestRow = j
                    bestDetails = (sd, logEI, success[b])
                }
            }
        }
        /// Scores `rows` exactly in decreasing order of `bound`, in blocks growing 16, 32, 64, … (usually the first
        /// few settle the argmax), until the next bound cannot beat the best score or `blocks` blocks are done.
        func scoreLazily(_ rows: [Int], bound: [Double], blocks: Int = .max) {
            let order = rows.filter { !isScored[$0] && bound[$0] > -.infinity }.sorted {
                (bound[$0], -scored[$0]) > (bound[$1], -scored[$1])
            }
            var block = 16
            var start = 0
            var done = 0
            while start < order.count, bound[order[start]] >= best, done < blocks {
                let next = Array(order[start..<min(start + block, order.count)])
                start += next.count
                block = min(block * 2, 512)
                done += 1
                scoreExactly(next)
            }
        }

        let rows = Array(scored.indices)
        if fantasy.count <= Self.boundSubset {
            // With no more training points than the bound's subset would hold, the exact variances cost no more
            // than a bound: score every competing candidate at once.
            scoreExactly(rows, variances: fantasy.variances(covariances, rows: rows))
        } else {
            // Two bounds: a cheap one on a small subset for every candidate, which with the exact scores of its
            // best block already rules out most; then a tighter one on a larger subset for the rest.
            let ranking = fantasy.boundSubsetRanking(
                covariances, neighbours: Self.boundNeighbours, stride: Self.boundVoteStride)
            let small = Array(ranking.prefix(Self.boundSubset / 4)).sorted()
            var bound = zip(rows, fantasy.varianceUpperBounds(covariances, rows: rows, subset: small)).map {
                logBound($0, variance: $1)
            }
            scoreLazily(rows, bound: bound, blocks: 1)
            let survivors = rows.filter { !isScored[$0] && bound[$0] >= best && bound[$0] > -.infinity }
            let large = Array(ranking.prefix(Self.boundSubset)).sorted()
            let refined = fantasy.varianceUpperBounds(covariances, rows: survivors, subset: large)
            for (j, variance) in zip(survivors, refined) {
                bound[j] = min(bound[j], logBound(j, variance: variance))
            }
            scoreLazily(survivors, bound: bound)
        }
        guard bestIndex >= 0 else { return nil }
        let sign = configuration.direction.sign
        let prediction = Prediction(
            output: models.outputTransform.inverse(sign * covariances.mean[bestRow]),
            outputStandardDeviation: bestDetails.sd, cost: models.costTransform.inverse(costMean[bestIndex]),
            expectedImprovement: exp(bestDetails.logEI), successProbability: bestDetails.success,
            searchProbability: exp(logSearch[bestRow]))
        return (candidates[bestIndex], prediction)
    }

    /// The variance bounds of `choose`: each of every `boundVoteStride`-th candidate votes for its
    /// `boundNeighbours` most correlated training points, and the bounds condition on the `boundSubset / 4`, then
    /// the `boundSubset`, points with the most votes (a bound costs O(s²) per candidate, an exact variance O(n²)).
    static var boundNeighbours: Int { 16 }
    static var boundSubset: Int { 256 }
    static var boundVoteStride: Int { 4 }

    /// Which candidates compete for a stratum: those predicted inside its band, or, when fewer than
    /// `max(8, m / 20)` are, that many nearest to it.
    static func eligibility(costs: [Double], in stratum: CostStratum) -> [Bool] {
        let m = costs.count
        let distances = costs.map { stratum.distance($0) }
        let minimum = min(m, max(8, m / 20))
        if distances.count(where: { $0 == 0 }) >= minimum { return distances.map { $0 == 0 } }
        let nearest = Set((0..<m).sorted { (distances[$0], $0) < (distances[$1], $1) }.prefix(minimum))
        return (0..<m).map { nearest.contains($0) }
    }

    /// With `clamp_ei_at_random_pareto_cost`: the Pareto model's value at a cost drawn log-uniformly between the
    /// cheapest and the dearest Pareto group (the dearest capped by `max_suggestion_cost`).
    private mutating func randomParetoFloor(_ models: SurrogateModels) -> Double? {
        guard let cheapest = models.front.groups.first?.meanCost, var dearest = models.front.groups.last?.meanCost
        else { return nil }
        if let maxCost = configuration.maxSuggestionCost { dearest = min(dearest, maxCost) }
        dearest = max(dearest, cheapest)
        let logThreshold = log(cheapest) + state.generator.nextUniform() * (log(dearest) - log(cheapest))
        let range = models.paretoRange
        let scaled = min(max(models.costTransform.scaled(logCost: logThreshold), range.lowerBound), range.upperBound)
        return models.pareto.posterior(at: Matrix(rows: 1, columns: 1, elements: [scaled]), includeVariance: false)
            .mean[0]
    }
}
