import Foundation
import Synchronization

/// The repository root, from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The built `hvae` binary: $HVAE_BIN, else the one beside the test bundle in the build folder.
let hvaeBinary: URL = {
    let manager = FileManager.default
    if let path = ProcessInfo.processInfo.environment["HVAE_BIN"], !path.isEmpty { return URL(fileURLWithPath: path) }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appending(path: "hvae")
        if manager.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return repositoryRoot.appending(path: ".build/debug/hvae")
}()

/// What one invocation of the CLI did.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the real `hvae` binary in `directory` and waits for it.
func hvae(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CLIResult {
    try RunningHvae(arguments, in: directory, environment: environment).wait()
}

/// A started `hvae` process, to signal or kill before it ends.
final class RunningHvae {
    let process = Process()
    private let out: URL
    private let err: URL

    init(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws {
        process.executableURL = hvaeBinary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "HVAE_DB")
        env.merge(environment) { $1 }
        process.environment = env
        // Files rather than pipes: a large output cannot fill a pipe buffer and stall the child.
        let out = directory.appending(path: ".stdout-\(UUID().uuidString)")
        let err = directory.appending(path: ".stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        self.out = out
        self.err = err
        try process.run()
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// What the process has written to standard output so far.
    var stdoutSoFar: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
    var stderrSoFar: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

    func wait() throws -> CLIResult {
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        return CLIResult(
            status: process.terminationStatus,
            stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }
}

/// A fresh working directory, removed when released.
final class WorkingDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appending(path: "hvae-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appending(path: name).path }
    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Databases the end-to-end tests share: each made once per test process by the built binary,
/// then copied into every directory that asks for it, so that tests which read a finished run do
/// not each run it again.
enum SharedRuns {
    private static let quickstartBytes = Mutex<Data?>(nil)

    /// `hvae.sqlite` in `work`, holding one run of `examples/quickstart.yaml` (run 1), as `hvae
    /// run` left it. The quickstart's own test runs it itself: that is what it checks.
    static func quickstart(into work: WorkingDirectory) throws {
        let bytes = try quickstartBytes.withLock { bytes in
            if let bytes { return bytes }
            let scratch = try WorkingDirectory()
            let run = try hvae(
                ["run", repositoryRoot.appending(path: "examples/quickstart.yaml").path, "--quiet"], in: scratch.url)
            guard run.status == 0 else { throw SharedRunError("the quickstart did not run: \(run.stderr)") }
            // The run's last connection checkpointed and removed the write-ahead log: the file is whole.
            let made = try Data(contentsOf: URL(fileURLWithPath: scratch.path("hvae.sqlite")))
            bytes = made
            return made
        }
        try bytes.write(to: URL(fileURLWithPath: work.path("hvae.sqlite")))
    }
}

struct SharedRunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An experiment file with one model, "served", on the OpenAI-compatible test server at `server`.
func servedExperiment(
    name: String, trials: Int, values: [String]? = nil, server: String, model: String = "m",
    extra: String = ""
) -> String {
    """
    name: \(name)
    trials: \(trials)
    \(values.map { "values: [\($0.joined(separator: ", "))]" } ?? "")
    models:
      - name: served
        provider: openai
        model: \(model)
        base_url: \(server)
        \(extra)
    """
}
