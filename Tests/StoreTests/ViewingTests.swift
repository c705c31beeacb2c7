import Domain
import Foundation
import GRDB
import SVO
import Synchronization
import Testing

@testable import Store

@Suite("The viewer's reads: transcripts, the calls page, search and audit labels")
struct ViewingTests {
    /// Two trials; trial 1: a value call, item 1 answered B, item 2 a failed call then an
    /// ambiguous reply; trial 2: item 1 with a reply naming a search word.
    func fixture(_ scratch: ScratchDirectory) async throws -> (ExperimentStore, [Int64], [Int64]) {
        let (store, _, trials) = try await makeStore(scratch, trials: 2)
        let first = [ChatMessage(.user, "Describe a prosocial person.")]
        let second = first + [ChatMessage(.assistant, "They share."), ChatMessage(.user, "Item 1?")]
        let third = second + [ChatMessage(.assistant, "B"), ChatMessage(.user, "Item 2?")]
        var ids: [Int64] = []
        ids.append(try await store.record(call(.value, first, reply: "They share."), trialID: trials[0]))
        ids.append(
            try await store.record(call(.item(1), second, reply: "B", answer: okAnswer(1, .b)), trialID: trials[0]))
        ids.append(try await store.record(call(.item(2), third, reply: nil), trialID: trials[0]))
        let ambiguous = AnswerRecord(
            parserVersion: 1, status: .ambiguous, item: 2, shownLetter: nil, option: nil, allocation: nil)
        var retried = call(.item(2), third, reply: "A or maybe C", answer: ambiguous)
        retried.retry = 1
        ids.append(try await store.record(retried, trialID: trials[0]))
        let other = [ChatMessage(.user, "Item 1?")]
        ids.append(
            try await store.record(
                call(.item(1), other, reply: "Je choisis l'option Élevée: D", answer: okAnswer(1, .d)),
                trialID: trials[1]))
        return (store, trials, ids)
    }

    @Test("a transcript holds every message in order, every call with its newest reading, and the scores")
    func transcript() async throws {
        let scratch = ScratchDirectory()
        let (store, trials, ids) = try await fixture(scratch)
        try await store.store([trials[0]: score(.complete, vr: 50, angle: 20)])
        let transcript = try await store.transcript(trialID: trials[0])
        #expect(transcript.turns.map(\.role) == [.user, .assistant, .user, .assistant, .user, .assistant])
        #expect(transcript.turns.last?.text == "A or maybe C")
        #expect(transcript.calls.map(\.id) == Array(ids.prefix(4)))
        #expect(transcript.calls[1].answer?.shownLetter == .b)
        #expect(transcript.calls[2].replyTurnID == nil && transcript.calls[2].error == "boom")
        #expect(transcript.calls[3].retry == 1 && transcript.calls[3].answer?.status == .ambiguous)
        #expect(transcript.result?.vr == 50)
        await #expect(throws: StoreError.unknownTrial(999)) { try await store.transcript(trialID: 999) }
    }

