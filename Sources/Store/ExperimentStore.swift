import CSQLiteConfig
import Foundation
import GRDB
import Synchronization

/// Why a database could not be opened, read or written. Each message names the file, the
/// problem and the way out.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case notSQLite(path: String)
    case missingDatabase(path: String)
    case emptyFile(path: String)
    case missingFolder(path: String)
    case folder(path: String)
    case foreignDatabase(path: String)
    case newerSchema(path: String, detail: String)
    case damaged(path: String, detail: String)
    case diskFull(path: String)
    case readOnlyFile(path: String)
    case unreadableWAL(path: String)
    case unknownRun(Int64)
    case schemaMismatch(path: String, found: Int, expected: Int)
    case conversationMismatch(trialID: Int64)
    case runInUse(runID: Int64, owner: String, secondsAgo: Int)
    case unknownTrial(Int64)
    case badSearch(String, detail: String)
    /// Another process held a write transaction longer than the busy timeout; `holders` names the
    /// hvae processes running runs of the file, when any is.
    case locked(path: String, holders: [String])
    /// SQLite could not open or create the file (SQLITE_CANTOPEN).
    case cannotOpen(path: String)
    /// A read failed as if the file were damaged, and SQLite's quick check finds it intact: not
    /// the file's fault (another process changed what this connection read); no advice to restore it.
    case unreadable(path: String, detail: String)
    /// `hvae merge` into a database holding unfinished trials that an input has run further:
    /// the merge would keep the output's (it never replaces a trial), so it refuses.
    case staleMergeOutput(path: String, input: String, runs: [StaleTrials])

    public var description: String {
        switch self {
        case .staleMergeOutput(let path, let input, let runs):
            """
            \(path) already holds \(runs.map(\.description).joined(separator: "; ")), which \(input) has run \
            further; a merge keeps the trials a database has, so merge every database into a new file (hvae \
            merge ... -o NEW.sqlite); \(path) was left as it is
            """
        case .notSQLite(let path):
            "\(path) is not an SQLite database; choose another file with --db (or $HVAE_DB)"
        case .missingFolder(let path):
            "cannot create \(path): its folder does not exist; create the folder or choose another --db"
        case .folder(let path):
            """
            \(path) is a folder, not a database file; name the file itself, for example \
            \(URL(fileURLWithPath: path).appending(path: "hvae.sqlite").path)
            """
        case .missingDatabase(let path):
            "no database at \(path); start one with `hvae run FILE`, or point --db (or $HVAE_DB) at an existing file"
        case .emptyFile(let path):
            """
            \(path) is an empty file, not an hvae database; it was left untouched: `hvae run FILE --db \(path)` makes \
            it one
            """
        case .foreignDatabase(let path):
            """
            \(path) is an SQLite database that hvae did not create; it was left untouched: choose a new file with --db \
            (or $HVAE_DB)
            """
        case .newerSchema(let path, let detail):
            "\(path) was written by a newer hvae (\(detail)); it was left untouched: upgrade hvae to read it"
        case .damaged(let path, let detail):
            "\(path) is damaged (\(detail)): `hvae db check --db \(path)` says what is wrong; restore it from a copy"
        case .diskFull(let path):
            """
            disk full at \(path): free space and try again; every committed call is kept (`hvae runs` shows a run left \
            to resume)
            """
        case .readOnlyFile(let path):
            """
            \(path) cannot be written (a read-only file, folder or medium); reading commands still work; copy it to a \
            writable folder to run or migrate it
            """
        case .unreadableWAL(let path):
            """
            \(path)-wal holds changes not yet in \(path), and the folder is read-only, so SQLite cannot read them; \
            copy the database and its -wal file to a writable folder
            """
        case .schemaMismatch(let path, let found, let expected):
            """
            \(path) has schema \(found), this hvae has \(expected); run `hvae db migrate --db \(path)` to migrate it, \
            then merge
            """
        case .unknownRun(let id):
            "no run with id \(id) in this database; `hvae runs` lists them"
        case .unknownTrial(let id):
            "no trial with id \(id) in this database; a run's page lists its trials"
        case .badSearch(let text, let detail):
            "cannot search for \(text) (\(detail)); search for words, a \"quoted phrase\" or a prefix*"
        case .conversationMismatch(let trialID):
            "trial \(trialID): the conversation sent does not extend the one stored"
        case .locked(let path, let holders):
            holders.isEmpty
                ? """
                \(path) is locked: another process (no hvae run) has held a write transaction on it for over \
                \(Int(ExperimentStore.busyTimeout)) s, such as a sqlite3 shell in a transaction; end that transaction \
                (COMMIT or ROLLBACK), then try again
                """
                : """
                \(path) is locked: another process has held a write transaction on it for over \
                \(Int(ExperimentStore.busyTimeout)) s while \(holders.joined(separator: ", ")) \
                \(holders.count == 1 ? "is" : "are") running on it; hvae's own writes are short, so look for another \
                program holding it (a sqlite3 shell in a transaction), end that, then try again
                """
        case .cannotOpen(let path):
            ExperimentStore.cannotOpenDescription(path)
        case .unreadable(let path, let detail):
            """
            a read of \(path) failed (SQLite: \(detail)), though SQLite's check finds the file intact; try again \
            (`hvae db check --db \(path)` checks the whole file)
            """
        case .runInUse(let runID, let owner, let secondsAgo):
            """
            run \(runID) is being run by hvae \(owner) (alive \(secondsAgo) s ago); let it finish, or stop it \
            (Ctrl-C), then resume
            """
        }
    }
}

