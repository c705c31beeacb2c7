import Foundation
import Testing

@testable import Analysis

@Suite("The ring figure: trials on one spot drawn as one mark as opaque as all of them")
struct RingChartTests {
    /// Each trial mark's (value, trials it stands for, opacity), in the order drawn.
    func marks(_ svg: String) -> [(value: String, trials: Int, opacity: Double)] {
        func attribute(_ name: String, _ line: String) -> String? {
            line.components(separatedBy: " \(name)=\"").dropFirst().first?.split(separator: "\"").first.map(String.init)
        }
        return svg.components(separatedBy: "\n").filter { $0.contains("class=\"trial\"") }.compactMap { line in
            guard let value = attribute("data-value", line),
                let trials = attribute("data-trials", line).flatMap(Int.init),
                let opacity = attribute("fill-opacity", line).flatMap(Double.init)
            else { return nil }
            return (value, trials, opacity)
        }
    }

    @Test("25 trials on one spot are ten marks standing for 3, 3, 3, 3, 3, 2, 2, 2, 2, 2; a lone trial is one mark")
    func coincidentTrials() {
        let same = (0..<25).map { index in
            RingChart.Point(model: "m", value: "prosocial", angle: 45 + Double(index % 2) * 0.0001)
        }
        let lone = RingChart.Point(model: "m", value: "competitive", angle: -10)
        let drawn = marks(RingChart.svg(same + [lone]))
        #expect(drawn.count == 11)
        let prosocial = drawn.filter { $0.value == "prosocial" }
        #expect(prosocial.map(\.trials) == [3, 3, 3, 3, 3, 2, 2, 2, 2, 2])
        #expect(prosocial.map(\.trials).reduce(0, +) == 25)
        // k coats of opacity 0.75 let through 0.25^k of what is behind them.
        for mark in prosocial { #expect(abs((1 - mark.opacity) - pow(0.25, Double(mark.trials))) < 1e-4) }
        #expect(drawn.last.map { $0.value == "competitive" && $0.trials == 1 && $0.opacity == 0.75 } == true)
    }

    @Test("trials a thousandth of a degree apart or more, or of other values, are marks of their own")
    func distinctSpots() {
        let points = [
            RingChart.Point(model: "m", value: "prosocial", angle: 45),
            RingChart.Point(model: "m", value: "prosocial", angle: 45.001),
            RingChart.Point(model: "m", value: "altruistic", angle: 45),
        ]
        #expect(marks(RingChart.svg(points)).map(\.trials) == [1, 1, 1])
    }
}
