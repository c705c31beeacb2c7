import Domain
import Foundation
import GRDB
import Testing

@testable import Store

/// One process at a time runs a run (`RunOwner`, `ExperimentStore.claimRun`).
@Suite("Which process runs a run")
struct RunOwnershipTests {
    let here = RunOwner.current
    /// Another process on this host that is alive: init (pid 1) always is.
    var otherAlive: RunOwner { RunOwner(host: here.host, pid: 1) }
    /// A process on this host that does not exist (beyond any pid_max).
    var otherGone: RunOwner { RunOwner(host: here.host, pid: 999_999_999) }
    var otherHost: RunOwner { RunOwner(host: "elsewhere.example", pid: 4242) }

    func owner(_ store: ExperimentStore, _ runID: Int64) async throws -> (owner: String?, heartbeat: String?) {
        try await store.reader.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT owner, heartbeat_at FROM runs WHERE id = ?", arguments: [runID])!
            return (row["owner"], row["heartbeat_at"])
        }
    }

    @Test("a running run claimed by a live process is refused to another, and left as it was")
    func refusedWhileAlive() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, _) = try await makeStore(scratch)
        let now = Date()
        try await store.claimRun(runID, for: otherAlive, at: now.addingTimeInterval(-3))
        try await store.setRunStatus(runID, .running)
        let before = try await owner(store, runID)
        await #expect(throws: StoreError.runInUse(runID: runID, owner: otherAlive.description, secondsAgo: 3)) {
            try await store.claimRun(runID, for: here, at: now)
        }
        let after = try await owner(store, runID)
        #expect(after.owner == before.owner && after.heartbeat == before.heartbeat)
        #expect(
            StoreError.runInUse(runID: 3, owner: "process 7 on vm", secondsAgo: 2).description
                == """
                run 3 is being run by hvae process 7 on vm (alive 2 s ago); let it finish, or stop it (Ctrl-C), \
                then resume
                """
        )
    }

    @Test(
        "the run is taken over when its owner has exited (same host), fell silent, or the run is not running",
        arguments: ["gone", "silent", "not running", "same owner"])
    func takenOver(case name: String) async throws {
        let scratch = ScratchDirectory()
        let (store, runID, _) = try await makeStore(scratch)
        let now = Date()
        switch name {
        case "gone":
            try await store.claimRun(runID, for: otherGone, at: now)
            try await store.setRunStatus(runID, .running)
        case "silent":
            try await store.claimRun(runID, for: otherHost, at: now.addingTimeInterval(-RunOwner.silenceLimit - 1))
            try await store.setRunStatus(runID, .running)
        case "not running":
            try await store.claimRun(runID, for: otherAlive, at: now)
            try await store.setRunStatus(runID, .interrupted)
        default:
            try await store.claimRun(runID, for: here, at: now)
            try await store.setRunStatus(runID, .running)
        }
        try await store.claimRun(runID, for: here, at: now)
        #expect(try await owner(store, runID).owner == "\(here.host) \(here.pid)")
    }

    @Test("an owner killed and not yet reaped (a zombie) is gone: its run is taken over at once")
    func zombieOwner() async throws {
        // A child that exits and is not waited for stays a zombie until it is reaped.
        var pid: pid_t = 0
        let spawned = "/bin/true".withCString { path in
            var argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
            defer { free(argv[0]) }
            return posix_spawn(&pid, path, nil, nil, &argv, environ)
        }
        try #require(spawned == 0)
        defer { waitpid(pid, nil, 0) }
        let deadline = Date().addingTimeInterval(10)
        while !RunOwner.hasExited(pid), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(RunOwner.hasExited(pid))
        #expect(kill(pid, 0) == 0)  // what the check alone saw: "alive"
        let zombie = RunOwner(host: here.host, pid: pid)
        #expect(!zombie.isAlive(heartbeat: Date(), seenBy: here, at: Date()))
        #expect(otherAlive.isAlive(heartbeat: Date(), seenBy: here, at: Date()))
        let scratch = ScratchDirectory()
        let (store, runID, _) = try await makeStore(scratch)
        try await store.claimRun(runID, for: zombie, at: Date())
        try await store.setRunStatus(runID, .running)
        try await store.claimRun(runID, for: here, at: Date())
        #expect(try await owner(store, runID).owner == "\(here.host) \(here.pid)")
    }

    @Test("an owner on another host that is still sending heartbeats keeps the run")
    func otherHostAlive() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, _) = try await makeStore(scratch)
        let now = Date()
        try await store.claimRun(runID, for: otherHost, at: now.addingTimeInterval(-RunOwner.silenceLimit + 5))
        try await store.setRunStatus(runID, .running)
        await #expect(throws: StoreError.self) { try await store.claimRun(runID, for: here, at: now) }
    }

    @Test("heartbeats and release touch the run only for its owner")
    func heartbeatAndRelease() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, _) = try await makeStore(scratch)
        let old = Date().addingTimeInterval(-60)
        try await store.claimRun(runID, for: here, at: old)
        try await store.heartbeat(runID, for: otherAlive)
        try await store.releaseRun(runID, from: otherAlive)
        #expect(try await owner(store, runID) == ("\(here.host) \(here.pid)", Timestamp.string(old)))
        let before = Date()
        try await store.heartbeat(runID, for: here)
        let after = Date()
        let beat = try #require(try await owner(store, runID).heartbeat.flatMap(Timestamp.date))
        // Stamped during the call (timestamps keep milliseconds).
        #expect(
            beat >= before.addingTimeInterval(-0.001) && beat <= after.addingTimeInterval(0.001),
            "\(beat) \(before) \(after)")
        try await store.releaseRun(runID, from: here)
        #expect(try await owner(store, runID).owner == nil)
    }
}
