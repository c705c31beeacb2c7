import Analysis
import ArgumentParser
import Design
import Domain
import Foundation
import Runner
import Store

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run: its experiment, progress, models and VR table.",
        discussion: """
            The run's experiment hash, where and by which hvae it ran, its trials by status and why any \
            failed, per model the calls, retries, errors, tokens, cost, replies cut by the token limit \
            and the model ids the provider reported, the batches of a batch-mode run (round, the \
            provider's id, status, requests), then its VR table. Reads only.

            Example:
              hvae show 1
            """
    )

    @Argument(help: ArgumentHelp("The run id (see `hvae runs`).", valueName: "run"))
    var runID: Int64

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let store = try openForReading(database)
            let run = try await store.run(runID)
            let counts = try await store.trialStatusCounts(runID: runID)
            print("run \(runID): \(run.name)")
            if !run.description.isEmpty { print("  description: \(run.description)") }
            if run.status == .running, !run.isBeingRun {
                print(
                    """
                      status:      running, but its process is gone (killed or crashed); `hvae resume \(runID)` \
                    continues it
                    """
                )
            } else {
                print("  status:      \(run.status.rawValue)")
            }
            if let reason = run.stopReason { print("  stopped:     \(reason)") }
            if run.status == .running, let owner = run.owner {
                print("  owner:       \(owner) (host and pid; last heartbeat \(run.heartbeatAt ?? "-"))")
            }
            print("  seed:        \(run.seed)")
            print("  experiment:  sha256 \(run.experimentSHA256)")
            print("  hvae:        \(run.toolVersion), commit \(run.gitCommit ?? "unknown")")
            print("  machine:     \(run.host ?? "?"), \(run.os ?? "?"), SQLite \(run.sqliteVersion ?? "?")")
            if let original = run.reproducesRunID {
                print(
                    """
                      reproduces:  run \
                    \(original)\(run.replay ? " (replay: every reply served from its stored replies)" : "")
                    """
                )
            }
            print("  created:     \(run.createdAt)")
            print("  started:     \(run.startedAt ?? "-")")
            print("  finished:    \(run.finishedAt ?? "-")")
            let stored = counts.values.reduce(0, +)
            var statusLine = TrialStatus.allCases.compactMap { status in
                counts[status].map { "\($0) \(status.rawValue)" }
            }
            if let planned = run.plannedTrials, planned > stored {
                statusLine.append("\(planned - stored) not started")
            }
            print("  trials:      \(run.plannedTrials ?? stored) (\(statusLine.joined(separator: ", ")))")
            for line in try await failureLines(store: store, runID: runID) { print("    \(line)") }
            let usage = try await store.modelUsage(runID: runID)
            let cutReplies = try await store.cutReplies(runIDs: [runID])
            let experiment = try? Experiment(storedIn: run)
            let apis = Dictionary(
                uniqueKeysWithValues: (experiment?.models ?? []).compactMap { model in
                    model.provider.api.map { (model.name, $0) }
                })
            print("")
            print(
                TextTable.render(
                    header: [
                        "model", "provider", "calls", "cache hits", "retries", "errors", "input tokens",
                        "output tokens", "cost",
                        "cut replies", "reported model ids", "fingerprints",
                    ],
                    rows: usage.map { usage in
                        let cost =
                            apis[usage.model]?.cost(of: usage)
                            .map { String(format: "$%.4f", $0) } ?? "-"
                        let cut = cutReplies.filter { $0.model == usage.model }.map { "\($0.calls) \($0.step)" }
                        return [
                            usage.model, usage.provider, String(usage.calls), String(usage.cacheHits),
                            String(usage.retries),
                            String(usage.errors), String(usage.inputTokens), String(usage.outputTokens), cost,
                            cut.isEmpty ? "0" : cut.joined(separator: ", "), usage.modelIDs ?? "-",
                            usage.fingerprints ?? "-",
                        ]
                    },
                    rightAligned: [2, 3, 4, 5, 6, 7, 8]), terminator: "")
            let batches = try await store.batches(runID: runID)
            if !batches.isEmpty {
                let open = batches.filter { $0.endedAt == nil }.count
                print("")
                let waiting =
                    open == 0
                    ? ""
                    : """
                    , \(open) not ended (`hvae resume \(runID)` waits for them; `hvae batch cancel \(runID)` \
                    cancels them)
                    """
                print("batches: \(batches.count)\(waiting)")
                print(
                    TextTable.render(
                        header: [
                            "round", "model", "provider", "batch", "status", "requests", "succeeded", "failed",
                            "submitted", "ended", "error",
                        ],
                        rows: batches.map { batch in
                            [
                                String(batch.round), batch.model, batch.provider, batch.providerBatchID, batch.status,
                                String(batch.requests), String(batch.succeeded), String(batch.failed),
                                Timestamp.string(batch.submittedAt), batch.endedAt.map(Timestamp.string) ?? "-",
                                batch.error ?? "",
                            ]
                        },
                        rightAligned: [0, 5, 6, 7]), terminator: "")
            }
            print("")
            let report = try await Report.build(store: store, filter: TrialFilter(runIDs: [runID]))
            print(try ReportRenderer.render(report, as: .table), terminator: "")
            if let warning = report.unfinishedWarning { printError(warning) }
        }
    }
}
