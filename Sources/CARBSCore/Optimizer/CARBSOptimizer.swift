/// CARBS: cost-aware Pareto-region Bayesian search (Simon, Fetterman et al., arXiv 2306.08055).
///
/// A value type holding the whole state of one optimizer: pure, synchronous and deterministic. The same seed,
/// configuration and sequence of calls give the same suggestions; `snapshot` captures everything (random state
/// included) and `init(restoring:)` continues exactly where it was taken.
///
/// ```swift
/// var optimizer = try CARBSOptimizer(configuration: .init(direction: .minimize, seed: 0), parameters: [
///     .init(name: "learning_rate", space: .log(), center: 1e-4),
///     .init(name: "epochs", space: .log(min: 2, max: 512, integer: true), center: 10),
/// ])
/// let batch = try optimizer.suggest(count: 8)
/// try optimizer.observe(.success(id: batch[0].id, output: 0.31, cost: 42))
/// try optimizer.observe(.failure(id: batch[1].id))
/// optimizer.forget(batch[2].id)
/// let snapshot = optimizer.snapshot
/// ```
public struct CARBSOptimizer: Sendable {
    /// The optimizer's complete state; `Codable`, and restores exactly.
    public struct Snapshot: Sendable, Hashable, Codable {
        /// Bumped when the layout changes incompatibly.
        public static let currentFormat = 1

        public var format: Int
        public var configuration: CARBSConfiguration
        public var parameters: [Parameter]
        public var successes: [ObservationRecord]
        public var failures: [ObservationRecord]
        /// In the order they were issued.
        public var outstanding: [PendingSuggestion]
        /// Every suggestion id that was observed (sorted), so observing one again is a no-op.
        public var observedIDs: [String]
        public var resampleCount: Int
        /// Basic space.
        public var searchCenter: [Double]
        public var searchRadius: Double
        public var generator: SeededGenerator
        /// Position in the random phase's low-discrepancy sequence.
        public var randomPhaseIndex: Int
        /// The random shift (Cranley–Patterson rotation) of that sequence, drawn from the seed.
        public var randomPhaseShift: [Double]
        /// The last fitted hyperparameters of each model: warm starts for the next fit.
        public var fitted: FittedHyperparameters
        public var suggestionCount: Int
        /// How many times the surrogate models were fitted (once per `suggest(count:)` that needs them).
        public var fitCount: Int
        /// Consecutive acquisition results that improved (or did not improve) the frontier.
        public var radiusTrend: RadiusTrend
        /// The number of observations (successes and failures) when the hyperparameters in `fitted` were last
        /// fitted; nil before the first fit (and in snapshots taken before the refit schedule existed).
        public var refitObservationCount: Int? = nil
        /// The rows the models were factorised on at the last fit of the hyperparameters, while they are kept
        /// (`refit_interval` > 1); nil otherwise.
        public var keptTrainingSet: KeptTrainingSet? = nil
    }

    /// The adaptive search radius's bookkeeping: the current run of frontier improvements or misses.
    public struct RadiusTrend: Sendable, Hashable, Codable {
        public var improvements = 0
        public var misses = 0
    }

    /// The last fitted kernel hyperparameters of the four surrogate models.
    public struct FittedHyperparameters: Sendable, Hashable, Codable {
        public var output: KernelHyperparameters?
        public var cost: KernelHyperparameters?
        public var failure: KernelHyperparameters?
        public var pareto: KernelHyperparameters?
    }

    /// The whole state, as `snapshot` returns it.
    var state: Snapshot
    /// Warnings about settings that work but probably surprise (for the log).
    public private(set) var warnings: [String]
    /// Set-based view of `state.observedIDs` for O(1) duplicate checks.
    private var observedIDSet: Set<String>
    /// The factors of the kept rows (`state.keptTrainingSet`), so the calls between two fits of the
    /// hyperparameters extend them instead of factorising again; a cache that the snapshot rebuilds exactly.
    var keptFactors = KeptFactors()

