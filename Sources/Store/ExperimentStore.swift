import Foundation
import GRDB
import Synchronization

/// Why a database file could not be opened. Each message names the problem and the way out.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case notSQLite(path: String)
    case missingDatabase(path: String)
    case missingFolder(path: String)
    case folder(path: String)
    case foreignDatabase(path: String)
    case newerSchema(path: String, unknownMigrations: [String])
    case unknownRun(Int64)
    case schemaMismatch(path: String, found: Int, expected: Int)
    case conversationMismatch(trialID: Int64)
    case earlierWriteFailed(trialID: Int64)
    case runInUse(runID: Int64, owner: String, secondsAgo: Int)

    public var description: String {
        switch self {
        case .notSQLite(let path):
            "\(path) is not an SQLite database; choose another file with --db (or $HVAE_DB)"
        case .missingFolder(let path):
            "cannot create \(path): its folder does not exist; create the folder or choose another --db"
        case .folder(let path):
            "\(path) is a folder, not a database file; name the file itself, for example \(URL(fileURLWithPath: path).appending(path: "hvae.sqlite").path)"
        case .missingDatabase(let path):
            "no database at \(path); start one with `hvae run FILE`, or point --db (or $HVAE_DB) at an existing file"
        case .foreignDatabase(let path):
            "\(path) is an SQLite database that hvae did not create; it was left untouched: choose a new file with --db (or $HVAE_DB)"
        case .newerSchema(let path, let unknown):
            "\(path) was written by a newer hvae (schema \(unknown.joined(separator: ", "))); it was left untouched: upgrade hvae to read it"
        case .schemaMismatch(let path, let found, let expected):
            "\(path) has schema \(found), this hvae has \(expected); open it once with this hvae (hvae runs --db \(path)) to migrate it, then merge"
        case .unknownRun(let id):
            "no run with id \(id) in this database; `hvae runs` lists them"
        case .conversationMismatch(let trialID):
            "trial \(trialID): the conversation sent does not extend the one stored"
        case .runInUse(let runID, let owner, let secondsAgo):
            "run \(runID) is being run by hvae \(owner) (alive \(secondsAgo) s ago); let it finish, or stop it (Ctrl-C), then resume"
        case .earlierWriteFailed(let trialID):
            "trial \(trialID): not stored because an earlier call of the trial could not be stored"
        }
    }
}

/// The hvae database: one SQLite file in WAL mode, opened through a GRDB `DatabasePool` so that
/// readers (reports, `sqlite3`) never block the runner's writes.
public final class ExperimentStore: Sendable {
    /// The open pool; use it for queries this type does not offer.
    public let pool: DatabasePool
    public let path: String
    /// Calls waiting to be committed together (see `submit(_:trialID:after:)`).
    let recordQueue = Mutex(RecordQueue())
    /// What the writer has stored lately (see `WriterMemory`); used by the writer alone.
    let writerMemory = Mutex(WriterMemory())
    /// How long a queued write may wait for others to share its transaction (unless somebody
    /// awaits it). Each transaction writes every page it touches to the WAL, whole, and costs a
    /// hop to the writer's thread: one call alone costs about 240 µs of CPU to record, 32 calls
    /// together about 90 µs each (`hvae-bench store`). A kill loses what is queued.
    public let commitInterval: DispatchTimeInterval

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// A file that is not SQLite, an SQLite file that hvae did not create, or one written by a
    /// newer hvae is refused with a `StoreError` and not modified.
    /// With `create: false` a missing file is an error (`StoreError.missingDatabase`) instead of a new database.
    /// `commitInterval`: see `commitInterval`.
    public init(path: String, create: Bool = true, commitInterval: DispatchTimeInterval = .milliseconds(10)) throws {
        self.path = path
        self.commitInterval = commitInterval
        if !FileManager.default.fileExists(atPath: path) {
            guard create else { throw StoreError.missingDatabase(path: path) }
            var isFolder: ObjCBool = false
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw StoreError.missingFolder(path: path)
            }
        }
        try Self.inspect(path: path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // In WAL mode NORMAL keeps every committed transaction across a crash or kill of the
            // process (only an OS crash or power cut can lose the last ones) at far less fsync cost.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrate(pool)
    }

    /// The schema version of this binary's newest migration.
    public static var schemaVersion: Int { Schema.currentVersion }

    /// Checks, without writing, that `path` is absent, empty, or an hvae database this binary can read.
    static func inspect(path: String) throws {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw StoreError.folder(path: path)
        }
        guard manager.fileExists(atPath: path),
              let size = (try? manager.attributesOfItem(atPath: path)[.size]) as? NSNumber, size.intValue > 0
        else { return }
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        let header = try handle.read(upToCount: 16) ?? Data()
        try handle.close()
        guard header == Data("SQLite format 3\u{0}".utf8) else { throw StoreError.notSQLite(path: path) }

        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)   // another process may be creating or migrating it
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        try queue.read { db in
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let objects = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master")
            // Empty, or being created by another process at this moment: GRDB makes its
            // bookkeeping table before the first migration marks the file as hvae's.
            if Set(objects).isSubset(of: ["grdb_migrations", "sqlite_autoindex_grdb_migrations_1"]),
               try Int.fetchOne(db, sql: objects.isEmpty ? "SELECT 0" : "SELECT count(*) FROM grdb_migrations") == 0 {
                return
            }
            guard applicationID == Schema.applicationID else { throw StoreError.foreignDatabase(path: path) }
            if try Schema.migrator.hasBeenSuperseded(db) {
                let applied = try Schema.migrator.appliedIdentifiers(db)
                let known = Set(embeddedMigrations.map(\.identifier))
                throw StoreError.newerSchema(path: path, unknownMigrations: applied.subtracting(known).sorted())
            }
        }
    }
}
