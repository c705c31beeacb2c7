import ArgumentParser
import Foundation
import Store

struct DatabaseCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check integrity, foreign keys, schema version, orphan texts and every text's hash, without writing.",
        discussion: """
            Reads the file without writing to it (a read-only or damaged file included) and says what \
            is wrong in words: damage SQLite finds, rows whose parent is missing, message texts no turn \
            uses, texts whose SHA-256 is not the one they are stored under (a text cut short), tallies \
            that no longer match the rows they count (rows deleted or changed by hand), log-probability \
            readings whose letters' rows have a gap, and a schema newer than this hvae. Exits with \
            status 1 when it finds a problem.

            Examples:
              hvae db check
              hvae db check --db results/study.sqlite
            """
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let check = try await reportingErrors { try await ExperimentStore.check(path: database.path) }
        let notChecked = "not checked: SQLite cannot read what it needs"
        if let version = check.schemaVersion {
            let relation =
                version == check.binarySchemaVersion
                ? "current"
                : version < check.binarySchemaVersion
                    ? "older: `hvae db migrate` brings it up to date" : "newer than this hvae"
            print("schema:       \(version) (this hvae: \(check.binarySchemaVersion); \(relation))")
        } else {
            print("schema:       \(notChecked)")
        }
        print(
            "integrity:    \(check.integrityProblems.isEmpty ? "ok" : check.integrityProblems.joined(separator: "; "))")
        print(
            """
            foreign keys: \
            \(check.foreignKeyProblems.map { $0.isEmpty ? "ok" : $0.joined(separator: "; ") } ?? notChecked)
            """
        )
        print("orphan texts: \(check.orphanTexts.map(String.init) ?? notChecked)")
        let hashes = check.mismatchedTexts.map { mismatched in
            mismatched.isEmpty ? "ok" : "\(mismatched.count) text(s) do not match their SHA-256, e.g. \(mismatched[0])"
        }
        print("text hashes:  \(hashes ?? notChecked)")
        let tallies = check.staleTallies.map { stale in
            stale.isEmpty
                ? "ok"
                : "\(stale.joined(separator: ", ")) disagree with the rows stored (rows deleted or changed by hand): "
                    + "the counts `hvae runs`, `show` and the viewer print from them are stale"
        }
        print("tallies:      \(tallies ?? notChecked)")
        let letters = check.incompleteLetters.map { incomplete in
            incomplete.isEmpty
                ? "ok"
                : "\(incomplete.count) reading(s) with letters missing (rows deleted or changed by hand), e.g. "
                    + "\(incomplete[0]): their letters' probabilities are not read"
        }
        print("letters:      \(letters ?? notChecked)")
        if !check.integrityProblems.isEmpty {
            print(
                """
                \(database.path) is damaged: restore it from a copy (or `sqlite3 \(database.path) .recover` to save \
                what can be read)
                """
            )
        }
        if !check.isHealthy { throw ExitCode(1) }
    }
}
