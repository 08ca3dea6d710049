import Foundation
import Testing

/// `.ci/container-build-steps.sh`, the build steps of `Deploy/container/Containerfile`, run here on the debug
/// binary that `swift build` already made (`--no-install --binary`): CI exercises the recipe without a container
/// engine and without a second (release) build of the package.
@Suite("Deploy: container build steps")
struct ContainerTests {
    @Test("the script stages a carbs that runs with only the staged Swift libraries and the listed packages")
    func buildSteps() async throws {
        try DeployEnvironment.requireCarbs()
        let staging = FileManager.default.temporaryDirectory
            .appendingPathComponent("carbs-staging-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
        defer { try? FileManager.default.removeItem(at: staging) }
        let script = DeployEnvironment.packageRoot.appendingPathComponent(".ci/container-build-steps.sh").path
        let (status, output) = try await DeployEnvironment.run(
            "/bin/bash", [script, "--no-install", "--binary", DeployEnvironment.carbsExecutable, staging.path],
            in: FileManager.default.temporaryDirectory, timeout: .seconds(60))
        try #require(status == 0, "container-build-steps.sh: \(output)")

        let binary = staging.appendingPathComponent("usr/local/bin/carbs").path
        #expect(FileManager.default.isExecutableFile(atPath: binary))
        let swiftLibraries = try FileManager.default.contentsOfDirectory(
            atPath: staging.appendingPathComponent("usr/lib/swift/linux").path)
        #expect(swiftLibraries.contains("libswiftCore.so"))
        #expect(swiftLibraries.contains("libFoundation.so") || swiftLibraries.contains("libFoundationEssentials.so"))

        let packages = try String(
            contentsOf: staging.appendingPathComponent("runtime-packages.txt"), encoding: .utf8
        ).split(separator: "\n").map(String.init)
        for needed in ["librabbitmq4", "libsqlite3-0", "liblapacke"] {
            #expect(packages.contains(needed), "runtime-packages.txt lacks \(needed): \(packages)")
        }
        #expect(packages.contains { $0.hasPrefix("libopenblas0") }, "no OpenBLAS runtime in \(packages)")
        #expect(!packages.contains { $0.hasSuffix("-dev") }, "a -dev package in the runtime list: \(packages)")

        // The staged binary runs with the staged Swift runtime (not the toolchain's) first on the library path.
        let run = try await DeployEnvironment.run(
            binary, ["--help"],
            environment: ["LD_LIBRARY_PATH": staging.appendingPathComponent("usr/lib/swift/linux").path],
            in: staging)
        #expect(run.status == 0, "the staged carbs --help: \(run.output)")
        #expect(run.output.contains("carbs optimizer"))

        // The Containerfile really runs this script and installs the list it writes.
        let recipe = try String(contentsOf: DeployEnvironment.deployFile("container/Containerfile"), encoding: .utf8)
        #expect(recipe.contains("bash .ci/container-build-steps.sh /staging"))
        #expect(recipe.contains("runtime-packages.txt"))
        #expect(recipe.contains("FROM ${SWIFT_IMAGE} AS build") && recipe.contains("ARG SWIFT_IMAGE=swift:6"))
    }
}
