import ArgumentParser
import Foundation
import Runner

@main
struct HVAECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hvae",
        abstract: "Measure whether language models can pursue an assigned social value.",
        discussion: """
            A model is assigned a social value orientation (altruistic, prosocial, individualistic or \
            competitive), optionally writes itself a goal, then answers the SVO Slider Measure. Its \
            choices give an SVO angle; value rationality (VR, 0 to 60) says how close that angle comes \
            to the assigned value's ideal. Every prompt, reply, parsed answer and score is kept in an \
            SQLite database that you can query with sqlite3 (see docs/schema.md).

            Examples:
              hvae run examples/quickstart.yaml   run an experiment, print VR
              hvae runs                           list the runs in the database
              hvae report --format markdown       the newest run's VR table
              hvae compare model a b --all        two models, value by value
              hvae export calls -o calls.csv      every call, for other tools
              hvae plot radar -o radar.svg        the study's figure

            The database is ./hvae.sqlite unless --db or $HVAE_DB says otherwise. Commands that only \
            read (runs, show, report, compare, export, plot, rescore --dry-run, db check) never write \
            to it, and work on a read-only file.
            """,
        version: "\(HVAE.version) (commit \(HVAE.gitCommit))",
        subcommands: [
            RunCommand.self, ResumeCommand.self, ReproduceCommand.self, RescoreCommand.self, MergeCommand.self,
            RunsCommand.self, ShowCommand.self, ReportCommand.self, CompareCommand.self, ExportCommand.self,
            PlotCommand.self, ViewCommand.self, BatchCommand.self, DatabaseCommand.self,
        ]
    )
}

/// The database option every subcommand shares.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The SQLite database file.",
            discussion: "Defaults to $HVAE_DB, or hvae.sqlite in the working directory.",
            valueName: "path"))
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["HVAE_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "hvae.sqlite"
    }
}

/// A library error as the one-line message the user sees, with a non-zero exit.
struct UserFacingError: Error, CustomStringConvertible {
    let description: String
    init(_ error: any Error) { description = String(describing: error) }
    init(message: String) { description = message }
}

/// Runs `body`, mapping any error to a one-line `UserFacingError`.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as CleanExit {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        throw UserFacingError(error)
    }
}

/// Writes to standard error.
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// Prints a line and flushes standard output at once, so that a line a script waits for (the run
/// id) is out before the first model call, even if the process is killed later.
func announce(_ text: String) {
    print(text)
    fflush(nil)  // every stream: stdout is not concurrency-safe to name in Swift 6
}

/// Writes `text` to a file, or to standard output when `path` is nil.
func write(_ text: String, to path: String?) throws {
    guard let path else {
        print(text, terminator: "")
        return
    }
    do {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        throw UserFacingError(message: "cannot write \(path); check the folder exists and is writable")
    }
}
