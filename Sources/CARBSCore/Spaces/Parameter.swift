/// One hyperparameter: its name, its space and the search center (a parameter-space value inside the bounds).
public struct Parameter: Sendable, Hashable, Codable {
    public var name: String
    public var space: ParameterSpace
    /// Where the search starts, in parameter space.
    public var center: Double

    public init(name: String, space: ParameterSpace, center: Double) {
        self.name = name
        self.space = space
        self.center = center
    }

    /// Checks the space and the center; returns warnings for settings that work but probably surprise.
    /// - Throws: `CARBSError` with code `.invalidParameter` naming the parameter and the problem.
    func validate(searchRadius: Double) throws(CARBSError) -> [String] {
        func fail(_ problem: String) -> CARBSError {
            CARBSError(.invalidParameter, "parameters.\(name): \(problem)")
        }
        guard !name.isEmpty else { throw CARBSError(.invalidParameter, "a parameter has an empty name") }
        guard space.scale.isFinite, space.scale > 0 else {
            throw fail("scale \(space.scale) is not allowed (must be a finite number > 0)")
        }
        if space.isInteger {
            guard space.kind != .logit else { throw fail("a logit space cannot be integer") }
            guard space.roundingFactor.isFinite, space.roundingFactor > 0 else {
                throw fail("rounding_factor \(space.roundingFactor) is not allowed (must be > 0)")
            }
        }
        if space.kind == .log {
            guard space.base.isFinite, space.base > 0, space.base != 1 else {
                throw fail("base \(space.base) is not allowed for a log space (must be > 0 and ≠ 1)")
            }
        }
        for (label, bound) in [("min", space.min), ("max", space.max)] {
            guard let bound else { continue }
            guard bound.isFinite else { throw fail("\(label): \(bound) is not a finite number") }
            switch space.kind {
            case .linear:
                break
            case .log:
                guard bound > 0 else { throw fail("\(label): \(bound) is not allowed for a log space (must be > 0)") }
            case .logit:
                guard bound >= 0, bound <= 1 else {
                    throw fail("\(label): \(bound) is not allowed for a logit space (must be in [0, 1])")
                }
            }
        }
        if let min = space.min, let max = space.max, !(min < max) {
            throw fail("min \(min) must be below max \(max)")
        }
        guard center.isFinite else { throw fail("center \(center) is not a finite number") }
        let basicCenter = space.basic(fromParameter: center)
        guard space.contains(basic: basicCenter) else {
            let lower = space.min.map { "\($0)" } ?? "-inf"
            let upper = space.max.map { "\($0)" } ?? "+inf"
            switch space.kind {
            case .log where center <= 0:
                throw fail("center \(center) is not allowed for a log space (must be > 0)")
            case .logit where center <= 0 || center >= 1:
                throw fail("center \(center) is not allowed for a logit space (must be in (0, 1))")
            default:
                throw fail("center \(center) is outside the bounds (\(lower), \(upper))")
            }
        }
        var warnings: [String] = []
        if space.isInteger && space.kind == .linear && space.scale < 3 {
            warnings.append(
                "parameters.\(name): a linear integer space with scale \(space.scale) < 3 cannot reach a "
                    + "neighbouring integer with the search radius \(searchRadius); consider scale ≥ 3")
        }
        return warnings
    }
}
