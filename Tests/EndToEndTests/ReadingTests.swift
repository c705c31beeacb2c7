import Foundation
import GRDB
import ModelServer
import Testing

@Suite("Replies in markup and with invented payoffs, through the built binary", .serialized)
struct ReadingTests {
    /// The item replies, in turn; every value description is "I value fairness."
    static let replies = [
        #"</td></tr></table><h1 style="color:red">INJECTED</h1>"#, "<b>C</b>", "A: 7, 45", "<p>I choose B.</p>",
        "D: 98", "<em>E</em>",
    ]

    @Test("markup is no letters and what it encloses is read; invented payoffs leave the letter read, and counted")
    func markupAndInventedPayoffs() throws {
        let server = try ModelAPIServer(api: .openai) { request, _ in
            let item = request.json.flatMap { ($0["messages"] as? [Any])?.count } ?? 0
            return .reply(item <= 1 ? "I value fairness." : Self.replies[(item / 2 - 1) % Self.replies.count])
        }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "markup.yaml",
            servedExperiment(name: "markup", trials: 1, values: ["prosocial"], server: server.baseURL)
                + "\ngoal: without\nconcurrency: 1\n")
        let run = try hvae(["run", "markup.yaml", "--quiet"], in: work.url)
        #expect(run.status == 0, "\(run.stderr)")
        let path = work.path("hvae.sqlite")
        let readings = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.reply, l.parse_status, l.shown_letter, a.mismatched_payoffs, a.parser_version
                    FROM call_log AS l JOIN latest_answers AS a ON a.call_id = l.call_id ORDER BY l.call_id
                    """)
        }
        func reading(_ reply: String) -> Row? { readings.first { $0["reply"] == reply } }
        #expect(reading(Self.replies[0])?["parse_status"] == "no_option")
        #expect(reading("<b>C</b>")?["shown_letter"] == "C")
        #expect(reading("<em>E</em>")?["shown_letter"] == "E")
        #expect(reading("A: 7, 45")?["shown_letter"] == "A" && reading("A: 7, 45")?["mismatched_payoffs"] == 1)
        #expect(reading("D: 98")?["shown_letter"] == "D" && reading("D: 98")?["mismatched_payoffs"] == 1)
        #expect(reading("<b>C</b>")?["mismatched_payoffs"] == 0)
        #expect(readings.allSatisfy { $0["parser_version"] == 3 })

        // A database of parser 2's readings (as 0.8.1 stored them): the dry run lists what changes.
        try DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: """
                    UPDATE answers SET parser_version = 2, mismatched_payoffs = 0;
                    UPDATE answers SET status = 'no_option', shown_letter = NULL, option = NULL, self = NULL,
                        other = NULL
                    WHERE call_id IN (SELECT call_id FROM call_log WHERE reply IN ('<b>C</b>', '<em>E</em>'));
                    UPDATE answers SET status = 'conflict', shown_letter = NULL, option = NULL, self = NULL,
                        other = NULL
                    WHERE call_id IN (SELECT call_id FROM call_log WHERE reply = 'A: 7, 45');
                    """)
        }
        let dry = try hvae(["rescore", "--dry-run"], in: work.url)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("no_option -> ok C   \"<b>C</b>\""), "\(dry.stdout)")
        #expect(dry.stdout.contains("no_option -> ok E   \"<em>E</em>\""), "\(dry.stdout)")
        #expect(dry.stdout.contains("conflict -> ok A   \"A: 7, 45\""), "\(dry.stdout)")
        #expect(dry.stdout.contains("dry run: nothing written"))
    }
}