    public var configuration: CARBSConfiguration { state.configuration }
    public var parameters: [Parameter] { state.parameters }
    /// The number of dimensions.
    public var dimensions: Int { state.parameters.count }

    /// Creates an optimizer with no observations.
    /// - Throws: `CARBSError` naming the parameter or configuration field that is not valid.
    public init(configuration: CARBSConfiguration, parameters: [Parameter]) throws(CARBSError) {
        try configuration.validate()
        guard !parameters.isEmpty else { throw CARBSError(.invalidParameter, "parameters: at least one is needed") }
        var seen = Set<String>()
        var warnings: [String] = []
        for parameter in parameters {
            guard seen.insert(parameter.name).inserted else {
                throw CARBSError(.invalidParameter, "parameters.\(parameter.name): the name is used twice")
            }
            warnings += try parameter.validate(searchRadius: configuration.initialSearchRadius)
        }
        var generator = SeededGenerator(seed: configuration.seed)
        let shift = parameters.map { _ in generator.nextUniform() }
        state = Snapshot(
            format: Snapshot.currentFormat, configuration: configuration, parameters: parameters, successes: [],
            failures: [], outstanding: [], observedIDs: [], resampleCount: 0,
            searchCenter: parameters.map { $0.space.rounded(basic: $0.space.basic(fromParameter: $0.center)) },
            searchRadius: configuration.initialSearchRadius, generator: generator, randomPhaseIndex: 0,
            randomPhaseShift: shift, fitted: FittedHyperparameters(), suggestionCount: 0, fitCount: 0,
            radiusTrend: RadiusTrend())
        self.warnings = warnings
        observedIDSet = []
    }

    /// Restores an optimizer from a snapshot; it continues exactly as the one the snapshot was taken from.
    /// - Throws: `CARBSError.invalidSnapshot` when the snapshot is inconsistent or of another format.
    public init(restoring snapshot: Snapshot) throws(CARBSError) {
        guard snapshot.format == Snapshot.currentFormat else {
            throw CARBSError(
                .invalidSnapshot, "snapshot format \(snapshot.format) is not supported (expected \(Snapshot.currentFormat))")
        }
        let d = snapshot.parameters.count
        let records = snapshot.successes + snapshot.failures
        guard snapshot.searchCenter.count == d, snapshot.randomPhaseShift.count == d,
            records.allSatisfy({ $0.input.count == d }), snapshot.outstanding.allSatisfy({ $0.input.count == d })
        else {
            throw CARBSError(.invalidSnapshot, "snapshot vectors do not match its \(d) parameters")
        }
        var restored = try CARBSOptimizer(configuration: snapshot.configuration, parameters: snapshot.parameters)
        restored.state = snapshot
        restored.observedIDSet = Set(snapshot.observedIDs)
        self = restored
    }

    /// The complete state; `Codable`.
    public var snapshot: Snapshot {
        var copy = state
        copy.observedIDs = observedIDSet.sorted()
        return copy
    }

    /// Suggestions handed out and not yet observed or forgotten, in the order they were issued: id → parameters.
    public var outstanding: [(id: String, parameters: [String: Double])] {
        state.outstanding.map { ($0.id, parameterValues(fromBasic: $0.input)) }
    }

    /// The parameters of one outstanding suggestion (nil when it is not outstanding): cheaper than `outstanding`,
    /// which converts every one.
    public func parameters(ofOutstanding id: String) -> [String: Double]? {
        state.outstanding.first { $0.id == id }.map { parameterValues(fromBasic: $0.input) }
    }

    /// How many times the surrogate models were fitted so far (a `suggest(count:)` fits at most once).
    public var fitCount: Int { state.fitCount }

    // MARK: - Observing

