import CLAPACK
import Foundation

/// A two-hidden-layer ReLU network with a scalar output, its gradients and its Adam state, in buffers it owns.
///
/// Layout of `parameters` (and of `gradients`, `firstMoment`, `secondMoment`): W1 (d×h), b1 (h), W2 (h×h),
/// b2 (h), W3 (h), b3 (1); matrices row-major. One instance is used by one thread at a time (it is not
/// `Sendable`); the activations are sized for `capacity` rows.
final class MLPNetwork {
    let inputDimension: Int
    let hiddenDim: Int
    let capacity: Int
    let parameterCount: Int

    let parameters: UnsafeMutableBufferPointer<Double>
    let gradients: UnsafeMutableBufferPointer<Double>
    private let firstMoment: UnsafeMutableBufferPointer<Double>
    private let secondMoment: UnsafeMutableBufferPointer<Double>
    /// Hidden activations after ReLU (their sign is the ReLU mask), then reused for their gradients.
    private let hidden1: UnsafeMutableBufferPointer<Double>
    private let hidden2: UnsafeMutableBufferPointer<Double>
    private let delta1: UnsafeMutableBufferPointer<Double>
    private let delta2: UnsafeMutableBufferPointer<Double>
    let outputs: UnsafeMutableBufferPointer<Double>
    private let outputDelta: UnsafeMutableBufferPointer<Double>
    private var adamStep = 0

    private var w1: Int { 0 }
    private var b1: Int { inputDimension * hiddenDim }
    private var w2: Int { b1 + hiddenDim }
    private var b2: Int { w2 + hiddenDim * hiddenDim }
    private var w3: Int { b2 + hiddenDim }
    private var b3: Int { w3 + hiddenDim }

    /// Creates a network with He-initialised weights and zero biases drawn from `random`.
    init(inputDimension d: Int, hiddenDim h: Int, capacity: Int, random: inout DemoRandom) {
        inputDimension = d
        hiddenDim = h
        self.capacity = capacity
        parameterCount = d * h + h + h * h + h + h + 1
        func buffer(_ count: Int) -> UnsafeMutableBufferPointer<Double> {
            let pointer = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            pointer.initialize(repeating: 0)
            return pointer
        }
        parameters = buffer(parameterCount)
        gradients = buffer(parameterCount)
        firstMoment = buffer(parameterCount)
        secondMoment = buffer(parameterCount)
        hidden1 = buffer(capacity * h)
        hidden2 = buffer(capacity * h)
        delta1 = buffer(capacity * h)
        delta2 = buffer(capacity * h)
        outputs = buffer(capacity)
        outputDelta = buffer(capacity)
        let scale1 = (2 / Double(d)).squareRoot()
        let scale2 = (2 / Double(h)).squareRoot()
        let scale3 = (1 / Double(h)).squareRoot()
        for i in 0..<(d * h) { parameters[w1 + i] = scale1 * random.normal() }
        for i in 0..<(h * h) { parameters[w2 + i] = scale2 * random.normal() }
        for i in 0..<h { parameters[w3 + i] = scale3 * random.normal() }
    }

    deinit {
        for pointer in [
            parameters, gradients, firstMoment, secondMoment, hidden1, hidden2, delta1, delta2, outputs, outputDelta,
        ] {
            pointer.deallocate()
        }
    }

    /// Multiply-adds of `forward` on `rows` rows.
    static func forwardMultiplyAdds(inputDimension d: Int, hiddenDim h: Int, rows: Int) -> Double {
        Double(rows) * Double(d * h + h * h + h)
    }

    /// Multiply-adds of `backward` on `rows` rows.
    static func backwardMultiplyAdds(inputDimension d: Int, hiddenDim h: Int, rows: Int) -> Double {
        Double(rows) * Double(d * h + 2 * h * h + 2 * h)
    }

