import CARBSMessaging
import Foundation
import Testing

@testable import CARBSWorker

#if canImport(Glibc)
    import Glibc
#endif

/// Writes what the trainer saw (argv, cwd, environment) to `seen.json` in the scratch directory.
private let recordSeen = """
    seen = {"argv": sys.argv[1:], "cwd": os.getcwd(),
            "env": {k: v for k, v in os.environ.items() if k.startswith("CARBS_") or k.startswith("HOSTILE")}}
    seen["fds"] = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    seen["result_dir_exists"] = os.path.isdir(os.path.dirname(os.environ["CARBS_RESULT_FILE"]))
    with open(os.path.join(os.environ["SCRATCH"], "seen.json"), "w") as f:
        json.dump(seen, f)
    print(json.dumps({"output": 1.0}))

    """

@Suite("TrainerRunner")
struct TrainerRunnerTests {
    @Test("placeholders in the arguments are replaced by parameter values; unknown braces stay")
    func placeholders() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            recordSeen,
            arguments: ["--lr={learning_rate}", "--hidden={hidden_dim}", "{unknown}", "x{hidden_dim}y{", "{}"])
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        let seen = try scratch.readJSON("seen.json")
        #expect(seen["argv"] as? [String] == ["--lr=0.0012", "--hidden=64", "{unknown}", "x64y{", "{}"])
    }

    @Test("the trainer gets the CARBS_* environment; CARBS_PARAMS parses with integers as integers")
    func environment() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(recordSeen)
        let suggestion = Fixtures.suggestion(
            id: "abc-123", attempt: 2,
            params: ["learning_rate": .real(0.0012), "hidden_dim": .integer(64), "drop-out.rate": .real(100)])
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(suggestion)
        #expect(outcome.status == .success)
        let env = try #require(try scratch.readJSON("seen.json")["env"] as? [String: String])
        #expect(env["CARBS_SUGGESTION_ID"] == "abc-123")
        #expect(env["CARBS_STUDY"] == "unit-study")
        #expect(env["CARBS_ATTEMPT"] == "2")
        #expect(env["CARBS_PARAM_LEARNING_RATE"] == "0.0012")
        #expect(env["CARBS_PARAM_HIDDEN_DIM"] == "64")
        #expect(env["CARBS_PARAM_DROP_OUT_RATE"] == "100.0")
        let resultFile = try #require(env["CARBS_RESULT_FILE"])
        #expect(try scratch.readJSON("seen.json")["result_dir_exists"] as? Bool == true)
        #expect(!FileManager.default.fileExists(atPath: (resultFile as NSString).deletingLastPathComponent))

        // Python's json module tells integers from reals, so this checks the exact JSON text.
        let paramsJSON = try #require(env["CARBS_PARAMS"])
        #expect(paramsJSON == #"{"drop-out.rate":100.0,"hidden_dim":64,"learning_rate":0.0012}"#)
        let params = try JSONSerialization.jsonObject(with: Data(paramsJSON.utf8)) as? [String: Double]
        #expect(params == ["drop-out.rate": 100, "hidden_dim": 64, "learning_rate": 0.0012])
    }

    @Test("the trainer inherits no descriptors of the worker beyond stdin, stdout and stderr")
    func noInheritedDescriptors() async throws {
        let scratch = try ScratchDirectory()
        let leaked = open("/dev/null", O_RDONLY)  // deliberately without O_CLOEXEC
        defer { close(leaked) }
        let command = try scratch.pythonTrainer(recordSeen)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        let fds = try #require(try scratch.readJSON("seen.json")["fds"] as? [Int])
        // 0, 1, 2 and the descriptor os.listdir itself opened.
        #expect(fds.count <= 4 && fds.prefix(3) == [0, 1, 2])
    }

    @Test(
        "the trainer gets default signal dispositions even when the worker ignores SIGTERM (as ServiceLifecycle does)")
    func defaultSignalDispositions() async throws {
        let scratch = try ScratchDirectory()
        let previous = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, previous) }
        let command = try scratch.pythonTrainer(
            """
            import signal
            print(json.dumps({"output": 1 if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else 0}))
            """)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.output == 1)
    }

    @Test("shell metacharacters in arguments and the environment reach the trainer literally")
    func hostileStringsStayLiteral() async throws {
        let scratch = try ScratchDirectory()
        let hostile = [
            "; rm -rf / #{hidden_dim}", "$(reboot)", "`id` && echo pwned > \(scratch.path)/pwned", "'\"\\ *?~ | & >",
            "$HOME", "{learning_rate}; $(touch \(scratch.path)/pwned)",
        ]
        let command = try scratch.pythonTrainer(
            recordSeen, arguments: hostile, environment: ["HOSTILE": "$(touch \(scratch.path)/pwned); `reboot`"])
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        let seen = try scratch.readJSON("seen.json")
        #expect(
            seen["argv"] as? [String] == [
                "; rm -rf / #64", "$(reboot)", "`id` && echo pwned > \(scratch.path)/pwned", "'\"\\ *?~ | & >",
                "$HOME", "0.0012; $(touch \(scratch.path)/pwned)",
            ])
        let env = try #require(seen["env"] as? [String: String])
        #expect(env["HOSTILE"] == "$(touch \(scratch.path)/pwned); `reboot`")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/pwned"))
    }

    @Test("the result file wins over stdout")
    func resultFilePreferred() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            with open(os.environ["CARBS_RESULT_FILE"], "w") as f:
                json.dump({"output": 1.5, "cost": 3.0, "metrics": {"accuracy": 0.9}}, f)
            print(json.dumps({"output": 2.5, "cost": 4.0}))
            """)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        #expect(outcome.output == 1.5)
        #expect(outcome.cost == 3.0)
        #expect(outcome.metrics == ["accuracy": 0.9])
    }

    @Test("the last stdout line that is a JSON object with an output field is the result")
    func lastJSONLine() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            print(json.dumps({"output": 1.0}))
            print("epoch 3: loss 0.25")
            print(json.dumps({"output": 3.0, "cost": 7.5, "metrics": {"acc": 0.9, "name": "x", "ok": True}}))
            print(json.dumps({"step": 10, "loss": 0.1}))
            print("{not json, output")
            sys.stdout.write("done")
            """)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        #expect(outcome.output == 3.0)
        #expect(outcome.cost == 7.5)
        #expect(outcome.metrics == ["acc": 0.9])
        #expect(outcome.exitCode == 0)
        #expect(outcome.standardOutputTail.hasSuffix("{not json, output\ndone"))
    }

    @Test("cost defaults to the wall-clock seconds of the run")
    func costDefaultsToWallTime() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            time.sleep(0.4)
            print(json.dumps({"output": 0.5}))
            """)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        let cost = try #require(outcome.cost)
        #expect(cost >= 0.4 && cost < 10)
        #expect(cost <= outcome.wallClockSeconds + 0.01)
    }

    @Test("a non-zero exit code is a failure whose message is the stderr tail")
    func nonZeroExitIsFailure() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            sys.stderr.write("x" * 10000 + "\\nRuntimeError: CUDA out of memory\\n")
            print(json.dumps({"output": 1.0}))
            sys.exit(3)
            """)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .failure)
        #expect(outcome.exitCode == 3)
        let message = try #require(outcome.message)
        #expect(message.hasPrefix("exit code 3: "))
        #expect(message.hasSuffix("RuntimeError: CUDA out of memory"))
        #expect(message.utf8.count < 2200)
        #expect(outcome.output == nil)
    }

    @Test(
        "exit codes in lostExitCodes mean lost",
        arguments: [(Int32(75), [Int32(75)]), (Int32(42), [Int32(42), 43])] as [(Int32, [Int32])])
    func lostExitCodes(code: Int32, lostCodes: [Int32]) async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            "sys.stderr.write('preempted\\n')\nsys.exit(\(code))", lostExitCodes: Set(lostCodes))
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .lost)
        #expect(outcome.exitCode == code)
        #expect(outcome.message == "exit code \(code) (lost): preempted")
    }

    @Test("exit 0 without any result is a failure that says so")
    func noResult() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer("print('trained, but forgot to report')")
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .failure)
        #expect(outcome.message?.contains("without a result") == true)
    }

    @Test(
        "reported statuses and invalid outputs",
        arguments: [
            (#"{"output": NaN}"#, WorkerMessage.Status.failure, "output nan is not a finite number" as String?),
            (#"{"output": "0.3"}"#, .failure, #"output "0.3" is not a finite number"#),
            (#"{"output": null, "status": "failure", "message": "diverged"}"#, .failure, "diverged"),
            (#"{"output": 1, "status": "lost"}"#, .lost, nil),
            (#"{"output": 1, "status": "meh"}"#, .failure, #"unknown status "meh" (use success, failure or lost)"#),
        ] as [(String, WorkerMessage.Status, String?)])
    func reportedStatus(line: String, status: WorkerMessage.Status, message: String?) async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer("print(r'''\(line)''')")
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == status)
        #expect(outcome.message == message)
    }

    @Test("a run past its timeout is killed with its whole process group and reported as a failure")
    func timeoutKillsProcessGroup() async throws {
        let scratch = try ScratchDirectory()
        // The trainer (and so its grandchild `sleep`, which inherits the disposition) ignores SIGTERM: only the
        // SIGKILL to the group after the grace period stops them. A shell script starts in milliseconds even when
        // the machine is busy, which a 1 s timeout needs.
        let script = try scratch.write(
            "trainer.sh",
            """
            #!/bin/sh
            trap '' TERM
            sleep 1000 &
            echo $! > "$SCRATCH/grandchild.pid"
            wait
            """)
        let command = TrainerCommand(
            arguments: [script], environment: ["SCRATCH": scratch.path], terminationGracePeriod: .milliseconds(500))
        let started = ContinuousClock.now
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger)
            .run(Fixtures.suggestion(), timeout: .seconds(1))
        let elapsed = ContinuousClock.now - started
        #expect(outcome.status == .failure)
        #expect(outcome.message == "timed out after 1 s")
        // Killed at the timeout, not after the trainer's 1000 s (with room for a busy machine).
        #expect(elapsed >= .milliseconds(1500) && elapsed < .seconds(120))
        let grandchild = try #require(
            pid_t(try scratch.read("grandchild.pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isDead(grandchild))
    }

    @Test("the suggestion's timeout_seconds applies when no timeout is given")
    func suggestionTimeout() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer("time.sleep(1000)")
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger)
            .run(Fixtures.suggestion(timeoutSeconds: 1))
        #expect(outcome.status == .failure)
        #expect(outcome.message == "timed out after 1 s")
    }

    @Test("abort() stops the run and its process group and reports lost")
    func abortIsLost() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            import subprocess
            child = subprocess.Popen(["sleep", "1000"])
            with open(os.path.join(os.environ["SCRATCH"], "grandchild.pid"), "w") as f:
                f.write(str(child.pid))
            time.sleep(1000)
            """)
        let runner = TrainerRunner(command: command, logger: Fixtures.logger)
        async let outcome = runner.run(Fixtures.suggestion())
        #expect(await scratch.waitFor("grandchild.pid"))
        runner.abort()
        let result = await outcome
        #expect(result.status == .lost)
        #expect(result.message == "aborted")
        let grandchild = try #require(
            pid_t(try scratch.read("grandchild.pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isDead(grandchild))
    }

    @Test("cancelling the task stops the trainer and reports lost")
    func cancellationIsLost() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            open(os.path.join(os.environ["SCRATCH"], "running"), "w").close()
            time.sleep(1000)
            """)
        let runner = TrainerRunner(command: command, logger: Fixtures.logger)
        let task = Task { await runner.run(Fixtures.suggestion()) }
        #expect(await scratch.waitFor("running"))
        let started = ContinuousClock.now
        task.cancel()
        let outcome = await task.value
        #expect(outcome.status == .lost)
        #expect(outcome.message == "cancelled")
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test("a program that is not on PATH is reported lost with the reason")
    func programNotFound() async throws {
        let command = TrainerCommand(arguments: ["carbs-no-such-trainer-program"])
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .lost)
        #expect(outcome.message?.contains("carbs-no-such-trainer-program\" was not found in PATH") == true)
    }

    @Test("the trainer runs in the configured working directory")
    func workingDirectory() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(recordSeen, workingDirectory: scratch.path)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        let cwd = try #require(try scratch.readJSON("seen.json")["cwd"] as? String)
        #expect(
            URL(fileURLWithPath: cwd).resolvingSymlinksInPath()
                == URL(fileURLWithPath: scratch.path).resolvingSymlinksInPath())
    }

    @Test("captured output keeps only the tail, and the result line after lots of output still counts")
    func outputIsCapped() async throws {
        let scratch = try ScratchDirectory()
        let command = try scratch.pythonTrainer(
            """
            for i in range(20000):
                print("line %d" % i)
                sys.stderr.write("err %d\\n" % i)
            print(json.dumps({"output": 0.25}))
            """, outputLimitBytes: 1000)
        let outcome = await TrainerRunner(command: command, logger: Fixtures.logger).run(Fixtures.suggestion())
        #expect(outcome.status == .success)
        #expect(outcome.output == 0.25)
        #expect(outcome.standardOutputTail.utf8.count <= 1000)
        #expect(outcome.standardOutputTail.hasSuffix("line 19999\n{\"output\": 0.25}\n"))
        #expect(outcome.standardErrorTail.utf8.count <= 1000)
        #expect(outcome.standardErrorTail.hasSuffix("err 19999\n"))
    }
}

