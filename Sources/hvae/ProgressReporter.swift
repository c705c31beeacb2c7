import Foundation
import Runner
import Synchronization

/// Progress on stderr: a bar redrawn in place on a terminal, a plain line every 10 s otherwise.
final class ProgressReporter: Sendable {
    enum Mode { case terminal, lines, silent }
    let mode: Mode
    private let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

    init(mode: Mode) { self.mode = mode }

    func update(_ progress: RunProgress) {
        guard mode != .silent, progress.totalTrials > 0 else { return }
        let interval: Duration = mode == .terminal ? .milliseconds(100) : .seconds(10)
        let now = ContinuousClock.now
        let due = lastDraw.withLock { last -> Bool in
            if let previous = last, now - previous < interval, progress.finishedTrials < progress.totalTrials {
                return false
            }
            last = now
            return true
        }
        guard due else { return }
        let text = Self.describe(progress)
        if mode == .terminal {
            let width = 24
            let filled = width * progress.finishedTrials / progress.totalTrials
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            printError("\r\u{1B}[K[\(bar)] \(text)", terminator: "")
        } else {
            printError("progress: \(text)")
        }
    }

    func finish() {
        if mode == .terminal { printError("") }
    }

    static func describe(_ p: RunProgress) -> String {
        let elapsed = Date().timeIntervalSince(p.startedAt)
        var parts = ["\(p.finishedTrials)/\(p.totalTrials) trials", "\(p.calls) calls"]
        if p.retries > 0 { parts.append("\(p.retries) retries") }
        if p.errors > 0 { parts.append("\(p.errors) errors") }
        if p.inputTokens + p.outputTokens > 0 { parts.append("\(p.inputTokens + p.outputTokens) tokens") }
        if p.cost > 0 { parts.append(String(format: "$%.4f", p.cost)) }
        if p.cacheHits > 0 { parts.append("\(p.cacheHits) cached") }
        for (id, batch) in p.openBatches.sorted(by: { $0.key < $1.key }) {
            parts.append("\(batch.model) batch \(id): \(batch.done) done, \(batch.inProgress) in progress")
        }
        for (model, throttle) in p.throttled.sorted(by: { $0.key < $1.key }) where throttle.limit < throttle.ceiling {
            parts.append("\(model) at \(throttle.limit)/\(throttle.ceiling) in flight after 429s")
        }
        parts.append("\(clock(elapsed)) elapsed")
        if p.finishedTrials > 0, p.finishedTrials < p.totalTrials {
            let remaining = elapsed / Double(p.finishedTrials) * Double(p.totalTrials - p.finishedTrials)
            parts.append("ETA \(clock(remaining))")
        }
        return parts.joined(separator: ", ")
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
