import Foundation
import GRDB
import Testing

/// The base URL of a running local model server (scripts/local-llm.sh start), when there is one.
let localModelURL = ProcessInfo.processInfo.environment["HVAE_LOCAL_LLM_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// One local server answers one request at a time, and keeps the prompt of the conversation it
/// served last: tests that interleave their conversations make it read every prompt anew (three of
/// them took 15 minutes together, 2 min 44 s one after the other), so they run one at a time.
@Suite("A real language model, end to end", .serialized)
struct LocalModelTests {
    @Test(
        "a small experiment on SmolLM2 through llama.cpp: every call stored, every reply classified",
        .enabled(
            if: localModelURL != nil || toolsRequired, "set HVAE_LOCAL_LLM_URL (scripts/local-llm.sh start) to run it"),
        .timeLimit(.minutes(30)))
    func smallExperiment() throws {
        let localModelURL = try #require(localModelURL, "HVAE_LOCAL_LLM_URL is not set: scripts/local-llm.sh start")
        let work = try WorkingDirectory()
        try work.write(
            "local.yaml",
            """
            name: local-e2e
            trials: 1
            goal: with
            concurrency: 1
            models:
              - name: smollm2
                provider: openai
                model: smollm2-135m-instruct
                base_url: \(localModelURL)
                temperature: 0.7
                max_tokens: 48
                timeout: 180
            """)
        let result = try hvae(["run", "local.yaml", "--db", "local.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        try DatabaseQueue(path: work.path("local.sqlite")).read { db in
            #expect(try String.fetchOne(db, sql: "SELECT status FROM runs") == "finished")
            // One trial per value, each finished one way or the other (a real model may fail to answer).
            let statuses = try String.fetchAll(db, sql: "SELECT status FROM trials")
            #expect(statuses.count == 4)
            #expect(statuses.allSatisfy { ["complete", "incomplete"].contains($0) })
            // Every call stored with its reply, and every item reply parsed or classified.
            let calls = try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log")!
            #expect(calls >= 4 * 8)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log WHERE reply IS NULL") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log WHERE parse_status IS NULL") == 0)
            #expect(
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM model_calls WHERE provider_model_id IS NULL OR http_status <> 200")
                    == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM vr_summary WHERE model = 'smollm2'") == 4)
        }
    }
    @Test(
        "examples/local-logprobs.yaml's setting on SmolLM2: letter probabilities stored, expected angles computed",
        .enabled(
            if: localModelURL != nil || toolsRequired, "set HVAE_LOCAL_LLM_URL (scripts/local-llm.sh start) to run it"),
        .timeLimit(.minutes(30)))
    func letterProbabilities() throws {
        let localModelURL = try #require(localModelURL, "HVAE_LOCAL_LLM_URL is not set: scripts/local-llm.sh start")
        let work = try WorkingDirectory()
        let example = try String(
            contentsOf: repositoryRoot.appending(path: "examples/local-logprobs.yaml"), encoding: .utf8)
        // The example's model and settings, on a smaller design: two values, one trial each, no goal step.
        try work.write(
            "logprobs.yaml",
            example.replacingOccurrences(of: "trials: 3", with: "trials: 1")
                .replacingOccurrences(
                    of: "values: [altruistic, prosocial, individualistic, competitive]",
                    with: "values: [prosocial, competitive]"
                )
                .replacingOccurrences(of: "goal: both", with: "goal: without")
                .replacingOccurrences(of: "max_tokens: 256", with: "max_tokens: 48")
                .replacingOccurrences(of: "http://127.0.0.1:8181/v1", with: localModelURL))
        let result = try hvae(["run", "logprobs.yaml", "--db", "lp.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        try DatabaseQueue(path: work.path("lp.sqlite")).read { db in
            let items = try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls WHERE step = 'item'")!
            #expect(items >= 2 * 6)
            // Every item call has its row; the probabilities of each sum to at most 1, with the rest outside.
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM letter_probabilities") == items)
            let sums = try Row.fetchAll(
                db,
                sql: """
                    SELECT sum(o.probability) AS total, count(*) AS letters, l.outside
                    FROM letter_probabilities AS l JOIN option_probabilities AS o USING (call_id, parser_version)
                    WHERE l.status = 'ok' GROUP BY l.call_id, l.parser_version
                    """)
            #expect(!sums.isEmpty)
            for row in sums {
                let total: Double = row["total"]
                #expect(row["letters"] as Int == 9)
                #expect(total > 0 && total <= 1 + 1e-12)
                #expect(abs(total + (row["outside"] as Double) - 1) < 1e-9)
            }
            // A row without a letter has no probabilities, and every unreadable answer is one.
            #expect(
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM letter_probabilities AS l
                        JOIN option_probabilities USING (call_id, parser_version) WHERE l.status <> 'ok'
                        """) == 0)
            #expect(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM letter_probabilities WHERE status = 'ok'")
                    == sums.count)
            // Every trial whose six counted answers have probabilities has an expected angle.
            let missing = try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM trial_results AS r WHERE r.status = 'complete' AND r.expected_angle IS NULL
                      AND NOT EXISTS (
                        SELECT 1 FROM model_calls AS c
                        JOIN latest_answers AS a ON a.call_id = c.id AND a.status = 'ok'
                        JOIN letter_probabilities AS l ON l.call_id = c.id AND l.status <> 'ok'
                        WHERE c.trial_id = r.trial_id AND c.item <= 6)
                    """)
            #expect(missing == 0)
            // At most log2 9 bits, the entropy of nine equal letters.
            let most = log2(9.0) + 1e-9
            #expect(
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM trial_results WHERE mean_entropy > ?", arguments: [most])
                    == 0)
        }
        // The report's mean expected angle is vr_summary's (a tiny model may complete no trial: then both are empty).
        let report = try hvae(["report", "--db", "lp.sqlite", "--format", "csv"], in: work.url)
        #expect(report.status == 0, "\(report.stderr)")
        let lines = report.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let column = try #require(header.firstIndex(of: "mean_expected_angle"))
        var reported: [String: Double?] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            reported[fields[0..<3].joined(separator: ",")] = Double(fields[column])
        }
        let summary = try DatabaseQueue(path: work.path("lp.sqlite")).read { db in
            try Row.fetchAll(
                db, sql: "SELECT model || ',' || value || ',' || goal AS cell, mean_expected_angle FROM vr_summary")
        }
        #expect(reported.count == summary.count)
        for row in summary {
            let expected: Double? = row["mean_expected_angle"]
            let got = try #require(reported[row["cell"] as String], "\(row)")
            #expect((got == nil) == (expected == nil) && abs((got ?? 0) - (expected ?? 0)) < 1e-9, "\(row)")
        }
    }
    @Test(
        "SmolLM2 on the slider, its parallel forms and the dictator game: convergence and compare instrument",
        .enabled(
            if: localModelURL != nil || toolsRequired, "set HVAE_LOCAL_LLM_URL (scripts/local-llm.sh start) to run it"),
        .timeLimit(.minutes(30)))
    func instruments() throws {
        let localModelURL = try #require(localModelURL, "HVAE_LOCAL_LLM_URL is not set: scripts/local-llm.sh start")
        let work = try WorkingDirectory()
        try work.write(
            "instruments.yaml",
            """
            name: local-instruments
            trials: 1
            goal: without
            value_assignment: defined
            max_attempts: 2
            concurrency: 1
            instruments: [slider, slider-parallel, dictator]
            models:
              - name: smollm2
                provider: openai
                model: smollm2-135m-instruct
                base_url: \(localModelURL)
                system: ""
                temperature: 0.7
                max_tokens: 48
                timeout: 180
            """)
        let result = try hvae(["run", "instruments.yaml", "--db", "i.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        try DatabaseQueue(path: work.path("i.sqlite")).read { db in
            #expect(
                try String.fetchAll(db, sql: "SELECT DISTINCT instrument FROM trials ORDER BY 1")
                    == ["dictator", "slider", "slider-parallel"])
            // Every item reply stored and classified; a dictator reply read as ok names one number in range,
            // and the prompt the model saw lists a parallel form's own coins.
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log WHERE parse_status IS NULL") == 0)
            for row in try Row.fetchAll(
                db,
                sql:
                    "SELECT item, number, shown_letter FROM call_log WHERE instrument = 'dictator' "
                    + "AND parse_status = 'ok'"
            ) {
                let tokens = [40, 40, 60, 60, 80, 100][(row["item"] as Int) - 1]
                #expect((0...tokens).contains(row["number"] as Int) && (row["shown_letter"] as String?) == nil)
            }
            let form = try String.fetchOne(
                db, sql: "SELECT form FROM trials WHERE instrument = 'slider-parallel' LIMIT 1")!
            let prompt = try String.fetchOne(
                db,
                sql: "SELECT prompt FROM call_log JOIN trials AS t ON t.id = call_log.trial_id "
                    + "WHERE t.form = ? AND call_log.item = 1 LIMIT 1", arguments: [form])!
            let d = Int(form.split(separator: ",")[0])!
            #expect(prompt.contains("A: \(85 + d), \(85 + d)"))
        }
        // The analyses run on real replies, whatever the model managed: rows for every pair of instruments.
        let convergence = try hvae(
            ["report", "--convergence", "--format", "csv", "--resamples", "200", "--db", "i.sqlite"], in: work.url)
        #expect(convergence.status == 0, "\(convergence.stderr)")
        let pairs = csvRecords(convergence.stdout).map { [$0["a"]!, $0["b"]!] }
        #expect(pairs == [["slider", "slider-parallel"], ["slider", "dictator"], ["slider-parallel", "dictator"]])
        let compare = try hvae(
            [
                "compare", "instrument", "slider", "slider-parallel", "--format", "csv", "--resamples", "200",
                "--permutations", "200", "--db", "i.sqlite",
            ], in: work.url)
        // No complete trial on one side is a clear error, not a table of nothing; else a row per value.
        if compare.status == 0 {
            #expect(csvRecords(compare.stdout).count == 4)
        } else {
            #expect(compare.stderr.contains("no complete trials with instrument"), "\(compare.stderr)")
        }
    }
}
