import Foundation
import GRDB
import Testing
@testable import Store

/// The writer remembers each trial's last turn and the texts it stored (`WriterMemory`). Rows
/// changed behind its back by another connection must not lead it to store a wrong conversation
/// or to fail for good.
@Suite("The writer's memory of what it stored")
struct WriterMemoryTests {
    let first = [ChatMessage(.user, "Describe a prosocial person.")]
    var second: [ChatMessage] { first + [ChatMessage(.assistant, "They share."), ChatMessage(.user, "Item 1?")] }

    @Test("a turn another connection appended to the trial is seen: the next call is refused as not extending it")
    func chainGrownElsewhere() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 1)
        try await store.record(call(.value, first, reply: "They share."), trialID: trials[0])
        // Another process stores a different message at position 2 of the same trial.
        let other = try DatabaseQueue(path: store.path)
        try await other.write { db in
            let sha = SHA256.hex("Something else")
            try db.execute(sql: "INSERT INTO texts (sha256, body) VALUES (?, 'Something else')", arguments: [sha])
            try db.execute(sql: """
                INSERT INTO turns (trial_id, parent_id, position, role, text_sha256)
                SELECT trial_id, id, 2, 'user', ? FROM turns WHERE trial_id = ? AND position = 1
                """, arguments: [sha, trials[0]])
        }
        // The writer remembers the chain as two turns long; the database has three, the third not
        // this request's. Told apart, not stored beside it, and not a UNIQUE error either.
        await #expect(throws: StoreError.conversationMismatch(trialID: trials[0])) {
            try await store.record(call(.item(1), second, reply: "A"), trialID: trials[0])
        }
        let turns = try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM turns WHERE trial_id = ?", arguments: [trials[0]])
        }
        #expect(turns == 3)
    }

    @Test("a text deleted by another connection is stored again by the next call that uses it")
    func textDeletedElsewhere() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 2)
        try await store.record(call(.value, first, reply: "They share."), trialID: trials[0])
        // Another process deletes the first trial, and then the texts nothing refers to any more.
        let other = try DatabaseQueue(path: store.path)
        try await other.write { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try db.execute(sql: "DELETE FROM trials WHERE id = ?", arguments: [trials[0]])
            try db.execute(sql: "DELETE FROM texts WHERE sha256 NOT IN (SELECT text_sha256 FROM turns)")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM texts") == 0)
        }
        // The writer believes both texts stored; the database has neither.
        let id = try await store.record(call(.value, first, reply: "They share."), trialID: trials[1])
        #expect(try await store.requestMessages(callID: id) == first)
        let texts = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM texts") }
        #expect(texts == 2)
        // And it goes on as before: the next call of that trial is stored.
        try await store.record(call(.item(1), second, reply: "A"), trialID: trials[1])
    }

    @Test("a remembered turn matches a message byte for byte, as its SHA-256 does", arguments: [false, true])
    func byteForByte(contentKnown: Bool) {
        let composed = "Caf\u{E9}: A or B?", decomposed = "Cafe\u{301}: A or B?"
        #expect(composed == decomposed)   // what makes the byte comparison necessary
        let tail = WriterMemory.ChainTail(id: 1, position: 0, role: "user", sha256: SHA256.hex(composed),
                                          content: contentKnown ? composed : nil)
        #expect(tail.matches(ChatMessage(.user, composed)))
        #expect(!tail.matches(ChatMessage(.user, decomposed)))
        #expect(!tail.matches(ChatMessage(.assistant, composed)))
    }

    @Test("the memory stays bounded, and forgets a trial once it is finished")
    func bounded() {
        var memory = WriterMemory()
        for n in 0..<(WriterMemory.textLimit * 2 + 10) { memory.textStored(SHA256.hex("text \(n)")) }
        #expect(memory.texts.count <= WriterMemory.textLimit)
        #expect(memory.hasText(SHA256.hex("text \(WriterMemory.textLimit * 2 + 9)")))
        for trial in 0..<Int64(WriterMemory.tailLimit * 2 + 10) {
            memory.setTail(.init(id: trial, position: 0, role: "user", sha256: "", content: nil), of: trial)
        }
        #expect(memory.tails.count <= WriterMemory.tailLimit)
        let last = Int64(WriterMemory.tailLimit * 2 + 9)
        #expect(memory.tail(of: last)?.id == last)
        memory.trialFinished(last)
        #expect(memory.tail(of: last) == nil)
    }
}
