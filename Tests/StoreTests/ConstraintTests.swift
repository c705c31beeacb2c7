import CSQLiteConfig
import Foundation
import GRDB
import Testing

@testable import Store

/// Migration 0006 rewrites the enumerations' CHECK constraints in place (`x = 'a' OR ...` instead of
/// `x IN ('a', ...)`). These tests hold it to what it promises: the same values accepted and
/// refused, on a new database and on one migrated with rows in it, and nothing left unchanged.
@Suite("CHECK constraints of the enumerations")
struct ConstraintTests {
    /// One enumerated column: the values it must take, and look-alikes it must refuse.
    struct Enumeration: Sendable, CustomStringConvertible {
        let table: String
        let column: String
        let accepted: [String]
        let refused: [String]
        /// More of the row to set with the value, for the checks that tie columns together
        /// (`:value` is the value tried).
        var alongside = ""
        var description: String { "\(table).\(column)" }
    }

    static let enumerations: [Enumeration] = [
        Enumeration(
            table: "runs", column: "status", accepted: ["pending", "running", "finished", "interrupted", "failed"],
            refused: ["Finished", "complete", "", "finished "]),
        Enumeration(
            table: "trials", column: "value", accepted: ["altruistic", "prosocial", "individualistic", "competitive"],
            refused: ["Altruistic", "martyr", ""],
            // From schema 13 a named value's direction is the value's own (migrations/0013).
            alongside: """
                , target_phi = CASE :value WHEN 'altruistic' THEN 90 WHEN 'prosocial' THEN 45 WHEN 'individualistic' \
                THEN 0 ELSE -45 END
                """),
        Enumeration(
            table: "trials", column: "option_order", accepted: ["original", "reversed", "shuffled"],
            refused: ["random", "Original", ""]),
        Enumeration(
            table: "trials", column: "status", accepted: ["pending", "running", "complete", "incomplete", "failed"],
            refused: ["finished", "interrupted", "Complete"]),
        Enumeration(
            table: "turns", column: "role", accepted: ["system", "user", "assistant"],
            refused: ["tool", "User", "assistant\n"]),
        Enumeration(
            table: "model_calls", column: "step", accepted: ["value", "goal", "item"],
            refused: ["items", "Item", ""], alongside: ", item = CASE WHEN :value = 'item' THEN 1 END"),
        Enumeration(
            table: "answers", column: "status",
            accepted: ["ok", "no_option", "ambiguous", "refusal", "empty", "conflict"],
            refused: ["OK", "error", "", "conflicts"],
            alongside: """
                , shown_letter = CASE WHEN :value = 'ok' THEN 'C' END, option = CASE WHEN :value = 'ok' THEN 'G' END,
                self = CASE WHEN :value = 'ok' THEN 85 END, other = CASE WHEN :value = 'ok' THEN 85 END
                """),
        Enumeration(
            table: "answers", column: "shown_letter", accepted: ["A", "B", "C", "D", "E", "F", "G", "H", "I"],
            refused: ["J", "a", "i", "AB", "", "@", "[", "É", "A\u{301}"]),
        Enumeration(
            table: "answers", column: "option", accepted: ["A", "E", "I"],
            refused: ["Z", "e", "II", "*", "?"]),
    ]

    /// One row in every table that has an enumeration (the run finished, the trial complete).
    static let fixtureRows = """
        INSERT INTO runs (id, name, experiment_json, experiment_sha256, seed, tool_version, created_at, status)
        VALUES (1, 'old', '{}', '\(String(repeating: "0", count: 64))', 1, '0.0.1', '2026-01-01T00:00:00.000Z', \
        'finished');
        INSERT INTO trials (id, run_id, model, provider, value, goal, option_order, trial_index, seed, status)
        VALUES (1, 1, 'm', 'openai', 'prosocial', 'with', 'shuffled', 1, 7, 'complete');
        INSERT INTO texts (sha256, body) VALUES ('\(String(repeating: "a", count: 64))', 'Which option?');
        INSERT INTO turns (id, trial_id, parent_id, position, role, text_sha256)
        VALUES (1, 1, NULL, 0, 'user', '\(String(repeating: "a", count: 64))');
        INSERT INTO model_calls (id, trial_id, step, item, attempt, request_turn_id, started_at, finished_at)
        VALUES (1, 1, 'item', 1, 1, 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z');
        INSERT INTO answers (call_id, parser_version, status, item, shown_letter, option, self, other)
        VALUES (1, 1, 'ok', 1, 'C', 'G', 85, 85);
        """

