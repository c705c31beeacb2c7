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
            let model = fields[0], goal = fields[1]
            if values[model] == nil { models.append(model) }
            for (column, text) in zip(header.dropFirst(2), fields.dropFirst(2)) {
                values[model, default: [:]][goal, default: [:]][column] = Double(text)
            }
        }
        self.values = values
        self.models = models
    }
}

/// The study's figure as SVG: one radar panel per model, axes A, I, P, C from 0 to 60, one
/// polygon per goal condition, optionally the study's published values for one of its models.
public enum RadarChart {
    /// Axes clockwise from the top, as the study draws them.
    static let axes: [(value: String, label: String)] = [("altruistic", "A"), ("individualistic", "I"),
                                                          ("prosocial", "P"), ("competitive", "C")]
    static let colours = ["with": "#1f77b4", "without": "#d95f02"]

    /// `report` must be grouped by model, value and goal (the default).
    public static func svg(_ report: Report, compareWith paperModel: String? = nil, title: String? = nil) throws -> String {
        guard report.options.groupBy == [.model, .value, .goal] else {
            throw ReportLayoutError(description: "the radar figure needs the default grouping (--by model,value,goal)")
        }
        let models = distinctInOrder(report.cells.map { $0.group[0] })
        let paper = try paperModel.map { name -> [String: [String: Double]] in
            guard let values = PaperResults.study.values[name] else {
                throw ReportLayoutError(description: "the study has no model '\(name)'; it has \(PaperResults.study.models.joined(separator: ", "))")
            }
            return values
        }

        let panel = 300.0, titleHeight = 34.0, legendHeight = 56.0, margin = 16.0
        let columns = min(3, max(1, models.count)), rows = (models.count + columns - 1) / columns
        let width = margin * 2 + Double(columns) * panel
        let height = margin * 2 + titleHeight + legendHeight + Double(rows) * panel
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(fmt(width / 2))" y="\(fmt(margin + 20))" text-anchor="middle" font-size="17" font-weight="bold">\(escape(title ?? "Value rationality (0–60) by assigned value"))</text>

            """
        // Legend.
        var legend: [(String, String, String)] = [("this run, with goal", colours["with"]!, ""), ("this run, without goal", colours["without"]!, "")]
        if let paperModel {
            legend += [("study, \(paperModel), with goal", colours["with"]!, "6 4"), ("study, \(paperModel), without goal", colours["without"]!, "2 3")]
        }
        let legendY = margin + titleHeight + 8
        for (index, entry) in legend.enumerated() {
            let x = margin + 10 + Double(index % 2) * (width - 2 * margin) / 2
            let y = legendY + Double(index / 2) * 22
            svg += """
                <line x1="\(fmt(x))" y1="\(fmt(y))" x2="\(fmt(x + 34))" y2="\(fmt(y))" stroke="\(entry.1)" stroke-width="3"\(entry.2.isEmpty ? "" : " stroke-dasharray=\"\(entry.2)\"")/>
                <text x="\(fmt(x + 42))" y="\(fmt(y + 5))" font-size="13">\(escape(entry.0))</text>

                """
        }
        for (index, model) in models.enumerated() {
            let originX = margin + Double(index % columns) * panel
            let originY = margin + titleHeight + legendHeight + Double(index / columns) * panel
            svg += radarPanel(model: model, report: report, paper: paper, x: originX, y: originY, size: panel)
        }
        return svg + "</svg>\n"
    }

    static func radarPanel(model: String, report: Report, paper: [String: [String: Double]]?, x: Double, y: Double, size: Double) -> String {
        let cx = x + size / 2, cy = y + size / 2 + 14, radius = size / 2 - 56
        func point(_ axis: Int, _ vr: Double) -> (Double, Double) {
            let angle = -Double.pi / 2 + Double(axis) * Double.pi / 2
            let r = radius * min(max(vr, 0), 60) / 60
            return (cx + r * cos(angle), cy + r * sin(angle))
        }
        var out = "<g class=\"panel\" data-model=\"\(escape(model))\">\n"
        out += "<text x=\"\(fmt(cx))\" y=\"\(fmt(y + 22))\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(model))</text>\n"
        // Grid: rings at 15, 30, 45, 60, and the four axes.
        for ring in [15.0, 30, 45, 60] {
            let points = (0..<4).map { point($0, ring) }.map { "\(fmt($0.0)),\(fmt($0.1))" }.joined(separator: " ")
            out += "<polygon points=\"\(points)\" fill=\"none\" stroke=\"#cccccc\" stroke-width=\"1\"/>\n"
            let label = point(0, ring)
            out += "<text x=\"\(fmt(label.0 + 4))\" y=\"\(fmt(label.1 + 11))\" font-size=\"10\" fill=\"#666666\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">\(Int(ring))</text>\n"
        }
        for (index, axis) in axes.enumerated() {
            let end = point(index, 60)
            out += "<line x1=\"\(fmt(cx))\" y1=\"\(fmt(cy))\" x2=\"\(fmt(end.0))\" y2=\"\(fmt(end.1))\" stroke=\"#999999\" stroke-width=\"1\"/>\n"
            let label = point(index, 60)
            // Outside the outer ring, clear of the markers at 60.
            let (dx, dy) = [(0.0, -12.0), (16.0, 5.0), (0.0, 22.0), (-16.0, 5.0)][index]
            out += "<text x=\"\(fmt(label.0 + dx))\" y=\"\(fmt(label.1 + dy))\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(axis.label)</text>\n"
        }
        // The study's values first, so the model's own polygons are drawn on top.
        if let paper {
            for (goal, dash) in [("with", "6 4"), ("without", "2 3")] {
                guard let values = paper[goal] else { continue }
                let vrs = axes.map { values[$0.value] ?? 0 }
                out += polygon(vrs, point: point, colour: colours[goal]!, dash: dash, opacity: 0, width: 2,
                               attributes: "class=\"paper\" data-goal=\"\(goal)\"")
            }
        }
        for goal in ["with", "without"] {
            let cells = axes.map { axis in report.cells.first { $0.group == [model, axis.value, goal] } }
            guard cells.contains(where: { $0?.meanVR != nil }) else { continue }
            let vrs = cells.map { $0?.meanVR ?? 0 }
            // "with" is drawn wider and first, so it still shows where the two coincide.
            out += polygon(vrs, point: point, colour: colours[goal]!, dash: nil, opacity: 0.10, width: goal == "with" ? 5 : 2,
                           attributes: "class=\"series\" data-goal=\"\(goal)\" data-vr=\"\(vrs.map { String(format: "%.2f", $0) }.joined(separator: ","))\"")
        }
        return out + "</g>\n"
    }

    static func polygon(_ vrs: [Double], point: (Int, Double) -> (Double, Double), colour: String, dash: String?,
                        opacity: Double, width: Double, attributes: String) -> String {
        let points = vrs.enumerated().map { point($0.offset, $0.element) }.map { "\(fmt($0.0)),\(fmt($0.1))" }.joined(separator: " ")
        var out = "<polygon \(attributes) points=\"\(points)\" fill=\"\(colour)\" fill-opacity=\"\(opacity)\" stroke=\"\(colour)\" stroke-width=\"\(fmt(width))\" stroke-linejoin=\"round\""
        if let dash { out += " stroke-dasharray=\"\(dash)\"" }
        out += "/>\n"
        for (index, vr) in vrs.enumerated() {
            let p = point(index, vr)
            out += "<circle cx=\"\(fmt(p.0))\" cy=\"\(fmt(p.1))\" r=\"\(dash == nil ? 3 : 2)\" fill=\"\(colour)\"/>\n"
        }
        return out
    }

    static func fmt(_ x: Double) -> String { String(format: "%.2f", x) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
