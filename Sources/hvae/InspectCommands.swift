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
                let stalled = run.status == .running && !run.isBeingRun
                rows.append([String(run.id!), run.name, stalled ? "stalled" : run.status.rawValue, String(total),
                             String(counts[.complete] ?? 0), String(counts[.incomplete] ?? 0), String(counts[.failed] ?? 0),
                             run.createdAt])
            }
            print(TextTable.render(header: ["id", "name", "status", "trials", "complete", "incomplete", "failed", "created"],
                                   rows: rows, rightAligned: [0, 3, 4, 5, 6]), terminator: "")
            if rows.contains(where: { $0[2] == "stalled" }) {
                print("stalled: stored as running, but its process is gone (killed or crashed); `hvae resume ID` continues it")
            }
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
            if run.status == .running, !run.isBeingRun {
                print("  status:      running, but its process is gone (killed or crashed); `hvae resume \(runID)` continues it")
            } else {
                print("  status:      \(run.status.rawValue)")
            }
            if run.status == .running, let owner = run.owner {
                print("  owner:       \(owner) (host and pid; last heartbeat \(run.heartbeatAt ?? "-"))")
            }
            print("  seed:        \(run.seed)")
            print("  experiment:  sha256 \(run.experimentSha256)")
            print("  hvae:        \(run.toolVersion), commit \(run.gitCommit ?? "unknown")")
            print("  machine:     \(run.host ?? "?"), \(run.os ?? "?"), SQLite \(run.sqliteVersion ?? "?")")
            if let original = run.reproducesRunId {
                print("  reproduces:  run \(original)\(run.replay ? " (replay: every reply served from its stored replies)" : "")")
            }
            print("  created:     \(run.createdAt)")
            print("  started:     \(run.startedAt ?? "-")")
            print("  finished:    \(run.finishedAt ?? "-")")
            let statusLine = TrialStatus.allCases.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }
            print("  trials:      \(counts.values.reduce(0, +)) (\(statusLine.joined(separator: ", ")))")
            for line in try await failureLines(store: store, runID: runID) { print("    \(line)") }
            let models = try await store.pool.read { db in
                try ModelUsage.fetchAll(db, sql: """
                    SELECT t.model, t.provider, count(c.id) AS calls,
                           group_concat(DISTINCT c.provider_model_id) AS model_ids,
                           group_concat(DISTINCT c.system_fingerprint) AS fingerprints,
                           coalesce(sum(c.error IS NOT NULL), 0) AS errors, coalesce(sum(c.retry > 0), 0) AS retries,
                           coalesce(sum(c.cache_hit), 0) AS cache_hits,
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
                header: ["model", "provider", "calls", "cache hits", "retries", "errors", "input tokens", "output tokens", "cost",
                         "reported model ids", "fingerprints"],
                rows: models.map { usage in
                    let cost = prices[usage.model].map { String(format: "$%.4f", (Double(usage.inputTokens) * $0.0 + Double(usage.outputTokens) * $0.1) / 1_000_000) } ?? "-"
                    return [usage.model, usage.provider, String(usage.calls), String(usage.cacheHits), String(usage.retries), String(usage.errors),
                            String(usage.inputTokens), String(usage.outputTokens), cost, usage.modelIds ?? "-",
                            usage.fingerprints ?? "-"]
                },
                rightAligned: [2, 3, 4, 5, 6, 7, 8]), terminator: "")
            print("")
            let report = try await Report.build(store: store, filter: ReportFilter(runIDs: [runID]))
            print(try ReportRenderer.render(report, as: .table), terminator: "")
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
    var fingerprints: String?
    var errors: Int
    var retries: Int
    var cacheHits: Int
    var inputTokens: Int
    var outputTokens: Int
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Mean VR, its spread and confidence interval, angles, hit rate, per group of trials.",
        discussion: """
            Aggregates the trials of the chosen runs (the newest run when none is chosen), filtered and \
            grouped as asked. Per group: trials, incomplete trials, mean VR ± sd, a seeded percentile \
            bootstrap confidence interval of the mean, mean θ, pooled θ (θ of the allocations averaged \
            over trials), category hit rate, share of transitive trials, and mean inequality aversion \
            when the full instrument was used. Means are over complete trials only; incomplete and \
            failed trials are counted, never scored as zero. CSV and JSON keep full precision; the \
            others round to two decimals.

            Examples:
              hvae report                                 the newest run, as a table
              hvae report --all --format latex > vr.tex   every run, booktabs, for \\input
              hvae report --experiment quickstart --layout study --format markdown
              hvae report --run 3 --run 4 --by model,option_order --format csv -o vr.csv
              hvae report --model gpt-4o --value prosocial --goal with --format json
            """
    )

    @OptionGroup var selection: RunSelection

    @Option(name: .customLong("model"), help: ArgumentHelp("Only this model; repeat for several.", valueName: "name"))
    var models: [String] = []

    @Option(name: .customLong("value"), help: ArgumentHelp("Only this assigned value; repeat for several.", valueName: "value"))
    var values: [String] = []

    @Option(name: .customLong("goal"), help: ArgumentHelp("Only this goal condition (with or without).", valueName: "goal"))
    var goals: [String] = []

    @Option(name: .customLong("order"), help: ArgumentHelp("Only this option order; repeat for several.", valueName: "order"))
    var orders: [String] = []

    @Option(name: .customLong("by"), help: ArgumentHelp(
        "Group by these, comma-separated: \(ReportDimension.allCases.map(\.rawValue).joined(separator: ", ")).",
        valueName: "dimensions"))
    var groupBy = "model,value,goal"

    @Option(help: ArgumentHelp("Output format: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "format"))
    var format: ReportFormat = .table

    @Option(help: ArgumentHelp("rows (one row per group) or study (models as rows, the four values as columns).", valueName: "layout"))
    var layout: ReportLayout = .rows

    @Option(help: ArgumentHelp("Bootstrap resamples for the confidence interval.", valueName: "n"))
    var resamples = 10_000

    @Option(name: .customLong("parser-version"), help: ArgumentHelp(
        "Use metrics computed from answers of at most this parser version (default: the newest; see hvae rescore).", valueName: "n"))
    var parserVersion: Int?

    @Option(name: .customLong("formula-version"), help: ArgumentHelp(
        "Use metric formulas of at most this version (default: the newest).", valueName: "n"))
    var formulaVersion: Int?

    @Option(help: ArgumentHelp("Bootstrap seed (stored in JSON output).", valueName: "n"))
    var seed: UInt64 = 20_230_527

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        for name in groupBy.split(separator: ",") where ReportDimension(rawValue: String(name)) == nil {
            throw ValidationError("--by: unknown dimension '\(name)'; use \(ReportDimension.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for value in values where !["altruistic", "prosocial", "individualistic", "competitive"].contains(value) {
            throw ValidationError("--value: unknown value '\(value)'; use altruistic, prosocial, individualistic or competitive")
        }
        for goal in goals where !["with", "without"].contains(goal) {
            throw ValidationError("--goal: use with or without, not '\(goal)'")
        }
        for order in orders where !["original", "reversed", "shuffled"].contains(order) {
            throw ValidationError("--order: use original, reversed or shuffled, not '\(order)'")
        }
        guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1") }
    }

    func run() async throws {
        try await reportingErrors {
            let (store, runIDs) = try await selection.open(database)
            let filter = ReportFilter(runIDs: runIDs, models: models, values: values, goals: goals, optionOrders: orders,
                                      parserVersion: parserVersion, formulaVersion: formulaVersion)
            let options = ReportOptions(groupBy: groupBy.split(separator: ",").compactMap { ReportDimension(rawValue: String($0)) },
                                        resamples: resamples, seed: seed)
            let report = try await Report.build(store: store, filter: filter, options: options)
            guard !report.cells.isEmpty else {
                throw UserFacingError(message: "no trials match these filters in run(s) \(runIDs.map(String.init).joined(separator: ", "))")
            }
            var text = try ReportRenderer.render(report, as: format, layout: layout)
            // Several option orders and no grouping by order: show how much the order matters.
            if !options.groupBy.contains(.optionOrder), try await store.optionOrders(runIDs: runIDs).count > 1 {
                let byOrder = try await Report.build(store: store, filter: filter,
                                                     options: ReportOptions(groupBy: [.model, .optionOrder], resamples: 1))
                if let bias = ReportRenderer.positionBias(byOrder, as: format) {
                    let heading = format == .latex ? "% Position bias: mean VR by option order\n" : "\nPosition bias: mean VR by option order\n"
                    text += heading + bias
                }
            }
            try write(text, to: output)
        }
    }
}

/// Which runs a command reads: --run (repeated), --experiment (repeated), --all, or the newest run.
struct RunSelection: ParsableArguments {
    @Option(name: .customLong("run"), help: ArgumentHelp("A run id; repeat for several.", valueName: "id"))
    var runIDs: [Int64] = []

    @Option(name: .customLong("experiment"), help: ArgumentHelp("Every run of the experiment with this name; repeat for several.", valueName: "name"))
    var experiments: [String] = []

    @Flag(help: "Every run in the database.")
    var all = false

    /// Opens the database, which must exist, and resolves the selection in it.
    func open(_ database: DatabaseOptions) async throws -> (store: ExperimentStore, runIDs: [Int64]) {
        let store = try ExperimentStore(path: database.path, create: false)
        return (store, try await resolve(store, databasePath: database.path))
    }

    /// The selected run ids; the newest run when nothing is selected. Unknown ids are errors.
    func resolve(_ store: ExperimentStore, databasePath: String) async throws -> [Int64] {
        let runs = try await store.runs()
        guard let newest = runs.first?.id else {
            throw UserFacingError(message: "no runs in \(databasePath); start one with `hvae run FILE`")
        }
        if all { return runs.compactMap(\.id).sorted() }
        var ids = Set<Int64>()
        for id in runIDs {
            guard runs.contains(where: { $0.id == id }) else { throw StoreError.unknownRun(id) }
            ids.insert(id)
        }
        for name in experiments {
            let matching = runs.filter { $0.name == name }.compactMap(\.id)
            guard !matching.isEmpty else {
                throw UserFacingError(message: "no run of an experiment named '\(name)'; `hvae runs` lists them")
            }
            ids.formUnion(matching)
        }
        return ids.isEmpty ? [newest] : ids.sorted()
    }
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

extension ReportLayout: ExpressibleByArgument {}
extension ReportFormat: ExpressibleByArgument {}

/// Why a run's trials failed, for people: the three most common errors with their counts, and how
/// to see the rest. Empty when no trial failed.
func failureLines(store: ExperimentStore, runID: Int64) async throws -> [String] {
    let reasons = try await store.failureReasons(runID: runID)
    var lines = reasons.prefix(3).map { "\($0.trials) failed: \($0.error)" }
    if reasons.count > 3 {
        lines.append("(and \(reasons.count - 3) other errors: SELECT error FROM trials WHERE run_id = \(runID) AND status = 'failed')")
    }
    return lines
}
