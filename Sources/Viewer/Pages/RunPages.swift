import Analysis
import Design
import Domain
import Foundation
import SVO
import Store

/// The runs page: every run, newest first, with its progress, calls, tokens and cost.
enum RunsPage {
    static func render(_ site: ViewerSite) async throws -> Page {
        let runs = try await site.store.runs()
        guard !runs.isEmpty else {
            return Page(title: "Runs", body: "<p>No runs yet. Start one with <code>hvae run FILE</code>.</p>")
        }
        var rows: [[String]] = []
        for run in runs {
            rows.append(try await RunSummary.load(site, run).cells(site.links))
        }
        return Page(
            title: "Runs",
            body: Markup.table(header: RunSummary.header, rows: rows, numeric: [4, 5, 6, 7, 8, 9, 10, 11], id: "runs"))
    }
}

/// One run's line of the runs page.
struct RunSummary {
    var run: RunRecord
    var counts: [TrialStatus: Int]
    var usage: [ModelUsage]
    var cost: Double?

    static let header = [
        "id", "name", "status", "models", "trials", "complete", "incomplete", "failed", "calls", "input tokens",
        "output tokens", "cost", "started", "finished", "hvae",
    ]

    static func load(_ site: ViewerSite, _ run: RunRecord) async throws -> RunSummary {
        let counts = try await site.store.trialStatusCounts(runID: run.id!)
        let usage = try await site.store.modelUsage(runID: run.id!)
        return RunSummary(run: run, counts: counts, usage: usage, cost: cost(usage, site.experiment(of: run)))
    }

    /// The run's cost in dollars: each model's prices times its tokens; nil when no model has prices.
    static func cost(_ usage: [ModelUsage], _ experiment: Experiment?) -> Double? {
        experiment?.cost(of: usage)
    }

    /// running, interrupted, finished, failed, pending; `stalled` for a run stored as running
    /// whose process is gone.
    var status: String { run.status == .running && !run.isBeingRun ? "stalled" : run.status.rawValue }

    func cells(_ links: Links) -> [String] {
        let id = run.id!
        let stored = counts.values.reduce(0, +)
        return [
            Markup.link(String(id), links.run(id)), Markup.link(run.name, links.run(id)),
            "<span class=\"status \(status)\">\(status)</span>",
            HTML.escape(usage.map(\.model).joined(separator: ", ")),
            Markup.count(run.plannedTrials ?? stored), Markup.count(counts[.complete] ?? 0),
            Markup.count(counts[.incomplete] ?? 0), Markup.count(counts[.failed] ?? 0),
            Markup.count(usage.map(\.calls).reduce(0, +)), Markup.count(usage.map(\.inputTokens).reduce(0, +)),
            Markup.count(usage.map(\.outputTokens).reduce(0, +)), cost.map { String(format: "$%.4f", $0) } ?? "–",
            Markup.time(run.startedAt), Markup.time(run.finishedAt),
            HTML.escape("\(run.toolVersion) \(run.gitCommit.map { String($0.prefix(10)) } ?? "")"),
        ]
    }
}

/// One run: its experiment, the study table, the figures, position bias, failures, models and trials.
enum RunPage {
    /// Trials listed per page of a run.
    static let trialsPerPage = 200