    /// Takes in the result of a suggestion. Idempotent: observing the same suggestion id again changes nothing.
    ///
    /// A success whose output is NaN or infinite is recorded as a failure.
    /// - Returns: `.recorded`, or `.duplicate` when this id was observed before.
    /// - Throws: `CARBSError.unknownSuggestion` for an id that is neither outstanding nor observed;
    ///   `.invalidObservation` for a success whose cost is not finite and > 0.
    @discardableResult
    public mutating func observe(_ observation: Observation) throws(CARBSError) -> ObserveOutcome {
        let id = observation.id
        if observedIDSet.contains(id) { return .duplicate }
        guard let index = state.outstanding.firstIndex(where: { $0.id == id }) else {
            throw CARBSError(.unknownSuggestion, "suggestion \(id) is not outstanding (never issued, or forgotten)")
        }
        let pending = state.outstanding[index]
        let record = try Self.record(observation, input: pending.input)
        state.outstanding.remove(at: index)
        observedIDSet.insert(id)
        append(record)
        if pending.origin == .acquisition { adaptSearchRadius(after: record) }
        return .recorded
    }

    /// Drops an outstanding suggestion without observing it (a run lost for reasons unrelated to its
    /// hyperparameters). Returns whether it was outstanding.
    @discardableResult
    public mutating func forget(_ id: String) -> Bool {
        guard let index = state.outstanding.firstIndex(where: { $0.id == id }) else { return false }
        state.outstanding.remove(at: index)
        return true
    }

    /// Adds an observation that did not come from a suggestion (e.g. a run made by hand).
    /// - Throws: `CARBSError` when a parameter is missing or the cost is not valid.
    public mutating func observe(
        parameters values: [String: Double], output: Double?, cost: Double?, isFailure: Bool = false
    ) throws(CARBSError) {
        let input = try basicInput(from: values, fixedValues: [:])
        let observation: Observation =
            isFailure || output == nil
            ? .failure(id: "", cost: cost) : .success(id: "", output: output!, cost: cost ?? .nan)
        var record = try Self.record(observation, input: input)
        record.suggestionID = nil
        append(record)
        continueResampleCadence()
    }

    /// Warm start: takes in earlier runs, then moves the search center to the best observed input.
    ///
    /// Parameters added since those runs take the value in `fixedValues`, else their search center.
    /// - Throws: `CARBSError` for a run with an unknown parameter name, a non-finite value or an invalid cost.
    public mutating func warmStart(
        with history: [HistoricalObservation], fixedValues: [String: Double] = [:]
    ) throws(CARBSError) {
        for run in history {
            let input = try basicInput(from: run.parameters, fixedValues: fixedValues)
            let observation: Observation =
                run.isFailure || run.output == nil
                ? .failure(id: "", cost: run.cost) : .success(id: "", output: run.output!, cost: run.cost ?? .nan)
            var record = try Self.record(observation, input: input)
            record.suggestionID = nil
            append(record)
        }
        continueResampleCadence()
        let sign = configuration.direction.sign
        if let best = state.successes.max(by: { sign * $0.output < sign * $1.output }) {
            state.searchCenter = best.input
        }
    }

    /// Earlier runs taken in count towards the resample cadence as if resampling had kept pace with them, so a
    /// warm start is not followed by a burst of n / `resample_frequency` resamples (as in the reference).
    private mutating func continueResampleCadence() {
        let frequency = configuration.resampleFrequency
        guard frequency > 0 else { return }
        state.resampleCount = max(state.resampleCount, state.successes.count / frequency - 1)
    }

