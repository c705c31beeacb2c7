import Foundation
import GRDB
import ModelServer
import Testing

@Suite("hvae export")
struct ExportTests {
    /// Replies that stress CSV: commas, quotes, CR LF, a lone CR, unicode, an empty reply.
    static let replies = ["He said \"C\", then left.", "E: 68, 93\r\nThe answer is E.", "θ ± é — 🙂 B", "a\rb", "", "I"]

    @Test("CSV and JSON Lines exports round-trip through Python with identical values; the sidecar records provenance")
    func roundTrip() throws {
        let server = try ModelAPIServer(api: .openai) { _, n in .reply(Self.replies[n % Self.replies.count]) }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "api.yaml",
            servedExperiment(name: "export", trials: 1, values: ["prosocial", "competitive"], server: server.baseURL))
        #expect(try hvae(["run", "api.yaml", "--quiet"], in: work.url).status == 0)
        let csv = try hvae(["export", "calls", "-o", "calls.csv", "--meta"], in: work.url)
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(try hvae(["export", "calls", "--format", "jsonl", "-o", "calls.jsonl"], in: work.url).status == 0)

        // Python's csv module reads the file back; compare every field with the database.
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", "-c",
            """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                print(json.dumps(list(csv.reader(f))))
            """, work.path("calls.csv"),
        ]
        let pipe = Pipe()
        python.standardOutput = pipe
        try python.run()
        let parsed = try JSONDecoder().decode([[String]].self, from: pipe.fileHandleForReading.readDataToEndOfFile())
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)

        let db = try DatabaseQueue(path: work.path("hvae.sqlite"))
        let stored = try db.read { db in
            try Row.fetchAll(
                db, sql: "SELECT call_id, prompt, reply, parse_status, self FROM call_log ORDER BY call_id")
        }
        let header = try #require(parsed.first)
        let column = { (name: String) in header.firstIndex(of: name)! }
        #expect(parsed.count == stored.count + 1)
        for (row, fields) in zip(stored, parsed.dropFirst()) {
            #expect(fields[column("call_id")] == String(row["call_id"] as Int64))
            #expect(fields[column("prompt")] == row["prompt"] as String)
            #expect(fields[column("reply")] == (row["reply"] as String? ?? ""))
            #expect(fields[column("parse_status")] == (row["parse_status"] as String? ?? ""))
            #expect(fields[column("self")] == ((row["self"] as Int?).map(String.init) ?? ""))
        }
        let replies = Set(parsed.dropFirst().map { $0[column("reply")] })
        #expect(replies.isSuperset(of: Set(Self.replies)))

        // JSON Lines: one object per row, null for NULL.
        let lines = try String(contentsOfFile: work.path("calls.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == stored.count)
        for (row, line) in zip(stored, lines) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["reply"] as? String == row["reply"] as String?)
            #expect(object["prompt"] as? String == row["prompt"] as String)
            if row["self"] as Int? == nil { #expect(object["self"] is NSNull) }
        }

        let meta = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: work.url.appending(path: "calls.csv.meta.json")))
                as? [String: Any])
        #expect(meta["run_ids"] as? [Int] == [1])
        #expect(meta["rows"] as? Int == stored.count)
        #expect((meta["database_sha256"] as? String)?.count == 64)
        #expect((meta["sql"] as? String)?.contains("FROM call_log") == true)
        #expect(meta["tool_version"] as? String != nil)
    }

    @Test("every table exports with its documented header")
    func headers() throws {
        let work = try WorkingDirectory()
        try work.write("q.yaml", "name: q\ntrials: 1\nmodels:\n  - name: a\n    agent: ideal\n")
        #expect(try hvae(["run", "q.yaml", "--quiet"], in: work.url).status == 0)
        let docs = try String(contentsOf: repositoryRoot.appending(path: "docs/exports.md"), encoding: .utf8)
        for table in ["trials", "calls", "answers", "summary"] {
            let result = try hvae(["export", table], in: work.url)
            #expect(result.status == 0)
            let header = try #require(result.stdout.components(separatedBy: "\r\n").first)
            #expect(docs.contains("`\(header)`"), "docs/exports.md does not list the \(table) header \(header)")
        }
        let bad = try hvae(["export", "calls", "--meta"], in: work.url)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--meta needs -o FILE"))
    }
}
