import ArgumentParser
import Foundation
import Runner
import Store

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Manage the provider batches of a batch-mode run.",
        discussion: """
            A model with `batch: true` (or `hvae run --batch`) sends its calls through the provider's \
            batch API in rounds; `hvae show RUN` lists the run's batches. Ctrl-C or a kill leaves them \
            running at the provider, where they are billed as they complete: `hvae resume RUN` \
            re-attaches to them, `hvae batch cancel RUN` cancels them.

            Example:
              hvae batch cancel 3
            """,
        subcommands: [Cancel.self]
    )

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel at the provider every batch of a run that has not ended.",
            discussion: """
                Uses the API keys the run's models name (from the environment, as `hvae run` does). Requests \
                a batch already completed are kept when the run is resumed; the cancelled ones are \
                submitted again by `hvae resume RUN`.

                Example:
                  OPENAI_API_KEY=... hvae batch cancel 3 --db study.sqlite
                """)

        @Argument(help: ArgumentHelp("The run id (see `hvae runs`).", valueName: "run"))
        var runID: Int64

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let store = try ExperimentStore(path: database.path, create: false)
                let outcomes = try await withNetwork(concurrency: 1) { transport in
                    try await BatchCancellation.cancel(runID: runID, store: store, transport: transport)
                }
                guard !outcomes.isEmpty else {
                    print("run \(runID) has no batch that has not ended: nothing to cancel")
                    return
                }
                var failed = 0
                for outcome in outcomes {
                    switch outcome.result {
                    case .success(let status):
                        print("batch \(outcome.batch.providerBatchID) (round \(outcome.batch.round)): \(status)")
                    case .failure(let error):
                        failed += 1
                        printError("batch \(outcome.batch.providerBatchID): not cancelled: \(error)")
                    }
                }
                if failed > 0 { throw ExitCode(1) }
            }
        }
    }
}
