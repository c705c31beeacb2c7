import ArgumentParser
import Foundation
import Store

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Check, migrate or compact the database.",
        subcommands: [CheckCommand.self, MigrateCommand.self, VacuumCommand.self]
    )

    struct CheckCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check integrity, foreign keys, schema version and orphan rows, without writing.",
            discussion: """
                Exits with status 1 when it finds a problem.

                Examples:
                  hvae db check
                  hvae db check --db results/study.sqlite
                """
        )
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let check = try await reportingErrors { try await ExperimentStore.check(path: database.path) }
            let relation = check.schemaVersion == check.binarySchemaVersion ? "current"
                : check.schemaVersion < check.binarySchemaVersion ? "older: `hvae db migrate` brings it up to date" : "newer than this hvae"
            print("schema:       \(check.schemaVersion) (this hvae: \(check.binarySchemaVersion); \(relation))")
            print("integrity:    \(check.integrityProblems.isEmpty ? "ok" : check.integrityProblems.joined(separator: "; "))")
            print("foreign keys: \(check.foreignKeyProblems.isEmpty ? "ok" : check.foreignKeyProblems.joined(separator: "; "))")
            print("orphan texts: \(check.orphanTexts)")
            if !check.isHealthy { throw ExitCode(1) }
        }
    }

    struct MigrateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Bring an older database's schema up to this hvae's (every command does it when it opens one).",
            discussion: """
                Example:
                  hvae db migrate --db old-study.sqlite
                """
        )
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let before = try await ExperimentStore.schemaVersion(of: database.path)
                _ = try ExperimentStore(path: database.path, create: false)
                print(before == ExperimentStore.schemaVersion
                      ? "schema \(before) is current; nothing to do"
                      : "migrated \(database.path) from schema \(before) to \(ExperimentStore.schemaVersion)")
            }
        }
    }

    struct VacuumCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vacuum",
            abstract: "Fold the write-ahead log into the file and compact it. Run it when no run is writing.",
            discussion: """
                Example:
                  hvae db vacuum
                """
        )
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let store = try ExperimentStore(path: database.path, create: false)
                let size = { (try? FileManager.default.attributesOfItem(atPath: database.path)[.size] as? Int) ?? 0 }
                let before = size()
                try await store.vacuum()
                print("\(database.path): \(before) bytes before, \(size()) after")
            }
        }
    }
}
