/// Minimises a smooth function of a vector with limited-memory BFGS.
///
/// The two-loop recursion of Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006), Algorithm 7.4, in the
/// loop of Algorithm 7.5, with the initial Hessian scaling `γ = sᵀy / yᵀy` (eq. 7.20) and a strong-Wolfe line
/// search (Algorithms 3.5 and 3.6, cubic interpolation with safeguards). A value that is NaN or infinite, or a
/// gradient that is not finite, counts as +∞: the line search steps back from it.
public struct LBFGS: Sendable {
    /// The outcome of a minimisation.
    public struct Result: Sendable {
        /// The best point found.
        public var x: [Double]
        /// The objective at `x`.
        public var value: Double
        /// Iterations (line searches) performed.
        public var iterations: Int
        /// Whether a convergence test passed (gradient or relative decrease), rather than the iteration bound
        /// or a failed line search ending the run.
        public var converged: Bool
    }

    /// Correction pairs kept.
    public var memory: Int
    /// The bound on iterations.
    public var maxIterations: Int
    /// Converged once the largest gradient component is at most this.
    public var gradientTolerance: Double
    /// Converged once an iteration decreases the value by at most this times `max(1, |value|)`.
    public var relativeDecreaseTolerance: Double = 1e-10
    /// The bound on objective evaluations per line search.
    public var maxLineSearchEvaluations: Int = 20

    public init(memory: Int = 8, maxIterations: Int = 50, gradientTolerance: Double = 1e-5) {
        precondition(memory >= 1, "memory must be at least 1, got \(memory)")
        precondition(maxIterations >= 0, "maxIterations must be non-negative, got \(maxIterations)")
        self.memory = memory
        self.maxIterations = maxIterations
        self.gradientTolerance = gradientTolerance
    }

    private struct Point {
        var x: [Double]
        var value: Double
        var gradient: [Double]
        var isFinite: Bool { value.isFinite && gradient.allSatisfy { $0.isFinite } }
    }

    /// Minimises `objective` starting from `start`.
    ///
    /// - Parameters:
    ///   - start: The initial point.
    ///   - objective: Returns the value and the gradient (same length as the point) at a point.
    /// - Returns: The best point seen. If the objective is not finite at `start`, returns `start` unconverged.
    public func minimize(
        from start: [Double], _ objective: ([Double]) -> (value: Double, gradient: [Double])
    ) -> Result {
        let dimension = start.count
        func evaluate(_ x: [Double]) -> Point {
            let (value, gradient) = objective(x)
            precondition(gradient.count == dimension, "gradient has \(gradient.count) entries, expected \(dimension)")
            var point = Point(x: x, value: value, gradient: gradient)
            if !point.isFinite { point.value = .infinity }
            return point
        }
        var current = evaluate(start)
        guard current.value.isFinite else {
            return Result(x: start, value: current.value, iterations: 0, converged: false)
        }
        if dimension == 0 {
            return Result(x: start, value: current.value, iterations: 0, converged: true)
        }
        var steps: [[Double]] = []
        var gradientChanges: [[Double]] = []
        var curvatures: [Double] = []
        var iterations = 0
        var converged = false

        while iterations < maxIterations {
            if Self.maxNorm(current.gradient) <= gradientTolerance {
                converged = true
                break
            }
            var direction = twoLoopDirection(current.gradient, steps, gradientChanges, curvatures)
            var slope = Self.dot(direction, current.gradient)
            if !(slope < 0) {
                steps.removeAll()
                gradientChanges.removeAll()
                curvatures.removeAll()
                direction = current.gradient.map { -$0 }
                slope = Self.dot(direction, current.gradient)
            }
            let initialStep = steps.isEmpty ? min(1, 1 / Self.maxNorm(current.gradient)) : 1
            iterations += 1
            guard var next = lineSearch(current, direction, slope, initialStep, evaluate) else {
                if steps.isEmpty { break }
                // A poor quasi-Newton direction: forget the memory and try steepest descent next iteration.
                steps.removeAll()
                gradientChanges.removeAll()
                curvatures.removeAll()
                continue
            }
            let s = zip(next.x, current.x).map { $0 - $1 }
            let y = zip(next.gradient, current.gradient).map { $0 - $1 }
            let sy = Self.dot(s, y)
            if sy > 1e-12 * (Self.dot(s, s) * Self.dot(y, y)).squareRoot() && sy > 0 {
                if steps.count == memory {
                    steps.removeFirst()
                    gradientChanges.removeFirst()
                    curvatures.removeFirst()
                }
                steps.append(s)
                gradientChanges.append(y)
                curvatures.append(1 / sy)
            }
            let decrease = current.value - next.value
            swap(&current, &next)
            if decrease <= relativeDecreaseTolerance * max(1, abs(current.value)) {
                converged = true
                break
            }
        }
        if !converged && Self.maxNorm(current.gradient) <= gradientTolerance { converged = true }
        return Result(x: current.x, value: current.value, iterations: iterations, converged: converged)
    }