@Suite("TrainerInvocation and TrainerReport")
struct TrainerInvocationTests {
    @Test(
        "environment names",
        arguments: [("learning_rate", "LEARNING_RATE"), ("drop-out.rate", "DROP_OUT_RATE"), ("lr2", "LR2"), ("é", "_")])
    func environmentName(parameter: String, expected: String) {
        #expect(TrainerInvocation.environmentName(for: parameter) == expected)
    }

    @Test("reals are written round-trippably")
    func realsRoundTrip() {
        let params: [String: ParameterValue] = ["a": .real(0.1 + 0.2), "b": .real(1e-7), "c": .integer(-3)]
        #expect(
            TrainerInvocation.substitute(placeholdersIn: "{a} {b} {c}", with: params) == "0.30000000000000004 1e-07 -3")
        #expect(TrainerInvocation.parametersJSON(params) == #"{"a":0.30000000000000004,"b":1e-07,"c":-3}"#)
    }

    @Test("a stdout line counts only as a JSON object with an output field")
    func reportLines() {
        #expect(TrainerReport.parse(line: Array(#"{"output": 1}"#.utf8))?.output == 1)
        #expect(TrainerReport.parse(line: Array(#"  {"output": 2, "cost": 3}"#.utf8))?.cost == 3)
        #expect(TrainerReport.parse(line: Array(#"{"loss": 1}"#.utf8)) == nil)
        #expect(TrainerReport.parse(line: Array(#"[{"output": 1}]"#.utf8)) == nil)
        #expect(TrainerReport.parse(line: Array("output: 1".utf8)) == nil)
        #expect(TrainerReport.parse(line: Array(#"{"output": true}"#.utf8))?.invalidOutput == "true")
    }
}
