import Analysis
import ArgumentParser
import Domain
import Foundation
import Runner
import Store

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export trials, calls, answers, the VR summary, audit labels or letter probabilities.",
        discussion: """
            Streams one row per trial, call, parsed answer, summary cell, audit label or letter distribution \
            (answer_from: logprobs or both) of the chosen runs (the \
            newest run when none is chosen), so memory does not grow with the number of rows. CSV is \
            RFC 4180 (UTF-8, header row, quoted fields keep commas, quotes and line breaks, CRLF line \
            ends, NULL as an empty field); JSON Lines has one object per line with null for NULL. \
            Numbers keep full precision. The columns are documented in docs/exports.md.

            With -o and --meta, FILE.meta.json records the provenance: run ids, the database file and its \
            SHA-256, the hvae version, the filters and the SQL used.

            Examples:
              hvae export trials -o trials.csv --meta
              hvae export calls --run 3 --format jsonl -o calls.jsonl
              hvae export summary --experiment quickstart > summary.csv
            """
    )

    @Argument(
        help: ArgumentHelp(
            "What to export: \(ExportTable.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "table"))
    var table: ExportTable

    @OptionGroup var selection: RunSelection

    @Option(help: ArgumentHelp("csv or jsonl.", valueName: "format"))
    var format: ExportFormat = .csv

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(help: "Also write FILE.meta.json with the export's provenance (needs -o).")
    var meta = false

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if meta && output == nil {
            throw ValidationError("--meta needs -o FILE: the sidecar is written beside the file")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let (store, runIDs) = try await selection.open(database)
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil),
                    let file = FileHandle(forWritingAtPath: output)
                else {
                    throw UserFacingError(message: "cannot write \(output); check the folder exists and is writable")
                }
                handle = file
            } else {
                handle = FileHandle.standardOutput
            }
            let rows = try Exporter.export(table, runIDs: runIDs, format: format, store: store, to: handle)
            if let output {
                try handle.close()
                if meta {
                    let provenance = ExportProvenance(
                        table: table.rawValue, format: format.rawValue, runIDs: runIDs, rows: rows,
                        database: URL(fileURLWithPath: database.path).standardizedFileURL.path,
                        databaseSHA256: try Digest.sha256Hex(fileAt: database.path), toolVersion: HVAE.version,
                        filters: [
                            "run": selection.runIDs.map(String.init), "experiment": selection.experiments,
                            "all": selection.all ? ["true"] : [],
                        ].filter { !$0.value.isEmpty },
                        sql: table.sql(runCount: runIDs.count), exportedAt: Timestamp.now)
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    try encoder.encode(provenance).write(to: URL(fileURLWithPath: output + ".meta.json"))
                }
                printError(
                    """
                    exported \(rows) \(table.rawValue) row(s) of run(s) \
                    \(runIDs.map(String.init).joined(separator: ", ")) to \(output)
                    """
                )
            }
        }
    }
}
