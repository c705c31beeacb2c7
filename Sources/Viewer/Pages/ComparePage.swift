import Analysis
import Domain
import Foundation
import SVO
import Store

/// Two models, runs, goal conditions or option orders side by side, value by value (the numbers of
/// `hvae compare`); and two trials' conversations side by side.
enum ComparePage {
    static let dimensions: [ReportDimension] = [.model, .goal, .run, .optionOrder, .placement, .variant]

    static func render(_ site: ViewerSite, _ parameters: Query) async throws -> Page {
        var body = ""
        let trialA = parameters.first("trial_a").flatMap(Int64.init)
        let trialB = parameters.first("trial_b").flatMap(Int64.init)
        if let trialA, let trialB {
            let a = try await site.store.transcript(trialID: trialA)
            let b = try await site.store.transcript(trialID: trialB)
            body += "<div class=\"side-by-side\">"
            for transcript in [a, b] {
                let trial = transcript.trial
                body += "<div><h2>\(Markup.link("Trial \(trial.id!)", site.links.trial(trial.id!)))</h2>"
                body +=
                    "<p>"
                    + HTML.escape(
                        [
                            trial.key.model, trial.key.assignment.label, trial.key.goal.rawValue,
                            trial.key.optionOrder.rawValue,
                        ]
                        .joined(separator: " · ")) + "</p>"
                body += TrialPage.scores(transcript.result) + TrialPage.conversation(transcript) + "</div>"
            }
            body += "</div>\n"
            return Page(title: "Trials \(trialA) and \(trialB)", body: body)
        }
        body += trialForm(trialA)
        let dimension =
            try parameters.first("by").map { text in
                guard let d = ReportDimension(rawValue: text), dimensions.contains(d) else {
                    throw PageError.badRequest(
                        "by=\(text): compare by model, goal, run, option_order, placement or variant.")
                }
                return d
            } ?? .model
        let runIDs = parameters.values("run").compactMap { Int64($0) }
        let runs = try await site.store.runs()
        // As `hvae compare`: replays and repeated runs are left out (they would count trials
        // twice), but for a comparison of runs, which names its two.
        var selectedRuns = runIDs.isEmpty ? runs.compactMap(\.id) : runIDs
        var leftOutNote: String?
        if dimension != .run {
            let (kept, leftOut) = DistinctDraws.select(runs.filter { selectedRuns.contains($0.id!) })
            selectedRuns = kept
            leftOutNote = DistinctDraws.note(leftOut)
        }
        let levels: [String]
        switch dimension {
        case .model: levels = try await site.store.models(runIDs: selectedRuns)
        case .goal: levels = GoalCondition.allCases.map(\.rawValue)
        case .optionOrder: levels = OptionOrder.allCases.map(\.rawValue)
        case .placement: levels = PersonaPlacement.allCases.map(\.rawValue)
        case .variant: levels = try await site.store.variants(runIDs: selectedRuns)
        case .instrument: levels = Instruments.names
        case .run, .value: levels = selectedRuns.map(String.init)
        }
        let a = parameters.first("a") ?? levels.first
        let b = parameters.first("b") ?? levels.dropFirst().first
        body += "<form class=\"filters\" method=\"get\" action=\"/compare\">\n"
        body += "<label>compare by <select name=\"by\">"
        for d in dimensions {
            body += "<option value=\"\(d.rawValue)\"\(d == dimension ? " selected" : "")>\(d.rawValue)</option>"
        }
        body += "</select></label>\n"
        body += Markup.select("a", "A", levels.map { ($0, $0) }, selected: a)
        body += Markup.select("b", "B", levels.map { ($0, $0) }, selected: b)
        body += Markup.select(
            "run", "runs", runs.map { (String($0.id!), "\($0.id!): \($0.name)") },
            selected: runIDs.first.map(String.init))
        body += "<button type=\"submit\">Compare</button>\n</form>\n"
        guard let a, let b, a != b else {
            return Page(title: "Compare", body: body + "<p>Choose two different levels to compare.</p>\n")
        }
        let comparison = try await Comparison.build(
            store: site.store, filter: TrialFilter(runIDs: selectedRuns), dimension: dimension, a: a, b: b)
        body += "<h2>\(HTML.escape("\(dimension.rawValue): A = \(a), B = \(b)"))</h2>\n"
        for note in [leftOutNote, comparison.poolingNote, comparison.pairingNote].compactMap({ $0 }) {
            body += "<p class=\"note\">\(HTML.escape(note))</p>\n"
        }
        body += ComparisonRenderer.render(comparison, as: .html)
        return Page(title: "Compare", body: body)
    }

    static func trialForm(_ trialA: Int64?) -> String {
        """
        <form class="filters" method="get" action="/compare">
        <label>trial <input type="number" name="trial_a" min="1" value="\(trialA.map(String.init) ?? "")"></label>
        <label>beside trial <input type="number" name="trial_b" min="1"></label>
        <button type="submit">Show side by side</button>
        </form>

        """
    }
}