    @Test("the calls page filters by status, step, model and attempt, pages by id, and searches replies")
    func callLines() async throws {
        let scratch = ScratchDirectory()
        let (store, _, ids) = try await fixture(scratch)
        var query = CallQuery()
        #expect(try await store.callLines(query, limit: 10).map(\.id) == ids)
        query.statuses = [.ambiguous]
        #expect(try await store.callLines(query, limit: 10).map(\.id) == [ids[3]])
        query.statuses = [.refusal, .ambiguous]
        #expect(try await store.callLines(query, limit: 10).map(\.id) == [ids[3]])
        query.afterID = ids[3]
        #expect(try await store.callLines(query, limit: 10).isEmpty)
        query.afterID = 0
        query.statuses = [.ok]
        // `ok` also means a value or goal call that got a reply.
        #expect(try await store.callLines(query, limit: 10).map(\.id) == [ids[0], ids[1], ids[4]])
        query.steps = ["item"]
        #expect(try await store.callLines(query, limit: 10).map(\.id) == [ids[1], ids[4]])
        // Keyset pagination: one more line than the limit says there is a next page.
        query = CallQuery()
        let page = try await store.callLines(query, limit: 2)
        #expect(page.map(\.id) == [ids[0], ids[1], ids[2]])
        query.afterID = ids[1]
        #expect(try await store.callLines(query, limit: 2).first?.id == ids[2])
        // Search: case and accents folded; a phrase; a prefix; words that never match.
        query = CallQuery()
        for (text, expected) in [
            ("maybe", [ids[3]]), ("ELEVEE", [ids[4]]), ("\"or maybe\"", [ids[3]]), ("choi*", [ids[4]]),
            ("maybe or", [ids[3]]), ("nowhere", []),
        ] {
            query.search = text
            #expect(try await store.callLines(query, limit: 10).map(\.id) == expected, "\(text)")
        }
        // Text that would be FTS5 syntax is searched for as words, never an error.
        for text in ["\"", "a AND", "NEAR(", "col:x", "*", "-"] {
            query.search = text
            _ = try await store.callLines(query, limit: 10)
        }
        query.search = "maybe"
        query.statuses = [.ok]
        #expect(try await store.callLines(query, limit: 10).isEmpty)
        let line = try await store.callLines(CallQuery(), limit: 10)[3]
        #expect(line.status == "ambiguous" && line.retry == 1 && line.excerpt == "A or maybe C")
    }

    @Test("a reply is searchable as soon as its call is recorded, and a merge brings its words along")
    func searchKeptCurrent() async throws {
        let scratch = ScratchDirectory()
        let (store, trials, _) = try await fixture(scratch)
        var query = CallQuery()
        query.search = "zebra"
        #expect(try await store.callLines(query, limit: 10).isEmpty)
        let id = try await store.record(
            call(
                .item(3),
                [
                    ChatMessage(.user, "Item 1?"), ChatMessage(.assistant, "Je choisis l'option Élevée: D"),
                    ChatMessage(.user, "Item 3?"),
                ], reply: "zebra stripes: E"), trialID: trials[1])
        #expect(try await store.callLines(query, limit: 10).map(\.id) == [id])
        let merged = try ExperimentStore(path: scratch.path("merged.sqlite"))
        _ = try await merged.merge(from: scratch.path("r.sqlite"))
        #expect(try await merged.callLines(query, limit: 10).count == 1)
        #expect(try merged.count("SELECT count(*) FROM reply_search") == 5)
    }

