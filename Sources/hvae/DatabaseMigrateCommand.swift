import ArgumentParser
import Foundation
import Store

struct DatabaseMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring an older database's schema up to this hvae's (every command that writes does it when it opens one).",
        discussion: """
            Example:
              hvae db migrate --db old-study.sqlite
            """
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let before = try ExperimentStore.schemaVersion(of: database.path)
            _ = try ExperimentStore(path: database.path, create: false)
            print(before == ExperimentStore.schemaVersion
                  ? "schema \(before) is current; nothing to do"
                  : "migrated \(database.path) from schema \(before) to \(ExperimentStore.schemaVersion)")
        }
    }
}
