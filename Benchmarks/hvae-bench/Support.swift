import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Peak resident set size of this process, in MiB.
func peakRSS() -> Double {
    // VmHWM, the peak of this address space: getrusage's ru_maxrss survives exec, so a child
    // started by a large parent reported the parent's size (every child of `hvae-bench` read
    // 94.9 MiB whatever it did, which hid how its own memory grew).
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kB = Double(line.split(separator: " ").dropFirst().first ?? "")
    {
        return kB / 1024
    }
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// CPU time of this process so far (user + system, all threads), in seconds.
func processCPU() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func temporaryDatabase() -> String {
    FileManager.default.temporaryDirectory.appending(path: "hvae-bench-\(UUID().uuidString).sqlite").path
}

func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func line(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

/// Runs a program of this build (this binary, or `hvae` beside it) and returns its standard
/// output and the wall time it took.
func runProgram(_ name: String?, _ arguments: [String]) throws -> (output: String, seconds: Double, status: Int32) {
    let me = URL(fileURLWithPath: CommandLine.arguments[0])
    let process = Process()
    process.executableURL = name.map { me.deletingLastPathComponent().appending(path: $0) } ?? me
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    let start = ContinuousClock.now
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (output, seconds(ContinuousClock.now - start), process.terminationStatus)
}

/// The median of some figures.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty
        ? .nan
        : sorted.count % 2 == 1
            ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
