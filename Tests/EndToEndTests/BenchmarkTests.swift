import Foundation
import ModelServer
import Testing

/// The benchmark binary, built beside hvae.
let benchBinary = hvaeBinary.deletingLastPathComponent().appending(path: "hvae-bench")

@Suite("hvae-bench still runs (on tiny sizes: no timing is asserted)")
struct BenchmarkTests {
    @Test("the scale database builds with the shape of a real run, and the report and rescore benchmarks run on it")
    func scale() throws {
        let result = try runProgram(benchBinary.path, ["scale", "4800"])
        #expect(result.status == 0)
        #expect(result.output.contains("scale database: 576 trials, "), "\(result.output)")
        #expect(result.output.contains("hvae report (the whole command, 10000 bootstrap resamples): median"))
        #expect(result.output.contains("reading 576 trial_results rows"))
        // Every reply read again: as many as the database has item calls with a reply, all added anew.
        let rescore = try #require(result.output.split(separator: "\n").first { $0.hasPrefix("rescore of ") })
        let numbers = rescore.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(
            numbers.count >= 3 && numbers[0] > 576 * 6 && numbers[0] == numbers[1] && numbers[2] == 576, "\(rescore)")
    }

    @Test("the parser and plan benchmarks run")
    func parserAndPlan() throws {
        let parser = try runProgram(benchBinary.path, ["parser"])
        #expect(parser.status == 0)
        #expect(
            parser.output.contains("parser: a 10") && parser.output.contains("x the time of lower-casing it"),
            "\(parser.output)")
        let plan = try runProgram(benchBinary.path, ["plan", "200"])
        #expect(plan.status == 0)
        #expect(plan.output.contains("plan: 200 trials x 32 cells: first call after"), "\(plan.output)")
    }

    @Test("the models benchmark runs both sides: one run of two models, and the two one after the other")
    func models() throws {
        let result = try runProgram(benchBinary.path, ["models", "2"])
        #expect(result.status == 0)
        // 2 trials x 6 item calls x 2 models.
        #expect(
            result.output.contains(
                "models. two models on two servers of equal speed (20 ms, max_concurrency 1 each, 24 calls)"),
            "\(result.output)")
        #expect(result.output.split(separator: "(").count >= 6, "three rounds, each with both times: \(result.output)")
    }

    @Test("benchmark 3's children run and report their calls and peak memory: the runner's and the bare client's")
    func memoryChildren() throws {
        for mode in ["memory", "memory-bare"] {
            let result = try runProgram(benchBinary.path, [mode, "96"])
            #expect(result.status == 0)
            let fields = result.output.split(separator: "\n").last?.split(separator: " ") ?? []
            #expect(fields.count == 2 && Int(fields[0]) == 96, "\(result.output)")
            // A whole process of the runner holds tens of MiB, not kilobytes or gigabytes.
            let mib = Double(fields.last ?? "") ?? 0
            #expect(mib > 5 && mib < 1_000, "\(result.output)")
        }
    }

    @Test("recording alone: every call of every trial is recorded, with concurrent trials")
    func store() throws {
        let result = try runProgram(benchBinary.path, ["store", "12", "4"])
        #expect(result.status == 0)
        #expect(result.output.contains("store: 72 calls recorded, 4 trials at once"))
    }

    @Test(
        "each side of benchmark 1 runs alone, through either client: the runner's calls, then the same requests raw",
        arguments: ["runner", "raw"], ["network", "urlsession"])
    func phase(side: String, client: String) throws {
        let result = try runProgram(benchBinary.path, ["phase", side, "48", client], withErrors: true)
        #expect(result.status == 0)
        // 48 calls: 2 trials per value, 6 item calls each; the raw side replays all of them.
        let name = client == "network" ? "NetworkTransport" : "URLSession"
        #expect(
            result.output.contains("\(side): 48 calls through \(name), ") && result.output.contains("us CPU per call"),
            "\(result.output)")
        #expect(result.output.contains("phase starts at monotonic"))
    }

    @Test("the throughput mode runs the whole runner against a server it is pointed at")
    func throughput() throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
        defer { server.stop() }
        let result = try runProgram(benchBinary.path, ["throughput", server.baseURL, "48", "4"])
        #expect(result.status == 0)
        #expect(
            result.output.contains("throughput: 48 calls to \(server.baseURL) in ")
                && result.output.contains(", 4 in flight: "), "\(result.output)")
        #expect(server.requests.count == 48)
    }

    @Test("the viewer benchmark renders every page of a real run's database, each with status 200")
    func viewer() throws {
        let work = try WorkingDirectory()
        try SharedRuns.quickstart(into: work)
        let result = try runProgram(benchBinary.path, ["viewer", work.path("hvae.sqlite")])
        #expect(result.status == 0, "\(result.output)")
        let pages = result.output.split(separator: "\n").filter { $0.hasPrefix("  /") }
        #expect(pages.count == 17, "\(result.output)")
        for page in pages { #expect(page.contains(" 200 "), "\(page)") }
        // Each figure rendered alone too, on a site that has not read the run's trials for its page.
        for figure in ["radar", "ring"] {
            #expect(
                result.output.contains("alone, before any run page: /runs/1/\(figure).svg 200,"), "\(result.output)")
        }
        #expect(result.output.contains("paging calls: resident memory"))
        // The warm-up renders the runs page, the run's page, radar and ring, and the audit.
        #expect(result.output.contains("warm-up at start: 5 pages"), "\(result.output)")
        // Rendered again with every cell's interval remembered, the run page is the same, byte for byte.
        #expect(
            result.output.contains("run page rendered again, every cell's interval remembered")
                && result.output.contains("the same page: yes"), "\(result.output)")
    }

    @Test("an unknown mode is a usage error that lists the modes")
    func unknownMode() throws {
        let result = try runProgram(benchBinary.path, ["fast"], withErrors: true)
        #expect(result.status == 64)
        #expect(
            result.output.contains("unknown mode 'fast'") && result.output.contains("overhead, concurrency")
                && result.output.contains("phase runner|raw") && result.output.contains("parser"))
    }
}
