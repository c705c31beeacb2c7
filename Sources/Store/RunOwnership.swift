import Domain
import Foundation
import GRDB

/// The hvae process running a run, as `runs.owner` stores it: "HOST PID".
///
/// Two processes must not run one run at once: both would take its unfinished trials, and each
/// would find the other's calls in the conversations it extends. A process claims the run before it
/// starts (`ExperimentStore.claimRun`), says it is alive every `heartbeatInterval` while it runs,
/// and lets go when it stops. A process killed with kill -9 cannot let go; the next one takes over
/// when the owner is gone from this host, or has been silent for `silenceLimit`.
public struct RunOwner: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let pid: Int32

    public init(host: String, pid: Int32) {
        self.host = host
        self.pid = pid
    }

    /// This process.
    public static var current: RunOwner { RunOwner(host: ProcessInfo.processInfo.hostName, pid: getpid()) }

    /// How often a running process says it is alive.
    public static let heartbeatInterval: Duration = .seconds(5)
    /// How long an owner may stay silent before it is taken for gone: many heartbeats, because a
    /// busy machine can stall a process for tens of seconds (seen on this project's CI VM).
    public static let silenceLimit: TimeInterval = 120

    var stored: String { "\(host) \(pid)" }

    init?(stored: String) {
        guard let space = stored.lastIndex(of: " "), let pid = Int32(stored[stored.index(after: space)...]) else {
            return nil
        }
        self.init(host: String(stored[..<space]), pid: pid)
    }

    public var description: String { "process \(pid) on \(host)" }

    /// Whether this owner is still running, as far as `claimant` can tell: silent owners are gone;
    /// on the claimant's own host, so is one whose process has exited.
    func isAlive(heartbeat: Date?, seenBy claimant: RunOwner, at now: Date) -> Bool {
        guard let heartbeat, now.timeIntervalSince(heartbeat) <= Self.silenceLimit else { return false }
        guard host == claimant.host else { return true }
        // kill(pid, 0) sends nothing; it fails with ESRCH when no such process exists.
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return !Self.hasExited(pid)
    }

    /// Whether `pid` is a process that has exited and waits to be reaped (a zombie, state Z or X
    /// in /proc/PID/stat): kill(pid, 0) still succeeds for it. A run killed with kill -9 leaves
    /// one for as long as its parent takes to reap it, and a resume in that moment must take the
    /// run over rather than call it in use. False where /proc is not there to ask (macOS).
    static func hasExited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")  // the command name, in parentheses, may hold anything
        else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state == "Z" || state == "X"
    }
}

extension ExperimentStore {
    /// Makes `owner` the process running `runID`, or throws `StoreError.runInUse` (and changes
    /// nothing) while another live process runs it. Read and written in one transaction, so two
    /// processes claiming at once cannot both win.
    public func claimRun(_ runID: Int64, for owner: RunOwner, at now: Date = Date()) async throws {
        try await write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT status, owner, heartbeat_at FROM runs WHERE id = ?",
                    arguments: [runID])
            else { throw StoreError.unknownRun(runID) }
            if row["status"] as String == RunStatus.running.rawValue,
                let stored: String = row["owner"], let current = RunOwner(stored: stored), current != owner
            {
                let heartbeat = (row["heartbeat_at"] as String?).flatMap(Timestamp.date)
                if current.isAlive(heartbeat: heartbeat, seenBy: owner, at: now) {
                    throw StoreError.runInUse(
                        runID: runID, owner: current.description,
                        secondsAgo: Int(now.timeIntervalSince(heartbeat!).rounded()))
                }
            }
            try db.execute(
                sql: "UPDATE runs SET owner = ?, heartbeat_at = ? WHERE id = ?",
                arguments: [owner.stored, Timestamp.string(now), runID])
        }
    }

    /// Says that `owner` is still running `runID` (if it still owns it).
    public func heartbeat(_ runID: Int64, for owner: RunOwner) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND owner = ?",
                arguments: [Timestamp.now, runID, owner.stored])
        }
    }

    /// `owner` stops running `runID`: the run has no owner any more (if it was `owner`).
    public func releaseRun(_ runID: Int64, from owner: RunOwner) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE runs SET owner = NULL WHERE id = ? AND owner = ?", arguments: [runID, owner.stored])
        }
    }
}

extension RunRecord {
    /// Whether a process is at this run now, as far as this process can tell. False for a run
    /// whose process was killed or crashed: its status still says `running`.
    public var isBeingRun: Bool {
        guard status == .running, let owner = owner.flatMap(RunOwner.init(stored:)) else { return false }
        return owner.isAlive(heartbeat: heartbeatAt.flatMap(Timestamp.date), seenBy: .current, at: Date())
    }
}
