import ArgumentParser
import Foundation
import Store

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Check, migrate or compact the database.",
        subcommands: [DatabaseCheckCommand.self, DatabaseMigrateCommand.self, DatabaseVacuumCommand.self]
    )
}