    /// Computes `outputs[0..<rows]` for the row-major inputs `x` (`rows × inputDimension`).
    func forward(_ x: UnsafePointer<Double>, rows n: Int) {
        precondition(n <= capacity)
        let d = Int32(inputDimension)
        let h = Int32(hiddenDim)
        let p = parameters.baseAddress!
        let a1 = hidden1.baseAddress!
        let a2 = hidden2.baseAddress!
        // A1 = relu(X W1 + b1)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), h, d, 1, x, d, p + w1, h, 0, a1, h)
        biasReLU(a1, rows: n, bias: p + b1)
        // A2 = relu(A1 W2 + b2)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), h, h, 1, a1, h, p + w2, h, 0, a2, h)
        biasReLU(a2, rows: n, bias: p + b2)
        // out = A2 w3 + b3
        let out = outputs.baseAddress!
        cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(n), h, 1, a2, h, p + w3, 1, 0, out, 1)
        let bias = p[b3]
        for i in 0..<n { out[i] += bias }
    }

    /// The mean squared error of the last `forward` against `y`, and its gradient in `gradients`.
    /// - Returns: The batch's mean squared error.
    func backward(_ x: UnsafePointer<Double>, targets y: UnsafePointer<Double>, rows n: Int) -> Double {
        let d = Int32(inputDimension)
        let h = Int32(hiddenDim)
        let hidden = hiddenDim
        let p = parameters.baseAddress!
        let g = gradients.baseAddress!
        let a1 = hidden1.baseAddress!
        let a2 = hidden2.baseAddress!
        let dz1 = delta1.baseAddress!
        let dz2 = delta2.baseAddress!
        let out = outputs.baseAddress!
        let dOut = outputDelta.baseAddress!
        var loss = 0.0
        var biasGradient = 0.0
        let twoOverN = 2 / Double(n)
        for i in 0..<n {
            let error = out[i] - y[i]
            loss += error * error
            dOut[i] = twoOverN * error
            biasGradient += dOut[i]
        }
        g[b3] = biasGradient
        // dw3 = A2ᵀ dOut
        cblas_dgemv(CblasRowMajor, CblasTrans, Int32(n), h, 1, a2, h, dOut, 1, 0, g + w3, 1)
        // dZ2 = (dOut w3ᵀ) ⊙ [A2 > 0]
        for i in 0..<n {
            let scale = dOut[i]
            let row = i * hidden
            for j in 0..<hidden {
                dz2[row + j] = a2[row + j] > 0 ? scale * p[w3 + j] : 0
            }
        }
        // dW2 = A1ᵀ dZ2, db2 = Σ dZ2
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, h, h, Int32(n), 1, a1, h, dz2, h, 0, g + w2, h)
        columnSums(dz2, rows: n, into: g + b2)
        // dZ1 = (dZ2 W2ᵀ) ⊙ [A1 > 0]
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), h, h, 1, dz2, h, p + w2, h, 0, dz1, h)
        for k in 0..<(n * hidden) where a1[k] <= 0 { dz1[k] = 0 }
        // dW1 = Xᵀ dZ1, db1 = Σ dZ1
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, h, Int32(n), 1, x, d, dz1, h, 0, g + w1, h)
        columnSums(dz1, rows: n, into: g + b1)
        return loss / Double(n)
    }

    /// One AdamW step with the gradients in `gradients` (Kingma & Ba 2015; decoupled decay as in
    /// Loshchilov & Hutter 2019, applied to the weight matrices only).
    func adamStep(learningRate: Double, weightDecay: Double) {
        let beta1 = 0.9
        let beta2 = 0.999
        let epsilon = 1e-8
        adamStep += 1
        let correction1 = 1 - pow(beta1, Double(adamStep))
        let correction2 = 1 - pow(beta2, Double(adamStep))
        let p = parameters.baseAddress!
        let g = gradients.baseAddress!
        let m = firstMoment.baseAddress!
        let v = secondMoment.baseAddress!
        let stepSize = learningRate / correction1
        let rootCorrection2 = correction2.squareRoot()
        for i in 0..<parameterCount {
            let gi = g[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            p[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + epsilon)
        }
        let decay = 1 - learningRate * weightDecay
        if decay != 1 {
            for range in [w1..<b1, w2..<b2, w3..<b3] {
                for i in range { p[i] *= decay }
            }
        }
    }

    private func biasReLU(_ a: UnsafeMutablePointer<Double>, rows n: Int, bias: UnsafePointer<Double>) {
        let h = hiddenDim
        for i in 0..<n {
            let row = a + i * h
            for j in 0..<h {
                let value = row[j] + bias[j]
                row[j] = value > 0 ? value : 0
            }
        }
    }

    private func columnSums(_ a: UnsafePointer<Double>, rows n: Int, into sums: UnsafeMutablePointer<Double>) {
        let h = hiddenDim
        for j in 0..<h { sums[j] = 0 }
        for i in 0..<n {
            let row = a + i * h
            for j in 0..<h { sums[j] += row[j] }
        }
    }
}
