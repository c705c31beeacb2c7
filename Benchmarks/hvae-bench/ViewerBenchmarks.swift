import Foundation
import Store
import Viewer

/// The viewer's pages on a large database (`hvae-bench scale` makes one): the time each page takes
/// from the request to the finished HTML (the HTTP server adds a copy and a write). The first
/// request renders the page, and is what the target is for; later ones, while the database is
/// unchanged, are served from the viewer's memory (their median of five is shown too). Then the
/// memory of paging through calls.
func benchmarkViewer(path: String) async throws {
    let store = try ExperimentStore.openForReading(path: path)
    let site = ViewerSite(store: store, links: Links(.server)) { throw StoreError.readOnlyFile(path: path) }
    let run = try await store.runs().first!.id!
    let trials = try await store.trials(runID: run, afterID: 0, limit: 1)
    let lastTrial = try await store.trialStatusCounts(runID: run).values.reduce(0, +)
    let middle = Int64(lastTrial / 2)
    let pages: [(String, Double)] = [
        ("/", 0.3), ("/runs/\(run)", 0.3), ("/trials/\(trials.first!.id!)", 0.3), ("/trials/\(middle)", 0.3),
        ("/runs/\(run)/radar.svg", 0.3), ("/runs/\(run)/ring.svg", 0.3),
        ("/calls", 0.15), ("/calls?after=\(middle * 8)", 0.15), ("/calls?status=ambiguous", 0.15),
        ("/calls?status=no_option&step=item&attempt=2", 0.15), ("/calls?q=option", 0.15),
        ("/calls?q=refuse", 0.15), ("/calls?q=%22I+choose%22&status=ok", 0.15),
        ("/calls?q=zzzznotaword", 0.15), ("/compare?trial_a=1&trial_b=2", 0.3), ("/audit", 0.3),
        ("/audit?labeler=x&per=20&seed=2", 0.3),
    ]
    line("viewer pages on \(path): rendered (the target is for this), then again from memory (median of 5)")
    for (page, target) in pages {
        let parts = page.split(separator: "?", maxSplits: 1)
        let query = Query(parsing: parts.count > 1 ? parts[1] : "")
        var times: [Double] = []
        var status = 0
        var bytes = 0
        for _ in 0..<6 {
            let start = ContinuousClock.now
            let response = await site.respond(path: String(parts[0]), query: query)
            times.append(seconds(ContinuousClock.now - start))
            status = response.status
            bytes = response.body.utf8.count
        }
        let steady = median(Array(times.dropFirst()))
        line(
            String(
                format: "  %-46@ %3d %8d B  rendered %6.3f s (< %.2f s: %@)  again %6.3f s", page as NSString,
                status, bytes, times[0], target, times[0] < target ? "met" : "NOT MET", steady))
    }
    // The figures above reuse the trials the run page read (as a browser asks for them right
    // after the page); each alone, on a site that has read nothing:
    for figure in ["radar.svg", "ring.svg"] {
        let alone = ViewerSite(store: store, links: Links(.server)) { throw StoreError.readOnlyFile(path: path) }
        let start = ContinuousClock.now
        let response = await alone.respond(path: "/runs/\(run)/\(figure)", query: Query())
        let time = seconds(ContinuousClock.now - start)
        line(
            String(
                format: "  alone, before any run page: /runs/%lld/%@ %d, rendered %.3f s (< 0.30 s: %@)", run,
                figure as NSString, response.status, time, time < 0.3 ? "met" : "NOT MET"))
    }
    // A run in progress changes the database with every call, so every page is rendered again;
    // the intervals of cells whose trials did not change are remembered (here: a fresh site that
    // shares the first one's memo, as `hvae view` keeps its memo across changes).
    let changed = ViewerSite(store: store, links: Links(.server), intervals: site.intervals) {
        throw StoreError.readOnlyFile(path: path)
    }
    let changedStart = ContinuousClock.now
    let again = await changed.respond(path: "/runs/\(run)", query: Query())
    let rerendered = seconds(ContinuousClock.now - changedStart)
    let first = await site.respond(path: "/runs/\(run)", query: Query())
    line(
        String(
            format:
                """
                  run page rendered again, every cell's interval remembered (a fresh site sharing the \
                memo, as after a change of the database): %.3f s (< 0.30 s: %@); the same page: %@
                """,
            rerendered, rerendered < 0.3 ? "met" : "NOT MET", again.body == first.body ? "yes" : "NO"))
    // What `hvae view` does when it starts: render the costliest pages ahead, on a fresh site.
    let fresh = ViewerSite(store: store, links: Links(.server)) { throw StoreError.readOnlyFile(path: path) }
    let warmStart = ContinuousClock.now
    let warmed = await fresh.warm()
    let warmUp = seconds(ContinuousClock.now - warmStart)
    var slowest = 0.0
    for page in ["/", "/runs/\(run)", "/runs/\(run)/radar.svg", "/runs/\(run)/ring.svg", "/audit"] {
        let start = ContinuousClock.now
        _ = await fresh.respond(path: page, query: Query())
        slowest = max(slowest, seconds(ContinuousClock.now - start))
    }
    line(
        String(
            format:
                "  warm-up at start: %d pages (runs, run pages, figures, audit) in %.2f s; "
                + "then each answers in %.3f s at most",
            warmed, warmUp, slowest))
    // Paging: memory after 20 pages and after 2,000 (100,000 calls) should be the same.
    var after: Int64 = 0
    var rssAt20 = 0.0
    for page in 1...2_000 {
        var query = CallQuery()
        query.afterID = after
        let lines = try await store.callLines(query, limit: 50)
        guard let last = lines.prefix(50).last?.id else { break }
        after = last
        if page == 20 { rssAt20 = currentRSS() }
    }
    line(
        String(
            format:
                "  paging calls: resident memory after 2,000 pages ÷ after 20 pages = %.2f (%.0f → %.0f MiB; about 1)",
            currentRSS() / rssAt20, rssAt20, currentRSS()))
}

/// Resident memory now, in MiB (VmRSS).
func currentRSS() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let field = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
    let kib = field.flatMap { Double($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    return kib / 1024
}
