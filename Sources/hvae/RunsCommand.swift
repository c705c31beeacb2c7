import Analysis
import ArgumentParser
import Foundation
import Store

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs in the database, newest first.",
        discussion: """
            Per run: its status (a run stored as running whose process is gone shows as stalled), the \
            trials it plans, and how many are complete, incomplete and failed. Reads only.

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
            for run in runs {
                let counts = try await store.trialStatusCounts(runID: run.id!)
                let stalled = run.status == .running && !run.isBeingRun
                rows.append([
                    String(run.id!), run.name, stalled ? "stalled" : run.status.rawValue,
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
        }
    }
}
