import Foundation
import Testing
import Yams

/// The Kubernetes manifests of `Deploy/kubernetes/` parse, and agree with each other and with the `carbs` binary
/// (issue 6): the KEDA trigger watches the study's suggestions queue, the optimizer has exactly one replica and a
/// volume for its database, workers take the broker URL from the Secret, probes run real commands or ask real
/// endpoints (the optimizer's /healthz and /readyz, issue 12), and Prometheus finds its /metrics.
@Suite("Deploy: Kubernetes manifests")
struct ManifestTests {
    /// Every document of every YAML file the kustomization lists, with its file name.
    let documents: [(file: String, object: [String: Any])]
    let kustomization: [String: Any]
    let studyName: String

    init() throws {
        let directory = DeployEnvironment.deployFile("kubernetes")
        let kustomizationText = try String(
            contentsOf: directory.appendingPathComponent("kustomization.yaml"), encoding: .utf8)
        kustomization = try #require(try Yams.load(yaml: kustomizationText) as? [String: Any])
        let resources = try #require(kustomization["resources"] as? [String])
        var documents: [(String, [String: Any])] = []
        for file in resources {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for document in try Yams.load_all(yaml: text) {
                let object = try #require(document as? [String: Any], "\(file): a document is not a mapping")
                documents.append((file, object))
            }
        }
        self.documents = documents
        let studyText = try String(contentsOf: directory.appendingPathComponent("study.yaml"), encoding: .utf8)
        let study = try #require(try Yams.load(yaml: studyText) as? [String: Any])
        studyName = try #require(study["name"] as? String)
    }

    private func objects(_ kind: String) -> [[String: Any]] {
        documents.map(\.object).filter { $0["kind"] as? String == kind }
    }

    private func one(_ kind: String) throws -> [String: Any] {
        let found = objects(kind)
        try #require(found.count == 1, "expected one \(kind), found \(found.count)")
        return found[0]
    }

    private func containers(of workload: [String: Any]) -> [[String: Any]] {
        ((workload["spec"] as? [String: Any])?["template"] as? [String: Any])
            .flatMap { ($0["spec"] as? [String: Any])?["containers"] as? [[String: Any]] } ?? []
    }

