import Foundation
import SVO
import Store

/// The SVO ring as SVG: per model, the category wedges and their boundaries, the four ideal
/// angles, and every complete trial's angle as a point coloured by its assigned value (trials on
/// one spot drawn as one mark that says how many it stands for in `data-trials`).
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

    /// Every complete trial told a named value that `filter` selects, as a point. (Target trials
    /// have no value to colour them by; `hvae plot steer` draws them.)
    public static func points(store: ExperimentStore, filter: TrialFilter) async throws -> [Point] {
        points(try await store.trialResults(filter))
    }

    /// The points of these trials: each complete trial told a value, at its angle.
    public static func points(_ trials: [TrialResult]) -> [Point] {
        trials.filter { $0.status == .complete }.compactMap { trial in
            guard let value = trial.key.value, let angle = trial.angle else { return nil }
            return Point(model: trial.key.model, value: value.rawValue, angle: angle)
        }
    }

    static let colours = [
        "altruistic": "#1b9e77", "prosocial": "#7570b3", "individualistic": "#d95f02", "competitive": "#e7298a",
    ]
    /// The sector drawn, in degrees: the slider's angles lie in [-16.26, 61.39].
    static let span = (from: -35.0, to: 80.0)
    static let boundaries = ValueOrientation.categoryBoundaries

    static let minimumWidth = 640.0

    public static func svg(_ points: [Point], title: String? = nil) -> String {
        let models = distinctInOrder(points.map(\.model))
        let panel = 340.0
        let panelHeight = 330.0
        let margin = 16.0
        let columns = min(3, max(1, models.count))
        let rows = (models.count + columns - 1) / columns
        let width = max(minimumWidth, margin * 2 + Double(columns) * panel)
        let heading = SVGText.shrink(
            title ?? "SVO angle of every complete trial, by assigned value", width: width - 2 * margin,
            size: 17, smallest: 11)
        // The key, in as many lines as the width needs.
        let key = [
            "θ = 0° is the own payoff (right), 90° the other's (up);",
            "ticks mark each value's ideal angle, dashed lines the category boundaries",
        ]
        let keyLines =
            SVGText.width(key.joined(separator: " "), size: 12) <= width - 2 * margin
            ? [key.joined(separator: " ")] : key
        // The legend: only the values that were run.
        let values = ValueOrientation.allCases.filter { value in points.contains { $0.value == value.rawValue } }
        let legendTop = margin + 24 + Double(keyLines.count) * 16 + 14
        let flow = SVGText.flow(
            values.map { 18 + SVGText.width("assigned \($0.rawValue)", size: 13) }, from: margin + 10,
            to: width - margin, top: legendTop, lineHeight: 22)
        let panelsTop = legendTop + Double(flow.lines) * 22 + 6
        let height = panelsTop + Double(rows) * panelHeight + margin
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \
            \(f(height))" font-family="\(SVGText.fontFamily)">
            <rect width="100%" height="100%" fill="white"/>
            <text class="title" x="\(f(width / 2))" y="\(f(margin + 20))" text-anchor="middle" \
            font-size="\(Int(heading.size))" font-weight="bold">\(SVGText.escape(heading.text))</text>

            """
        for (index, line) in keyLines.enumerated() {
            svg +=
                """
                <text class=\"key\" x=\"\(f(width / 2))\" y=\"\(f(margin + 40 + Double(index) * 16))\" \
                text-anchor=\"middle\" font-size=\"12\" fill=\"#555555\">\(SVGText.escape(line))</text>\n
                """
        }
        for (value, position) in zip(values, flow.positions) {
            svg +=
                """
                <g class=\"legend\"><circle cx=\"\(f(position.x + 6))\" cy=\"\(f(position.y))\" r=\"6\" \
                fill=\"\(colours[value.rawValue]!)\"/>
                """
            svg +=
                """
                <text x=\"\(f(position.x + 18))\" y=\"\(f(position.y + 5))\" font-size=\"13\">assigned \
                \(value.rawValue)</text></g>\n
                """
        }
        let left = (width - Double(columns) * panel) / 2
        for (index, model) in models.enumerated() {
            let x = left + Double(index % columns) * panel
            let y = panelsTop + Double(index / columns) * panelHeight
            svg += ringPanel(model: model, points: points.filter { $0.model == model }, x: x, y: y, size: panel)
        }
        return svg + "</svg>\n"
    }

    static func ringPanel(model: String, points: [Point], x: Double, y: Double, size: Double) -> String {
        let radius = 160.0
        let cx = x + 28
        let cy = y + 34 + radius * sin(span.to * .pi / 180) + 8
        func at(_ degrees: Double, _ r: Double) -> (Double, Double) {
            let a = degrees * .pi / 180
            return (cx + r * cos(a), cy - r * sin(a))
        }
        var out = "<g class=\"panel\" data-model=\"\(SVGText.escape(model))\">\n"
        let name = SVGText.fit(model, width: size - 20, size: 15)
        out +=
            """
            <text class=\"panel-title\" x=\"\(f(x + size / 2))\" y=\"\(f(y + 20))\" text-anchor=\"middle\" \
            font-size=\"15\" \
            font-weight=\"bold\"><title>\(SVGText.escape(model))</title>\(SVGText.escape(name))</text>\n
            """
        // Category wedges, lightly filled, with their names.
        let edges = [span.from] + boundaries + [span.to]
        let names = ["competitive", "individualistic", "prosocial", "altruistic"]
        for (index, name) in names.enumerated() {
            let (a0, a1) = (edges[index], edges[index + 1])
            let p0 = at(a0, radius)
            let p1 = at(a1, radius)
            out +=
                """
                <path class=\"wedge\" data-category=\"\(name)\" d=\"M \(f(cx)) \(f(cy)) L \(f(p0.0)) \(f(p0.1)) A \
                \(f(radius)) \(f(radius)) 0 0 0 \(f(p1.0)) \(f(p1.1)) Z\" fill=\"\(colours[name]!)\" \
                fill-opacity=\"0.07\" stroke=\"none\"/>\n
                """
            let label = at((a0 + a1) / 2, radius + 6)
            out +=
                "<text x=\"\(f(label.0))\" y=\"\(f(label.1 + 4))\" font-size=\"11\" fill=\"#555555\">\(name)</text>\n"
        }
        // Boundaries (dashed) and the ideal angles (solid ticks, labelled).
        for boundary in boundaries {
            let end = at(boundary, radius)
            out +=
                """
                <line class=\"boundary\" x1=\"\(f(cx))\" y1=\"\(f(cy))\" x2=\"\(f(end.0))\" y2=\"\(f(end.1))\" \
                stroke=\"#999999\" stroke-dasharray=\"4 3\"/>\n
                """
        }
        for value in ValueOrientation.allCases {
            let inner = at(value.idealAngle, radius - 8)
            let outer = at(value.idealAngle, radius + 4)
            out +=
                """
                <line class=\"ideal\" data-value=\"\(value.rawValue)\" x1=\"\(f(inner.0))\" y1=\"\(f(inner.1))\" \
                x2=\"\(f(outer.0))\" y2=\"\(f(outer.1))\" stroke=\"\(colours[value.rawValue]!)\" stroke-width=\"3\"/>\n
                """
        }
        out +=
            """
            <path d=\"M \(f(at(span.from, radius).0)) \(f(at(span.from, radius).1)) A \(f(radius)) \(f(radius)) 0 0 0 \
            \(f(at(span.to, radius).0)) \(f(at(span.to, radius).1))\" fill=\"none\" stroke=\"#777777\"/>\n
            """
        // Trials: each at its angle; the radius spreads overlapping points in bands by assigned value,
        // ten steps deep. Trials that land on one spot (the same value, angles within a thousandth
        // of a degree, the same step) are one mark, as opaque as that many marks drawn over each
        // other: k coats of opacity a show as 1 - (1 - a)^k, and marks of one colour compose in
        // any order, while the bands keep colours apart. So the picture is the one every trial
        // drawn alone would give, at a size a browser opens (128,000 trials: 17 MB before).
        let band = ["altruistic": 0.9, "prosocial": 0.75, "individualistic": 0.6, "competitive": 0.45]
        struct Spot: Hashable {
            var value: String
            var milliDegrees: Int
        }
        var spots: [Spot: (first: Point, trials: Int)] = [:]
        var order: [Spot] = []
        for point in points {
            let spot = Spot(value: point.value, milliDegrees: Int((point.angle * 1000).rounded()))
            if let seen = spots[spot] {
                spots[spot] = (seen.first, seen.trials + 1)
            } else {
                spots[spot] = (point, 1)
                order.append(spot)
            }
        }
        let depth = 10
        for spot in order {
            let (point, trials) = spots[spot]!
            for step in 0..<min(depth, trials) {
                let coats = trials / depth + (step < trials % depth ? 1 : 0)
                let r = radius * ((band[point.value] ?? 0.5) - 0.012 * Double(step))
                let p = at(min(max(point.angle, span.from), span.to), r)
                out +=
                    """
                    <circle class=\"trial\" data-value=\"\(point.value)\" \
                    data-angle=\"\(String(format: "%.4f", point.angle))\" data-trials=\"\(coats)\" \
                    cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"3.5\" fill=\"\(colours[point.value] ?? "#000000")\" \
                    fill-opacity=\"\(String(format: "%.4f", 1 - pow(0.25, Double(coats))))\"/>\n
                    """
            }
        }
        return out + "</g>\n"
    }

    static func f(_ x: Double) -> String { SVGText.number(x) }
}