    /// `mark`: the database's change mark, read before the page (`ExperimentStore.changeMark`).
    static func render(_ site: ViewerSite, run id: Int64, query: Query, mark: String) async throws -> Page {
        let store = site.store
        let links = site.links
        let run = try await store.run(id)
        let summary = try await RunSummary.load(site, run)
        var body = Markup.definitions([
            ("status", "<span class=\"status \(summary.status)\">\(summary.status)</span>"),
            ("description", HTML.escape(run.description.isEmpty ? "–" : run.description)),
            ("stopped", HTML.escape(run.stopReason ?? "–")),
            ("seed", String(run.seed)),
            ("experiment sha256", "<code>\(run.experimentSHA256)</code>"),
            ("hvae", HTML.escape("\(run.toolVersion), commit \(run.gitCommit ?? "unknown")")),
            ("machine", HTML.escape("\(run.host ?? "?"), \(run.os ?? "?"), SQLite \(run.sqliteVersion ?? "?")")),
            (
                "created · started · finished",
                HTML.escape("\(run.createdAt) · \(run.startedAt ?? "–") · \(run.finishedAt ?? "–")")
            ),
            (
                "trials",
                HTML.escape(
                    "\(run.plannedTrials ?? summary.counts.values.reduce(0, +)) planned: "
                        + TrialStatus.allCases.compactMap { s in summary.counts[s].map { "\($0) \(s.rawValue)" } }
                        .joined(separator: ", "))
            ),
            ("cost", summary.cost.map { String(format: "$%.4f", $0) } ?? "– (no prices in the experiment)"),
        ])
        if let calls = links.calls([("run", String(id))]) {
            body +=
                "<p>\(Markup.link("Every call of this run", calls)) · "
                + Markup.link(
                    "its unreadable replies",
                    links.calls(
                        [("run", String(id))]
                            + ["ambiguous", "no_option", "conflict", "refusal", "empty"].map {
                                ("status", $0)
                            })) + "</p>\n"
        }

        // The study table and the rows with intervals: the numbers of `hvae report`.
        let filter = TrialFilter(runIDs: [id])
        let trials = try await site.trialResults(run: id, mark: mark)
        body += "<h2 id=\"results\">Value rationality</h2>\n"
        if trials.isEmpty {
            body += "<p>No trials stored yet.</p>\n"
        } else {
            let baselines = Experiment.randomBaselines(of: [run])
            // Targets: how far each model moves as its target moves (hvae report --steerability). A
            // run told targets only is led by it: it has no value for a radar or the study's table.
            let named = trials.contains { $0.key.value != nil }
            // One section per instrument: their angles and VRs are never pooled.
            let instruments = Instruments.names.filter { name in trials.contains { $0.key.instrument == name } }
            var steering = ""
            if trials.contains(where: { $0.key.value == nil }) {
                for instrument in instruments {
                    let own = instruments.count > 1 ? trials.filter { $0.key.instrument == instrument } : trials
                    guard let steer = Steerability.build(own) else { continue }
                    steering += "<h2>Steerability\(instruments.count > 1 ? " on " + instrument : "")</h2>\n"
                    steering += steer.render(as: .html) + "<figure>" + SteerChart.svg(steer, baselines: baselines)
                    steering += "<figcaption>Mean angle against each target's ideal angle (hvae plot steer"
                    steering += instruments.count > 1 ? " --instrument \(instrument))" : ")"
                    steering += "</figcaption></figure>\n"
                }
            }
            if !named { body += steering }
            for instrument in instruments {
                let own = instruments.count > 1 ? trials.filter { $0.key.instrument == instrument } : trials
                if instruments.count > 1 { body += "<h3 id=\"instrument-\(instrument)\">\(instrument)</h3>\n" }
                let report = Report.build(own, filter: filter, memo: site.intervals)
                // The study's table has the four named values as columns: only for trials told them.
                if named {
                    body += try ReportRenderer.render(report, as: .html, layout: .study, baselines: baselines)
                }
                body += "<details><summary>By cell, with confidence intervals and angles</summary>\n"
                body += try ReportRenderer.render(report, as: .html, layout: .rows) + "</details>\n"
                guard named else { continue }
                let suffix = instruments.count > 1 ? "-" + instrument : ""
                body += "<div class=\"figures\">"
                body += "<figure><img src=\"\(HTML.escape(links.figure(id, "radar" + suffix)))\" "
                body += "alt=\"Radar chart of mean VR\"><figcaption>Mean VR per model (hvae plot radar)</figcaption>"
                body += "</figure><figure><img src=\"\(HTML.escape(links.figure(id, "ring" + suffix)))\" "
                body += "alt=\"SVO ring of trial angles\"><figcaption>Each complete trial's angle (hvae plot ring)"
                body += "</figcaption></figure></div>\n"
            }
            if named { body += steering }
            // Counting the answers reads every item reply: only when there is a bias to measure.
            if PositionBias.applies(to: trials),
                let bias = PositionBias.build(trials, answers: try await store.answerCounts(filter))
            {
                body += "<h2>Position bias</h2>\n" + bias.render(as: .html)
            }
        }

        let failures = try await store.failureReasons(runID: id)
        if !failures.isEmpty {
            body +=
                "<h2>Failed trials</h2>\n"
                + Markup.table(
                    header: ["trials", "error"],
                    rows: failures.map { [String($0.trials), "<pre class=\"text\">\(HTML.escape($0.error))</pre>"] },
                    numeric: [0])
        }
        body += "<h2>Models</h2>\n"
        body += Markup.table(
            header: [
                "model", "provider", "calls", "cache hits", "retries", "errors", "input tokens", "output tokens",
                "reported model ids",
            ],
            rows: summary.usage.map { u in
                [
                    HTML.escape(u.model), HTML.escape(u.provider), Markup.count(u.calls), Markup.count(u.cacheHits),
                    Markup.count(u.retries), Markup.count(u.errors), Markup.count(u.inputTokens),
                    Markup.count(u.outputTokens), HTML.escape(u.modelIDs ?? "–"),
                ]
            }, numeric: [2, 3, 4, 5, 6, 7])

        body += try await trialList(site, run: id, after: query.first("after").flatMap(Int64.init) ?? 0)
        body += "<h2>Experiment</h2>\n<p>As stored (canonical JSON, every default filled in; its SHA-256 above).</p>\n"
        body += "<pre class=\"text\">\(HTML.escape(prettyJSON(run.experimentJSON)))</pre>\n"
        return Page(title: "Run \(id): \(run.name)", body: body)
    }

