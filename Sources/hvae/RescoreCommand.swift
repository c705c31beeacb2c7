import ArgumentParser
import Foundation
import Runner
import Store
import SVO

struct RescoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rescore",
        abstract: "Read stored replies again with the current parser and recompute the metrics.",
        discussion: """
            Re-parses every item reply of the chosen runs (the newest run when none is chosen) with \
            this binary's parser (v\(AnswerParser.version)) and recomputes each trial's metrics from \
            those readings with the current formulas. New rows are added beside the old ones, which \
            stay; views and reports use the newest. No model is called. --dry-run writes nothing and \
            lists the replies whose reading would change.

            Examples:
              hvae rescore --dry-run
              hvae rescore --all
            """
    )

    @OptionGroup var selection: RunSelection

    @Flag(help: "List the replies whose reading would change; write nothing.")
    var dryRun = false

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let (store, runIDs) = try await selection.open(database)
            let outcome = try await Rescorer(store: store).rescore(runIDs: runIDs, dryRun: dryRun)
            let runs = runIDs.map(String.init).joined(separator: ", ")
            print("parser v\(AnswerParser.version) read \(outcome.callsRead) replies of run(s) \(runs): \(outcome.changes.count) read differently from the stored reading")
            if dryRun {
                for change in outcome.changes {
                    let excerpt = change.reply.replacingOccurrences(of: "\n", with: " ").prefix(60)
                    print("  call \(change.callID) (trial \(change.trialID), item \(change.item), attempt \(change.attempt)): \(change.before) -> \(change.after)   \"\(excerpt)\"")
                }
                print("dry run: nothing written")
            } else {
                print("rescored \(outcome.trialsScored) trial(s): added \(outcome.answersAdded) answer(s) and \(outcome.metricsAdded) metric row(s); earlier rows are kept")
            }
        }
    }
}
