import Analysis
import ArgumentParser
import Foundation
import Store

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs in the database, newest first.",
        discussion: """
            Per run: its status (a run stored as running whose process is gone shows as stalled; a \
            batch-mode run whose process waits for a batch as waiting on batch, one whose batches run on \
            at the provider with no process as batch at provider), the trials it plans, and how many \
            are complete, incomplete and failed. Reads only.

            Example:
              hvae runs --db study.sqlite
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let store = try openForReading(database)
            let runs = try await store.runs()
            guard !runs.isEmpty else {
                print("no runs yet in \(database.path); start one with `hvae run FILE`")
                return
            }
            var rows: [[String]] = []
            let openBatches = try await store.openBatchCounts()
            for run in runs {
                let counts = try await store.trialStatusCounts(runID: run.id!)
                let stalled = run.status == .running && !run.isBeingRun
                var status = stalled ? "stalled" : run.status.rawValue
                if openBatches[run.id!, default: 0] > 0 {
                    if run.status == .running && run.isBeingRun {
                        status = "waiting on batch"
                    } else if stalled || run.status == .interrupted {
                        status = "batch at provider"
                    }
                }
                rows.append([
                    String(run.id!), run.name, status,
                    String(run.plannedTrials ?? counts.values.reduce(0, +)), String(counts[.complete] ?? 0),
                    String(counts[.incomplete] ?? 0), String(counts[.failed] ?? 0), run.createdAt,
                ])
            }
            print(
                TextTable.render(
                    header: ["id", "name", "status", "trials", "complete", "incomplete", "failed", "created"],
                    rows: rows, rightAligned: [0, 3, 4, 5, 6]), terminator: "")
            if rows.contains(where: { $0[2] == "stalled" }) {
                print(
                    """
                    stalled: stored as running, but its process is gone (killed or crashed); `hvae resume ID` \
                    continues it
                    """
                )
            }
            if rows.contains(where: { $0[2] == "batch at provider" }) {
                print(
                    """
                    batch at provider: no process runs it, and its batches run on at the provider; `hvae resume \
                    ID` re-attaches to them (`hvae batch cancel ID` cancels them)
                    """
                )
            }
        }
    }
}
