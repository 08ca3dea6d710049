/// The four Gaussian-process surrogates of section 4, fitted once per `suggest(count:)`.
struct SurrogateModels {
    /// Outputs (quantile-transformed, direction-signed) against basic inputs.
    var output: GaussianProcess
    var outputTransform: QuantileTransform
    /// Scaled log cost against basic inputs.
    var cost: GaussianProcess
    var costTransform: CostTransform
    /// The frontier: surrogate output against scaled log cost of the Pareto observations (1-D).
    var pareto: GaussianProcess
    /// Scaled log-cost range of the Pareto observations (candidates are clamped into it).
    var paretoRange: ClosedRange<Double>
    /// Failure labels (−1 success, +1 failure), when there are both successes and failures.
    var failure: GaussianProcess?
    /// The Pareto groups the candidates are generated around.
    var front: ParetoFront
    /// The lowest (worst) surrogate output of the successes.
    var lowestTarget: Double
}

extension CARBSOptimizer {
    /// Fits the four surrogates to the current observations (not to outstanding suggestions): to all of them, or
    /// beyond `max_model_points` to the local training set.
    ///
    /// In fitted mode each model's hyperparameters are MAP-II estimates warm-started from the previous fit;
    /// in reference-parity mode they are the reference's effective constants.
    mutating func fitSurrogates() throws(CARBSError) -> SurrogateModels {
        let refit = isRefitDue
        defer {
            if refit { state.refitObservationCount = state.successes.count + state.failures.count }
        }
        let sign = configuration.direction.sign
        let d = dimensions
        let front = paretoFront(conservative: configuration.conservativePareto)
        let layout = modelRows(front: front, refit: refit)

        // The transforms see every success; the models, the local set.
        let outputTransform = QuantileTransform(
            fitting: state.successes.map(\.output), plottingPositions: configuration.outputScaling == .plottingPositions)
        let costTransform = CostTransform(fitting: state.successes.map(\.cost))
        let lowestTarget = state.successes.map { sign * outputTransform.transform($0.output) }.min() ?? 0
        func input(_ row: ModelRow) -> [Double] {
            switch row {
            case .success(let i): state.successes[i].input
            case .failure(let i): state.failures[i].input
            }
        }
        func inputs(_ rows: [ModelRow]) -> Matrix {
            Matrix(rows: rows.count, columns: d, elements: rows.flatMap(input))
        }
        // Failed runs enter the output model at the worst observed surrogate output, so that its expected
        // improvement is not optimistic exactly where runs fail (the success probability alone cannot outweigh
        // an EI that is orders of magnitude larger in the unexplored, failing region).
        let outputTargets = layout.output.rows.map { row -> Double in
            switch row {
            case .success(let i): sign * outputTransform.transform(state.successes[i].output)
            case .failure: lowestTarget
            }
        }
        let costTargets = layout.cost.rows.map { row -> Double in
            guard case .success(let i) = row else { preconditionFailure("the cost model has a failure row") }
            return costTransform.transform(state.successes[i].cost)
        }

        // The models' priors follow the configured radius, not the adaptive search radius.
        let radius = configuration.initialSearchRadius
        let output = try fitModel(
            .linearPlusMatern32, inputs: inputs(layout.output.rows), targets: outputTargets,
            priority: layout.output.priority, previous: state.fitted.output,
            initial: .initial(dimensions: d, searchRadius: radius), searchRadius: radius, refit: refit,
            reuse: layout.reuse(.output, baseCount: layout.output.baseCount))
        state.fitted.output = output.hyperparameters
        let cost = try fitModel(
            .linearPlusMatern32, inputs: inputs(layout.cost.rows), targets: costTargets,
            priority: layout.cost.priority, previous: state.fitted.cost,
            initial: .initial(dimensions: d, searchRadius: radius), searchRadius: radius, refit: refit,
            reuse: layout.reuse(.cost, baseCount: layout.cost.baseCount))
        state.fitted.cost = cost.hyperparameters

        let paretoRecords = front.groups.flatMap(\.members).map { state.successes[$0] }
        let paretoX = paretoRecords.map { costTransform.transform($0.cost) }
        let paretoY = paretoRecords.map { sign * outputTransform.transform($0.output) }
        let paretoInitial = KernelHyperparameters(
            linearVariance: 0, variance: 1, lengthscales: [Self.paretoLengthscale], noiseVariance: 0.01)
        let pareto = try fitModel(
            .squaredExponential, inputs: Matrix(rows: paretoX.count, columns: 1, elements: paretoX),
            targets: paretoY, priority: nil, previous: state.fitted.pareto, initial: paretoInitial,
            searchRadius: Self.paretoLengthscale, refit: refit, reuse: nil)
        state.fitted.pareto = pareto.hyperparameters

        var failure: GaussianProcess?
        if let rows = layout.failure {
            let labels = rows.rows.map { row -> Double in
                if case .success = row { return -1 }
                return 1
            }
            let model = try fitModel(
                .linearPlusMatern32, inputs: inputs(rows.rows), targets: labels, priority: rows.priority,
                previous: state.fitted.failure, initial: .initial(dimensions: d, searchRadius: radius),
                searchRadius: radius, refit: refit, reuse: layout.reuse(.failure, baseCount: rows.baseCount))
            state.fitted.failure = model.hyperparameters
            failure = model
        }
        if refit { state.keptTrainingSet = layout.keep }
        state.fitCount += 1
        let range = (paretoX.min() ?? 0)...(paretoX.max() ?? 0)
        return SurrogateModels(
            output: output, outputTransform: outputTransform, cost: cost, costTransform: costTransform,
            pareto: pareto, paretoRange: range, failure: failure, front: front, lowestTarget: lowestTarget)
    }

