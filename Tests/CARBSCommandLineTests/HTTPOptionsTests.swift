import ArgumentParser
import Foundation
import Testing

@testable import CARBSCommandLine

/// The live view's flags: `carbs tune` serves it by default on 127.0.0.1 (a free port), `carbs optimizer` only
/// with `--http`, and neither starts on a non-loopback address without a token or `--http-insecure`.
@Suite("--http, --http-token, --http-insecure")
struct HTTPOptionsTests {
    @Test("tune: on by default at 127.0.0.1:0; --no-http turns it off")
    func tuneDefault() throws {
        let live = try #require(try TuneCommand.parse(["study.yaml"]).liveViewConfiguration())
        #expect(live.address.host == "127.0.0.1" && live.address.port == 0)
        #expect(live.token == nil)
        #expect(try TuneCommand.parse(["study.yaml", "--no-http"]).liveViewConfiguration() == nil)
        #expect(throws: (any Error).self) {
            try TuneCommand.parse(["study.yaml", "--no-http", "--http", "127.0.0.1:1"])
        }
    }

    @Test("optimizer: off unless --http is given")
    func optimizerDefault() throws {
        #expect(try OptimizerCommand.parse(["study.yaml", "--db", "x.db"]).http.configuration() == nil)
        let live = try #require(
            try OptimizerCommand.parse(["study.yaml", "--db", "x.db", "--http", "127.0.0.1:9100"]).http.configuration())
        #expect(live.address.port == 9100)
    }

    @Test(
        "a public address without a token or --http-insecure is refused before anything starts",
        arguments: [["--http", "0.0.0.0:9100"], ["--http", "192.168.1.5:80"], ["--http", "[::]:9100"]])
    func publicAddressRefused(flags: [String]) throws {
        for command in ["optimizer", "tune"] {
            let arguments = ["study.yaml", "--db", "x.db"] + flags
            do {
                if command == "optimizer" {
                    _ = try OptimizerCommand.parse(arguments)
                } else {
                    _ = try TuneCommand.parse(arguments)
                }
                Issue.record("\(command) \(arguments) was accepted")
            } catch {
                let message = OptimizerCommand.message(for: error)
                #expect(message.contains("--http-token") && message.contains("--http-insecure"), "\(message)")
                #expect(OptimizerCommand.exitCode(for: error) == .validationFailure)
            }
        }
    }

    @Test("a public address with --http-token or --http-insecure is accepted")
    func publicAddressAllowed() throws {
        let withToken = try OptimizerCommand.parse([
            "s.yaml", "--db", "x", "--http", "0.0.0.0:9100", "--http-token", "abc",
        ])
        #expect(try withToken.http.configuration()?.token == "abc")
        let insecure = try OptimizerCommand.parse(["s.yaml", "--db", "x", "--http", "0.0.0.0:9100", "--http-insecure"])
        #expect(try insecure.http.configuration()?.allowsInsecure == true)
    }

    @Test("--http-token without --http is a mistake; so is a token with a space")
    func tokenMistakes() {
        #expect(throws: (any Error).self) {
            try OptimizerCommand.parse(["s.yaml", "--db", "x", "--http-token", "abc"])
        }
        #expect(throws: (any Error).self) {
            try OptimizerCommand.parse(["s.yaml", "--db", "x", "--http", "127.0.0.1:1", "--http-token", "a b"])
        }
    }
}
