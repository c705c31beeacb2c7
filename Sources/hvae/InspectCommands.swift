import Analysis
import ArgumentParser
import Foundation
import GRDB
import Runner
import Store

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs in the database, newest first.",
        discussion: """
            Example:
              hvae runs --db study.sqlite
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let store = try ExperimentStore(path: database.path, create: false)
            let runs = try await store.runs()
            guard !runs.isEmpty else {
                print("no runs yet in \(database.path); start one with `hvae run FILE`")
                return
            }
            var rows: [[String]] = []
            for run in runs {
                let counts = try await store.trialStatusCounts(runID: run.id!)
                let total = counts.values.reduce(0, +)
                rows.append([String(run.id!), run.name, run.status.rawValue, String(total),
                             String(counts[.complete] ?? 0), String(counts[.incomplete] ?? 0), String(counts[.failed] ?? 0),
                             run.createdAt])
            }
            print(TextTable.render(header: ["id", "name", "status", "trials", "complete", "incomplete", "failed", "created"],
                                   rows: rows, rightAligned: [0, 3, 4, 5, 6]), terminator: "")
        }
    }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run: its experiment, progress, models and VR table.",
        discussion: """
            Example:
              hvae show 1
            """
    )

    @Argument(help: ArgumentHelp("The run id (see `hvae runs`).", valueName: "run"))
    var runID: Int64

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let store = try ExperimentStore(path: database.path, create: false)
            let run = try await store.run(runID)
            let counts = try await store.trialStatusCounts(runID: runID)
            print("run \(runID): \(run.name)")
            if !run.description.isEmpty { print("  description: \(run.description)") }
            print("  status:      \(run.status.rawValue)")
            print("  seed:        \(run.seed)")
            print("  experiment:  sha256 \(run.experimentSha256)")
            print("  hvae:        \(run.toolVersion)")
            print("  created:     \(run.createdAt)")
            print("  started:     \(run.startedAt ?? "-")")
            print("  finished:    \(run.finishedAt ?? "-")")
            let statusLine = TrialStatus.allCases.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }
            print("  trials:      \(counts.values.reduce(0, +)) (\(statusLine.joined(separator: ", ")))")
            let models = try await store.pool.read { db in
                try ModelUsage.fetchAll(db, sql: """
                    SELECT t.model, t.provider, count(c.id) AS calls,
                           group_concat(DISTINCT c.provider_model_id) AS model_ids,
                           coalesce(sum(c.error IS NOT NULL), 0) AS errors, coalesce(sum(c.retry > 0), 0) AS retries,
                           coalesce(sum(c.input_tokens), 0) AS input_tokens, coalesce(sum(c.output_tokens), 0) AS output_tokens
                    FROM trials AS t LEFT JOIN model_calls AS c ON c.trial_id = t.id
                    WHERE t.run_id = ? GROUP BY t.model ORDER BY min(t.id)
                    """, arguments: [runID])
            }
            let experiment = try? ExperimentRunner(store: store).experiment(of: run)
            let prices = Dictionary(uniqueKeysWithValues: (experiment?.models ?? []).compactMap { model in
                model.provider.api.flatMap { api in
                    api.priceInput.flatMap { input in api.priceOutput.map { (model.name, (input, $0)) } }
                }
            })
            print("")
            print(TextTable.render(
                header: ["model", "provider", "calls", "retries", "errors", "input tokens", "output tokens", "cost", "reported model ids"],
                rows: models.map { usage in
                    let cost = prices[usage.model].map { String(format: "$%.4f", (Double(usage.inputTokens) * $0.0 + Double(usage.outputTokens) * $0.1) / 1_000_000) } ?? "-"
                    return [usage.model, usage.provider, String(usage.calls), String(usage.retries), String(usage.errors),
                            String(usage.inputTokens), String(usage.outputTokens), cost, usage.modelIds ?? "-"]
                },
                rightAligned: [2, 3, 4, 5, 6, 7]), terminator: "")
            print("")
            let report = try await VRReport.build(store: store, runIDs: [runID])
            print(ReportRenderer.render(report, as: .table), terminator: "")
        }
    }
}

/// Calls per model of one run, for `hvae show`.
struct ModelUsage: Decodable, Sendable, FetchableRecord {
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    var model: String
    var provider: String
    var calls: Int
    var modelIds: String?
    var errors: Int
    var retries: Int
    var inputTokens: Int
    var outputTokens: Int
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Mean VR ± sd per model, value and goal condition.",
        discussion: """
            Aggregates the trials of the chosen runs (the newest run when none is given). Means are \
            over complete trials only; incomplete and failed trials are counted, never scored as zero.

            Examples:
              hvae report                              the newest run, as an aligned table
              hvae report --run 3 --run 4 --format csv > vr.csv
              hvae report --format markdown            ready to paste
              hvae report --format json                full precision, for scripts
            """
    )

    @Option(name: .customLong("run"), help: ArgumentHelp("A run id to include; repeat for several.", valueName: "id"))
    var runIDs: [Int64] = []

    @Option(help: ArgumentHelp("Output format: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "format"))
    var format: ReportFormat = .table

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let store = try ExperimentStore(path: database.path, create: false)
            var ids = runIDs
            if ids.isEmpty {
                guard let newest = try await store.runs().first?.id else {
                    throw UserFacingError(message: "no runs in \(database.path); start one with `hvae run FILE`")
                }
                ids = [newest]
            }
            for id in ids { _ = try await store.run(id) }
            let report = try await VRReport.build(store: store, runIDs: ids)
            print(ReportRenderer.render(report, as: format), terminator: "")
        }
    }
}

extension ReportFormat: ExpressibleByArgument {}
