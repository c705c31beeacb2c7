import Analysis
import Foundation
import Store

/// `hvae view --bundle DIR`: the viewer's pages for some runs as a folder of static files (HTML,
/// CSS, SVG) that opens from disk with no server and no network, for a paper's supplementary
/// material: the runs page, each run's page and figures, every trial's page, and the audit's
/// agreement.
public enum ViewerBundle {
    public struct Outcome: Sendable, Equatable {
        public var files = 0
        public var bytes = 0
    }

    /// Writes the pages of runs `runIDs` (every run when empty) into `folder`, creating it.
    /// `progress` hears of every file written.
    public static func write(
        store: ExperimentStore, runIDs: [Int64], to folder: URL, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> Outcome {
        let links = Links(.bundle)
        let site = ViewerSite(store: store, links: links) { throw StoreError.readOnlyFile(path: store.path) }
        let all = try await store.runs()
        let chosen = runIDs.isEmpty ? all.compactMap(\.id) : runIDs
        for id in chosen { _ = try await store.run(id) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var outcome = Outcome()
        func save(_ name: String, _ text: String) throws {
            let data = Data(text.utf8)
            try data.write(to: folder.appending(path: name), options: .atomic)
            outcome.files += 1
            outcome.bytes += data.count
            progress(outcome.files)
        }
        try save("style.css", Stylesheet.css)
        let runs = all.filter { chosen.contains($0.id!) }
        var rows: [[String]] = []
        for run in runs { rows.append(try await RunSummary.load(site, run).cells(links)) }
        try save(
            "index.html",
            Page(
                title: "Runs",
                body: Markup.table(
                    header: RunSummary.header, rows: rows, numeric: [4, 5, 6, 7, 8, 9, 10, 11], id: "runs")
            ).html(links))
        let mark = try await store.changeMark()
        for id in chosen {
            try save("run-\(id).html", try await RunPage.render(site, run: id, query: Query(), mark: mark).html(links))
            if try await store.trialStatusCounts(runID: id).values.reduce(0, +) > 0 {
                for figure in ["radar", "ring"] {
                    let svg = try await RunPage.figure(site, run: id, name: figure + ".svg", mark: mark)
                    try save("run-\(id)-\(figure).svg", svg)
                }
            }
            var after: Int64 = 0
            while true {
                let trials = try await store.trials(runID: id, afterID: after, limit: 500)
                guard let last = trials.last?.id else { break }
                for trial in trials {
                    try save("trial-\(trial.id!).html", try await TrialPage.render(site, trial: trial.id!).html(links))
                }
                after = last
            }
        }
        try save(
            "audit.html",
            try await AuditPage.render(site, Query(chosen.map { ("run", String($0)) })).html(links))
        return outcome
    }
}
