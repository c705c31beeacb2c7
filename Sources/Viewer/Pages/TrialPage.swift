import Analysis
import Domain
import Foundation
import SVO
import Store

/// One trial: its conversation as sent and received, each item's options with the one the parser
/// read, every call's status, latency and tokens, and the trial's scores.
enum TrialPage {
    static func render(_ site: ViewerSite, trial id: Int64) async throws -> Page {
        let transcript = try await site.store.transcript(trialID: id)
        let trial = transcript.trial
        var body = Markup.definitions([
            ("run", Markup.link(String(trial.runID), site.links.run(trial.runID))),
            ("model", HTML.escape("\(trial.key.model) (\(trial.provider))")),
            (
                "value · goal · option order",
                "\(trial.key.assignment.label) · \(trial.key.goal.rawValue) · \(trial.key.optionOrder.rawValue)"
            ),
            ("placement · wording", "\(trial.key.placement.rawValue) · \(HTML.escape(trial.key.variant))"),
            (
                "instrument",
                HTML.escape(
                    trial.key.instrument
                        + (Instruments.named(trial.key.instrument)?.form(seed: UInt64(bitPattern: trial.seed)).label
                            .map { ", form \($0)" } ?? ""))
            ),
            ("replicate · seed", "\(trial.key.index) · \(trial.seed)"),
            (
                "status",
                "<span class=\"status \((transcript.result?.status ?? trial.status).rawValue)\">"
                    + "\((transcript.result?.status ?? trial.status).rawValue)</span>"
            ),
            ("error", HTML.escape(trial.error ?? "–")),
            ("started · finished", HTML.escape("\(trial.startedAt ?? "–") · \(trial.finishedAt ?? "–")")),
        ])
        body += "<h2>Scores</h2>\n" + scores(transcript.result)
        if let compare = site.links.compare([("trial_a", String(id))]) {
            body += "<p>\(Markup.link("Compare this trial with another", compare))</p>\n"
        }
        body += "<h2>Conversation</h2>\n" + conversation(transcript)
        return Page(title: "Trial \(id)", body: body)
    }

    static func scores(_ result: TrialResult?) -> String {
        guard let result, result.parserVersion != nil else { return "<p>Not scored yet.</p>\n" }
        func flag(_ b: Bool?) -> String { b.map { $0 ? "yes" : "no" } ?? "–" }
        var header = [
            "angle", "category", "hit", "VR", "angular error", "transitive", "invalid items",
            "inequality aversion", "mean self", "mean other", "parser", "formula",
        ]
        // A VR the instrument cannot measure (the dictator game's individualistic and competitive) is not shown.
        let measured = Instruments.measuresVR(result.key.instrument, result.key.assignment)
        let (hit, vr): (String, String) = measured ? (flag(result.hit), Markup.number(result.vr)) : ("n/a", "n/a")
        var row: [String] = [
            Markup.number(result.angle), result.category?.rawValue ?? "–", hit, vr, Markup.number(result.angularError),
            flag(result.transitive),
            result.invalidItems.map(String.init) ?? "–", Markup.number(result.inequalityAversion),
            Markup.number(result.meanSelf), Markup.number(result.meanOther),
            result.parserVersion.map { "v\($0)" } ?? "–", result.formulaVersion.map { "v\($0)" } ?? "–",
        ]
        var numeric: Set<Int> = [0, 3, 4, 6, 7, 8, 9]
        // From the letters' probabilities (method.md §8.7), for a model that reads them.
        if result.expectedAngle != nil || result.meanEntropy != nil {
            header += ["expected angle", "entropy (bits)"]
            row += [Markup.number(result.expectedAngle), Markup.number(result.meanEntropy)]
            numeric.formUnion([12, 13])
        }
        return Markup.table(header: header, rows: [row], numeric: numeric, id: "scores")
    }

    /// The messages in order. After each request message come the calls that sent it: a failed
    /// call as an error box, a successful one as the reply that follows, headed by its call's facts.
    static func conversation(_ transcript: Transcript) -> String {
        let byRequest = Dictionary(grouping: transcript.calls, by: \.requestTurnID)
        let byReply = Dictionary(
            transcript.calls.compactMap { call in call.replyTurnID.map { ($0, call) } },
            uniquingKeysWith: { a, _ in a })
        var html = "<div class=\"conversation\">\n"
        for turn in transcript.turns {
            let call = byReply[turn.id]
            let anchor = call.map { " id=\"call-\($0.id)\"" } ?? ""
            html += "<section class=\"turn \(turn.role.rawValue)\"\(anchor)>\n"
            html += "<div class=\"meta\"><span class=\"role\">\(turn.role.rawValue)</span>"
            if let call { html += " " + facts(call) }
            html += "</div>\n<pre class=\"text\">\(HTML.escape(turn.text))</pre>\n"
            let sent = byRequest[turn.id] ?? []
            let trial = transcript.trial
            if let item = sent.lazy.compactMap(\.step.item).first,
                let layout = layout(
                    instrument: trial.key.instrument, item: item, order: trial.key.optionOrder, seed: trial.seed)
            {
                let read = sent.last { $0.answer?.status == .ok }
                html += options(layout, read: read?.answer, letters: read?.letters)
            }
            html += "</section>\n"
            for failed in sent where failed.replyTurnID == nil {
                html += "<section class=\"turn failed\" id=\"call-\(failed.id)\">\n<div class=\"meta\">"
                html += "<span class=\"role\">no reply</span> \(facts(failed))</div>\n"
                html += "<pre class=\"text\">\(HTML.escape(failed.error ?? "no reply and no error stored"))</pre>\n"
                html += "</section>\n"
            }
        }
        return html + "</div>\n"
    }

