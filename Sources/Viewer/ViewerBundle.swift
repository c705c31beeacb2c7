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

    /// The list of the files a bundle wrote, in its folder: what the next bundle into the folder
    /// removes first, so that it holds only the pages it links.
    static let manifestName = ".hvae-bundle"

    /// A folder that holds files no bundle of hvae wrote: a bundle does not write there.
    public struct ForeignFiles: Error, CustomStringConvertible {
        public var folder: String
        public var files: [String]
        public var description: String {
            let shown = files.prefix(3).joined(separator: ", ") + (files.count > 3 ? ", …" : "")
            return """
                \(folder) holds files hvae did not write (\(shown)); give a new or empty folder, or one an earlier \
                `hvae view --bundle` wrote
                """
        }
    }

    /// Makes `folder` ready for a bundle: created if missing; the files an earlier bundle wrote
    /// there (its manifest's) removed; refused when it holds any other file.
    static func prepare(_ folder: URL) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        let manifest = folder.appending(path: manifestName)
        let listed = Set(
            ((try? String(contentsOf: manifest, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        let present = try manager.contentsOfDirectory(atPath: folder.path).filter { $0 != manifestName }
        let foreign = present.filter { !listed.contains($0) }.sorted()
        guard foreign.isEmpty else { throw ForeignFiles(folder: folder.path, files: foreign) }
        for name in present { try manager.removeItem(at: folder.appending(path: name)) }
        try Data().write(to: manifest)
    }

    /// Writes the pages of runs `runIDs` (every run when empty) into `folder`, creating it; the
    /// pages of an earlier bundle there are removed first (`prepare`). `progress` hears of every
    /// file written.
    public static func write(
        store: ExperimentStore, runIDs: [Int64], to folder: URL, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> Outcome {
        let links = Links(.bundle)
        let site = ViewerSite(store: store, links: links) { throw StoreError.readOnlyFile(path: store.path) }
        let all = try await store.runs()
        let chosen = runIDs.isEmpty ? all.compactMap(\.id) : runIDs
        for id in chosen { _ = try await store.run(id) }
        try prepare(folder)
        let manifest = try FileHandle(forWritingTo: folder.appending(path: manifestName))
        defer { try? manifest.close() }
        var outcome = Outcome()
        func save(_ name: String, _ text: String) throws {
            let data = Data(text.utf8)
            // Listed before it is written: a bundle stopped half way is still all hvae's.
            try manifest.write(contentsOf: Data((name + "\n").utf8))
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
                for figure in RunPage.figureNames(try await site.trialResults(run: id, mark: mark)) {
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
