import Analysis
import Design
import Foundation
import SVO
import Store
import Synchronization

/// What a page request gives back, whatever serves it (the HTTP server or the bundle writer).
public struct ViewerResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: String
    /// A redirect's target (status 303).
    public var location: String?

    static func html(_ page: Page, _ links: Links, status: Int = 200) -> ViewerResponse {
        ViewerResponse(status: status, contentType: "text/html; charset=utf-8", body: page.html(links))
    }
}

/// A request the site refuses, with the page that says why.
struct PageError: Error {
    var status: Int
    var message: String

    static func notFound(_ message: String) -> PageError { PageError(status: 404, message: message) }
    static func badRequest(_ message: String) -> PageError { PageError(status: 400, message: message) }
}

/// hvae's pages over one database: routes a path and query to the page that renders it. Reads
/// only, but for `label(_:)`, the parser audit's one write.
public final class ViewerSite: Sendable {
    /// What every page reads through (the store).
    let store: any StoreReading
    /// Opens the database for writing when the first audit label arrives: until then the viewer
    /// never opens it for writing.
    let labelStore: @Sendable () throws -> ExperimentStore
    let links: Links
    /// Drawn audit samples, by their definition, drawn again only when readings are added.
    let samples = Mutex<[ParserAudit.SampleSpec: (answers: Int64, sample: [(AnswerStatus, [Int64])])]>([:])
    /// Pages rendered under the store's current change mark (at most 64).
    let pages = Mutex<(mark: String, pages: [String: ViewerResponse])>(("", [:]))
    /// Pages being rendered, by change mark and page: a second request for one waits for the
    /// first render instead of doing the work again (two tabs, or a visitor during the warm-up).
    let rendering = Mutex<[String: Task<ViewerResponse, any Error>]>([:])
    /// The report's intervals, kept across changes of the database: a run page rendered again
    /// while a run writes bootstraps only the cells whose trials changed.
    public let intervals: IntervalMemo
    /// The trials of the run shown last, by change mark and run: a run page, its radar and its
    /// ring (which a browser asks for right after the page) and its next pages of trials all
    /// aggregate the same rows, 0.2-0.3 s to read at a million calls. One run's rows are kept
    /// (about 36 MB for 130,000 trials); a read in progress is shared.
    let runTrials = Mutex<(key: String, read: Task<[TrialResult], any Error>)?>(nil)

    /// `intervals`: a memo to share, where a new site should not bootstrap again what another
    /// already did (the benchmark's reload after a change).
    public init(
        store: any StoreReading, links: Links, intervals: IntervalMemo = IntervalMemo(),
        labelStore: @escaping @Sendable () throws -> ExperimentStore
    ) {
        self.store = store
        self.links = links
        self.intervals = intervals
        self.labelStore = labelStore
    }

    /// The page at `path` (`/runs/3`) with its query parameters. Never throws: a missing run or a
    /// bad parameter is a 404 or 400 page, anything else a 500 page that names the error in one
    /// line (no stack trace).
    public func respond(path: String, query: Query) async -> ViewerResponse {
        do {
            // A page of a database that has not changed since it was rendered is served again: a
            // finished million-call run's page is computed once, not on every visit.
            let mark = try await store.changeMark()
            let key = path + "?" + query.pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
            if let page = pages.withLock({ $0.mark == mark ? $0.pages[key] : nil }) { return page }
            let flight = mark + "\u{0}" + key
            let render = rendering.withLock { tasks in
                if let running = tasks[flight] { return running }
                let task = Task { try await self.route(path: path, query: query, mark: mark) }
                tasks[flight] = task
                return task
            }
            let rendered = await render.result
            _ = rendering.withLock { $0.removeValue(forKey: flight) }
            let page = try rendered.get()
            if page.status == 200 {
                pages.withLock { cache in
                    if cache.mark != mark || cache.pages.count >= 64 { cache = (mark, [:]) }
                    cache.pages[key] = page
                }
            }
            return page
        } catch let error as PageError {
            return errorPage(error)
        } catch StoreError.unknownRun(let id) {
            return errorPage(.notFound("There is no run \(id) in this database."))
        } catch StoreError.unknownTrial(let id) {
            return errorPage(.notFound("There is no trial \(id) in this database."))
        } catch let error as StoreError {
            if case .badSearch = error { return errorPage(.badRequest(error.description)) }
            return errorPage(PageError(status: 500, message: error.description))
        } catch {
            return errorPage(PageError(status: 500, message: String(describing: error)))
        }
    }

    /// The runs that `warm()` renders ahead: the newest.
    static let warmedRuns = 10

