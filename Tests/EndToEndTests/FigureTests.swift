import Foundation
import Testing

let rsvgConvert = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs a program and returns its standard output.
/// Runs a program; `output` is its stdout, with stderr too when `withErrors`.
func runProgram(_ path: String, _ arguments: [String], withErrors: Bool = false) throws -> (status: Int32, output: String) {
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
    @Test("the quickstart radar, rendered to PNG, shows the ideal agent at 60 on every axis",
          .enabled(if: rsvgConvert != nil, "needs rsvg-convert (apt-get install librsvg2-bin)"))
    func radar() throws {
        let work = try WorkingDirectory()
        #expect(try hvae(["run", repositoryRoot.appending(path: "examples/quickstart.yaml").path, "--quiet"], in: work.url).status == 0)
        let plot = try hvae(["plot", "radar", "--compare-paper", "GPT-4", "-o", "radar.svg"], in: work.url)
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOfFile: work.path("radar.svg"), encoding: .utf8)
        #expect(svg.contains(">A<") && svg.contains(">I<") && svg.contains(">P<") && svg.contains(">C<"))
        #expect(svg.contains("this run, with goal") && svg.contains("study, GPT-4, with goal"))

        // The ideal panel: its outer (60) ring and its two series polygons.
        let panel = try #require(svg.components(separatedBy: "<g class=\"panel\" data-model=\"ideal\">").dropFirst().first?
            .components(separatedBy: "</g>").first)
        func points(_ pattern: String) -> [[(Double, Double)]] {
            panel.components(separatedBy: "\n").filter { $0.contains(pattern) }.compactMap { line in
                guard let start = line.range(of: "points=\"")?.upperBound, let end = line[start...].firstIndex(of: "\"") else { return nil }
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
        let render = try runProgram(rsvgConvert!, [work.path("radar.svg"), "-o", work.path("radar.png")])
        #expect(render.status == 0)
        let probe = try runProgram("/usr/bin/env", ["python3", repositoryRoot.appending(path: "scripts/png-pixels.py").path,
                                                    work.path("radar.png")] + outer.map { "\($0.0),\($0.1)" })
        let colours = probe.output.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } }
        #expect(colours.count == 4)
        // Each vertex is painted in a series colour (#1f77b4 or #d95f02), not background or grid.
        let seriesColours = [[0x1f, 0x77, 0xb4], [0xd9, 0x5f, 0x02]]
        for colour in colours {
            #expect(seriesColours.contains { reference in zip(reference, colour).allSatisfy { abs($0 - $1) <= 24 } }, "\(colour)")
        }
    }

    @Test("the ring puts every complete trial at its angle, coloured by its assigned value")
    func ring() throws {
        let work = try WorkingDirectory()
        try work.write("r.yaml", "name: r\ntrials: 3\nmodels:\n  - name: ideal\n    agent: ideal\n  - name: stubborn\n    agent: stubborn\n")
        #expect(try hvae(["run", "r.yaml", "--quiet"], in: work.url).status == 0)
        let result = try hvae(["plot", "ring", "-o", "ring.svg"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        let svg = try String(contentsOfFile: work.path("ring.svg"), encoding: .utf8)
        let panels = svg.components(separatedBy: "<g class=\"panel\"").dropFirst()
        #expect(panels.count == 2)
        func trials(_ panel: String) -> [(value: String, angle: Double)] {
            panel.components(separatedBy: "\n").filter { $0.contains("class=\"trial\"") }.compactMap { line in
                guard let value = line.components(separatedBy: "data-value=\"").dropFirst().first?.split(separator: "\"").first,
                      let angle = line.components(separatedBy: "data-angle=\"").dropFirst().first?.split(separator: "\"").first
                else { return nil }
                return (String(value), Double(angle)!)
            }
        }
        let ideal = trials(String(panels.first!))
        #expect(ideal.count == 4 * 2 * 3)
        for trial in ideal {
            let target = ["altruistic": 61.39, "prosocial": 45.0, "individualistic": 7.82, "competitive": -16.26][trial.value]!
            #expect(abs(trial.angle - target) < 0.01)
        }
        // The stubborn agent puts every colour on the prosocial angle.
        #expect(trials(String(panels.dropFirst().first!)).allSatisfy { abs($0.angle - 45) < 1e-9 })
        #expect(svg.components(separatedBy: "class=\"boundary\"").count - 1 == 2 * 3)
        #expect(svg.components(separatedBy: "class=\"ideal\"").count - 1 == 2 * 4)
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