    @Test("the migration indexes the replies already stored")
    func migrationIndexesOldReplies() async throws {
        let scratch = ScratchDirectory()
        let (store, _, _) = try await fixture(scratch)
        // Take the index away as a schema-10 file lacks it, then run the migration's SQL again.
        try store.execute("DROP TRIGGER reply_search_on_call")
        try store.execute("DROP TABLE reply_search")
        let sql = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appending(path: "migrations/0011_viewer.sql"), encoding: .utf8)
        let upToIndex = sql.components(separatedBy: "CREATE INDEX answers_by_status")[0]
        try store.execute(upToIndex)
        var query = CallQuery()
        query.search = "share"
        #expect(try await store.callLines(query, limit: 10).count == 1)
    }

    @Test("audit labels: one per person and reply, replaced when given again; the item a reply answered")
    func labels() async throws {
        let scratch = ScratchDirectory()
        let (store, _, ids) = try await fixture(scratch)
        try await store.saveAuditLabel(callID: ids[1], labeler: "ada", label: "C")
        try await store.saveAuditLabel(callID: ids[1], labeler: "ada", label: "B")
        try await store.saveAuditLabel(callID: ids[1], labeler: "bo", label: "none")
        try await store.saveAuditLabel(callID: ids[3], labeler: "ada", label: "ambiguous")
        let pairs = try await store.auditPairs(runIDs: [])
        #expect(pairs.count == 3)
        #expect(pairs.first { $0.labeler == "ada" && $0.callID == ids[1] }?.label == "B")
        #expect(pairs.contains { $0.labeler == "bo" })
        #expect(pairs.first { $0.callID == ids[3] }?.status == .ambiguous)
        // The table's CHECK (migrations/0011, 0020): letters, none, ambiguous, or plain digits.
        for (label, takes) in [
            ("12", true), ("0", true), ("012", false), ("-1", false), ("1e3", false), (" 7", false), ("J", false),
            ("none", true), ("", false),
        ] {
            let insert = """
                INSERT OR REPLACE INTO audit_labels (call_id, labeler, label, created_at)
                VALUES (\(ids[3]), 'check', '\(label)', 't')
                """
            if takes {
                try store.execute(insert)
            } else {
                #expect(throws: DatabaseError.self, "\(label)") { try store.execute(insert) }
            }
        }
        try store.execute("DELETE FROM audit_labels WHERE labeler = 'check'")
        // What a person may label: the item an item call with a reply asked, nothing else.
        let item = try #require(try await store.auditItem(callID: ids[1]))
        #expect(item.number == 1 && item.kind == .option(count: 9))
        #expect(item.options.first == Payoff(own: 85, other: 85))
        #expect(try await store.auditItem(callID: ids[0]) == nil)  // a value call
        #expect(try await store.auditItem(callID: ids[2]) == nil)  // an item call that got no reply
        #expect(try await store.auditItem(callID: 999) == nil)
        // The schema refuses what the method would: a label outside the set.
        #expect(throws: (any Error).self) {
            try store.execute(
                "INSERT INTO audit_labels VALUES (?, 'x', 'AB', '2026-01-01T00:00:00.000Z')", [ids[1]])
        }
        // A merge carries the labels, renumbered to their calls.
        let merged = try ExperimentStore(path: scratch.path("merged.sqlite"))
        _ = try await makeRun(merged, trials: 1)
        _ = try await merged.merge(from: scratch.path("r.sqlite"))
        let copied = try await merged.auditPairs(runIDs: [])
        #expect(copied.map(\.label).sorted() == pairs.map(\.label).sorted())
        let replies = try await merged.auditReplies(callIDs: copied.map(\.callID))
        #expect(Set(replies.map(\.reply)) == ["B", "A or maybe C"])
    }

    @Test("the item replies handed to a sample are the item calls with a reading, with their newest status")
    func itemReplies() async throws {
        let scratch = ScratchDirectory()
        let (store, _, ids) = try await fixture(scratch)
        // Every call looked up: only the item calls with a reading answer, with their newest status.
        let got = try await store.itemReplyStatuses(callIDs: ids + [ids.max()! + 100], runIDs: [1])
        #expect(got == [ids[1]: .ok, ids[3]: .ambiguous, ids[4]: .ok])
        #expect(try await store.itemReplyStatuses(callIDs: ids, runIDs: [2]).isEmpty)
        // Read whole by status: the same calls.
        #expect(try await store.itemReplies(status: .ok, runIDs: [1]) == [ids[1], ids[4]])
        #expect(try await store.itemReplies(status: .ambiguous, runIDs: [1]) == [ids[3]])
        #expect(try await store.itemReplies(status: .refusal, runIDs: [1]).isEmpty)
        #expect(try await store.itemReplies(status: .ok, runIDs: [2]).isEmpty)
        // A newer parser version's reading is what counts, in both.
        let reread = AnswerRecord(
            parserVersion: 2, status: .ambiguous, item: 1, shownLetter: nil, option: nil, allocation: nil)
        #expect(try await store.addAnswers([(ids[1], reread)]) == 1)
        #expect(try await store.itemReplyStatuses(callIDs: ids, runIDs: [1])[ids[1]] == .ambiguous)
        #expect(try await store.itemReplies(status: .ok, runIDs: [1]) == [ids[4]])
        #expect(try await store.itemReplies(status: .ambiguous, runIDs: [1]) == [ids[1], ids[3]])
        let replies = try await store.auditReplies(callIDs: [ids[4], ids[1]])
        #expect(replies.map(\.callID) == [ids[4], ids[1]])
        #expect(replies[0].reply == "Je choisis l'option Élevée: D")
    }
}
