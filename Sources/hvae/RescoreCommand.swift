import ArgumentParser
import Foundation
import Runner
import SVO
import Store

struct RescoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rescore",
        abstract: "Read stored replies again with the current parser and recompute the metrics.",
        discussion: """
            Re-parses every item reply of the chosen runs (the newest run when none is chosen) with \
            this binary's parser (v\(AnswerParser.version)) and scores each trial again from those readings \
            with the current formulas (v\(Scorer.formulaVersion)), through the same scorer a run uses. New \
            answers and scores are added beside the old ones, which stay; views and reports use the \
            newest (`hvae report --parser-version N --formula-version N` reads older ones). No model is \
            called. --dry-run writes nothing and lists the replies whose reading would change.

            Examples:
              hvae rescore --dry-run
              hvae rescore --all
            """
    )

    @OptionGroup var selection: RunSelection

    @Flag(help: "List the replies whose reading would change; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("With --dry-run, list at most this many changed replies.", valueName: "n"))
    var shown = 200

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            // A dry run only reads; a rescore writes, so it opens the file for writing (and migrates it).
            let store = dryRun ? try openForReading(database) : try ExperimentStore(path: database.path, create: false)
            let runIDs = try await selection.resolve(store, databasePath: database.path)
            let outcome = try await Rescorer(store: store).rescore(runIDs: runIDs, dryRun: dryRun)
            let runs = runIDs.map(String.init).joined(separator: ", ")
            print(
                """
                parser v\(AnswerParser.version) read \(outcome.callsRead) replies of run(s) \(runs): \
                \(outcome.changeCount) read differently from the stored reading
                """
            )
            if dryRun {
                for change in outcome.changes.prefix(shown) {
                    let excerpt = change.reply.replacingOccurrences(of: "\n", with: " ").prefix(60)
                    print(
                        """
                          call \(change.callID) (trial \(change.trialID), item \(change.item), attempt \
                        \(change.attempt)): \(change.before) -> \(change.after)   \"\(excerpt)\"
                        """
                    )
                }
                if outcome.changeCount > shown {
                    print("  (and \(outcome.changeCount - shown) more; --show N lists more)")
                }
                print("dry run: nothing written")
            } else {
                print(
                    """
                    rescored \(outcome.trialsScored) trial(s) with parser v\(AnswerParser.version) and scoring \
                    formulas v\(Scorer.formulaVersion): added \(outcome.answersAdded) answer(s); earlier answers and \
                    scores are kept
                    """
                )
            }
        }
    }
}
