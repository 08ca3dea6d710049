/// Successful observations whose basic inputs are equal, summarised (section 3 of the algorithm page).
///
/// Outputs here are **direction-signed**: higher is better.
public struct ObservationGroup: Sendable, Hashable {
    /// The shared basic-space input.
    public var input: [Double]
    /// Indices into the list of successes the group was built from, in order.
    public var members: [Int]
    /// Mean signed output of the members.
    public var meanOutput: Double
    /// Highest single signed output of the members.
    public var maxOutput: Double
    /// Mean cost of the members.
    public var meanCost: Double

    public var count: Int { members.count }

    /// Groups successes by equal input (coordinates equal to 1e-9 relative), in order of first appearance.
    /// - Parameters:
    ///   - successes: successful observations.
    ///   - sign: +1 to keep outputs, −1 to negate them (minimisation), so that higher is better.
    /// - Complexity: O(n·d) expected.
    public static func grouping(_ successes: [ObservationRecord], sign: Double) -> [ObservationGroup] {
        var indexByKey: [[Int64]: Int] = [:]
        var groups: [ObservationGroup] = []
        for (index, record) in successes.enumerated() {
            let key = record.input.map(Self.quantize)
            let signed = sign * record.output
            if let existing = indexByKey[key] {
                groups[existing].members.append(index)
                groups[existing].maxOutput = Swift.max(groups[existing].maxOutput, signed)
            } else {
                indexByKey[key] = groups.count
                groups.append(
                    ObservationGroup(
                        input: record.input, members: [index], meanOutput: signed, maxOutput: signed,
                        meanCost: record.cost))
            }
        }
        for g in groups.indices where groups[g].count > 1 {
            let members = groups[g].members
            groups[g].meanOutput = members.reduce(0) { $0 + sign * successes[$1].output } / Double(members.count)
            groups[g].meanCost = members.reduce(0) { $0 + successes[$1].cost } / Double(members.count)
        }
        return groups
    }

    /// Maps a coordinate to an integer key so that values equal to about 1e-9 (relative) share a key.
    static func quantize(_ value: Double) -> Int64 {
        guard value.isFinite, value != 0 else { return value == 0 ? 0 : (value > 0 ? .max : .min) }
        let exponent = value.exponent
        let mantissaSteps = (value.significand * 1e9).rounded()
        return Int64(exponent) &* 4_000_000_000 &+ Int64(value.sign == .minus ? -mantissaSteps : mantissaSteps)
    }
}
