import ArgumentParser
import Foundation
import Store

struct DatabaseVacuumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vacuum",
        abstract: "Fold the write-ahead log into the file and compact it. Run it when no run is writing.",
        discussion: """
            Checks every page first and leaves a damaged file untouched.

            Example:
              hvae db vacuum
            """
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            // VACUUM rewrites every page: a damaged file is left as it is.
            try ExperimentStore.requireIntact(path: database.path)
            let store = try ExperimentStore(path: database.path, create: false)
            let size = { (try? FileManager.default.attributesOfItem(atPath: database.path)[.size] as? Int) ?? 0 }
            let before = size()
            try await store.vacuum()
            print("\(database.path): \(before) bytes before, \(size()) after")
        }
    }
}
