import Foundation
import GRDB
import Testing

/// The base URL of a running local model server (scripts/local-llm.sh start), when there is one.
let localModelURL = ProcessInfo.processInfo.environment["HVAE_LOCAL_LLM_URL"].flatMap { $0.isEmpty ? nil : $0 }

@Suite("A real language model, end to end")
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
}

@Suite("A real language model's letter probabilities, end to end")
struct LocalLogprobTests {
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
                    SELECT p_a + p_b + p_c + p_d + p_e + p_f + p_g + p_h + p_i AS total, outside
                    FROM letter_probabilities WHERE status = 'ok'
                    """)
            #expect(!sums.isEmpty)
            for row in sums {
                let total: Double = row["total"]
                #expect(total > 0 && total <= 1 + 1e-12)
                #expect(abs(total + (row["outside"] as Double) - 1) < 1e-9)
            }
            // A row without a letter has no probabilities, and every unreadable answer is one.
            #expect(
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM letter_probabilities WHERE status <> 'ok' AND p_a IS NOT NULL") == 0)
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
}