/// The hvae database: one SQLite file in WAL mode. Every query hvae makes is a method of this
/// type (in the files of this module, by concept); nothing outside it sees SQL or GRDB.
///
/// Opened for writing (`init(path:create:)`), it migrates an older schema and serialises writes
/// on one connection while readers (reports, `sqlite3`, a viewer) read beside it. Opened for
/// reading (`openForReading(path:)`), it writes nothing at all: not to the file, and not to an
/// older file's schema.
public final class ExperimentStore: Sendable {
    /// The connections queries read through; a store opened for reading opens them again after a
    /// read that its connections, not the file, got wrong (`read(_:)`).
    private let readers: Mutex<any DatabaseReader>
    var reader: any DatabaseReader { readers.withLock { $0 } }
    /// The connection writes go through; nil when the store was opened for reading.
    let writer: DatabasePool?
    /// The file as the user named it.
    public let path: String
    /// Calls waiting for the writer (see Recording.swift).
    let callQueue = Mutex(CallQueue())

    /// Opens (creating if needed) the database at `path` for writing and brings its schema up to date.
    ///
    /// A file that is not SQLite, an SQLite file that hvae did not create, or one written by a
    /// newer hvae is refused with a `StoreError` and not modified. With `create: false` a missing
    /// file is an error (`StoreError.missingDatabase`) instead of a new database.
    ///
    /// `alreadyOpen`: this process has the file open for reading already (the viewer, opening
    /// its writer for audit labels): its first bytes are not read again outside SQLite, which
    /// would drop the readers' locks (`ReadOnlyOpening.checkHeader`).
    public init(path: String, create: Bool = true, alreadyOpen: Bool = false) throws {
        self.path = path
        migratedCopy = nil
        _ = Self.enableURIs
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard create else { throw StoreError.missingDatabase(path: path) }
            var isFolder: ObjCBool = false
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard manager.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw StoreError.missingFolder(path: path)
            }
            guard manager.isWritableFile(atPath: folder) else { throw StoreError.cannotOpen(path: path) }
        }
        try Self.inspect(path: path, checkingHeader: !alreadyOpen)
        if manager.fileExists(atPath: path) && !manager.isWritableFile(atPath: path) {
            throw StoreError.readOnlyFile(path: path)
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.prepareDatabase { db in
            // In WAL mode NORMAL keeps every committed transaction across a crash or kill of the
            // process (only an OS crash or power cut can lose the last ones) at far less fsync cost.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try Self.mapped(path) { try Self.pool(path: path, configuration: configuration) }
        try Self.mapped(path) { try Schema.migrate(pool) }
        writer = pool
        readers = Mutex(pool)
    }

    /// How long a connection waits for another's lock before it gives up (`StoreError.locked`).
    static let busyTimeout: TimeInterval = 10

    /// Opens the connections of a store opened for writing, waiting out another's lock as long as
    /// a statement would. A pool turns the file to WAL as it opens; two processes that open a new
    /// file together both try, and SQLite refuses one of them at once, without waiting (a wait
    /// there could deadlock the two), so that one opens again.
    private static func pool(path: String, configuration: Configuration) throws -> DatabasePool {
        let deadline = Date(timeIntervalSinceNow: busyTimeout)
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }

    /// Opens an existing hvae database for reading only: nothing is written to the file, its
    /// folder's other files or its schema. A file on a read-only medium opens too (as immutable).
    /// An older schema is read from a migrated copy in the temporary folder, and `migratedCopy`
    /// says so; the file itself is not migrated.
    public static func openForReading(path: String) throws -> ExperimentStore {
        _ = enableURIs
        let opened = try ReadOnlyOpening.open(path: path)
        return ExperimentStore(path: path, reader: opened.reader, migratedCopy: opened.migratedCopy)
    }

    /// The migrated copy an older database is read from (see `openForReading(path:)`); nil otherwise.
    public let migratedCopy: String?

    private init(path: String, reader: any DatabaseReader, migratedCopy: String?) {
        self.path = path
        readers = Mutex(reader)
        self.writer = nil
        self.migratedCopy = migratedCopy
    }

    deinit {
        if let migratedCopy { ReadOnlyOpening.remove(migratedCopy) }
    }

    /// The schema version of this binary's newest migration.
    public static var schemaVersion: Int { Schema.currentVersion }

    /// `file:` URIs (for `immutable=1`) on every connection; done once, before the first one opens.
    static let enableURIs: Void = { _ = hvae_sqlite3_enable_uri() }()

    // MARK: Reading and writing, with SQLite's errors in words

    /// Runs `body` on a reader; damaged files and full disks come out as `StoreError`s. A read
    /// that fails as if the file were damaged when it is not (`StoreError.unreadable`) opens the
    /// file's connections again and is tried once more: a long-lived reader (`hvae view`) whose
    /// view of the write-ahead log went stale reads the file as it is.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let current = reader
        do {
            return try await Self.mapped(path) { try await current.read(body) }
        } catch StoreError.unreadable where writer == nil && migratedCopy == nil {
            let fresh = try ReadOnlyOpening.connect(path)
            readers.withLock { if $0 === current { $0 = fresh } }
            return try await Self.mapped(path) { try await fresh.read(body) }
        }
    }

    /// Runs `body` in a write transaction.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let writer = try requireWriter()
        return try await Self.mapped(path) { try await writer.write(body) }
    }

    func requireWriter() throws -> DatabasePool {
        guard let writer else { throw StoreError.readOnlyFile(path: path) }
        return writer
    }

    /// `body`'s SQLite errors, as `StoreError`s where a person can act on them.
    static func mapped<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError { throw translated(error, path: path) }
    }

    static func mapped<T>(_ path: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as DatabaseError { throw translated(error, path: path) }
    }

    /// Why SQLite could not open or create `path`, as far as the file system tells.
    static func cannotOpenDescription(_ path: String) -> String {
        let manager = FileManager.default
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !manager.fileExists(atPath: path) {
            return manager.isWritableFile(atPath: folder)
                ? "cannot create \(path) (SQLite could not open it); choose another --db"
                : "cannot create \(path): its folder \(folder) cannot be written; choose a writable folder with --db"
        }
        return manager.isReadableFile(atPath: path)
            ? "cannot open \(path) (SQLite could not open it, or its -wal or -shm file); check those files' permissions"
            : "cannot open \(path): it cannot be read (its permissions); choose another --db or fix them"
    }

    static func translated(_ error: DatabaseError, path: String) -> any Error {
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            // Confirmed before it is called damage: a connection that read through a wal-index
            // another process replaced sees "malformed" in a sound file.
            confirmedDamage(path: path)
                ?? StoreError.unreadable(path: path, detail: error.message ?? "\(error.resultCode)")
        case .SQLITE_FULL: StoreError.diskFull(path: path)
        case .SQLITE_READONLY: StoreError.readOnlyFile(path: path)
        case .SQLITE_BUSY, .SQLITE_LOCKED: StoreError.locked(path: path, holders: runningHolders(path))
        case .SQLITE_CANTOPEN: StoreError.cannotOpen(path: path)
        default: error
        }
    }

    /// The hvae processes that run runs of the file at `path` ("run 3 (hvae process 812 on host
    /// h)"), read without waiting: a lock held for writing leaves a WAL database readable.
    static func runningHolders(_ path: String) -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .immediateError
        guard let queue = try? DatabaseQueue(path: path, configuration: configuration) else { return [] }
        defer { try? queue.close() }
        let rows =
            (try? queue.read { db in
                try Row.fetchAll(db, sql: "SELECT id, owner FROM runs WHERE status = 'running' AND owner IS NOT NULL")
            }) ?? []
        return rows.compactMap { row in
            let id: Int64 = row["id"]
            return RunOwner(stored: row["owner"]).map { "run \(id) (hvae process \($0.description))" }
        }
    }
}
