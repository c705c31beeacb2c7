import Foundation
import Store
import SVO

/// The SVO ring as SVG: per model, the category wedges and their boundaries, the four ideal
/// angles, and every complete trial's angle as a point coloured by its assigned value.
public enum RingChart {
    /// One complete trial: its model, assigned value and angle.
    public struct Point: Sendable, Equatable {
        public var model: String
        public var value: String
        public var angle: Double
        public init(model: String, value: String, angle: Double) {
            self.model = model
            self.value = value
            self.angle = angle
        }
    }

    /// Every complete trial that `filter` selects, as a point.
    public static func points(store: ExperimentStore, filter: TrialFilter) async throws -> [Point] {
        try await store.trialResults(filter).filter { $0.status == .complete }.compactMap { trial in
            trial.angle.map { Point(model: trial.key.model, value: trial.key.value.rawValue, angle: $0) }
        }
    }

    static let colours = ["altruistic": "#1b9e77", "prosocial": "#7570b3", "individualistic": "#d95f02", "competitive": "#e7298a"]
    /// The sector drawn, in degrees: the slider's angles lie in [-16.26, 61.39].
    static let span = (from: -35.0, to: 80.0)
    static let boundaries = [-12.04, 22.45, 57.15]

    public static func svg(_ points: [Point], title: String? = nil) -> String {
        let models = distinctInOrder(points.map(\.model))
        let panel = 340.0, panelHeight = 330.0, margin = 16.0, titleHeight = 52.0, legendHeight = 34.0
        let columns = min(3, max(1, models.count)), rows = (models.count + columns - 1) / columns
        let width = margin * 2 + Double(columns) * panel
        let height = margin * 2 + titleHeight + legendHeight + Double(rows) * panelHeight
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2))" y="\(f(margin + 20))" text-anchor="middle" font-size="17" font-weight="bold">\(RadarChart.escape(title ?? "SVO angle of every complete trial, by assigned value"))</text>
            <text x="\(f(width / 2))" y="\(f(margin + 40))" text-anchor="middle" font-size="12" fill="#555555">θ = 0° is the own payoff (right), 90° the other's (up); ticks mark each value's ideal angle, dashed lines the category boundaries</text>

            """
        for (index, value) in ValueOrientation.allCases.enumerated() {
            let x = margin + 10 + Double(index) * (width - 2 * margin) / 4, y = margin + titleHeight + 10
            svg += "<circle cx=\"\(f(x + 6))\" cy=\"\(f(y))\" r=\"6\" fill=\"\(colours[value.rawValue]!)\"/>\n"
            svg += "<text x=\"\(f(x + 18))\" y=\"\(f(y + 5))\" font-size=\"13\">assigned \(value.rawValue)</text>\n"
        }
        for (index, model) in models.enumerated() {
            let x = margin + Double(index % columns) * panel
            let y = margin + titleHeight + legendHeight + Double(index / columns) * panelHeight
            svg += ringPanel(model: model, points: points.filter { $0.model == model }, x: x, y: y, size: panel)
        }
        return svg + "</svg>\n"
    }

    static func ringPanel(model: String, points: [Point], x: Double, y: Double, size: Double) -> String {
        let radius = 160.0
        let cx = x + 28, cy = y + 34 + radius * sin(span.to * .pi / 180) + 8
        func at(_ degrees: Double, _ r: Double) -> (Double, Double) {
            let a = degrees * .pi / 180
            return (cx + r * cos(a), cy - r * sin(a))
        }
        var out = "<g class=\"panel\" data-model=\"\(RadarChart.escape(model))\">\n"
        out += "<text x=\"\(f(x + size / 2 + 30))\" y=\"\(f(y + 20))\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(RadarChart.escape(model))</text>\n"
        // Category wedges, lightly filled, with their names.
        let edges = [span.from] + boundaries + [span.to]
        let names = ["competitive", "individualistic", "prosocial", "altruistic"]
        for (index, name) in names.enumerated() {
            let (a0, a1) = (edges[index], edges[index + 1])
            let p0 = at(a0, radius), p1 = at(a1, radius)
            out += "<path class=\"wedge\" data-category=\"\(name)\" d=\"M \(f(cx)) \(f(cy)) L \(f(p0.0)) \(f(p0.1)) A \(f(radius)) \(f(radius)) 0 0 0 \(f(p1.0)) \(f(p1.1)) Z\" fill=\"\(colours[name]!)\" fill-opacity=\"0.07\" stroke=\"none\"/>\n"
            let label = at((a0 + a1) / 2, radius + 6)
            out += "<text x=\"\(f(label.0))\" y=\"\(f(label.1 + 4))\" font-size=\"11\" fill=\"#555555\">\(name)</text>\n"
        }
        // Boundaries (dashed) and the ideal angles (solid ticks, labelled).
        for boundary in boundaries {
            let end = at(boundary, radius)
            out += "<line class=\"boundary\" x1=\"\(f(cx))\" y1=\"\(f(cy))\" x2=\"\(f(end.0))\" y2=\"\(f(end.1))\" stroke=\"#999999\" stroke-dasharray=\"4 3\"/>\n"
        }
        for value in ValueOrientation.allCases {
            let inner = at(value.idealAngle, radius - 8), outer = at(value.idealAngle, radius + 4)
            out += "<line class=\"ideal\" data-value=\"\(value.rawValue)\" x1=\"\(f(inner.0))\" y1=\"\(f(inner.1))\" x2=\"\(f(outer.0))\" y2=\"\(f(outer.1))\" stroke=\"\(colours[value.rawValue]!)\" stroke-width=\"3\"/>\n"
        }
        out += "<path d=\"M \(f(at(span.from, radius).0)) \(f(at(span.from, radius).1)) A \(f(radius)) \(f(radius)) 0 0 0 \(f(at(span.to, radius).0)) \(f(at(span.to, radius).1))\" fill=\"none\" stroke=\"#777777\"/>\n"
        // Trials: each at its angle; the radius spreads overlapping points in bands by assigned value.
        let band = ["altruistic": 0.9, "prosocial": 0.75, "individualistic": 0.6, "competitive": 0.45]
        var seen: [String: Int] = [:]
        for point in points {
            let key = "\(point.value)|\(String(format: "%.3f", point.angle))"
            let repeatIndex = seen[key, default: 0]
            seen[key] = repeatIndex + 1
            let r = radius * ((band[point.value] ?? 0.5) - 0.012 * Double(repeatIndex % 10))
            let p = at(min(max(point.angle, span.from), span.to), r)
            out += "<circle class=\"trial\" data-value=\"\(point.value)\" data-angle=\"\(String(format: "%.4f", point.angle))\" cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"3.5\" fill=\"\(colours[point.value] ?? "#000000")\" fill-opacity=\"0.75\"/>\n"
        }
        return out + "</g>\n"
    }

    static func f(_ x: Double) -> String { String(format: "%.2f", x) }
}