    /// Renders ahead the pages that cost most to render the first time (each run's page and
    /// figures, the parser audit's default sample), newest runs first, so that a visitor finds
    /// them ready: on a million calls a run page is about a second of work, most of it the
    /// bootstrap of every cell. Only fills the page cache; a page asked for meanwhile is shared
    /// with the render in progress. A database that changes later is rendered again on demand.
    /// Returns how many pages it rendered (a run whose page cannot render is left for a visit to show why).
    @discardableResult public func warm() async -> Int {
        var paths = ["/"]
        if let runs = try? await store.runs() {
            for run in runs.prefix(Self.warmedRuns) {
                guard let id = run.id else { continue }
                paths += ["/runs/\(id)", "/runs/\(id)/radar.svg", "/runs/\(id)/ring.svg"]
            }
        }
        paths.append("/audit")
        var rendered = 0
        for path in paths {
            if Task.isCancelled { break }
            if await respond(path: path, query: Query()).status == 200 { rendered += 1 }
        }
        return rendered
    }

    /// The `trial_results` rows of run `id` as they were at change mark `mark` (or later).
    func trialResults(run id: Int64, mark: String) async throws -> [TrialResult] {
        let key = mark + "\u{0}" + String(id)
        let read = runTrials.withLock { kept in
            if let kept, kept.key == key { return kept.read }
            let store = self.store
            let read = Task { try await store.trialResults(TrialFilter(runIDs: [id])) }
            kept = (key, read)
            return read
        }
        do {
            return try await read.value
        } catch {
            // A failed read is not kept: the next request reads again.
            runTrials.withLock { kept in if kept?.key == key { kept = nil } }
            throw error
        }
    }

    /// The page at `path`, rendered from the database as it is at change mark `mark` or later.
    func route(path: String, query: Query, mark: String) async throws -> ViewerResponse {
        let parts = path.split(separator: "/").map(String.init)
        switch parts.count {
        case 0: return .html(try await RunsPage.render(self), links)
        case 1:
            switch parts[0] {
            case "style.css":
                return ViewerResponse(status: 200, contentType: "text/css; charset=utf-8", body: Stylesheet.css)
            case "calls": return .html(try await CallsPage.render(self, query), links)
            case "compare": return .html(try await ComparePage.render(self, query), links)
            case "audit": return .html(try await AuditPage.render(self, query), links)
            default: break
            }
        case 2, 3:
            guard let id = Int64(parts[1]), id > 0 else { break }
            switch (parts[0], parts.count == 3 ? parts[2] : nil) {
            case ("runs", nil):
                return .html(try await RunPage.render(self, run: id, query: query, mark: mark), links)
            case ("runs", let name?) where name.hasSuffix(".svg"):
                return ViewerResponse(
                    status: 200, contentType: "image/svg+xml",
                    body: try await RunPage.figure(self, run: id, name: parts[2], mark: mark))
            case ("trials", nil): return .html(try await TrialPage.render(self, trial: id), links)
            default: break
            }
        default: break
        }
        throw PageError.notFound("There is no page at \(path).")
    }

    /// Stores an audit label from the audit page's form, then sends the browser back to the page.
    public func label(_ form: Query) async -> ViewerResponse {
        do {
            guard let call = form.first("call").flatMap(Int64.init), let label = form.first("label") else {
                throw PageError.badRequest("A label needs a call and a label.")
            }
            guard let labeler = form.first("labeler") else {
                throw PageError.badRequest("Write your name (or initials) in the labeler field first.")
            }
            let writer: ExperimentStore
            do { writer = try labelStore() } catch { throw PageError(status: 409, message: "\(error)") }
            let checked: (labeler: String, label: String)
            do {
                checked = try AuditLabel.checked(
                    label: label, labeler: labeler, callID: call, item: try await writer.auditItem(callID: call))
            } catch let error as AuditLabelError {
                throw PageError.badRequest(error.description)
            }
            do {
                try await writer.saveAuditLabel(callID: call, labeler: checked.labeler, label: checked.label)
            } catch let error as StoreError {
                throw PageError(status: 409, message: error.description)
            }
            let back = AuditPage.parameters(form) + [("labeler", labeler)]
            return ViewerResponse(
                status: 303, contentType: "text/plain; charset=utf-8", body: "",
                location: links.audit(back) + "#reply-\(call)")
        } catch let error as PageError {
            return errorPage(error)
        } catch {
            return errorPage(PageError(status: 500, message: String(describing: error)))
        }
    }

    func errorPage(_ error: PageError) -> ViewerResponse {
        let title =
            switch error.status {
            case 404: "Not found"
            case 400: "Bad request"
            case 403: "Forbidden"
            default: "Something went wrong"
            }
        let page = Page(
            title: title,
            body: "<p class=\"error\">\(HTML.escape(error.message))</p>\n<p>\(Markup.link("All runs", links.runs))</p>")
        return .html(page, links, status: error.status)
    }

    /// The experiment a run executed; nil when this binary cannot decode it.
    func experiment(of run: RunRecord) -> Experiment? { try? Experiment(storedIn: run) }
}
