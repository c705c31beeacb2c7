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
