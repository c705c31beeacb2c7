/// The clock the runner waits by: a model's rate pacing (`requests_per_minute`,
/// `tokens_per_minute`), the backoff before a retry, and the `give_up_after` window of a server
/// that cannot be reached. Runs use `SystemClock`; a test gives a clock of its own, so that it checks
/// these waits exactly and without spending them.
public protocol RunClock: Sendable {
    /// Seconds since the clock's origin; never decreases.
    var now: Double { get }
    /// Returns `seconds` later by this clock (at once when not positive); throws when the task is
    /// cancelled meanwhile.
    func sleep(seconds: Double) async throws
}

/// The real clock: monotonic, unaffected by changes of the wall clock.
public struct SystemClock: RunClock {
    private let origin = ContinuousClock.now

    public init() {}

    public var now: Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(for: .nanoseconds(Int64((seconds * 1e9).rounded(.up))))
    }
}
