import Domain
import Foundation
import SVO

/// The steerability figure as SVG (method.md §8.3): each target's mean angle against its ideal
/// angle θ*, one series per model and goal condition, with the bootstrap interval as a bar and
/// the diagonal (a model that hits every θ*) dashed. A flat series is a model that does not move.
public enum SteerChart {
    static let colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
    /// The axes' range, in degrees: every angle the slider can give lies in [-16.26, 61.39].
    static let axis = (from: -20.0, to: 65.0)

    /// `baselines`: models that answer at random, drawn in grey and named the baseline.
    public static func svg(_ steerability: Steerability, title: String? = nil, baselines: [String] = []) -> String {
        let series = steerability.curves.map { curve in
            (
                curve: curve,
                points: steerability.points.filter {
                    $0.model == curve.model && $0.goal == curve.goal && $0.placement == curve.placement
                }
                .sorted { $0.idealAngle < $1.idealAngle }
            )
        }
        let models = distinctInOrder(series.map(\.curve.model))
        let goals = Set(series.map(\.curve.goal))
        let placements = Set(series.map(\.curve.placement))
        let (width, plot, margin) = (640.0, 420.0, 60.0)
        let legendLines = Double(series.count)
        let height = margin + plot + 50 + legendLines * 18 + 10
        func x(_ angle: Double) -> Double { margin + (angle - axis.from) / (axis.to - axis.from) * plot }
        func y(_ angle: Double) -> Double { margin + plot - (angle - axis.from) / (axis.to - axis.from) * plot }
        let n = SVGText.number
        let heading = SVGText.shrink(
            title ?? "Steerability: mean angle against the target's ideal angle", width: width - 2 * 16, size: 17,
            smallest: 11)
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="\(SVGText.fontFamily)">
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="16" y="28" font-size="\(n(heading.size))" font-weight="bold">\(SVGText.escape(heading.text))</text>

            """
        // Axes, grid every 15°, and the category boundaries on the y axis.
        var tick = -15.0
        while tick <= axis.to {
            out += """
                <line x1="\(n(x(tick)))" y1="\(n(y(axis.from)))" x2="\(n(x(tick)))" y2="\(n(y(axis.to)))" \
                stroke="#eeeeee"/>
                <line x1="\(n(x(axis.from)))" y1="\(n(y(tick)))" x2="\(n(x(axis.to)))" y2="\(n(y(tick)))" \
                stroke="#eeeeee"/>
                <text x="\(n(x(tick)))" y="\(n(y(axis.from) + 16))" font-size="11" text-anchor="middle">\
                \(Int(tick))°</text>
                <text x="\(n(x(axis.from) - 6))" y="\(n(y(tick) + 4))" font-size="11" text-anchor="end">\
                \(Int(tick))°</text>

                """
            tick += 15
        }
        out += """
            <rect x="\(n(margin))" y="\(n(margin))" width="\(n(plot))" height="\(n(plot))" fill="none" \
            stroke="#777777"/>
            <line class="diagonal" x1="\(n(x(axis.from)))" y1="\(n(y(axis.from)))" x2="\(n(x(axis.to)))" \
            y2="\(n(y(axis.to)))" stroke="#999999" stroke-dasharray="6 4"/>
            <text x="\(n(margin + plot / 2))" y="\(n(y(axis.from) + 34))" font-size="12" text-anchor="middle">\
            ideal angle θ* of the target</text>
            <text x="18" y="\(n(margin + plot / 2))" font-size="12" text-anchor="middle" \
            transform="rotate(-90 18 \(n(margin + plot / 2)))">mean angle θ of the trials</text>

            """
        for boundary in ValueOrientation.categoryBoundaries {
            out += """
                <line class="boundary" x1="\(n(x(axis.from)))" y1="\(n(y(boundary)))" x2="\(n(x(axis.to)))" \
                y2="\(n(y(boundary)))" stroke="#cccccc" stroke-dasharray="2 3"/>

                """
        }
        // Each series: its line, its interval bars, its points.
        for (index, entry) in series.enumerated() {
            let baseline = baselines.contains(entry.curve.model)
            let colour = baseline ? "#aaaaaa" : colours[models.firstIndex(of: entry.curve.model)! % colours.count]
            let dash =
                entry.curve.goal == GoalCondition.without.rawValue && goals.count > 1 ? " stroke-dasharray=\"5 3\"" : ""
            let drawn = entry.points.filter { $0.meanAngle != nil }
            if drawn.count > 1 {
                let path = drawn.map { "\(n(x($0.idealAngle))),\(n(y($0.meanAngle!)))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\"\(dash)/>\n"
            }
            // A system placement's points are hollow, so the two placements of a model can be told apart.
            let hollow = "fill=\"#ffffff\" stroke=\"\(colour)\" stroke-width=\"1.5\""
            for point in drawn {
                let (px, py) = (x(point.idealAngle), y(point.meanAngle!))
                if let low = point.ciLow, let high = point.ciHigh {
                    out += """
                        <line class="ci" x1="\(n(px))" y1="\(n(y(low)))" x2="\(n(px))" y2="\(n(y(high)))" \
                        stroke="\(colour)" stroke-width="1.5"/>

                        """
                }
                out += """
                    <circle class="point" data-model="\(SVGText.escape(point.model))" data-goal="\(point.goal)" \
                    data-placement="\(point.placement)" \
                    data-target="\(SVGText.escape(point.target))" data-ideal="\(n(point.idealAngle))" \
                    data-mean="\(n(point.meanAngle!))" cx="\(n(px))" cy="\(n(py))" r="4" \
                    \(point.placement == "system" ? hollow : "fill=\"\(colour)\"")/>

                    """
            }
            // The legend: the series and its fitted slope.
            let slope = entry.curve.slope.map { "slope \(n($0))" } ?? "no slope"
            let goal =
                (goals.count > 1 ? ", \(entry.curve.goal) goal" : "")
                + (placements.count > 1 ? ", \(entry.curve.placement) placement" : "")
            let name = baseline ? "\(entry.curve.model) (baseline: random answers)" : entry.curve.model
            let label = SVGText.fit("\(name)\(goal): \(slope)", width: width - 2 * margin - 30, size: 12)
            let ly = margin + plot + 58 + Double(index) * 18
            out += """
                <line x1="\(n(margin))" y1="\(n(ly - 4))" x2="\(n(margin + 20))" y2="\(n(ly - 4))" stroke="\(colour)" \
                stroke-width="2"\(dash)/>
                <text x="\(n(margin + 26))" y="\(n(ly))" font-size="12">\(SVGText.escape(label))</text>

                """
        }
        return out + "</svg>\n"
    }
}