    static func trialList(_ site: ViewerSite, run: Int64, after: Int64) async throws -> String {
        let links = site.links
        let limit = links.isServer ? trialsPerPage : Int.max
        let page = try await site.store.trials(
            runID: run, afterID: after, statuses: [], limit: limit == .max ? .max : limit + 1)
        let shown = page.prefix(limit)
        var results: [Int64: TrialResult] = [:]
        if let first = shown.first?.id, let last = shown.last?.id {
            for result in try await site.store.trialResults(TrialFilter(runIDs: [run]), ids: first...last) {
                results[result.trialID] = result
            }
        }
        var html = "<h2 id=\"trials\">Trials</h2>\n"
        // The instrument column only where there is something to tell: a trial of another than the slider.
        let instruments = shown.contains { $0.key.instrument != Instruments.defaultName }
        html += Markup.table(
            header: ["trial", "model", "value", "goal", "order", "#"] + (instruments ? ["instrument"] : [])
                + ["status", "angle", "VR", "error"],
            rows: shown.map { trial in
                let result = results[trial.id!]
                let status = result?.status ?? trial.status
                return [
                    Markup.link(String(trial.id!), links.trial(trial.id!)), HTML.escape(trial.key.model),
                    trial.key.assignment.label, trial.key.goal.rawValue, trial.key.optionOrder.rawValue,
                    String(trial.key.index),
                ] + (instruments ? [HTML.escape(trial.key.instrument)] : []) + [
                    "<span class=\"status \(status.rawValue)\">\(status.rawValue)</span>",
                    Markup.number(result?.angle), Markup.number(result?.vr),
                    HTML.escape(String((trial.error ?? "").prefix(120))),
                ]
            }, numeric: instruments ? [0, 5, 8, 9] : [0, 5, 7, 8])
        if page.count > shown.count, let last = shown.last?.id, let next = links.runTrials(run, after: last) {
            html += "<p class=\"pager\">\(Markup.link("Next \(trialsPerPage) trials →", next))</p>\n"
        }
        return html
    }

    /// The figures of a run with these trials: `radar` and `ring`, or with several instruments
    /// `radar-INSTRUMENT` and `ring-INSTRUMENT` for each.
    /// None for a run told targets only: it has no value for a radar, and its page leads with steerability.
    static func figureNames(_ trials: [TrialResult]) -> [String] {
        guard trials.contains(where: { $0.key.value != nil }) else { return [] }
        let instruments = Instruments.names.filter { name in trials.contains { $0.key.instrument == name } }
        let suffixes = instruments.count > 1 ? instruments.map { "-" + $0 } : [""]
        return suffixes.flatMap { ["radar" + $0, "ring" + $0] }
    }

    /// The radar or ring figure of one run (`NAME.svg` of `figureNames`): the SVG `hvae plot` writes.
    static func figure(_ site: ViewerSite, run id: Int64, name: String, mark: String) async throws -> String {
        _ = try await site.store.run(id)
        var trials = try await site.trialResults(run: id, mark: mark)
        guard name.hasSuffix(".svg"), figureNames(trials).contains(String(name.dropLast(4))) else {
            throw PageError.notFound("Run \(id) has no figure \(name).")
        }
        let kind = name.hasPrefix("ring") ? "ring" : "radar"
        let instrument = name.dropLast(4).dropFirst(kind.count + 1)
        if !instrument.isEmpty { trials = trials.filter { $0.key.instrument == instrument } }
        if kind == "ring" { return RingChart.svg(RingChart.points(trials)) }
        return try RadarChart.svg(
            Report.build(trials, filter: TrialFilter(runIDs: [id]), options: ReportOptions(resamples: 1)))
    }

    static func prettyJSON(_ text: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return text }
        return String(decoding: data, as: UTF8.self)
    }
}