    /// Trust-region-style radius adaptation (an improvement on the reference's fixed radius, in the spirit of
    /// TuRBO, Eriksson et al. 2019), tied to how fast the frontier climbs the cost ladder: three acquisition
    /// results in a row that become the frontier's dearest point widen the radius by 1.5× (at most 4× the initial
    /// radius), so the search climbs faster while the frontier keeps extending; `max(4, d)` acquisition results
    /// in a row that do not narrow it by 1.5× (at least ¼ of the initial radius), so a settled frontier is refined
    /// precisely.
    private mutating func adaptSearchRadius(after record: ObservationRecord) {
        guard configuration.adaptiveSearchRadius else { return }
        var improved = false
        if !record.isFailure {
            let key = record.input.map(ObservationGroup.quantize)
            improved = paretoFront(conservative: configuration.conservativePareto).groups.last.map {
                $0.input.map(ObservationGroup.quantize) == key
            } ?? false
        }
        let initial = configuration.initialSearchRadius
        if improved {
            state.radiusTrend.misses = 0
            state.radiusTrend.improvements += 1
            if state.radiusTrend.improvements >= 3 {
                state.searchRadius = min(state.searchRadius * 1.5, 4 * initial)
                state.radiusTrend.improvements = 0
            }
        } else {
            state.radiusTrend.improvements = 0
            state.radiusTrend.misses += 1
            if state.radiusTrend.misses >= max(4, dimensions) {
                state.searchRadius = max(state.searchRadius / 1.5, initial / 4)
                state.radiusTrend.misses = 0
            }
        }
    }

    private mutating func append(_ record: ObservationRecord) {
        if record.isFailure {
            state.failures.append(record)
        } else {
            state.successes.append(record)
        }
    }

    private static func record(_ observation: Observation, input: [Double]) throws(CARBSError) -> ObservationRecord {
        switch observation {
        case .success(let id, let output, let cost):
            guard cost.isFinite, cost > 0 else {
                throw CARBSError(
                    .invalidObservation, "suggestion \(id): cost \(cost) is not allowed (must be finite and > 0)")
            }
            guard output.isFinite else {
                return ObservationRecord(suggestionID: id, input: input, output: output, cost: cost, isFailure: true)
            }
            return ObservationRecord(suggestionID: id, input: input, output: output, cost: cost, isFailure: false)
        case .failure(let id, let cost):
            return ObservationRecord(suggestionID: id, input: input, output: .nan, cost: cost ?? .nan, isFailure: true)
        }
    }

    // MARK: - Parameter conversions

    /// Parameter-space values of a basic vector (integers snapped to their grid).
    public func parameterValues(fromBasic input: [Double]) -> [String: Double] {
        precondition(input.count == dimensions, "input has \(input.count) values for \(dimensions) parameters")
        var values: [String: Double] = [:]
        for (parameter, basic) in zip(state.parameters, input) {
            values[parameter.name] = parameter.space.rounded(parameter: parameter.space.parameter(fromBasic: basic))
        }
        return values
    }

    /// The basic vector of parameter values (integers rounded); missing names come from `fixedValues` or centers.
    func basicInput(from values: [String: Double], fixedValues: [String: Double]) throws(CARBSError) -> [Double] {
        let known = Set(state.parameters.map(\.name))
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw CARBSError(.invalidObservation, "parameter \(unknown) is not a parameter of this study")
        }
        var input: [Double] = []
        for parameter in state.parameters {
            let value = values[parameter.name] ?? fixedValues[parameter.name] ?? parameter.center
            let basic = parameter.space.rounded(basic: parameter.space.basic(fromParameter: value))
            guard basic.isFinite else {
                throw CARBSError(
                    .invalidObservation, "parameters.\(parameter.name): \(value) is outside its \(parameter.space.kind) space")
            }
            input.append(basic)
        }
        return input
    }

    /// A new suggestion id: a version-4-style UUID string drawn from the optimizer's own generator.
    mutating func makeSuggestionID() -> String {
        let high = state.generator.next()
        let low = state.generator.next()
        let hex = String(high, radix: 16).leftPadded(to: 16) + String(low, radix: 16).leftPadded(to: 16)
        let chars = Array(hex)
        var uuid = String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-4" + String(chars[13..<16]) + "-"
        let variant = "89ab"[("89ab".index("89ab".startIndex, offsetBy: Int(low >> 62)))]
        uuid += String(variant) + String(chars[17..<20]) + "-" + String(chars[20..<32])
        return uuid
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
