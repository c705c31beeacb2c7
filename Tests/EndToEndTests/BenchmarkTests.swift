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

    @Test("an unknown mode is a usage error that lists the modes")
    func unknownMode() throws {
        let result = try runProgram(benchBinary.path, ["fast"], withErrors: true)
        #expect(result.status == 64)
        #expect(result.output.contains("unknown mode 'fast'") && result.output.contains("overhead, concurrency"))
    }
}
