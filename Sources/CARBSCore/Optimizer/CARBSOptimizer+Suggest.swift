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

    /// Models fitted for the current batch and the output model extended with fantasies.
    struct BatchContext {
        var models: SurrogateModels?
        /// The output model with the first `fantasized` outstanding suggestions added as fantasies.
        var fantasyModel: GaussianProcess?
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
            batch.fantasyModel = batch.models!.output
            batch.fantasized = 0
        }
        try fantasizePending(&batch)
        let models = batch.models!
        let origins = models.front.groups.map(\.input)
        let candidates = generateCandidates(around: origins)
        guard let choice = choose(among: candidates, origins: origins, models: models, fantasy: batch.fantasyModel!)
        else {
            return issue(sample(around: origins), origin: .fallback)
        }
        return issue(choice.point, origin: .acquisition, prediction: choice.prediction)
    }

    /// Records a new outstanding suggestion.
    private mutating func issue(_ point: [Double], origin: Suggestion.Origin, prediction: Prediction? = nil)
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
        guard !pending.isEmpty, let model = batch.fantasyModel else { return }
        let points = Matrix(rows: pending.count, columns: dimensions, elements: pending.flatMap { $0 })
        let fantasies: [Double]
        switch configuration.pendingEstimator {
        case .thompson:
            fantasies = model.sampleJoint(at: points, using: &state.generator)
        case .mean:
            fantasies = model.posterior(at: points, includeVariance: false).mean
        }
        do {
            batch.fantasyModel = try model.appending(inputs: points, targets: fantasies)
        } catch {
            throw CARBSError(.numericalFailure, "pending runs could not be fantasized: \(error)")
        }
        batch.fantasized = state.outstanding.count
    }

    /// Scores the candidates (section 6.4) and returns the acquisition's argmax, or nil when none is admissible.
    private mutating func choose(
        among candidates: [[Double]], origins: [[Double]], models: SurrogateModels, fantasy: GaussianProcess
    ) -> (point: [Double], prediction: Prediction)? {
        guard !candidates.isEmpty else { return nil }
        let d = dimensions
        let m = candidates.count
        let points = Matrix(rows: m, columns: d, elements: candidates.flatMap { $0 })
        let outputPosterior = fantasy.posterior(at: points)
        let costMean = models.cost.posterior(at: points, includeVariance: false).mean

        // Pareto value at each candidate's predicted cost, clamped into the frontier's cost range.
        let range = models.paretoRange
        let clampedCosts = costMean.map { min(max($0, range.lowerBound), range.upperBound) }
        var paretoValues = models.pareto.posterior(
            at: Matrix(rows: m, columns: 1, elements: clampedCosts), includeVariance: false
        ).mean
        if configuration.clampEIAtRandomParetoCost, let floor = randomParetoFloor(models) {
            paretoValues = paretoValues.map { max($0, floor) }
        }

        var logSuccess = [Double](repeating: 0, count: m)
        var successProbability = [Double](repeating: 1, count: m)
        if let failure = models.failure {
            let posterior = failure.posterior(at: points)
            let noise = failure.hyperparameters.noiseVariance
            for i in 0..<m {
                let sd = (posterior.variance[i] + noise).squareRoot()
                successProbability[i] = Normal.cdf(-posterior.mean[i] / sd)
                logSuccess[i] = Normal.logCDF(-posterior.mean[i] / sd)
            }
        }

        let radius = state.searchRadius
        let logNormaliser = -0.5 * Double(d) * log(2 * Double.pi * radius * radius)
        let maxCost = configuration.maxSuggestionCost
        var best = -Double.infinity
        var bestIndex = -1
        var bestLogEI = -Double.infinity
        var bestLogSearch = -Double.infinity
        for i in 0..<m {
            if let maxCost, !(models.costTransform.inverse(costMean[i]) < maxCost) { continue }
            let sd = max(outputPosterior.variance[i], 0).squareRoot()
            let logEI = Acquisition.logExpectedImprovement(
                mean: outputPosterior.mean[i], standardDeviation: sd,
                threshold: paretoValues[i] + configuration.explorationBias)
            var nearest = Double.infinity
            for origin in origins {
                var distance = 0.0
                for k in 0..<d {
                    let delta = candidates[i][k] - origin[k]
                    distance += delta * delta
                }
                nearest = min(nearest, distance)
            }
            let logSearch = logNormaliser - nearest / (2 * radius * radius)
            let score = logEI + logSearch + logSuccess[i]
            // NaN never wins: the comparison is false for it.
            if score > best {
                best = score
                bestIndex = i
                bestLogEI = logEI
                bestLogSearch = logSearch
            }
        }
        guard bestIndex >= 0 else { return nil }
        let sign = configuration.direction.sign
        let prediction = Prediction(
            output: models.outputTransform.inverse(sign * outputPosterior.mean[bestIndex]),
            outputStandardDeviation: max(outputPosterior.variance[bestIndex], 0).squareRoot(),
            cost: models.costTransform.inverse(costMean[bestIndex]), expectedImprovement: exp(bestLogEI),
            successProbability: successProbability[bestIndex], searchProbability: exp(bestLogSearch))
        return (candidates[bestIndex], prediction)
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
