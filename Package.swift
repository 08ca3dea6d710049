// swift-tools-version: 6.1
// CARBS for fleets: a cost-aware Pareto-region Bayesian optimizer served over a message queue.
import PackageDescription

let package = Package(
    name: "carbs-fleet",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CARBSCore", targets: ["CARBSCore"]),
        .executable(name: "carbs", targets: ["carbs"]),
        .executable(name: "carbs-bench", targets: ["carbs-bench"]),
        .executable(name: "carbs-transport-bench", targets: ["carbs-transport-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Without its default traits: no swift-configuration to build (the HTTP server is configured in code).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        // C libraries, wrapped as system-library targets with small shims.
        .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK"),
        .systemLibrary(name: "CRabbitMQ", path: "Sources/CRabbitMQ", pkgConfig: "librabbitmq"),

        // Pure, deterministic, synchronous CARBS: no I/O, no logging, no globals.
        .target(name: "CARBSCore", dependencies: ["CLAPACK"]),
        // Wire protocol v1 (versioned Codable messages), the transport protocols, the embedded transport.
        .target(name: "CARBSMessaging"),
        // The optimizer's durable state in SQLite (GRDB over the system libsqlite3).
        .target(
            name: "CARBSStore",
            dependencies: ["CARBSCore", "CARBSMessaging", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The optimizer service: results in, refit, suggestions out. Sees only the transport protocol.
        .target(
            name: "CARBSService",
            dependencies: [
                "CARBSCore", "CARBSMessaging", "CARBSStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The live view of a running study over HTTP (Hummingbird): the dashboard page, the JSON API,
        // Prometheus metrics, health and readiness. Reads the service's view and the database; changes nothing.
        .target(
            name: "CARBSHTTP",
            dependencies: [
                "CARBSCore", "CARBSMessaging", "CARBSStore", "CARBSService", "CARBSReport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The stateless worker: suggestion in, trainer process, result out.
        .target(
            name: "CARBSWorker",
            dependencies: [
                "CARBSMessaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The only module that touches rabbitmq-c.
        .target(
            name: "CARBSAMQP",
            dependencies: ["CARBSMessaging", "CRabbitMQ", .product(name: "Logging", package: "swift-log")]
        ),
        // The benchmark problems of docs/benchmarks.md and the frontier-regret figure.
        .target(name: "CARBSBenchmarkProblems", dependencies: ["CARBSCore"]),
        // The built-in demo trainer: a small MLP trained from scratch on a generated dataset.
        .target(name: "CARBSDemo", dependencies: ["CLAPACK"]),
        // Reports: the Pareto table, scaling-law fits, SVG pictures and an HTML page.
        .target(name: "CARBSReport", dependencies: ["CARBSCore"]),
        // Commands and study files: everything the `carbs` executable does, as a testable library.
        .target(
            name: "CARBSCommandLine",
            dependencies: [
                "CARBSCore", "CARBSMessaging", "CARBSStore", "CARBSService", "CARBSWorker", "CARBSAMQP",
                "CARBSBenchmarkProblems", "CARBSDemo", "CARBSReport", "CARBSHTTP", "CARBSStudyFile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "carbs",
            dependencies: ["CARBSCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "carbs-bench",
            dependencies: [
                "CARBSCore", "CARBSBenchmarkProblems",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Round trips per second over RabbitMQ with no-op worker processes (issue 4's transport benchmark).
        .executableTarget(
            name: "carbs-transport-bench",
            dependencies: [
                "CARBSCore", "CARBSMessaging", "CARBSStore", "CARBSService", "CARBSWorker", "CARBSAMQP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The study file users write (YAML, JSON): a small module of its own, so that it can be fuzzed without
        // building the whole command line (CARBSCommandLine re-exports it).
        .target(
            name: "CARBSStudyFile",
            dependencies: ["CARBSCore", "CARBSDemo", "CARBSMessaging", .product(name: "Yams", package: "Yams")]
        ),
        // Hostile input: one libFuzzer target per decoder (the wire format, the study file). In a normal build a
        // fuzz target replays the files it is given; .ci/fuzz.sh builds it with `-sanitize=fuzzer -D CARBS_FUZZING`
        // and it runs libFuzzer (declared by CLibFuzzer). Corpora: Tests/FuzzCorpus/.
        .systemLibrary(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
        .target(name: "CARBSFuzzSupport", dependencies: ["CLibFuzzer"]),
        .executableTarget(name: "fuzz-wire-format", dependencies: ["CARBSMessaging", "CARBSFuzzSupport"]),
        .executableTarget(name: "fuzz-study-file", dependencies: ["CARBSStudyFile", "CARBSFuzzSupport"]),

        .target(name: "TestSupport", dependencies: ["CARBSCore", "CARBSMessaging"], path: "Tests/TestSupport"),
        .testTarget(name: "CARBSCoreTests", dependencies: ["CARBSCore", "TestSupport"]),
        .testTarget(name: "CARBSMessagingTests", dependencies: ["CARBSMessaging", "TestSupport"], resources: [.copy("Golden")]),
        .testTarget(
            name: "CARBSStoreTests",
            dependencies: ["CARBSStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "CARBSServiceTests", dependencies: ["CARBSService", "TestSupport"]),
        .testTarget(name: "CARBSWorkerTests", dependencies: ["CARBSWorker", "TestSupport"]),
        .testTarget(name: "CARBSAMQPTests", dependencies: ["CARBSAMQP", "CARBSCommandLine", "TestSupport"]),
        // One set of transport test bodies run over the embedded transport and over RabbitMQ.
        .testTarget(
            name: "CARBSTransportConformanceTests", dependencies: ["CARBSMessaging", "CARBSAMQP", "TestSupport"]
        ),
        .testTarget(name: "CARBSBenchmarkProblemsTests", dependencies: ["CARBSBenchmarkProblems", "TestSupport"]),
        .testTarget(name: "CARBSDemoTests", dependencies: ["CARBSDemo", "TestSupport"]),
        .testTarget(name: "CARBSReportTests", dependencies: ["CARBSReport", "TestSupport"]),
        // The real `carbs` binary as child processes against a real broker: crashes, restarts, bad messages.
        .testTarget(name: "CARBSFleetTests", dependencies: ["CARBSAMQP", "CARBSStore", "TestSupport"]),
        // The files in Deploy/: broker configuration, least-privilege users, TLS, systemd units, Kubernetes manifests.
        .testTarget(
            name: "CARBSDeployTests",
            dependencies: ["CARBSAMQP", "CARBSStore", "TestSupport", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(name: "CARBSCommandLineTests", dependencies: ["CARBSCommandLine", "TestSupport"]),
        // The HTTP live view in process: bind and token rules, the JSON API, /metrics against the database.
        .testTarget(
            name: "CARBSHTTPTests",
            dependencies: ["CARBSHTTP", "CARBSService", "CARBSStore", "CARBSMessaging", "CARBSCore", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