    /// `−H·g` by the two-loop recursion (N&W Algorithm 7.4).
    private func twoLoopDirection(
        _ gradient: [Double], _ steps: [[Double]], _ changes: [[Double]], _ curvatures: [Double]
    ) -> [Double] {
        var q = gradient
        let count = steps.count
        var alphas = [Double](repeating: 0, count: count)
        for i in stride(from: count - 1, through: 0, by: -1) {
            let alpha = curvatures[i] * Self.dot(steps[i], q)
            alphas[i] = alpha
            for j in q.indices { q[j] -= alpha * changes[i][j] }
        }
        if count > 0 {
            let gamma =
                Self.dot(steps[count - 1], changes[count - 1]) / Self.dot(changes[count - 1], changes[count - 1])
            for j in q.indices { q[j] *= gamma }
        }
        for i in 0..<count {
            let beta = curvatures[i] * Self.dot(changes[i], q)
            for j in q.indices { q[j] += steps[i][j] * (alphas[i] - beta) }
        }
        return q.map { -$0 }
    }

    /// Strong-Wolfe line search (N&W Algorithms 3.5/3.6, c₁ = 1e-4, c₂ = 0.9). Returns a point with a lower
    /// value satisfying at least sufficient decrease, or nil.
    private func lineSearch(
        _ start: Point, _ direction: [Double], _ slope0: Double, _ initialStep: Double,
        _ evaluate: ([Double]) -> Point
    ) -> Point? {
        let c1 = 1e-4
        let c2 = 0.9
        let f0 = start.value
        var evaluations = 0
        func trial(_ step: Double) -> (point: Point, slope: Double) {
            evaluations += 1
            let x = zip(start.x, direction).map { $0 + step * $1 }
            let point = evaluate(x)
            return (point, point.value.isFinite ? Self.dot(point.gradient, direction) : .nan)
        }
        func sufficient(_ step: Double, _ value: Double) -> Bool {
            value.isFinite && value <= f0 + c1 * step * slope0
        }

        // Bracketing phase.
        var previousStep = 0.0
        var previousValue = f0
        var previousSlope = slope0
        var previousPoint: Point? = nil
        var step = initialStep
        var low: (step: Double, value: Double, slope: Double, point: Point?)
        var high: (step: Double, value: Double, slope: Double)
        while true {
            let (point, slope) = trial(step)
            if !sufficient(step, point.value) || (previousPoint != nil && point.value >= previousValue) {
                low = (previousStep, previousValue, previousSlope, previousPoint)
                high = (step, point.value, slope)
                break
            }
            if abs(slope) <= -c2 * slope0 { return point }
            if slope >= 0 {
                low = (step, point.value, slope, point)
                high = (previousStep, previousValue, previousSlope)
                break
            }
            if evaluations >= maxLineSearchEvaluations { return point }
            previousStep = step
            previousValue = point.value
            previousSlope = slope
            previousPoint = point
            step *= 2
        }

        // Zoom phase: keep `low` satisfying sufficient decrease with the lowest value so far.
        while evaluations < maxLineSearchEvaluations {
            let width = high.step - low.step
            var candidate = Self.cubicMinimizer(low.step, low.value, low.slope, high.step, high.value, high.slope)
            let lo = min(low.step, high.step) + 0.1 * abs(width)
            let hi = max(low.step, high.step) - 0.1 * abs(width)
            if !candidate.isFinite || candidate < lo || candidate > hi {
                candidate = 0.5 * (low.step + high.step)
            }
            if abs(width) < 1e-16 * max(1, abs(low.step)) { break }
            let (point, slope) = trial(candidate)
            if !sufficient(candidate, point.value) || point.value >= low.value {
                high = (candidate, point.value, slope)
            } else {
                if abs(slope) <= -c2 * slope0 { return point }
                if slope * (high.step - low.step) >= 0 {
                    high = (low.step, low.value, low.slope)
                }
                low = (candidate, point.value, slope, point)
            }
        }
        if let point = low.point, point.value < f0 { return point }
        return nil
    }

    /// The minimiser of the cubic interpolating values and slopes at `a` and `b` (N&W eq. 3.59); NaN if none.
    private static func cubicMinimizer(
        _ a: Double, _ fa: Double, _ da: Double, _ b: Double, _ fb: Double, _ db: Double
    ) -> Double {
        guard fa.isFinite, fb.isFinite, da.isFinite, db.isFinite, a != b else { return .nan }
        let d1 = da + db - 3 * (fa - fb) / (a - b)
        let discriminant = d1 * d1 - da * db
        guard discriminant >= 0 else { return .nan }
        let d2 = (b > a ? 1.0 : -1.0) * discriminant.squareRoot()
        let denominator = db - da + 2 * d2
        guard denominator != 0 else { return .nan }
        return b - (b - a) * (db + d2 - d1) / denominator
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var sum = 0.0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }

    static func maxNorm(_ a: [Double]) -> Double {
        var result = 0.0
        for value in a { result = max(result, abs(value)) }
        return result
    }
}
