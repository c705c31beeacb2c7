import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The write end of the pipe the signal handler writes to. Set once, in `Interruption.install`,
/// before the handler that reads it is installed, and never changed: the handler only ever reads
/// a value written before it could run.
nonisolated(unsafe) private var signalPipeWrite: Int32 = -1

/// Ctrl-C (SIGINT) and SIGTERM, for the commands that run trials. Installed first thing, before
/// the run is created, with a handler of its own (no moment where the signal is ignored, as
/// between `signal(SIG_IGN)` and a dispatch source's registration, where an early Ctrl-C was
/// lost and the run went on): a signal before the run starts is kept and stops it as soon as
/// it does. A second signal exits at once.
final class Interruption: Sendable {
    static let shared = Interruption()

    private struct State {
        var signals: [Int32] = []
        var action: (@Sendable (Int32) -> Void)?
    }

    private let state = Mutex(State())
    private let installed = Atomic<Bool>(false)

    /// Installs the handlers (once per process).
    @discardableResult
    static func install() -> Interruption {
        let interruption = shared
        guard !interruption.installed.exchange(true, ordering: .sequentiallyConsistent) else { return interruption }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return interruption }
        signalPipeWrite = fds[1]
        let readEnd = fds[0]
        let reader = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(readEnd, &byte, 1)
                if n == 1 {
                    interruption.received(Int32(byte))
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        reader.start()
        for number in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                // Only async-signal-safe work here: one write to the pipe.
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWrite, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
        return interruption
    }

    private func received(_ number: Int32) {
        let (count, action) = state.withLock { state in
            state.signals.append(number)
            return (state.signals.count, state.action)
        }
        if count > 1 { exit(128 + number) }
        action?(number)
    }

    /// The first signal received, if any.
    var signal: Int32? { state.withLock { $0.signals.first } }

    /// Calls `action` on the first signal, at once if it came already.
    func onSignal(_ action: @escaping @Sendable (Int32) -> Void) {
        let early = state.withLock { state in
            state.action = action
            return state.signals.first
        }
        if let early { action(early) }
    }

    /// "interrupted by SIGINT", "terminated by SIGTERM": what `runs.stop_reason` says.
    var reason: String {
        signal == SIGTERM ? "terminated by SIGTERM" : "interrupted by SIGINT"
    }

    /// The exit status for the first signal: 128 + its number (130, 143).
    var exitStatus: Int32 { 128 + (signal ?? SIGINT) }

    /// Before a run is stored: a signal already received ends the command, nothing stored.
    func stopIfSignalled() throws {
        guard signal != nil else { return }
        printError("\(reason): stopped before the run was stored; nothing was written")
        throw ExitCode(exitStatus)
    }
}
