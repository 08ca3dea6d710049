/// The rows the surrogate models were factorised on at the last hyperparameter fit, kept in the snapshot while
/// the hyperparameters are (`refit_interval` > 1).
///
/// Between two fits of the hyperparameters, a model is the factor of these rows, extended by every observation
/// that arrived since as one appended block, with its targets solved again from the current output transform. That
/// is a function of the snapshot alone, so a restored optimizer rebuilds the same factors and continues with the
/// same suggestions; the factors themselves are only a cache (`KeptFactors`).
public struct KeptTrainingSet: Sendable, Hashable, Codable {
    /// Indices into the successes, increasing: the local training set's successes at the last fit.
    public var successes: [Int]
    /// Indices into the failures, increasing.
    public var failures: [Int]
    /// How many successes there were at the last fit: those from this index on are appended.
    public var successCount: Int
    /// How many failures there were at the last fit.
    public var failureCount: Int
}

/// One surrogate model's factor on the kept rows (the base an appended model starts from), cached between calls.
struct KeptFactor: Sendable {
    /// The kept set and the row count of this model's base it was built for.
    var set: KeptTrainingSet
    var process: GaussianProcess
}

/// The cached base factors of the models that have rows of observations (the Pareto model is tiny and rebuilt).
struct KeptFactors: Sendable {
    var output: KeptFactor?
    var cost: KeptFactor?
    var failure: KeptFactor?
}

/// A row of a surrogate model: a success or a failure, by index.
enum ModelRow: Hashable, Sendable {
    case success(Int)
    case failure(Int)
}

/// Which of the models with observation rows a factor belongs to.
enum KeptModel: Sendable {
    case output, cost, failure
}

extension KeptTrainingSet {
    /// The rows of the models now: the kept rows first (successes, then failures), then the observations that
    /// arrived since (successes, then failures), so the kept rows are always a prefix and their factor is reused.
    func rows(successes now: Int, failures nowFailures: Int, includingFailures: Bool)
        -> (rows: [ModelRow], baseCount: Int)
    {
        var rows = successes.map(ModelRow.success)
        if includingFailures { rows += failures.map(ModelRow.failure) }
        let baseCount = rows.count
        rows += (successCount..<now).map(ModelRow.success)
        if includingFailures { rows += (failureCount..<nowFailures).map(ModelRow.failure) }
        return (rows, baseCount)
    }
}

extension CARBSOptimizer {
    /// A model on `inputs`/`targets` whose first `baseCount` rows are the kept rows: their factor (cached, or
    /// built again exactly as at the last fit) extended by the other rows as one block, the targets solved again.
    /// - Complexity: O(k·m² + m²) for m rows of which k are new; O(m³) when the base factor is not cached.
    mutating func keptModel(
        _ model: KeptModel, set: KeptTrainingSet, baseCount: Int, kernel: CovarianceKernel,
        hyperparameters: KernelHyperparameters, inputs: Matrix, targets: [Double]
    ) throws(GPError) -> GaussianProcess {
        var base: GaussianProcess
        if let cached = keptFactor(model), cached.set == set, cached.process.count == baseCount,
            cached.process.hyperparameters == hyperparameters, cached.process.kernel == kernel
        {
            base = cached.process
        } else {
            let rows = Array(0..<baseCount)
            base = try GaussianProcess(
                kernel: kernel, hyperparameters: hyperparameters, inputs: inputs.selectingRows(rows),
                targets: rows.map { targets[$0] })
            setKeptFactor(model, KeptFactor(set: set, process: base))
        }
        if inputs.rows > baseCount {
            let new = Array(baseCount..<inputs.rows)
            try base.append(inputs: inputs.selectingRows(new), targets: new.map { targets[$0] })
        }
        try base.replaceTargets(targets)
        return base
    }

    /// Caches a model just built from scratch on the rows of `set` as the base of the calls until the next fit.
    mutating func keepFactor(_ model: KeptModel, _ process: GaussianProcess, set: KeptTrainingSet) {
        setKeptFactor(model, KeptFactor(set: set, process: process))
    }

