import Foundation
import Testing

let rsvgConvert = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
let pdflatex = ["/usr/bin/pdflatex", "/usr/local/bin/pdflatex"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
/// Set by `.ci/run`, which installs every tool the tests use: there a missing tool fails its test
/// instead of skipping it, so that CI cannot pass without running every check.
let toolsRequired = ProcessInfo.processInfo.environment["HVAE_REQUIRE_TOOLS"] == "1"

/// Runs a program and returns its standard output.
/// Runs a program; `output` is its stdout, with stderr too when `withErrors`.
func runProgram(_ path: String, _ arguments: [String], withErrors: Bool = false) throws -> (
    status: Int32, output: String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    if withErrors { process.standardError = pipe }
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

@Suite("Figures, checked as a reader sees them")
struct FigureTests {
    @Test(
        "the quickstart radar, rendered to PNG, shows the ideal agent at 60 on every axis",
        .enabled(if: rsvgConvert != nil || toolsRequired, "needs rsvg-convert (apt-get install librsvg2-bin)"))
    func radar() throws {
        let work = try WorkingDirectory()
        try SharedRuns.quickstart(into: work)
        let plot = try hvae(["plot", "radar", "--compare-paper", "GPT-4", "-o", "radar.svg"], in: work.url)
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOfFile: work.path("radar.svg"), encoding: .utf8)
        // The axes are named in full: "A" would read as option A.
        for axis in ["altruistic", "individualistic", "prosocial", "competitive"] {
            #expect(svg.contains(">\(axis)</text>"))
        }
        #expect(svg.contains("this run, with goal") && svg.contains("study, GPT-4, with goal"))

        // The ideal panel: its outer (60) ring and its two series polygons.
        let panel = try #require(
            svg.components(separatedBy: "<g class=\"panel\" data-model=\"ideal\">").dropFirst().first?
                .components(separatedBy: "</g>").first)
        func points(_ pattern: String) -> [[(Double, Double)]] {
            panel.components(separatedBy: "\n").filter { $0.contains(pattern) }.compactMap { line in
                guard let start = line.range(of: "points=\"")?.upperBound, let end = line[start...].firstIndex(of: "\"")
                else { return nil }
                return line[start..<end].split(separator: " ").map { pair in
                    let xy = pair.split(separator: ",").map { Double($0)! }
                    return (xy[0], xy[1])
                }
            }
        }
        let rings = points("fill=\"none\" stroke=\"#cccccc\"")
        let outer = try #require(rings.last)
        let series = points("class=\"series\"")
        #expect(series.count == 2)
        for polygon in series {
            for (vertex, ring) in zip(polygon, outer) {
                #expect(abs(vertex.0 - ring.0) < 0.01 && abs(vertex.1 - ring.1) < 0.01)
            }
        }

        // Render, and read the pixels where the ideal agent's vertices are drawn.
        let rsvgConvert = try #require(rsvgConvert, "rsvg-convert is missing: apt-get install librsvg2-bin")
        let render = try runProgram(rsvgConvert, [work.path("radar.svg"), "-o", work.path("radar.png")])
        #expect(render.status == 0)
        let probe = try runProgram(
            "/usr/bin/env",
            [
                "python3", repositoryRoot.appending(path: "scripts/png-pixels.py").path,
                work.path("radar.png"),
            ] + outer.map { "\($0.0),\($0.1)" })
        let colours = probe.output.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } }
        #expect(colours.count == 4)
        // Each vertex is painted in a series colour (#1f77b4 or #d95f02), not background or grid.
        let seriesColours = [[0x1f, 0x77, 0xb4], [0xd9, 0x5f, 0x02]]
        for colour in colours {
            #expect(
                seriesColours.contains { reference in zip(reference, colour).allSatisfy { abs($0 - $1) <= 24 } },
                "\(colour)")
        }
    }

    @Test("the ring puts every complete trial at its angle, coloured by its assigned value")
    func ring() throws {
        let work = try WorkingDirectory()
        try work.write(
            "r.yaml",
            "name: r\ntrials: 3\nmodels:\n  - name: ideal\n    agent: ideal\n  - name: stubborn\n    agent: stubborn\n")
        #expect(try hvae(["run", "r.yaml", "--quiet"], in: work.url).status == 0)
        let result = try hvae(["plot", "ring", "-o", "ring.svg"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        let svg = try String(contentsOfFile: work.path("ring.svg"), encoding: .utf8)
        let panels = svg.components(separatedBy: "<g class=\"panel\"").dropFirst()
        #expect(panels.count == 2)
        func trials(_ panel: String) -> [(value: String, angle: Double)] {
            panel.components(separatedBy: "\n").filter { $0.contains("class=\"trial\"") }.compactMap { line in
                guard
                    let value = line.components(separatedBy: "data-value=\"").dropFirst().first?.split(separator: "\"")
                        .first,
                    let angle = line.components(separatedBy: "data-angle=\"").dropFirst().first?.split(separator: "\"")
                        .first
                else { return nil }
                return (String(value), Double(angle)!)
            }
        }
        let ideal = trials(String(panels.first!))
        #expect(ideal.count == 4 * 2 * 3)
        for trial in ideal {
            let target = ["altruistic": 61.39, "prosocial": 45.0, "individualistic": 7.82, "competitive": -16.26][
                trial.value]!
            #expect(abs(trial.angle - target) < 0.01)
        }
        // The stubborn agent puts every colour on the prosocial angle.
        let stubborn = trials(String(panels.dropFirst().first!))
        #expect(stubborn.count == 4 * 2 * 3)
        #expect(stubborn.allSatisfy { abs($0.angle - 45) < 1e-9 })
        #expect(svg.components(separatedBy: "class=\"boundary\"").count - 1 == 2 * 3)
        #expect(svg.components(separatedBy: "class=\"ideal\"").count - 1 == 2 * 4)
    }

    /// The value of `attribute` on every element of `kind` (a class) in `svg`.
    static func attribute(_ attribute: String, of kind: String, in svg: String) -> [String] {
        svg.components(separatedBy: "\n").filter { $0.contains("class=\"\(kind)\"") }.compactMap { line in
            line.components(separatedBy: " \(attribute)=\"").dropFirst().first?.split(separator: "\"").first.map(
                String.init)
        }
    }

    @Test(
        "with one model the figures keep a readable width, their title whole and their legend apart",
        arguments: ["radar", "ring"])
    func oneModel(figure: String) throws {
        let work = try WorkingDirectory()
        try work.write("one.yaml", "name: one\ntrials: 2\nmodels:\n  - name: ideal\n    agent: ideal\n")
        #expect(try hvae(["run", "one.yaml", "--quiet"], in: work.url).status == 0)
        let plot = try hvae(["plot", figure, "--model", "ideal", "-o", "f.svg"], in: work.url)
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOfFile: work.path("f.svg"), encoding: .utf8)
        let width = try #require(Double(svg.components(separatedBy: "width=\"")[1].split(separator: "\"")[0]))
        #expect(width >= 640)
        // The title fits (estimated at 0.6 em a character, as the figures lay text out).
        let title = try #require(svg.components(separatedBy: "class=\"title\"").dropFirst().first)
        let size = try #require(Double(title.components(separatedBy: "font-size=\"")[1].split(separator: "\"")[0]))
        let text = String(title.split(separator: ">")[1].split(separator: "<")[0])
        #expect(!text.hasSuffix("…"))
        #expect(Double(text.count) * size * 0.6 <= width - 32)
        // Legend entries start apart by more than the one before takes.
        let xs = svg.components(separatedBy: "<g class=\"legend\">").dropFirst().compactMap {
            entry -> (Double, Double, String)? in
            let xText = entry.components(separatedBy: "<text x=\"").dropFirst().first?.split(separator: "\"").first
            let yText = entry.components(separatedBy: "\" y=\"").dropFirst().first?.split(separator: "\"").first
            let label = entry.components(separatedBy: "font-size=\"13\">").dropFirst().first?.split(separator: "<")
                .first
            guard let xText, let yText, let label, let x = Double(xText), let y = Double(yText) else { return nil }
            return (x, y, String(label))
        }
        #expect(xs.count >= 2)
        for (a, b) in zip(xs, xs.dropFirst()) where a.1 == b.1 {
            #expect(a.0 + Double(a.2.count) * 13 * 0.6 < b.0, "\(a.2) runs into \(b.2)")
        }
    }

    @Test("long, CJK and emoji model names are cut to their panel, keep their full name, and have fonts to draw them")
    func names() throws {
        let work = try WorkingDirectory()
        let long = "a-very-long-model-name-from-a-provider-that-likes-long-names-v2024-08-06"
        let cjk = "通义千问模型测试版🙂"
        try work.write(
            "n.yaml",
            """
            name: n\ntrials: 1\nvalues: [prosocial]\nmodels:\n  - name: \(long)\n    agent: ideal\n  - name: \(cjk)\n  \
              agent: noisy\n
            """
        )
        #expect(try hvae(["run", "n.yaml", "--quiet"], in: work.url).status == 0)
        for figure in ["radar", "ring"] {
            #expect(try hvae(["plot", figure, "-o", "\(figure).svg"], in: work.url).status == 0)
            let svg = try String(contentsOfFile: work.path("\(figure).svg"), encoding: .utf8)
            #expect(svg.contains("Noto Sans CJK SC") && svg.contains("Noto Color Emoji"))
            let titles = svg.components(separatedBy: "class=\"panel-title\"").dropFirst().map {
                String($0.split(separator: "\n")[0])
            }
            #expect(titles.count == 2)
            #expect(titles[0].contains("<title>\(long)</title>") && titles[0].contains("…</text>"))
            #expect(titles[1].contains("<title>\(cjk)</title>"))
            // Axis names of neighbouring panels stay apart (extents estimated as the figures lay text out).
            let labels = svg.components(separatedBy: "\n").filter { $0.contains("class=\"axis\"") }.map {
                line -> (Double, Double, Double) in
                func value(_ name: String) -> String {
                    line.components(separatedBy: " \(name)=\"")[1].split(separator: "\"")[0].description
                }
                let x = Double(value("x"))!
                let width = Double(line.split(separator: ">")[1].split(separator: "<")[0].count) * 13 * 0.6
                let left = ["start": x, "end": x - width, "middle": x - width / 2][value("text-anchor")]!
                return (left, left + width, Double(value("y"))!)
            }
            if figure == "radar" {
                #expect(labels.count == 8)
                for (i, a) in labels.enumerated() {
                    for b in labels.dropFirst(i + 1) where abs(a.2 - b.2) < 13 {
                        #expect(a.1 <= b.0 || b.1 <= a.0, "axis labels overlap: \(a) and \(b)")
                    }
                }
            }
        }
        // Terminal tables count a CJK character or an emoji as two columns: the columns stay aligned.
        let table = try hvae(["report", "--resamples", "10"], in: work.url).stdout.split(separator: "\n")
        let rows = table.filter { $0.hasPrefix(cjk) || $0.hasPrefix("a-very") }
        #expect(rows.count == 4)
        let ends = Set(rows.map { row in row.reduce(0) { $0 + ($1.unicodeScalars.first!.value > 0x2E80 ? 2 : 1) } })
        #expect(ends.count == 1, "\(rows)")
    }

    @Test("values that were not run have no vertex (never a VR of 0), and the legend lists only what is drawn")
    func valuesNotRun() throws {
        let work = try WorkingDirectory()
        try work.write(
            "p.yaml",
            "name: p\ntrials: 2\nvalues: [prosocial]\ngoal: with\nmodels:\n  - name: ideal\n    agent: ideal\n")
        #expect(try hvae(["run", "p.yaml", "--quiet"], in: work.url).status == 0)
        #expect(try hvae(["plot", "radar", "-o", "r.svg"], in: work.url).status == 0)
        let svg = try String(contentsOfFile: work.path("r.svg"), encoding: .utf8)
        #expect(svg.contains("this run, with goal") && !svg.contains("without goal"))
        #expect(Self.attribute("data-vr", of: "series", in: svg) == ["-,-,60.00,-"])
        #expect(svg.components(separatedBy: "class=\"vertex\"").count - 1 == 1)
        #expect(!svg.contains("<polygon class=\"series\""))
        #expect(svg.components(separatedBy: "class=\"not-run\"").count - 1 == 3)
        #expect(try hvae(["plot", "ring", "-o", "g.svg"], in: work.url).status == 0)
        let ring = try String(contentsOfFile: work.path("g.svg"), encoding: .utf8)
        #expect(ring.contains("assigned prosocial") && !ring.contains("assigned altruistic"))
    }

    @Test(
        "LaTeX tables fit an article's text width: pdflatex reports no overfull box",
        .enabled(
            if: pdflatex != nil || toolsRequired,
            "needs pdflatex (apt-get install texlive-latex-base texlive-latex-recommended)"),
        arguments: [
            ["report"], ["report", "--layout", "study"],
            ["compare", "model", "ideal", "a-model-with-a-rather-long-name"],
            ["report", "--steerability"], ["report", "--sensitivity"], ["report", "--reliability"],
        ])
    func latexWidth(arguments: [String]) throws {
        let work = try WorkingDirectory()
        try work.write(
            "l.yaml",
            """
            name: l
            trials: 3
            option_orders: [original, reversed]
            targets: [60, 22.5]
            values: [prosocial, competitive]
            variants: [default, zh]
            models:
              - name: ideal
                agent: ideal
              - name: a-model-with-a-rather-long-name
                agent: noisy
            """)
        #expect(try hvae(["run", "l.yaml", "--quiet"], in: work.url).status == 0)
        let table = try hvae(arguments + ["--format", "latex", "--resamples", "20", "-o", "table.tex"], in: work.url)
        #expect(table.status == 0, "\(table.stderr)")
        try work.write(
            "doc.tex",
            """
            \\documentclass{article}
            \\usepackage[utf8]{inputenc}
            \\usepackage{booktabs}
            \\usepackage{graphicx}
            \\begin{document}
            \\input{table.tex}
            \\end{document}
            """)
        let pdflatex = try #require(
            pdflatex, "pdflatex is missing: apt-get install texlive-latex-base texlive-latex-recommended")
        let latex = try runProgram(
            pdflatex,
            [
                "-interaction=nonstopmode", "-halt-on-error", "-output-directory", work.url.path,
                work.path("doc.tex"),
            ], withErrors: true)
        #expect(latex.status == 0, "\(latex.output.suffix(2_000))")
        let log = try String(contentsOfFile: work.path("doc.log"), encoding: .utf8)
        #expect(
            !log.contains("Overfull \\hbox"),
            "\(log.components(separatedBy: "Overfull").dropFirst().first?.prefix(300) ?? "")")
    }

    @Test("an unknown study model is a clear error")
    func unknownPaperModel() throws {
        let work = try WorkingDirectory()
        try work.write("q.yaml", "name: q\ntrials: 1\nmodels:\n  - name: a\n    agent: ideal\n")
        #expect(try hvae(["run", "q.yaml", "--quiet"], in: work.url).status == 0)
        let result = try hvae(["plot", "radar", "--compare-paper", "GPT-5"], in: work.url)
        #expect(result.status != 0)
        #expect(result.stderr.contains("the study has no model 'GPT-5'; it has ChatGPT, GPT-3.5, GPT-4, Claude"))
    }
}