    private func podSpec(of workload: [String: Any]) -> [String: Any] {
        (((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
    }

    @Test("every document has apiVersion, kind and a name; the study file and config map agree")
    func wellFormed() throws {
        #expect(documents.count >= 8)
        for (file, object) in documents {
            #expect(object["apiVersion"] is String, "\(file): apiVersion")
            #expect(object["kind"] is String, "\(file): kind")
            #expect((object["metadata"] as? [String: Any])?["name"] is String, "\(file): metadata.name")
        }
        let generators = try #require(kustomization["configMapGenerator"] as? [[String: Any]])
        #expect(generators.contains { ($0["files"] as? [String])?.contains("study.yaml") == true })
    }

    @Test("a RabbitmqCluster of 3 nodes")
    func brokerCluster() throws {
        let cluster = try one("RabbitmqCluster")
        #expect((cluster["spec"] as? [String: Any])?["replicas"] as? Int == 3)
    }

    @Test("the optimizer: a StatefulSet of exactly 1 replica, a volume at its database, a grace period")
    func optimizer() throws {
        let statefulSet = try one("StatefulSet")
        let spec = try #require(statefulSet["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 1)
        let claims = try #require(spec["volumeClaimTemplates"] as? [[String: Any]])
        let claimName = try #require((claims.first?["metadata"] as? [String: Any])?["name"] as? String)
        let container = try #require(containers(of: statefulSet).first)
        let arguments = try #require(container["args"] as? [String])
        #expect(arguments.first == "optimizer")
        let database = try #require(arguments.firstIndex(of: "--db").map { arguments[$0 + 1] })
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        let dataMount = try #require(mounts.first { $0["name"] as? String == claimName })
        let mountPath = try #require(dataMount["mountPath"] as? String)
        #expect(database.hasPrefix(mountPath + "/"), "the database \(database) is not on the volume \(mountPath)")
        let grace = try #require(podSpec(of: statefulSet)["terminationGracePeriodSeconds"] as? Int)
        #expect(grace >= 30)
        try expectBrokerURLFromSecret(container)
    }

    @Test("the optimizer's live view: --http on the pod's address with a token from a Secret, probes on /healthz and /readyz, scrape annotations")
    func optimizerLiveView() throws {
        let statefulSet = try one("StatefulSet")
        let container = try #require(containers(of: statefulSet).first)
        let arguments = try #require(container["args"] as? [String])
        let address = try #require(arguments.firstIndex(of: "--http").map { arguments[$0 + 1] }, "no --http")
        let parts = address.split(separator: ":")
        try #require(parts.count == 2, "--http \(address) is not HOST:PORT")
        // Kubelet probes connect to the pod's IP, so the live view must not listen on loopback only ...
        #expect(parts[0] == "0.0.0.0")
        let port = try #require(Int(parts[1]))
        let ports = (container["ports"] as? [[String: Any]] ?? []).compactMap { $0["containerPort"] as? Int }
        #expect(ports.contains(port), "the --http port \(port) is not a container port")
        // ... and off loopback `carbs` refuses to start without a token (or --http-insecure, not wanted here).
        #expect(!arguments.contains("--http-insecure"))
        let environment = try #require(container["env"] as? [[String: Any]])
        let token = try #require(environment.first { $0["name"] as? String == "CARBS_HTTP_TOKEN" }, "no CARBS_HTTP_TOKEN")
        #expect(token["value"] == nil, "the token must not be written into the manifest")
        let reference = try #require(
            (token["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any], "CARBS_HTTP_TOKEN is not from a Secret")
        try expectSecretKey(name: reference["name"] as? String, key: reference["key"] as? String)

        let expected = ["startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"]
        for (probe, path) in expected {
            let get = try #require((container[probe] as? [String: Any])?["httpGet"] as? [String: Any], "optimizer \(probe)")
            #expect(get["path"] as? String == path, "\(probe): \(get)")
            #expect(get["port"] as? Int == port, "\(probe): \(get)")
        }

        let template = try #require((statefulSet["spec"] as? [String: Any])?["template"] as? [String: Any])
        let annotations = try #require((template["metadata"] as? [String: Any])?["annotations"] as? [String: Any])
        #expect(annotations["prometheus.io/scrape"] as? String == "true")
        #expect(annotations["prometheus.io/port"] as? String == String(port))
        #expect(annotations["prometheus.io/path"] as? String == "/metrics")

        // The headless Service names the port too (for a ServiceMonitor or a port-forward).
        let service = try #require(objects("Service").first {
            ($0["metadata"] as? [String: Any])?["name"] as? String == "carbs-optimizer"
        })
        let servicePorts = ((service["spec"] as? [String: Any])?["ports"] as? [[String: Any]]) ?? []
        #expect(servicePorts.contains { $0["port"] as? Int == port })
    }

    @Test("workers: a Deployment with the broker URL from the Secret and the study of study.yaml")
    func workers() throws {
        let deployment = try one("Deployment")
        let container = try #require(containers(of: deployment).first)
        try expectBrokerURLFromSecret(container)
        let environment = try #require(container["env"] as? [[String: Any]])
        let study = environment.first { $0["name"] as? String == "CARBS_STUDY" }?["value"] as? String
        #expect(study == studyName)
        let arguments = try #require(container["args"] as? [String])
        #expect(Array(arguments.prefix(3)) == ["worker", "--study", "$(CARBS_STUDY)"])
        let grace = try #require(podSpec(of: deployment)["terminationGracePeriodSeconds"] as? Int)
        #expect(grace >= 60, "workers need time to finish their run on SIGTERM")
    }

    @Test("KEDA scales the worker Deployment from 0 on the study's suggestions queue")
    func autoscaling() throws {
        let scaledObject = try one("ScaledObject")
        let spec = try #require(scaledObject["spec"] as? [String: Any])
        let deployment = try one("Deployment")
        #expect((spec["scaleTargetRef"] as? [String: Any])?["name"] as? String
            == (deployment["metadata"] as? [String: Any])?["name"] as? String)
        #expect(spec["minReplicaCount"] as? Int == 0)
        let maximum = try #require(spec["maxReplicaCount"] as? Int)
        #expect(maximum >= 1)
        let triggers = try #require(spec["triggers"] as? [[String: Any]])
        try #require(triggers.count == 1)
        #expect(triggers[0]["type"] as? String == "rabbitmq")
        let metadata = try #require(triggers[0]["metadata"] as? [String: Any])
        #expect(metadata["queueName"] as? String == "carbs.\(studyName).suggestions")
        #expect(metadata["mode"] as? String == "QueueLength")
        // Its credentials come from a Secret that exists, through a TriggerAuthentication.
        let authentication = try one("TriggerAuthentication")
        let references = try #require(
            (authentication["spec"] as? [String: Any])?["secretTargetRef"] as? [[String: Any]])
        for reference in references {
            try expectSecretKey(name: reference["name"] as? String, key: reference["key"] as? String)
        }
    }

    @Test("every container requests resources; every probe runs a real carbs subcommand or asks a declared port")
    func probesAndResources() async throws {
        try DeployEnvironment.requireCarbs()
        for workload in objects("StatefulSet") + objects("Deployment") {
            for container in containers(of: workload) {
                let name = container["name"] as? String ?? "?"
                let requests = (container["resources"] as? [String: Any])?["requests"] as? [String: Any]
                #expect(requests?["cpu"] != nil && requests?["memory"] != nil, "\(name): resources.requests")
                let ports = (container["ports"] as? [[String: Any]] ?? []).compactMap { $0["containerPort"] as? Int }
                for key in ["startupProbe", "readinessProbe", "livenessProbe"] {
                    guard let probe = container[key] as? [String: Any] else { continue }
                    if let command = (probe["exec"] as? [String: Any])?["command"] as? [String] {
                        try #require(command.count >= 2 && command[0] == "carbs", "\(name) \(key): \(command)")
                        // The subcommand and its options exist in this build of carbs.
                        let help = try await DeployEnvironment.run(
                            DeployEnvironment.carbsExecutable, [command[1], "--help"],
                            in: FileManager.default.temporaryDirectory)
                        #expect(help.status == 0, "\(name) \(key): carbs \(command[1]) is not a command")
                        for option in command.dropFirst(2) where option.hasPrefix("--") {
                            #expect(help.output.contains(option), "\(name) \(key): carbs \(command[1]) has no \(option)")
                        }
                    } else if let port = ((probe["tcpSocket"] ?? probe["httpGet"]) as? [String: Any])?["port"] as? Int {
                        #expect(ports.contains(port), "\(name) \(key): port \(port) is not a container port")
                    } else {
                        Issue.record("\(name) \(key): neither an exec command nor a port")
                    }
                }
            }
        }
    }

    private func expectBrokerURLFromSecret(_ container: [String: Any]) throws {
        let environment = try #require(container["env"] as? [[String: Any]])
        let variable = try #require(environment.first { $0["name"] as? String == "CARBS_BROKER_URL" })
        #expect(variable["value"] == nil, "CARBS_BROKER_URL must not be written into the manifest")
        let reference = try #require(
            (variable["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any],
            "CARBS_BROKER_URL does not come from a Secret")
        try expectSecretKey(name: reference["name"] as? String, key: reference["key"] as? String)
    }

    private func expectSecretKey(name: String?, key: String?) throws {
        let secret = try #require(objects("Secret").first {
            ($0["metadata"] as? [String: Any])?["name"] as? String == name
        }, "no Secret named \(name ?? "nil")")
        let data = (secret["stringData"] as? [String: Any] ?? [:]).merging(secret["data"] as? [String: Any] ?? [:]) {
            first, _ in first
        }
        #expect(data[key ?? ""] != nil, "Secret \(name ?? "") has no key \(key ?? "nil")")
    }
}