    /// A database at schema 5 (before 0006) with one row in every table that has an enumeration.
    static func version5Database(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: "0005_one_index_fewer")
        try queue.write { db in try db.execute(sql: fixtureRows) }
        try queue.close()
    }

    /// Sets `column` of the row of `table` with rowid 1 to `value`; true when SQLite accepted it.
    /// Each attempt is rolled back: the rows stay as they were for the next one.
    static func accepts(_ db: Database, _ enumeration: Enumeration, _ value: String) throws -> Bool {
        var accepted = false
        try db.inSavepoint {
            do {
                try db.execute(
                    sql: """
                        UPDATE \(enumeration.table) SET \(enumeration.column) = :value \(enumeration.alongside) WHERE \
                        rowid = 1
                        """, arguments: ["value": value])
                accepted = true
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                accepted = false
            }
            return .rollback
        }
        return accepted
    }

    /// SQLite's message when a turn's role is set to 'tool': it names the constraint it evaluated
    /// by the constraint's text.
    static func refusalOfRole(_ db: Database) throws -> String {
        do {
            try db.execute(sql: "UPDATE turns SET role = 'tool'")
            return "accepted"
        } catch let error as DatabaseError {
            return error.message ?? ""
        }
    }

    static func expectSameConstraints(_ db: Database) throws {
        for enumeration in enumerations {
            for value in enumeration.accepted {
                #expect(try accepts(db, enumeration, value), "\(enumeration) refused '\(value)'")
            }
            for value in enumeration.refused {
                #expect(try !accepts(db, enumeration, value), "\(enumeration) accepted '\(value)'")
            }
        }
        // No enumeration of three or more constants is left as an IN list in any table.
        let tables = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_schema WHERE type = 'table'")
        let inList = try Regex(#"IN \('[^)]*,[^)]*,"#)
        for sql in tables { #expect(sql.firstMatch(of: inList) == nil, "\(sql)") }
    }

    @Test("a new database accepts and refuses exactly the enumerations' values")
    func newDatabase() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("new.sqlite"))
        try await store.writer!.write { db in
            // Schema 13's trials also have the trial's direction and θ*.
            try db.execute(
                sql: Self.fixtureRows.replacingOccurrences(
                    of: "seed, status)\nVALUES (1, 1, 'm', 'openai', 'prosocial', 'with', 'shuffled', 1, 7, "
                        + "'complete')",
                    with: """
                        seed, status, target_phi, ideal_angle)
                        VALUES (1, 1, 'm', 'openai', 'prosocial', 'with', 'shuffled', 1, 7, 'complete', 45, 45)
                        """))
            try Self.expectSameConstraints(db)
            // The connection that ran the migration, the one the runner writes with, evaluates the
            // new text, not the one it had parsed before.
            let message = try Self.refusalOfRole(db)
            #expect(message.contains("role = 'system' OR role = 'user'"), "\(message)")
            // A NULL letter still passes the letter's own check (the row check ties it to the status).
            try db.execute(
                sql:
                    """
                    UPDATE answers SET status = 'no_option', shown_letter = NULL, option = NULL, self = NULL, other = \
                    NULL
                    """
            )
        }
    }

    @Test("a database of schema 5 keeps its rows and its constraints' meaning when migrated")
    func migrated() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("v5.sqlite")
        try Self.version5Database(at: path)
        let store = try ExperimentStore(path: path)
        try await store.writer!.write { db in
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == ExperimentStore.schemaVersion)
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            let row = try #require(
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT t.value, t.option_order, t.status, u.role, c.step, a.status AS answer, a.shown_letter, \
                        a.option
                        FROM trials t JOIN turns u ON u.trial_id = t.id JOIN model_calls c ON c.trial_id = t.id
                        JOIN answers a ON a.call_id = c.id
                        """))
            #expect(
                row == [
                    "value": "prosocial", "option_order": "shuffled", "status": "complete", "role": "user",
                    "step": "item", "answer": "ok", "shown_letter": "C", "option": "G",
                ])
            #expect(try !db.tableExists("hvae_schema_changed"))
            try Self.expectSameConstraints(db)
        }
    }

    @Test("the migrations run on a connection in SQLite's defensive mode (macOS's default), which stays on")
    func defensiveMode() throws {
        let scratch = ScratchDirectory()
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            #expect(hvae_sqlite3_defensive(db.sqliteConnection, 1) == 1)
        }
        let queue = try DatabaseQueue(path: scratch.path("defensive.sqlite"), configuration: configuration)
        // Defensive mode is really on: editing the schema by hand is refused.
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: "PRAGMA writable_schema = ON")
                try db.execute(sql: "UPDATE sqlite_schema SET sql = sql WHERE 0")
            }
        }
        try Schema.migrator.migrate(queue)
        let (version, turns, defensive) = try queue.read { db in
            (
                try Int.fetchOne(db, sql: "PRAGMA user_version"),
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = 'turns'") ?? "",
                hvae_sqlite3_defensive(db.sqliteConnection, -1)
            )
        }
        #expect(version == ExperimentStore.schemaVersion)
        #expect(turns.contains("role = 'system' OR role = 'user'"))
        #expect(defensive == 1)
    }

    @Test("a connection open while another process migrates sees the new constraints at its next statement")
    func otherConnection() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("v5.sqlite")
        try Self.version5Database(at: path)
        let other = try DatabaseQueue(path: path)
        _ = try await other.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM turns") }  // schema parsed
        _ = try ExperimentStore(path: path)
        let message = try await other.write { db in try Self.refusalOfRole(db) }
        #expect(message.contains("role = 'system' OR role = 'user'"), "\(message)")
    }
}
