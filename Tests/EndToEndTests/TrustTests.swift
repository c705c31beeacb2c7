import Domain
import Foundation
import GRDB
import ModelServer
import Store
import Testing

/// The SHA-256 of a file's bytes.
func fileDigest(_ path: String) throws -> String {
    Digest.sha256Hex(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// A small study with two option orders, so that every report section (position bias too) runs.
let archiveExperiment = """
    name: archive
    trials: 2
    option_orders: [original, reversed]
    models:
      - name: ideal
        agent: ideal
      - name: fixed-A
        agent: fixed
        letter: A
    """

@Suite("Trust: reads that never write, damaged and foreign files, exact text", .serialized)
struct TrustTests {
    /// Runs `arguments` with a copy of the binary as a user who cannot write the archive: as
    /// nobody (uid 65534) when the tests run as root, else as the current, non-root user.
    func hvaeAsReader(_ binary: String, _ arguments: [String], in directory: URL) throws -> CLIResult {
        let process = Process()
        if getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid", "65534", "--regid", "65534", "--clear-groups", binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "HVAE_DB")
        environment["HOME"] = directory.path
        process.environment = environment
        // Files opened here and inherited: the reader need not be able to open them itself.
        let out = directory.appending(path: ".out-\(UUID().uuidString)")
        let err = directory.appending(path: ".err-\(UUID().uuidString)")
        for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        defer { for file in [out, err] { try? FileManager.default.removeItem(at: file) } }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }

    @Test(
        """
        an archive in a read-only folder, read by a user who cannot write it: every read command works and the file's \
        SHA-256 never changes
        """
    )
    func readOnlyArchive() throws {
        let work = try WorkingDirectory()
        let archive = work.url.appending(path: "archive")
        let output = work.url.appending(path: "out")
        for folder in [archive, output] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        try work.write("archive.yaml", archiveExperiment)
        let database = archive.appending(path: "study.sqlite").path
        #expect(try hvae(["run", "archive.yaml", "--db", database, "--quiet"], in: work.url).status == 0)
        // The reader's own copy of the binary: the build folder may be closed to other users.
        let binary = work.path("hvae")
        try FileManager.default.copyItem(atPath: hvaeBinary.path, toPath: binary)
        let manager = FileManager.default
        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.url.path)
        try manager.setAttributes([.posixPermissions: 0o777], ofItemAtPath: output.path)
        try manager.setAttributes([.posixPermissions: 0o444], ofItemAtPath: database)
        try manager.setAttributes([.posixPermissions: 0o555], ofItemAtPath: archive.path)
        defer { try? manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: archive.path) }
        let digest = try fileDigest(database)
        let listing = try manager.contentsOfDirectory(atPath: archive.path).sorted()

        let reads: [[String]] = [
            ["runs"], ["show", "1"], ["report"], ["report", "--layout", "study", "--format", "latex"],
            ["compare", "goal", "with", "without"],
            ["export", "trials", "-o", output.appending(path: "trials.csv").path, "--meta"],
            ["export", "calls", "--format", "jsonl"],
            ["plot", "radar", "-o", output.appending(path: "radar.svg").path],
            ["plot", "ring", "-o", output.appending(path: "ring.svg").path], ["rescore", "--dry-run"], ["db", "check"],
        ]
        for arguments in reads {
            let result = try hvaeAsReader(binary, arguments + ["--db", database], in: output)
            #expect(result.status == 0, "hvae \(arguments.joined(separator: " ")): \(result.stderr)")
            #expect(try fileDigest(database) == digest, "hvae \(arguments.joined(separator: " ")) changed the file")
            #expect(try manager.contentsOfDirectory(atPath: archive.path).sorted() == listing)
        }
        // The provenance names the bytes the file still has.
        let meta =
            try JSONSerialization.jsonObject(with: Data(contentsOf: output.appending(path: "trials.csv.meta.json")))
            as? [String: Any]
        #expect(meta?["database_sha256"] as? String == digest)

        // A command that writes is refused in one line that says why, and leaves the file as it was.
        let write = try hvaeAsReader(binary, ["run", work.path("archive.yaml"), "--db", database], in: output)
        #expect(write.status != 0)
        #expect(write.stderr.contains("cannot be written"), "\(write.stderr)")
        #expect(write.stderr.split(separator: "\n").count == 1)
        #expect(try fileDigest(database) == digest)
    }

    @Test(
        """
        damaged, empty and newer files: each read says what the file is and what to do, db check says it in words, \
        nothing is written
        """
    )
    func damagedFiles() throws {
        let work = try WorkingDirectory()
        try work.write("archive.yaml", archiveExperiment)
        #expect(try hvae(["run", "archive.yaml", "--db", "good.sqlite", "--quiet"], in: work.url).status == 0)
        let good = try Data(contentsOf: work.url.appending(path: "good.sqlite"))
        // Cut in half; pages 3 to 6 overwritten (the schema page intact); empty; a newer schema.
        try good.prefix(good.count / 2).write(to: work.url.appending(path: "half.sqlite"))
        var pages = good
        for index in 8_192..<min(pages.count, 24_576) { pages[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 17) }
        try pages.write(to: work.url.appending(path: "pages.sqlite"))
        try Data().write(to: work.url.appending(path: "empty.sqlite"))
        try good.write(to: work.url.appending(path: "newer.sqlite"))
        try DatabaseQueue(path: work.path("newer.sqlite")).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA user_version = 999")
        }
        try? FileManager.default.removeItem(atPath: work.path("newer.sqlite-wal"))
        try? FileManager.default.removeItem(atPath: work.path("newer.sqlite-shm"))

        let expectations: [(file: String, reads: String, check: [String])] = [
            (
                "half.sqlite", "half.sqlite is damaged (",
                ["schema:       not checked", "half.sqlite is damaged: restore it from a copy"]
            ),
            ("empty.sqlite", "empty.sqlite is an empty file, not an hvae database; it was left untouched", []),
            (
                "newer.sqlite", "newer.sqlite was written by a newer hvae (user_version 999, this hvae knows",
                ["schema:       999 (this hvae: \(ExperimentStore.schemaVersion); newer than this hvae)"]
            ),
        ]
        for (file, message, checkLines) in expectations {
            let digest = try fileDigest(work.path(file))
            // (`hvae run` makes an empty file a database, as its message says.)
            let commands =
                [["runs"], ["report"], ["export", "trials"], ["db", "migrate"], ["db", "vacuum"]]
                + (file == "empty.sqlite" ? [] : [["run", "archive.yaml"]])
            for arguments in commands {
                let result = try hvae(arguments + ["--db", file], in: work.url)
                #expect(result.status != 0, "\(file): hvae \(arguments.joined(separator: " ")) succeeded")
                #expect(result.stderr.contains(message), "\(file): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1)
                #expect(
                    try fileDigest(work.path(file)) == digest,
                    "\(file): hvae \(arguments.joined(separator: " ")) changed it")
            }
            let check = try hvae(["db", "check", "--db", file], in: work.url)
            #expect(check.status == 1, "\(file): \(check.stdout)\(check.stderr)")
            for line in checkLines { #expect(check.stdout.contains(line), "\(file): \(check.stdout)") }
            #expect(try fileDigest(work.path(file)) == digest)
        }
        // Damage past the schema page: db check finds it and does not call the unread parts ok;
        // migrate and vacuum check every page first and leave it alone.
        let digest = try fileDigest(work.path("pages.sqlite"))
        let check = try hvae(["db", "check", "--db", "pages.sqlite"], in: work.url)
        #expect(check.status == 1)
        #expect(check.stdout.contains("pages.sqlite is damaged: restore it from a copy"), "\(check.stdout)")
        let vacuum = try hvae(["db", "vacuum", "--db", "pages.sqlite"], in: work.url)
        #expect(vacuum.status != 0 && vacuum.stderr.contains("pages.sqlite is damaged"), "\(vacuum.stderr)")
        #expect(try fileDigest(work.path("pages.sqlite")) == digest)
        // Nor does a run: it checks before it writes, rather than storing a run that fails at the damage.
        for arguments in [["run", "archive.yaml"], ["resume", "1"], ["reproduce", "1", "--replay"]] {
            let refused = try hvae(arguments + ["--db", "pages.sqlite"], in: work.url)
            #expect(refused.status != 0, "\(arguments)")
            #expect(refused.stderr.contains("pages.sqlite is damaged ("), "\(arguments): \(refused.stderr)")
            #expect(try fileDigest(work.path("pages.sqlite")) == digest)
        }
        // A current file is not even opened for writing by migrate.
        #expect(
            try hvae(["db", "migrate", "--db", "pages.sqlite"], in: work.url).stdout.contains(
                "is current; nothing to do"))
        #expect(try fileDigest(work.path("pages.sqlite")) == digest)
    }

    @Test("a reply holding U+0000 is stored whole: its hash checks, replay reproduces it, rescore sees no change")
    func nulReply() throws {
        let reply = "E\u{0}: 85, 76 and then some bytes after the NUL"
        let server = try ModelAPIServer(api: .openai) { _, n in .reply(n % 3 == 0 ? reply : "E") }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "nul.yaml", servedExperiment(name: "nul", trials: 1, values: ["prosocial"], server: server.baseURL))
        let run = try hvae(["run", "nul.yaml", "--quiet"], in: work.url)
        #expect(run.status == 0, "\(run.stderr)")
        let stored = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try Data.fetchAll(
                db, sql: "SELECT CAST(reply AS BLOB) FROM call_log WHERE instr(CAST(reply AS BLOB), x'00') > 0")
        }
        #expect(!stored.isEmpty)
        #expect(stored.allSatisfy { $0 == Data(reply.utf8) })
        let check = try hvae(["db", "check"], in: work.url)
        #expect(check.status == 0 && check.stdout.contains("text hashes:  ok"), "\(check.stdout)")
        server.stop()
        let replay = try hvae(["reproduce", "1", "--replay", "--quiet"], in: work.url)
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        let results = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT group_concat(status || ':' || coalesce(vr, '-'), ',') FROM
                        (SELECT run_id, status, vr FROM trial_results ORDER BY run_id, model, value, goal, trial) \
                    GROUP BY run_id
                    """)
        }
        #expect(results.count == 2 && results[0] == results[1], "\(results)")
        let rescore = try hvae(["rescore", "--dry-run", "--run", "1"], in: work.url)
        #expect(rescore.status == 0)
        #expect(rescore.stdout.contains(": 0 read differently from the stored reading"), "\(rescore.stdout)")
    }

    @Test(
        """
        replies cut by the token limit show in call_log, hvae show, and as warnings of run and report, in both wire \
        formats
        """,
        arguments: [(WireFormat.openai, "openai", "length"), (WireFormat.anthropic, "anthropic", "max_tokens")])
    func cutReplies(api: WireFormat, provider: String, finishReason: String) throws {
        // The value description (the only call with one user message) is cut; the rest answer.
        let server = try ModelAPIServer(api: api) { request, _ in
            let messages = request.json?["messages"] as? [[String: Any]] ?? []
            let users = messages.filter { $0["role"] as? String == "user" }.count
            return users == 1 ? .cut("I value fairness, and I would") : .reply("E")
        }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "cut.yaml",
            """
            name: cut
            trials: 1
            values: [prosocial]
            models:
              - name: served
                provider: \(provider)
                model: m
                base_url: \(server.baseURL)
                api_key_env: HVAE_E2E_KEY
            """)
        let environment = ["HVAE_E2E_KEY": "local-test-key-123"]
        let warning = "warning: model 'served': 2 value replies cut by the token limit; raise max_tokens"
        let run = try hvae(["run", "cut.yaml", "--quiet"], in: work.url, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains(warning), "\(run.stderr)")
        let stored = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try String.fetchAll(
                db, sql: "SELECT step || ':' || finish_reason FROM call_log WHERE finish_reason = ? ORDER BY call_id",
                arguments: [finishReason])
        }
        #expect(stored == ["value:\(finishReason)", "value:\(finishReason)"])
        let show = try hvae(["show", "1"], in: work.url)
        #expect(show.stdout.contains("cut replies") && show.stdout.contains(" 2 value "), "\(show.stdout)")
        let report = try hvae(["report", "--resamples", "10"], in: work.url)
        #expect(report.status == 0)
        #expect(report.stderr.contains(warning), "\(report.stderr)")
    }
}
