import Synchronization

@testable import Runner

/// A clock whose time moves only by the sleeps taken on it, one after another: a sleep returns at
/// once with the clock that much later. The runner's waits are then checked exactly, and take no time.
final class VirtualClock: RunClock, Sendable {
    private let state = Mutex<(now: Double, sleeps: [Double])>((0, []))

    var now: Double { state.withLock { $0.now } }
    /// Every positive sleep asked for, in order.
    var sleeps: [Double] { state.withLock { $0.sleeps } }

    func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        guard seconds > 0 else { return }
        state.withLock {
            $0.sleeps.append(seconds)
            $0.now += seconds
        }
        await Task.yield()
    }
}
