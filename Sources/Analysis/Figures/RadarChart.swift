import Foundation

/// Mean VR read off the study's published radar figure (data/paper-figure-vr.csv, embedded at build time).
public struct PaperResults: Sendable {
    /// VR by model, goal ("with"/"without") and value.
    public let values: [String: [String: [String: Double]]]
    /// Model names in the file's order.
    public let models: [String]

    public static let study = PaperResults(csv: paperFigureVrCsv)

    init(csv: String) {
        var values: [String: [String: [String: Double]]] = [:]
        var models: [String] = []
        let lines = csv.split(whereSeparator: \.isNewline).map { $0.split(separator: ",").map(String.init) }
        guard let header = lines.first else {
            self.values = [:]
            self.models = []
            return
        }
        for fields in lines.dropFirst() where fields.count == header.count {
            let model = fields[0]
            let goal = fields[1]
            if values[model] == nil { models.append(model) }
            for (column, text) in zip(header.dropFirst(2), fields.dropFirst(2)) {
                values[model, default: [:]][goal, default: [:]][column] = Double(text)
            }
        }
        self.values = values
        self.models = models
    }
}

/// The study's figure as SVG: one radar panel per model, axes altruistic, individualistic,
/// prosocial and competitive from 0 to 60, one polygon per goal condition, optionally the study's
/// published values for one of its models. A value that was not run has no vertex (never a VR
/// of 0): with fewer than four values the vertices that were run are drawn, joined where they
/// are neighbours. The legend lists only what is drawn.
public enum RadarChart {
    /// Axes clockwise from the top, as the study draws them.
    static let axes = ["altruistic", "individualistic", "prosocial", "competitive"]
    static let colours = ["with": "#1f77b4", "without": "#d95f02"]
    static let goalLabels = ["with": "with goal", "without": "without goal"]
    static let radius = 96.0
    /// Wide enough for the longest axis name on both sides of the outer ring, so that one panel's
    /// "individualistic" never runs into the next panel's "competitive".
    static let panel = (width: 2 * (radius + 10 + SVGText.width("individualistic", size: 13) + 8), height: 340.0)
    static let margin = 16.0
    static let minimumWidth = 640.0