    /// One call's facts: step, attempt, retry, HTTP status, latency, tokens, finish reason and the
    /// parser's reading.
    static func facts(_ call: TranscriptCall) -> String {
        var parts = ["call \(call.id)", call.step.description, "attempt \(call.attempt)"]
        if call.retry > 0 { parts.append("retry \(call.retry)") }
        if let status = call.httpStatus { parts.append("HTTP \(status)") }
        if let latency = call.latencyMs { parts.append(String(format: "%.0f ms", latency)) }
        if call.inputTokens != nil || call.outputTokens != nil {
            parts.append(
                "\(call.inputTokens.map(String.init) ?? "?") in / \(call.outputTokens.map(String.init) ?? "?") out")
        }
        if let reason = call.finishReason { parts.append("finish: \(reason)") }
        if call.cacheHit { parts.append("from cache") }
        if let model = call.providerModelID { parts.append(model) }
        var html = "<span class=\"facts\">" + HTML.escape(parts.joined(separator: " · ")) + "</span>"
        if let letters = call.letters {
            let said =
                letters.shown.map { shown in
                    String(format: "letters: %.3f outside, token %d", letters.outside ?? 0, letters.tokenIndex ?? 0)
                        + (call.answer?.shownLetter.map {
                            String(format: ", p(%@) %.3f", $0.symbol, shown[$0.rawValue])
                        }
                            ?? "")
                } ?? "letters: \(letters.status.rawValue)"
            html += " <span class=\"letters\">\(HTML.escape(said))</span>"
        }
        if let answer = call.answer {
            let coins = answer.payoff.map { "\(Payoff.format($0.own)), \(Payoff.format($0.other))" } ?? "?"
            let reading =
                answer.status != .ok
                ? answer.status.rawValue
                : answer.number.map { "\($0) tokens passed (\(coins))" }
                    ?? "\(answer.shownLetter?.symbol ?? "?") (option \(answer.option?.symbol ?? "?"): \(coins))"
            html +=
                " <span class=\"parse \(answer.status.rawValue)\">parser v\(answer.parserVersion): "
                + HTML.escape(reading) + "</span>"
        }
        return html
    }

    /// How item `item` of a trial was shown: its instrument's form for the trial's seed, in its
    /// option order; nil for an item or instrument this hvae does not know.
    static func layout(instrument name: String, item: Int, order: OptionOrder, seed: Int64) -> ItemLayout? {
        guard let instrument = Instruments.named(name),
            let item = instrument.form(seed: UInt64(bitPattern: seed)).item(item)
        else { return nil }
        return ItemLayout(item: item, order: order, seed: UInt64(bitPattern: seed))
    }

    /// The options as shown to the model (any number of them), the one the parser read marked, and
    /// the model's probability of each letter where it has them; for an item that takes a number,
    /// its budget and the number read.
    static func options(_ layout: ItemLayout, read: AnswerRecord?, letters: LetterProbabilities? = nil) -> String {
        if let budget = layout.item.budget {
            let answer = read?.number.map { "; read: \($0) passed" } ?? ""
            return "<p class=\"options\">item \(layout.item.number): \(budget.tokens) tokens, each kept worth "
                + "\(budget.kept), each passed worth \(budget.passed)\(answer)</p>\n"
        }
        let read = read?.shownLetter
        var html = "<table class=\"options\"><thead><tr><th>item \(layout.item.number)</th>"
        for (letter, _) in layout.shownOptions {
            html += "<th class=\"num\(letter == read ? " read" : "")\">\(letter.symbol)</th>"
        }
        html += "</tr></thead><tbody><tr><th>you</th>"
        for (letter, payoff) in layout.shownOptions {
            html += "<td class=\"num\(letter == read ? " read" : "")\">\(Payoff.format(payoff.own))</td>"
        }
        html += "</tr><tr><th>other</th>"
        for (letter, payoff) in layout.shownOptions {
            html += "<td class=\"num\(letter == read ? " read" : "")\">\(Payoff.format(payoff.other))</td>"
        }
        if let shown = letters?.shown {
            html += "</tr><tr class=\"letters\"><th>p</th>"
            for (letter, _) in layout.shownOptions {
                html +=
                    "<td class=\"num\(letter == read ? " read" : "")\">"
                    + String(format: "%.3f", shown[letter.rawValue]) + "</td>"
            }
        }
        return html + "</tr></tbody></table>\n"
    }
}
