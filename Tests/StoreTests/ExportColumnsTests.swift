import Foundation
import GRDB
import SVO
import Testing

@testable import Store

/// The schema is the one definition of every table's columns: merge reads them from it, and every
/// export carries each column of its tables or says why not. These tests fail when a migration
/// adds a column or a table that merge or an export would drop.
@Suite("Every column of the schema reaches merge and export")
struct ExportColumnsTests {
    @Test("every table of the schema is merged, or is deliberately not")
    func everyTableMerged() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("s.sqlite"))
        let tables = try store.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .map { $0[0] as String }
        let handled = Set(ExperimentStore.mergedTables.map(\.table) + ["runs"]).union(ExperimentStore.unmergedTables)
        for table in tables { #expect(handled.contains(table), "merge does not handle table \(table)") }
        // Every column a merge renumbers exists, so a renamed column cannot be copied unshifted.
        for (table, renumbered) in ExperimentStore.mergedTables {
            let columns = try await store.columns(of: table)
            for column in renumbered.keys { #expect(columns.contains(column), "\(table).\(column)") }
        }
    }

    @Test("each record reads and writes every column of its table, by name")
    func recordsNameEveryColumn() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("s.sqlite"))
        let tables: [(String, [String])] = [
            ("runs", RunRecord.CodingKeys.allCases.map(\.rawValue)),
            ("trials", TrialRecord.Columns.allCases.map(\.rawValue)),
            ("batches", BatchRecord.Columns.allCases.map(\.rawValue)),
        ]
        for (table, named) in tables {
            #expect(Set(try await store.columns(of: table)) == Set(named), "\(table)")
        }
    }

    @Test("a selected column is its case in snake case, and its position the case's")
    func selectedColumnNames() {
        #expect(
            TrialResult.ResultColumn.names.prefix(8) == [
                "trial_id", "run_id", "model", "value", "goal", "option_order", "trial", "status",
            ])
        #expect(LetterProbabilities.Column.list("l") == "l.status, l.token_index, l.outside, l.parser_version")
        #expect(
            AnswerRecord.Column.names == [
                "parser_version", "status", "item", "shown_letter", "option", "self", "other", "number",
            ])
        for (name, column) in [
            ("experimentSHA256", "experiment_sha256"), ("trialID", "trial_id"), ("pA", "p_a"),
            ("HTTPStatus", "http_status"), ("latencyMs", "latency_ms"),
        ] {
            #expect(TrialResult.ResultColumn.snakeCase(name) == column)
        }
        #expect(TrialResult.ResultColumn.allCases.enumerated().allSatisfy { $0.offset == $0.element.rawValue })
    }

    @Test(
        "each export carries every column of its tables, or names it as left out with the reason",
        arguments: ExportTable.allCases)
    func everyColumnExported(table: ExportTable) async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("s.sqlite"))
        var header: [String] = []
        _ = try store.export(table, runIDs: [1], header: { header = $0 }, row: { _ in })
        for source in table.sourceTables {
            for column in try await store.columns(of: source) {
                #expect(
                    header.contains(column) || table.excluded[column] != nil,
                    "export \(table.rawValue) drops \(source).\(column) without saying why")
            }
        }
        // What is said to be left out is left out.
        for column in table.excluded.keys where column != "trial_id" { #expect(!header.contains(column), "\(column)") }
    }
}
