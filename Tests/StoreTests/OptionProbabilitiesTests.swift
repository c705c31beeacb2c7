import Foundation
import GRDB
import SVO
import Testing

@testable import Store

@Suite("Letter probabilities as rows (migrations/0021): one row per shown letter, every number kept")
struct OptionProbabilitiesTests {
    /// Nine probabilities whose digits a text round trip or a sum would change.
    static let nine: [Double] = [0, 0.1, 0.30000000000000004, 1e-300, 5e-324, 0.2, 1.0 / 3.0, 0.000123456789, 0.25]

    @Test(
        "a schema-20 database migrates: each letter's probability is its own row, bit for bit; other readings get none")
    func migrated() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("v20.sqlite")
        try await TargetMigrationTests.version12Database(at: path)
        let pool = try DatabasePool(path: path)
        try Schema.migrator.migrate(pool, upTo: "0020_audit_numbers")
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO letter_probabilities (call_id, parser_version, status, token_index, p_a, p_b, p_c, p_d,
                        p_e, p_f, p_g, p_h, p_i, outside)
                    VALUES (1, 1, 'ok', 3, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0.0755),
                           (1, 2, 'no_letter', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                           (1, 3, 'missing', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
                    """, arguments: StatementArguments(Self.nine))
        }
        try pool.close()

        let store = try ExperimentStore(path: path)
        #expect(
            try await store.columns(of: "letter_probabilities") == [
                "call_id", "parser_version", "status", "token_index", "outside",
            ])
        let readings = try store.rows(
            "SELECT parser_version, status, token_index, outside FROM letter_probabilities ORDER BY parser_version")
        #expect(readings.map { $0["status"] as String } == ["ok", "no_letter", "missing"])
        #expect(readings.map { $0["token_index"] as Int? } == [3, nil, nil])
        #expect(readings.map { $0["outside"] as Double? } == [0.0755, nil, nil])
        let rows = try store.rows(
            "SELECT parser_version, letter, probability FROM option_probabilities ORDER BY parser_version, letter")
        #expect(rows.map { $0["letter"] as String } == OptionLetter.allCases.map(\.symbol))
        #expect(rows.allSatisfy { $0["parser_version"] as Int == 1 })
        #expect(rows.map { ($0["probability"] as Double).bitPattern } == Self.nine.map(\.bitPattern))
        // Read back as the scorer and the transcript read them.
        let shown = try await store.reader.read { db in try OptionProbabilities.shown(trials: [1], db: db) }
        #expect(shown.keys.map(\.parserVersion) == [1])
        #expect(
            shown[OptionProbabilities.Key(callID: 1, parserVersion: 1)]?.map(\.bitPattern)
                == Self.nine.map(\.bitPattern))
        // A letter's row belongs to an ok reading only.
        for version in [2, 9] {
            #expect(throws: DatabaseError.self) {
                try store.execute(
                    """
                    INSERT INTO option_probabilities (call_id, parser_version, letter, probability)
                    VALUES (1, ?, 'A', 0.5)
                    """, [version])
            }
        }
        let check = try await ExperimentStore.check(path: path)
        #expect(check.isHealthy, "\(check)")
    }

    @Test("a list with a letter missing is not read as letters in other places")
    func gapLeftOut() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("v20.sqlite")
        try await TargetMigrationTests.version12Database(at: path)
        let store = try ExperimentStore(path: path)
        try store.execute(
            """
            INSERT INTO letter_probabilities (call_id, parser_version, status, token_index, outside)
            VALUES (1, 1, 'ok', 0, 0.5), (1, 2, 'ok', 0, 0.5);
            INSERT INTO option_probabilities (call_id, parser_version, letter, probability)
            VALUES (1, 1, 'A', 0.25), (1, 1, 'C', 0.25), (1, 2, 'A', 0.25), (1, 2, 'B', 0.25)
            """)
        let shown = try await store.reader.read { db in try OptionProbabilities.shown(trials: [1], db: db) }
        #expect(shown[OptionProbabilities.Key(callID: 1, parserVersion: 1)] == nil)
        #expect(shown[OptionProbabilities.Key(callID: 1, parserVersion: 2)] == [0.25, 0.25])
        // db check names the reading with a gap, and one left with no letter at all.
        try store.execute(
            """
            INSERT INTO letter_probabilities (call_id, parser_version, status, token_index, outside)
            VALUES (1, 3, 'ok', 0, 1)
            """)
        let check = try await ExperimentStore.check(path: path)
        #expect(check.incompleteLetters == ["call 1, parser version 1", "call 1, parser version 3"])
        #expect(!check.isHealthy)
    }
}
