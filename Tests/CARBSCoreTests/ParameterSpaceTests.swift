import Foundation
import Testing
@testable import CARBSCore

@Suite("Parameter spaces")
struct ParameterSpaceTests {
    @Test("basic ↔ parameter round-trips", arguments: [
        (ParameterSpace.linear(scale: 5), [-3.5, 0, 2.5, 10]),
        (ParameterSpace.log(), [1e-5, 0.3, 1, 512]),
        (ParameterSpace.log(base: 2, scale: 0.5), [0.125, 3, 1024]),
        (ParameterSpace.logit(), [0.001, 0.5, 0.97]),
        (ParameterSpace.logit(scale: 2), [0.2, 0.9]),
    ])
    func roundTrip(space: ParameterSpace, values: [Double]) {
        for value in values {
            let back = space.parameter(fromBasic: space.basic(fromParameter: value))
            #expect(abs(back - value) <= 1e-12 * max(1, abs(value)), "\(space.kind) \(value) → \(back)")
        }
    }

    @Test("the transforms of the algorithm page")
    func transforms() {
        #expect(ParameterSpace.linear(scale: 5).basic(fromParameter: 10) == 2)
        #expect(abs(ParameterSpace.log().basic(fromParameter: 1e-3) + 3) < 1e-12)
        #expect(abs(ParameterSpace.log(base: 2, scale: 2).basic(fromParameter: 16) - 2) < 1e-12)
        #expect(abs(ParameterSpace.logit().basic(fromParameter: 0.9) - log10(9.0)) < 1e-12)
        #expect(ParameterSpace.log().basic(fromParameter: 0) == -.infinity)
        #expect(ParameterSpace.logit().basic(fromParameter: 1) == .infinity)
    }

    @Test("integer rounding snaps to the rounding factor in parameter space")
    func integerRounding() {
        let space = ParameterSpace.log(min: 2, max: 512, integer: true)
        let basic = space.basic(fromParameter: 63.4)
        #expect(space.parameter(fromBasic: space.rounded(basic: basic)).rounded() == 63)
        let byEight = ParameterSpace.linear(min: 8, max: 1024, scale: 64, integer: true, roundingFactor: 8)
        #expect(byEight.rounded(parameter: 13) == 16)
        #expect(byEight.rounded(parameter: 11.9) == 8)
        #expect(abs(byEight.parameter(fromBasic: byEight.rounded(basic: 0.33)) - 24) < 1e-9)
    }

    @Test("bounds are strict in basic space and integer bounds widen by 0.1")
    func bounds() {
        let real = ParameterSpace.linear(min: 0, max: 1, scale: 0.3)
        #expect(!real.contains(basic: 0))
        #expect(real.contains(basic: 0.5 / 0.3))
        #expect(!real.contains(basic: 1 / 0.3))
        let integer = ParameterSpace.log(min: 2, max: 512, integer: true)
        #expect(integer.contains(basic: integer.basic(fromParameter: 2)))
        #expect(integer.contains(basic: integer.basic(fromParameter: 512)))
        #expect(!integer.contains(basic: integer.basic(fromParameter: 513)))
        #expect(ParameterSpace.log().basicBounds.lower == -.infinity)
        #expect(!ParameterSpace.log().isBounded)
        #expect(integer.isBounded)
    }

    @Test("validation names the parameter and the problem")
    func validation() throws {
        func message(_ parameter: Parameter) -> String? {
            do {
                _ = try CARBSOptimizer(configuration: .init(direction: .minimize), parameters: [parameter])
                return nil
            } catch {
                return error.message
            }
        }
        #expect(
            message(.init(name: "hidden_dim", space: .log(min: -3, max: 10), center: 1))
                == "parameters.hidden_dim.min: -3 is not allowed for a log space (must be > 0)")
        #expect(message(.init(name: "x", space: .linear(min: 2, max: 1), center: 1.5))?.contains("parameters.x.min: 2 must be below max 1") == true)
        #expect(message(.init(name: "x", space: .linear(min: 0, max: 1), center: 3))?.contains("parameters.x.center: 3 is outside") == true)
        #expect(message(.init(name: "lr", space: .log(), center: 0))?.contains("must be > 0") == true)
        #expect(message(.init(name: "p", space: .logit(), center: 1))?.contains("logit") == true)
        #expect(message(.init(name: "s", space: .linear(scale: 0), center: 1))?.contains("parameters.s.scale: 0 is not allowed") == true)
        #expect(message(.init(name: "ok", space: .log(), center: 1e-4)) == nil)
    }

    @Test("a linear integer space with a small scale warns")
    func smallScaleWarning() throws {
        let optimizer = try CARBSOptimizer(
            configuration: .init(direction: .minimize),
            parameters: [.init(name: "layers", space: .linear(min: 1, max: 10, integer: true), center: 3)])
        #expect(optimizer.warnings.count == 1)
        #expect(optimizer.warnings.first?.contains("layers") == true)
    }
}