    /// `report` must be grouped by model, value and goal (the default).
    public static func svg(_ report: Report, compareWith paperModel: String? = nil, title: String? = nil) throws
        -> String
    {
        guard report.options.groupBy == [.model, .value, .goal] else {
            throw ReportLayoutError(description: "the radar figure needs the default grouping (--by model,value,goal)")
        }
        let models = distinctInOrder(report.cells.map { $0.group[0] })
        let paper = try paperModel.map { name -> [String: [String: Double]] in
            guard let values = PaperResults.study.values[name] else {
                throw ReportLayoutError(
                    description:
                        "the study has no model '\(name)'; it has \(PaperResults.study.models.joined(separator: ", "))")
            }
            return values
        }
        let goals = ["with", "without"].filter { goal in
            report.cells.contains { $0.group[2] == goal && $0.meanVR != nil }
        }

        let columns = min(3, max(1, models.count))
        let rows = (models.count + columns - 1) / columns
        let width = max(minimumWidth, margin * 2 + Double(columns) * panel.width)
        let heading = SVGText.shrink(
            title ?? "Value rationality (0–60) by assigned value", width: width - 2 * margin, size: 17,
            smallest: 11)
        // Legend: this run's conditions that have data, then the study's, laid out to fit.
        var legend: [(label: String, colour: String, dash: String)] = goals.map {
            ("this run, \(goalLabels[$0]!)", colours[$0]!, "")
        }
        if let paperModel, let paper {
            legend += ["with", "without"].filter { paper[$0] != nil }.map {
                ("study, \(paperModel), \(goalLabels[$0]!)", colours[$0]!, $0 == "with" ? "6 4" : "2 3")
            }
        }
        let legendTop = margin + 34 + 8
        let entryWidths = legend.map { 42 + SVGText.width($0.label, size: 13) }
        let flow = SVGText.flow(entryWidths, from: margin + 10, to: width - margin, top: legendTop, lineHeight: 22)
        let panelsTop = legendTop + Double(flow.lines) * 22 + 10
        let height = panelsTop + Double(rows) * panel.height + margin

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(SVGText.number(width))" \
            height="\(SVGText.number(height))" viewBox="0 0 \(SVGText.number(width)) \(SVGText.number(height))" \
            font-family="\(SVGText.fontFamily)">
            <rect width="100%" height="100%" fill="white"/>
            <text class="title" x="\(SVGText.number(width / 2))" y="\(SVGText.number(margin + 20))" \
            text-anchor="middle" font-size="\(Int(heading.size))" \
            font-weight="bold">\(SVGText.escape(heading.text))</text>

            """
        for (entry, position) in zip(legend, flow.positions) {
            let (x, y) = position
            svg += """
                <g class="legend"><line x1="\(SVGText.number(x))" y1="\(SVGText.number(y))" \
                x2="\(SVGText.number(x + 34))" y2="\(SVGText.number(y))" stroke="\(entry.colour)" \
                stroke-width="3"\(entry.dash.isEmpty ? "" : " stroke-dasharray=\"\(entry.dash)\"")/>
                <text x="\(SVGText.number(x + 42))" y="\(SVGText.number(y + 5))" \
                font-size="13">\(SVGText.escape(entry.label))</text></g>

                """
        }
        // Centred when fewer panels than the minimum width holds.
        let left = (width - Double(columns) * panel.width) / 2
        for (index, model) in models.enumerated() {
            let originX = left + Double(index % columns) * panel.width
            let originY = panelsTop + Double(index / columns) * panel.height
            svg += radarPanel(model: model, report: report, goals: goals, paper: paper, x: originX, y: originY)
        }
        return svg + "</svg>\n"
    }

    static func radarPanel(
        model: String, report: Report, goals: [String], paper: [String: [String: Double]]?, x: Double,
        y: Double
    ) -> String {
        let cx = x + panel.width / 2
        let cy = y + panel.height / 2 + 12
        func point(_ axis: Int, _ vr: Double) -> (Double, Double) {
            let angle = -Double.pi / 2 + Double(axis) * Double.pi / 2
            let r = radius * min(max(vr, 0), 60) / 60
            return (cx + r * cos(angle), cy + r * sin(angle))
        }
        func f(_ x: Double) -> String { SVGText.number(x) }
        let name = SVGText.fit(model, width: panel.width - 20, size: 15)
        var out = "<g class=\"panel\" data-model=\"\(SVGText.escape(model))\">\n"
        out +=
            """
            <text class=\"panel-title\" x=\"\(f(cx))\" y=\"\(f(y + 22))\" text-anchor=\"middle\" font-size=\"15\" \
            font-weight=\"bold\"><title>\(SVGText.escape(model))</title>\(SVGText.escape(name))</text>\n
            """
        // Grid: rings at 15, 30, 45, 60, and the four axes, named in full.
        for ring in [15.0, 30, 45, 60] {
            let points = (0..<4).map { point($0, ring) }.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
            out += "<polygon points=\"\(points)\" fill=\"none\" stroke=\"#cccccc\" stroke-width=\"1\"/>\n"
        }
        let run = Set(report.cells.filter { $0.group[0] == model && $0.meanVR != nil }.map { $0.group[1] })
        for (index, axis) in axes.enumerated() {
            let end = point(index, 60)
            out +=
                """
                <line x1=\"\(f(cx))\" y1=\"\(f(cy))\" x2=\"\(f(end.0))\" y2=\"\(f(end.1))\" stroke=\"#999999\" \
                stroke-width=\"1\"/>\n
                """
            // Outside the outer ring, clear of the markers at 60: above, right of, below, left of it.
            let (dx, dy, anchor) = [
                (0.0, -12.0, "middle"), (10.0, 5.0, "start"), (0.0, 22.0, "middle"), (-10.0, 5.0, "end"),
            ][index]
            out +=
                """
                <text class=\"axis\" x=\"\(f(end.0 + dx))\" y=\"\(f(end.1 + dy))\" text-anchor=\"\(anchor)\" \
                font-size=\"13\" font-weight=\"bold\">\(axis)</text>\n
                """
            if !run.contains(axis) {
                // Above the top axis's name: below it, it would sit on the axis and the 60 tick.
                let below = index == 0 ? -14.0 : 14.0
                out +=
                    """
                    <text class=\"not-run\" x=\"\(f(end.0 + dx))\" y=\"\(f(end.1 + dy + below))\" \
                    text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#777777\">not run</text>\n
                    """
            }
        }
        // The study's values first, so the model's own are drawn on top.
        if let paper {
            for (goal, dash) in [("with", "6 4"), ("without", "2 3")] {
                guard let values = paper[goal] else { continue }
                out += series(
                    axes.map { values[$0] }, point: point, colour: colours[goal]!, dash: dash, opacity: 0, width: 2,
                    attributes: "class=\"paper\" data-goal=\"\(goal)\"")
            }
        }
        for goal in goals {
            let vrs = axes.map { axis in report.cells.first { $0.group == [model, axis, goal] }?.meanVR }
            guard vrs.contains(where: { $0 != nil }) else { continue }
            // "with" is drawn wider and first, so it still shows where the two coincide.
            out += series(
                vrs, point: point, colour: colours[goal]!, dash: nil, opacity: 0.10, width: goal == "with" ? 5 : 2,
                attributes:
                    """
                    class=\"series\" data-goal=\"\(goal)\" \
                    data-vr=\"\(vrs.map { $0.map { String(format: "%.2f", $0) } ?? "-" }.joined(separator: ","))\"
                    """
            )
        }
        // Tick labels last, on a white halo, so that no polygon hides them.
        for ring in [15.0, 30, 45, 60] {
            let label = point(0, ring)
            out +=
                """
                <text class=\"tick\" x=\"\(f(label.0 + 4))\" y=\"\(f(label.1 + 11))\" font-size=\"10\" \
                fill=\"#555555\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">\(Int(ring))</text>\n
                """
        }
        return out + "</g>\n"
    }

    /// One series: a polygon when every axis has a value; otherwise its vertices, and the edges
    /// between neighbouring axes that both have one.
    static func series(
        _ vrs: [Double?], point: (Int, Double) -> (Double, Double), colour: String, dash: String?,
        opacity: Double, width: Double, attributes: String
    ) -> String {
        func f(_ x: Double) -> String { SVGText.number(x) }
        let stroke =
            "stroke=\"\(colour)\" stroke-width=\"\(f(width))\" stroke-linejoin=\"round\""
            + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")
        var out = ""
        if vrs.allSatisfy({ $0 != nil }) {
            let points = vrs.enumerated().map { point($0.offset, $0.element!) }.map { "\(f($0.0)),\(f($0.1))" }.joined(
                separator: " ")
            out +=
                """
                <polygon \(attributes) points=\"\(points)\" fill=\"\(colour)\" fill-opacity=\"\(opacity)\" \(stroke)/>\n
                """
        } else {
            out += "<g \(attributes)>\n"
            for index in vrs.indices {
                let next = (index + 1) % vrs.count
                guard let a = vrs[index], let b = vrs[next] else { continue }
                let (p, q) = (point(index, a), point(next, b))
                out += "<line x1=\"\(f(p.0))\" y1=\"\(f(p.1))\" x2=\"\(f(q.0))\" y2=\"\(f(q.1))\" \(stroke)/>\n"
            }
            out += "</g>\n"
        }
        for (index, vr) in vrs.enumerated() {
            guard let vr else { continue }
            let p = point(index, vr)
            out +=
                """
                <circle class=\"vertex\" cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"\(dash == nil ? 4 : 2)\" \
                fill=\"\(colour)\"/>\n
                """
        }
        return out
    }
}
