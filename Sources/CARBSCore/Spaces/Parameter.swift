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
    /// - Parameter searchRadius: the search radius the warnings are about.
    /// - Throws: `CARBSError` with code `.invalidParameter` naming the parameter, the field and the problem.
    @discardableResult
    public func validate(searchRadius: Double) throws(CARBSError) -> [String] {
        func fail(_ problem: String, field: String? = nil) -> CARBSError {
            CARBSError(.invalidParameter, "parameters.\(name)\(field.map { ".\($0)" } ?? ""): \(problem)")
        }
        func number(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        }
        guard !name.isEmpty else { throw CARBSError(.invalidParameter, "a parameter has an empty name") }
        guard space.scale.isFinite, space.scale > 0 else {
            throw fail("\(number(space.scale)) is not allowed (must be a finite number > 0)", field: "scale")
        }
        if space.isInteger {
            guard space.kind != .logit else { throw fail("a logit space cannot be integer", field: "integer") }
            guard space.roundingFactor.isFinite, space.roundingFactor > 0 else {
                throw fail("\(number(space.roundingFactor)) is not allowed (must be > 0)", field: "rounding_factor")
            }
        }
        if space.kind == .log {
            guard space.base.isFinite, space.base > 0, space.base != 1 else {
                throw fail("\(number(space.base)) is not allowed for a log space (must be > 0 and ≠ 1)", field: "base")
            }
        }
        for (label, bound) in [("min", space.min), ("max", space.max)] {
            guard let bound else { continue }
            guard bound.isFinite else { throw fail("\(bound) is not a finite number", field: label) }
            switch space.kind {
            case .linear:
                break
            case .log:
                guard bound > 0 else { throw fail("\(number(bound)) is not allowed for a log space (must be > 0)", field: label) }
            case .logit:
                guard bound >= 0, bound <= 1 else {
                    throw fail("\(number(bound)) is not allowed for a logit space (must be in [0, 1])", field: label)
                }
            }
        }
        if let min = space.min, let max = space.max, !(min < max) {
            throw fail("\(number(min)) must be below max \(number(max))", field: "min")
        }
        guard center.isFinite else { throw fail("\(center) is not a finite number", field: "center") }
        let basicCenter = space.basic(fromParameter: center)
        guard space.contains(basic: basicCenter) else {
            let lower = space.min.map(number) ?? "-inf"
            let upper = space.max.map(number) ?? "+inf"
            switch space.kind {
            case .log where center <= 0:
                throw fail("\(number(center)) is not allowed for a log space (must be > 0)", field: "center")
            case .logit where center <= 0 || center >= 1:
                throw fail("\(number(center)) is not allowed for a logit space (must be in (0, 1))", field: "center")
            default:
                throw fail("\(number(center)) is outside the bounds (\(lower), \(upper))", field: "center")
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
