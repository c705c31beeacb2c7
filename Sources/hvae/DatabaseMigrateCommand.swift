import ArgumentParser
import Foundation
import Store

struct DatabaseMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract:
            "Bring an older database's schema up to this hvae's (every command that writes does it when it opens one).",
        discussion: """
            Checks every page first (SQLite's quick_check) and leaves a damaged file untouched. \
            A current file is not opened for writing at all.

            Example:
              hvae db migrate --db old-study.sqlite
            """
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let before = try ExperimentStore.schemaVersion(of: database.path)
            // Current: nothing to write, so the file is not even opened for writing.
            guard before != ExperimentStore.schemaVersion else {
                print("schema \(before) is current; nothing to do")
                return
            }
            // Migrating a damaged file would spread the damage: check every page first.
            try ExperimentStore.requireIntact(path: database.path)
            _ = try ExperimentStore(path: database.path, create: false)
            print("migrated \(database.path) from schema \(before) to \(ExperimentStore.schemaVersion)")
        }
    }
}
