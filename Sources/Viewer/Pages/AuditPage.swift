import Analysis
import Domain
import Foundation
import SVO
import Store

/// The parser audit: a seeded sample of item replies, stratified by parse status, for people to
/// label blind (the parser's reading shows only once they have labelled a reply), and the
/// agreement between people and parser.
enum AuditPage {
    static let defaultPerStatus = 10
    static let defaultSeed: UInt64 = 1

    /// The parameters that define the page (runs, sample size, seed), to carry across a label.
    static func parameters(_ query: Query) -> [(String, String)] {
        query.pairs.filter { ["run", "per", "seed"].contains($0.0) && !$0.1.isEmpty }
    }

    static func spec(_ site: ViewerSite, _ query: Query) async throws -> ParserAudit.SampleSpec {
        var runIDs = try query.values("run").map { text in
            guard let id = Int64(text) else { throw PageError.badRequest("run=\(text) is not a run id.") }
            return id
        }
        if runIDs.isEmpty { runIDs = try await site.store.runs().compactMap(\.id).sorted() }
        for id in runIDs { _ = try await site.store.run(id) }
        guard let per = Int(query.first("per") ?? String(defaultPerStatus)), (1...500).contains(per) else {
            throw PageError.badRequest("per must be a number of replies per status from 1 to 500.")
        }
        guard let seed = UInt64(query.first("seed") ?? String(defaultSeed)) else {
            throw PageError.badRequest("seed must be a whole number from 0.")
        }
        return ParserAudit.SampleSpec(runIDs: runIDs.sorted(), perStatus: per, seed: seed)
    }

    static func render(_ site: ViewerSite, _ query: Query) async throws -> Page {
        let spec = try await spec(site, query)
        let pairs = try await site.store.auditPairs(runIDs: spec.runIDs)
        var body = "<h2 id=\"agreement\">Agreement between people and parser</h2>\n"
        body += agreement(ParserAudit.agreement(pairs), links: site.links)
        guard site.links.isServer else { return Page(title: "Parser audit", body: body) }

        let labeler = query.first("labeler")?.trimmingCharacters(in: .whitespacesAndNewlines)
        let sample = try await site.sample(spec)
        let replies = try await site.store.auditReplies(
            callIDs: ParserAudit.presentationOrder(sample, seed: spec.seed))
        let mine = Dictionary(
            pairs.filter { $0.labeler == labeler }.map { ($0.callID, $0) }, uniquingKeysWith: { _, b in b })
        var intro = "<h2 id=\"sample\">Sample</h2>\n<p>"
        intro += "Up to \(spec.perStatus) item replies of each parse status, drawn with seed \(spec.seed) from "
        intro += "run\(spec.runIDs.count == 1 ? "" : "s") \(spec.runIDs.map(String.init).joined(separator: ", ")): "
        intro += sample.map { "\($0.1.count) \($0.0.rawValue)" }.joined(separator: ", ")
        intro += ". Mark the option each reply chose, as the letter shown to the model, or for an item "
        intro += "that takes a number, the number it gave; none if it gave none; ambiguous if it could be "
        intro += "read as more than one. The parser's reading shows once you have labelled a reply.</p>\n"
        intro += "<form class=\"filters\" method=\"get\" action=\"/audit\">"
        for (name, value) in parameters(query) where name == "run" {
            intro += "<input type=\"hidden\" name=\"run\" value=\"\(HTML.escape(value))\">"
        }
        intro +=
            "<label>labeler <input type=\"text\" name=\"labeler\" maxlength=\"80\" required value=\""
            + "\(HTML.escape(labeler ?? ""))\" placeholder=\"your name or initials\"></label>"
        intro +=
            "<label>per status <input type=\"number\" name=\"per\" min=\"1\" max=\"500\" "
            + "value=\"\(spec.perStatus)\"></label>"
        intro += "<label>seed <input type=\"number\" name=\"seed\" min=\"0\" value=\"\(spec.seed)\"></label>"
        intro += "<button type=\"submit\">Start</button></form>\n"
        body = intro + body
        body += "<h2>Replies</h2>\n"
        if labeler == nil || labeler == "" {
            body += "<p class=\"note\">Enter your name above to label.</p>\n"
        }
        let hidden = parameters(query).map {
            "<input type=\"hidden\" name=\"\(HTML.escape($0.0))\" value=\"\(HTML.escape($0.1))\">"
        }.joined()
        for reply in replies {
            body += "<section class=\"audit\" id=\"reply-\(reply.callID)\">\n<div class=\"meta\">"
            body += "\(Markup.link("call \(reply.callID)", site.links.call(reply.callID, trial: reply.trialID)))"
            body += " · \(HTML.escape(reply.model)) · item \(reply.item)</div>\n"
            let layout = TrialPage.layout(
                instrument: reply.instrument, item: reply.item, order: reply.optionOrder, seed: reply.trialSeed)
            if let layout { body += TrialPage.options(layout, read: nil) }
            body += "<pre class=\"text\">\(HTML.escape(reply.reply))</pre>\n"
            if let labeler, !labeler.isEmpty, let item = layout?.item {
                let given = mine[reply.callID]
                let form =
                    "<form class=\"label\" method=\"post\" action=\"/audit/label\">\(hidden)"
                    + "<input type=\"hidden\" name=\"labeler\" value=\"\(HTML.escape(labeler))\">"
                    + "<input type=\"hidden\" name=\"call\" value=\"\(reply.callID)\">"
                if case .number(let range) = item.kind {
                    // The number typed, in a form of its own: none and ambiguous need no number.
                    let typed = given.flatMap { Int($0.label) }.map { " value=\"\($0)\"" } ?? ""
                    body += form
                    body +=
                        "<input type=\"number\" name=\"label\" min=\"\(range.lowerBound)\" "
                        + "max=\"\(range.upperBound)\" step=\"1\" required aria-label=\"number read\"\(typed)>"
                    body += "<button type=\"submit\">save</button></form>\n"
                }
                body += form
                for label in AuditLabel.choices(for: item) {
                    let mark = given?.label == label ? " class=\"chosen\"" : ""
                    body += "<button type=\"submit\" name=\"label\" value=\"\(label)\"\(mark)>\(label)</button>"
                }
                body += "</form>\n"
                if let given {
                    let reading = ParserAudit.label(given)
                    let agrees = reading == given.label
                    body +=
                        "<p class=\"verdict \(agrees ? "agree" : "disagree")\">your label: \(HTML.escape(given.label))"
                        + " · parser v\(given.parserVersion): \(reading) (\(given.status.rawValue)) · "
                        + "\(agrees ? "agree" : "disagree")</p>\n"
                }
            }
            body += "</section>\n"
        }
        return Page(title: "Parser audit", body: body)
    }

