import Foundation
import Testing

/// The benchmark binary, built beside hvae.
let benchBinary = hvaeBinary.deletingLastPathComponent().appending(path: "hvae-bench")

@Suite("hvae-bench still runs (on tiny sizes: no timing is asserted)")
struct BenchmarkTests {
    @Test("the synthetic scale database builds and reports")
    func scale() throws {
        let result = try runProgram(benchBinary.path, ["scale", "4800"])
        #expect(result.status == 0)
        #expect(result.output.contains("synthetic database: 640 trials"))
        #expect(result.output.contains("full report (64 cells, 10000 bootstrap resamples)"))
        #expect(result.output.contains("export of all 640 trials as CSV"))
    }

    @Test("recording alone: every call of every trial is recorded, with concurrent trials")
    func store() throws {
        let result = try runProgram(benchBinary.path, ["store", "12", "4"])
        #expect(result.status == 0)
        #expect(result.output.contains("store: 72 calls recorded, 4 trials at once"))
    }

    @Test("each side of benchmark 1 runs alone: the runner's calls, then the same requests replayed raw", arguments: ["runner", "raw"])
    func phase(side: String) throws {
        let result = try runProgram(benchBinary.path, ["phase", side, "48"], withErrors: true)
        #expect(result.status == 0)
        // 48 calls: 2 trials per value, 6 item calls each; the raw side replays all of them.
        #expect(result.output.contains("\(side): 48 calls,") && result.output.contains("us CPU per call"))
        #expect(result.output.contains("phase starts at monotonic"))
    }

    @Test("an unknown mode is a usage error that lists the modes")
    func unknownMode() throws {
        let result = try runProgram(benchBinary.path, ["fast"], withErrors: true)
        #expect(result.status == 64)
        #expect(result.output.contains("unknown mode 'fast'") && result.output.contains("overhead, concurrency")
                && result.output.contains("phase runner|raw"))
    }
}
