// hvae-bench: measures hvae against baselines measured in the same run (docs/performance.md).
//
//   swift build -c release --product hvae-bench --product hvae
//   .build/release/hvae-bench                   benchmarks 1-3 (runner overhead, concurrency, memory)
//   .build/release/hvae-bench scale [CALLS]     the report and rescore benchmarks on a database of CALLS calls
//   .build/release/hvae-bench viewer DB         every viewer page on DB (make it with `scale`)
//   .build/release/hvae-bench parser            the parser on a 100 KB reply
//   .build/release/hvae-bench plan [TRIALS]     a run of TRIALS x 32 trials: time to its first call, memory
//   .build/release/hvae-bench models [TRIALS]   two models on two one-call-at-a-time servers: one run against two
//   .build/release/hvae-bench throughput URL [CALLS [CONCURRENCY]]   the runner against any OpenAI-compatible URL
//   .build/release/hvae-bench versus OTHER-HVAE [CALLS]   hvae run's CPU per call, this build against another
//
// Every figure is a ratio against a baseline measured in the same process and run, or a time
// against a target measured on this machine; no test asserts a time.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
func number(_ index: Int, _ fallback: Int) -> Int {
    arguments.count > index ? Int(arguments[index]) ?? fallback : fallback
}
func header() {
    line(
        """
        hvae-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores; each figure is a ratio to a baseline \
        measured in this run, or a time against its target
        """
    )
}

switch arguments.first {
case nil:
    header()
    try await benchmarkOverhead()
    try await benchmarkConcurrency()
    try benchmarkMemory()
case "overhead":
    header()
    try await benchmarkOverhead()
case "concurrency":
    header()
    try await benchmarkConcurrency()
case "memory-ratio":
    header()
    try benchmarkMemory()
case "memory": try await memoryChild(calls: number(1, 2_000))
case "memory-bare": try await memoryBareChild(calls: number(1, 2_000))
case "store": try await benchmarkStore(trials: number(1, 1_000), concurrency: number(2, 8))
case "phase" where arguments.count > 1 && ["runner", "raw"].contains(arguments[1]):
    let client = arguments.count > 3 && arguments[3].lowercased() == "urlsession" ? Client.urlSession : .network
    try await benchmarkPhase(side: arguments[1], calls: number(2, 1_000), client: client)
case "serve": try serveChild(latency: arguments.count > 1 ? Double(arguments[1]) ?? 0 : 0)
case "versus" where arguments.count > 1: try benchmarkVersus(other: arguments[1], calls: number(2, 4_000))
case "throughput" where arguments.count > 1:
    try await benchmarkThroughput(url: arguments[1], calls: number(2, 20_000), concurrency: number(3, 16))
case "scale": try await benchmarkScale(calls: number(1, 1_000_000))
case "report" where arguments.count > 1: try await benchmarkReport(path: arguments[1])
case "rescore" where arguments.count > 1: try await benchmarkRescore(path: arguments[1])
case "export-memory": try await benchmarkExportMemory()
case "export-child" where arguments.count > 1: try exportChild(path: arguments[1])
case "viewer" where arguments.count > 1: try await benchmarkViewer(path: arguments[1])
case "parser": benchmarkParser()
case "plan": try benchmarkPlan(trials: number(1, 100_000))
case "models":
    header()
    try await benchmarkModels(trials: number(1, 20))
case "plan-child": try await planChild(trials: number(1, 100_000))
default:
    FileHandle.standardError.write(
        Data(
            """
            hvae-bench: unknown mode '\(arguments.first!)'; use overhead, concurrency, memory-ratio, memory N, \
            memory-bare N, store [TRIALS [CONCURRENCY]], phase runner|raw [CALLS [network|urlsession]], \
            scale [CALLS], report PATH, rescore PATH, viewer PATH, export-memory, parser, plan [TRIALS], \
            models [TRIALS], throughput URL [CALLS [CONCURRENCY]] or versus OTHER-HVAE [CALLS]\n
            """
            .utf8))
    exit(64)
}
