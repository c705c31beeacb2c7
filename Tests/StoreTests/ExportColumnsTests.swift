import Foundation
import GRDB
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
