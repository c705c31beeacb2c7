import Analysis
import Domain
import Foundation
import SVO
import Store

/// Every call, filtered and searched, 50 to a page by id (keyset pagination: page 1,000 costs
/// what page 1 does).
enum CallsPage {
    static let perPage = 50
    /// The query parameters the filters use, in the form's order.
    static let filterNames = ["run", "model", "value", "goal", "step", "status", "attempt", "q"]

    static func query(_ parameters: Query) throws -> CallQuery {
        var query = CallQuery()
        func parsed<T>(_ name: String, _ make: (String) -> T?) throws -> [T] {
            try parameters.values(name).map { text in
                guard let value = make(text) else { throw PageError.badRequest("\(name)=\(text) is not a \(name).") }
                return value
            }
        }
        query.runIDs = try parsed("run") { Int64($0) }
        query.models = parameters.values("model")
        query.values = try parsed("value", ValueOrientation.init(rawValue:))
        query.goals = try parsed("goal", GoalCondition.init(rawValue:))
        query.steps = try parsed("step") { ["value", "goal", "item"].contains($0) ? $0 : nil }
        query.statuses = try parsed("status", AnswerStatus.init(rawValue:))
        query.attempt = try parsed("attempt") { Int($0) }.first
        query.search = parameters.first("q")
        query.afterID = try parsed("after") { Int64($0) }.first ?? 0
        return query
    }

    static func render(_ site: ViewerSite, _ parameters: Query) async throws -> Page {
        let query = try query(parameters)
        let lines = try await site.store.callLines(query, limit: perPage)
        let shown = lines.prefix(perPage)
        let links = site.links
        var body = try await form(site, parameters)
        if shown.isEmpty {
            body += "<p>No call matches.</p>\n"
        }
        body += Markup.table(
            header: [
                "call", "trial", "model", "value", "goal", "step", "attempt", "parse", "read", "reply", "ms",
                "out tokens",
            ],
            rows: shown.map { line in
                var reply =
                    line.excerpt.map { HTML.escape($0) }
                    ?? "<span class=\"error\">\(HTML.escape(line.error ?? ""))</span>"
                if line.replyLength > CallLine.excerptLength { reply += "…" }
                let attempt = line.retry > 0 ? "\(line.attempt) (retry \(line.retry))" : String(line.attempt)
                return [
                    Markup.link(String(line.id), links.call(line.id, trial: line.trialID)),
                    Markup.link(String(line.trialID), links.trial(line.trialID)), HTML.escape(line.model),
                    line.assignment.label, line.goal.rawValue,
                    line.step.description.replacingOccurrences(of: " ", with: "&nbsp;"), attempt,
                    line.status.map { "<span class=\"parse \($0)\">\($0)</span>" } ?? "–",
                    line.shownLetter?.symbol ?? "", "<span class=\"excerpt\">\(reply)</span>",
                    Markup.number(line.latencyMs, 0), line.outputTokens.map(String.init) ?? "–",
                ]
            }, numeric: [0, 1, 6, 10, 11], id: "calls")
        if lines.count > perPage, let last = shown.last?.id {
            let next = parameters.pairs.filter { $0.0 != "after" } + [("after", String(last))]
            body += "<p class=\"pager\">\(Markup.link("Next \(perPage) calls →", links.calls(next)))</p>\n"
        }
        return Page(title: "Calls", body: body)
    }

    static func form(_ site: ViewerSite, _ parameters: Query) async throws -> String {
        let runs = try await site.store.runs()
        let runIDs = parameters.values("run").compactMap { Int64($0) }
        let models = try await site.store.models(runIDs: runIDs)
        var html = "<form class=\"filters\" method=\"get\" action=\"/calls\">\n"
        html += Markup.select(
            "run", "run", runs.map { (String($0.id!), "\($0.id!): \($0.name)") }, selected: parameters.first("run"))
        html += Markup.select("model", "model", models.map { ($0, $0) }, selected: parameters.first("model"))
        html += Markup.select(
            "value", "value", ValueOrientation.allCases.map { ($0.rawValue, $0.rawValue) },
            selected: parameters.first("value"))
        html += Markup.select(
            "goal", "goal", GoalCondition.allCases.map { ($0.rawValue, $0.rawValue) },
            selected: parameters.first("goal"))
        html += Markup.select(
            "step", "step", ["value", "goal", "item"].map { ($0, $0) }, selected: parameters.first("step"))
        html += "<fieldset><legend>parse status</legend>"
        let chosen = Set(parameters.values("status"))
        for status in AnswerStatus.allCases {
            html +=
                "<label><input type=\"checkbox\" name=\"status\" value=\"\(status.rawValue)\""
                + "\(chosen.contains(status.rawValue) ? " checked" : "")> \(status.rawValue)</label> "
        }
        html += "</fieldset>\n"
        html += Markup.select(
            "attempt", "attempt", (1...5).map { (String($0), String($0)) }, selected: parameters.first("attempt"))
        html +=
            "<label>reply contains <input type=\"search\" name=\"q\" value=\""
            + "\(HTML.escape(parameters.first("q") ?? ""))\" "
            + "placeholder=\"words, &quot;a phrase&quot;, prefix*\"></label>\n"
        html += "<button type=\"submit\">Show</button> <a href=\"/calls\">clear</a>\n</form>\n"
        return html
    }
}