    private func keptFactor(_ model: KeptModel) -> KeptFactor? {
        switch model {
        case .output: keptFactors.output
        case .cost: keptFactors.cost
        case .failure: keptFactors.failure
        }
    }

    private mutating func setKeptFactor(_ model: KeptModel, _ factor: KeptFactor?) {
        switch model {
        case .output: keptFactors.output = factor
        case .cost: keptFactors.cost = factor
        case .failure: keptFactors.failure = factor
        }
    }
}

/// How a model's factor relates to the kept one.
enum FactorReuse: Sendable {
    /// Between fits: the first `baseCount` rows are the kept rows of `set`; extend their factor.
    case extend(KeptModel, KeptTrainingSet, baseCount: Int)
    /// At a fit whose rows become the kept set: build from scratch and cache the factor.
    case keep(KeptModel, KeptTrainingSet)
}

/// The rows of one model, with the order its hyperparameters are fitted in (indices into `rows`).
struct ModelRowSet: Sendable {
    var rows: [ModelRow]
    var priority: [Int]
    /// How many leading rows are the kept ones (all of them when nothing is kept).
    var baseCount: Int
}

/// The rows of every model of one fit of the surrogates.
struct ModelLayout: Sendable {
    var output: ModelRowSet
    var cost: ModelRowSet
    /// Present when there are failures.
    var failure: ModelRowSet?
    /// Between fits: the kept set the rows extend.
    var extending: KeptTrainingSet?
    /// At a fit of the hyperparameters with `refit_interval` > 1: the set to keep until the next.
    var keep: KeptTrainingSet?

    func reuse(_ model: KeptModel, baseCount: Int) -> FactorReuse? {
        if let extending { return .extend(model, extending, baseCount: baseCount) }
        if let keep { return .keep(model, keep) }
        return nil
    }
}

extension CARBSOptimizer {
    /// The rows of the output, cost and failure models: between fits of the hyperparameters (`refit_interval`
    /// > 1), the kept rows and every observation since; otherwise the local training set (successes, then
    /// failures).
    func modelRows(front: ParetoFront, refit: Bool) -> ModelLayout {
        let successCount = state.successes.count
        let failureCount = state.failures.count
        let impute = configuration.imputeFailures
        if !refit, configuration.keepsHyperparameters, let kept = state.keptTrainingSet,
            kept.successCount <= successCount, kept.failureCount <= failureCount
        {
            let hasFailures = !kept.failures.isEmpty || failureCount > kept.failureCount
            func set(includingFailures: Bool) -> ModelRowSet {
                let (rows, baseCount) = kept.rows(
                    successes: successCount, failures: failureCount, includingFailures: includingFailures)
                return ModelRowSet(rows: rows, priority: Array(rows.indices), baseCount: baseCount)
            }
            return ModelLayout(
                output: set(includingFailures: impute && hasFailures), cost: set(includingFailures: false),
                failure: hasFailures ? set(includingFailures: true) : nil, extending: kept, keep: nil)
        }
        let local = localTrainingSet(front: front)
        let successRows = local.successes.map(ModelRow.success)
        let allRows = successRows + local.failures.map(ModelRow.failure)
        let successes = ModelRowSet(
            rows: successRows, priority: local.priority.filter { $0 < successRows.count },
            baseCount: successRows.count)
        let all = ModelRowSet(rows: allRows, priority: local.priority, baseCount: allRows.count)
        let hasFailures = !local.failures.isEmpty
        let keep =
            refit && configuration.keepsHyperparameters
            ? KeptTrainingSet(
                successes: local.successes, failures: local.failures, successCount: successCount,
                failureCount: failureCount)
            : nil
        return ModelLayout(
            output: impute && hasFailures ? all : successes, cost: successes, failure: hasFailures ? all : nil,
            extending: nil, keep: keep)
    }
}