    static func agreement(_ agreement: ParserAudit.Agreement, links: Links) -> String {
        guard agreement.labels > 0 else { return "<p>No labels yet.</p>\n" }
        func percent(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }
        var html = "<p class=\"figure-line\" id=\"overall\">"
        html += "\(agreement.agreed) of \(agreement.labels) labels agree with the parser: "
        html += "<strong>\(percent(agreement.share))</strong>; Cohen's κ = "
        html += "<strong>\(Markup.number(agreement.kappa, 3))</strong>"
        html += " (parser v\(agreement.parserVersions.map(String.init).joined(separator: ", v")))</p>\n"
        func groups(_ name: String, _ groups: [ParserAudit.Agreement.Group]) -> String {
            Markup.table(
                header: [name, "labels", "agree", "share"],
                rows: groups.map { [HTML.escape($0.name), String($0.labels), String($0.agreed), percent($0.share)] },
                numeric: [1, 2, 3])
        }
        html += "<div class=\"side-by-side\"><div><h3>By parse status</h3>"
        html += groups("status", agreement.byStatus) + "</div><div><h3>By model</h3>"
        html += groups("model", agreement.byModel) + "</div><div><h3>By instrument</h3>"
        html += groups("instrument", agreement.byInstrument) + "</div></div>\n"
        if !agreement.disagreements.isEmpty {
            html += "<h3>Disagreements</h3>\n"
            html += Markup.table(
                header: ["call", "model", "labeler", "label", "parser", "status"],
                rows: agreement.disagreements.map { pair in
                    [
                        Markup.link(String(pair.callID), links.call(pair.callID, trial: pair.trialID)),
                        HTML.escape(pair.model), HTML.escape(pair.labeler), HTML.escape(pair.label),
                        ParserAudit.label(pair), pair.status.rawValue,
                    ]
                }, numeric: [0], id: "disagreements")
        }
        return html
    }
}

extension ViewerSite {
    /// The sample `spec` defines, drawn again only when readings have been added since: a new
    /// call's, or a rescore's, which can move a reply to another status (a label changes nothing
    /// a sample is drawn from).
    func sample(_ spec: ParserAudit.SampleSpec) async throws -> [(AnswerStatus, [Int64])] {
        let answers = try await store.lastAnswerID()
        if let drawn = samples.withLock({ $0[spec] }), drawn.answers == answers { return drawn.sample }
        let drawn = try await ParserAudit.sample(from: store, spec)
        samples.withLock { $0[spec] = (answers, drawn) }
        return drawn
    }
}