    /// Initial lengthscale of the 1-D Pareto model, in scaled-log-cost units (the range is [−1, 1]).
    static var paretoLengthscale: Double { 0.5 }

    /// Whether this fit of the surrogates fits their hyperparameters again (`refit_interval`): at the first fit,
    /// and once `refitInterval(observations:)` observations have arrived since the last one.
    var isRefitDue: Bool {
        guard configuration.keepsHyperparameters, let last = state.refitObservationCount else { return true }
        let observations = state.successes.count + state.failures.count
        return observations - last >= configuration.refitInterval(observations: observations)
    }

    /// Fits one model; with more rows than `max_fit_points`, its hyperparameters are fitted on the rows that
    /// come first in `priority` (those nearest the origins), or on a random subset when there is no priority.
    /// Without `refit`, the previous hyperparameters are kept when there are any for these dimensions.
    private mutating func fitModel(
        _ kernel: CovarianceKernel, inputs: Matrix, targets: [Double], priority: [Int]?,
        previous: KernelHyperparameters?, initial: KernelHyperparameters, searchRadius: Double, refit: Bool,
        reuse: FactorReuse?
    ) throws(CARBSError) -> GaussianProcess {
        let hyperparameters: KernelHyperparameters
        switch configuration.hyperparameterMode {
        case .referenceParity:
            hyperparameters = .referenceParity(dimensions: inputs.columns)
        case .fitted where !refit && previous?.lengthscales.count == inputs.columns:
            hyperparameters = previous!
        case .fitted:
            var starts = [initial]
            if let previous, previous.lengthscales.count == inputs.columns, previous != initial {
                starts.insert(previous, at: 0)
            }
            let fitter = HyperparameterFitter(
                maxIterations: configuration.fitIterations, maxFitPoints: configuration.maxFitPoints)
            var fitInputs = inputs
            var fitTargets = targets
            if let priority, inputs.rows > configuration.maxFitPoints {
                let rows = priority.prefix(configuration.maxFitPoints).sorted()
                fitInputs = inputs.selectingRows(rows)
                fitTargets = rows.map { targets[$0] }
            }
            hyperparameters = fitter.fit(
                kernel: kernel, inputs: fitInputs, targets: fitTargets, starts: starts,
                prior: .carbs(searchRadius: searchRadius), generator: &state.generator)
        }
        do {
            switch reuse {
            case .extend(let model, let set, let baseCount):
                return try keptModel(
                    model, set: set, baseCount: baseCount, kernel: kernel, hyperparameters: hyperparameters,
                    inputs: inputs, targets: targets)
            case .keep(let model, let set):
                let process = try GaussianProcess(
                    kernel: kernel, hyperparameters: hyperparameters, inputs: inputs, targets: targets)
                keepFactor(model, process, set: set)
                return process
            case nil:
                return try GaussianProcess(
                    kernel: kernel, hyperparameters: hyperparameters, inputs: inputs, targets: targets)
            }
        } catch {
            throw CARBSError(.numericalFailure, "a surrogate model could not be fitted: \(error)")
        }
    }
}
