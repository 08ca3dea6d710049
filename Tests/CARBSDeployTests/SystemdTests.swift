import Foundation
import Testing

/// The template units of `Deploy/systemd/`: the keys the issue asks for, and `systemd-analyze verify` on
/// instances of them where the command exists (with `/usr/local/bin/carbs` pointed at this build's binary).
@Suite("Deploy: systemd units")
struct SystemdTests {
    static let units = ["carbs-optimizer@.service", "carbs-worker@.service"]

    /// `[Section] Key=Value` lines, comments and blank lines skipped; repeated keys keep every value.
    private func parse(_ text: String) throws -> [String: [String: [String]]] {
        var sections: [String: [String: [String]]] = [:]
        var current: String?
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast())
                continue
            }
            let section = try #require(current, "a key before any section: \(line)")
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            try #require(parts.count == 2, "not Key=Value: \(line)")
            sections[section, default: [:]][parts[0], default: []].append(parts[1])
        }
        return sections
    }

    @Test("restart on failure, SIGTERM with a stop timeout, the broker URL from an environment file", arguments: units)
    func keys(_ unit: String) throws {
        let text = try String(contentsOf: DeployEnvironment.deployFile("systemd/\(unit)"), encoding: .utf8)
        let sections = try parse(text)
        let service = try #require(sections["Service"])
        #expect(service["Restart"] == ["on-failure"])
        #expect(service["KillSignal"] == ["SIGTERM"])
        let stop = try #require(service["TimeoutStopSec"]?.first.flatMap { Int($0) })
        #expect(stop >= 30)
        #expect(service["EnvironmentFile"]?.first?.hasPrefix("/etc/carbs/") == true)
        let start = try #require(service["ExecStart"]?.first)
        #expect(start.hasPrefix("/usr/local/bin/carbs "))
        #expect(start.contains(unit.hasPrefix("carbs-optimizer") ? " optimizer " : " worker "))
        #expect(sections["Install"]?["WantedBy"] == ["multi-user.target"])
    }

    @Test("systemd-analyze verify accepts instances of the templates (where systemd-analyze exists)")
    func analyzeVerify() async throws {
        let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let analyze else { return }  // The key checks above still run.
        try DeployEnvironment.requireCarbs()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("carbs-systemd-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var instances: [String] = []
        for (unit, instance) in zip(Self.units, ["carbs-optimizer@demo.service", "carbs-worker@1.service"]) {
            let text = try String(contentsOf: DeployEnvironment.deployFile("systemd/\(unit)"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/carbs", with: DeployEnvironment.carbsExecutable)
            let path = directory.appendingPathComponent(instance).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            instances.append(path)
        }
        let (status, output) = try await DeployEnvironment.run(
            analyze, ["verify"] + instances, environment: ["SYSTEMD_LOG_COLOR": "0"], in: directory,
            timeout: .seconds(60))
        #expect(status == 0, "systemd-analyze verify: \(output)")
        #expect(!output.contains("carbs-"), "systemd-analyze verify complains: \(output)")
    }
}
