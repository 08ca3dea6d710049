import Foundation

/// Programs outside the package that tests use as independent judges: headless Chromium (renders the live view
/// and runs its JavaScript) and Python's `prometheus_client` parser (reads `/metrics`). `.ci/setup.sh --test`
/// installs both. A test that needs one fails with that hint when it is missing; it never skips.
public enum ExternalTools {
    /// Runs `arguments[0]` (looked up in PATH) under `timeout`, with `input` on standard input.
    /// - Parameters:
    ///   - discardingErrors: throw standard error away (Chromium's D-Bus complaints) instead of passing it on.
    /// - Returns: The exit status and standard output (standard error goes to the test's own).
    public static func run(
        _ arguments: [String], input: Data? = nil, timeoutSeconds: Int = 120, discardingErrors: Bool = false
    ) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--kill-after=5", String(timeoutSeconds)] + arguments
        let stdout = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        if discardingErrors { process.standardError = FileHandle.nullDevice }
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// The path of `name` in PATH, if it is there.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    // MARK: - Chromium

    /// Debian's `chromium` (or `chromium-browser`, `google-chrome`).
    /// - Throws: `HarnessError` with the way to install it.
    public static func requireChromium() throws -> String {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            if let path = which(name) { return path }
        }
        throw HarnessError(
            "headless Chromium is missing: the live-view test renders the dashboard in it. "
                + "Install it with `bash .ci/setup.sh --test` (Debian package chromium).")
    }

    /// Loads `url` in headless Chromium, lets its scripts run for `virtualTimeMilliseconds` of virtual time, and
    /// returns the DOM as rendered then.
    public static func renderedDOM(of url: String, virtualTimeMilliseconds: Int = 4000) throws -> String {
        let chromium = try requireChromium()
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "carbs-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let (status, output) = try run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(profile.path)", "--virtual-time-budget=\(virtualTimeMilliseconds)", "--dump-dom",
                url,
            ], discardingErrors: true)
        guard status == 0 else { throw HarnessError("chromium --dump-dom \(url) exited with status \(status)") }
        return String(decoding: output, as: UTF8.self)
    }

    /// Saves a PNG screenshot of `url` as rendered by headless Chromium.
    public static func screenshot(of url: String, to path: String, width: Int = 1400, height: Int = 1500) throws {
        let chromium = try requireChromium()
        let (status, _) = try run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--virtual-time-budget=4000",
                "--window-size=\(width),\(height)", "--screenshot=\(path)", url,
            ], discardingErrors: true)
        guard status == 0 else { throw HarnessError("chromium --screenshot \(url) exited with status \(status)") }
    }

    // MARK: - Prometheus text

    /// One sample of a Prometheus text exposition.
    public struct PrometheusSample: Sendable, Hashable, Decodable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    /// Parses a Prometheus text exposition with Python's `prometheus_client` parser (not with the code that wrote
    /// it).
    /// - Throws: `HarnessError` when the text does not parse or the parser is missing.
    public static func parsePrometheusText(_ text: String) throws -> [PrometheusSample] {
        let script = """
            import json, sys
            try:
                from prometheus_client.parser import text_string_to_metric_families
            except ImportError:
                sys.exit(3)
            samples = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    samples.append({"name": s.name, "labels": s.labels, "value": s.value})
            print(json.dumps(samples))
            """
        guard let python = which("python3") else { throw HarnessError("python3 is missing") }
        let (status, output) = try run([python, "-c", script], input: Data(text.utf8), timeoutSeconds: 60)
        if status == 3 {
            throw HarnessError(
                "Python's prometheus_client is missing: install it with `bash .ci/setup.sh --test` "
                    + "(pip install prometheus_client)")
        }
        guard status == 0 else { throw HarnessError("prometheus_client could not parse the metrics:\n\(text)") }
        return try JSONDecoder().decode([PrometheusSample].self, from: output)
    }
}

extension Array where Element == ExternalTools.PrometheusSample {
    /// The value of the sample named `name` with exactly `labels`, if there is one.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        first { $0.name == name && $0.labels == labels }?.value
    }

    /// The sum over every sample named `name`.
    public func total(_ name: String) -> Double {
        filter { $0.name == name }.reduce(0) { $0 + $1.value }
    }
}
