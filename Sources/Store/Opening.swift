import Foundation
import GRDB

extension ExperimentStore {
    /// Checks, without writing, that `path` is absent, empty, or an hvae database this binary can
    /// read and write. Throws for a folder, a file that is not SQLite, a foreign or damaged
    /// database, and one of a newer schema.
    static func inspect(path: String, checkingHeader: Bool = true) throws {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw StoreError.folder(path: path)
        }
        guard manager.fileExists(atPath: path), try ReadOnlyOpening.size(of: path) > 0 else { return }
        if checkingHeader { try ReadOnlyOpening.checkHeader(path) }
        let queue = try mapped(path) { try DatabaseQueue(path: path, configuration: ReadOnlyOpening.configuration) }
        defer { try? queue.close() }
        _ = try ReadOnlyOpening.schemaVersion(queue, path: path)
    }
}

/// Opening a database for reading without writing anything: a read-only connection, immutable
/// when the file's folder cannot be written (a read-only medium, another user's files), and an
/// older schema read from a migrated copy.
enum ReadOnlyOpening {
    static var configuration: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        // Another process may be creating or migrating it.
        configuration.busyMode = .timeout(ExperimentStore.busyTimeout)
        return configuration
    }

    static func size(of path: String) throws -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
    }

    /// Throws unless the file starts as SQLite's files do. Opens the file outside SQLite: never
    /// call it while this process has the file open in SQLite, since closing any descriptor of a
    /// file drops every POSIX lock the process holds on it. (The viewer opened its writer for an
    /// audit label through here: its readers lost their locks, the next run's last connection
    /// deleted the -wal and -shm they still read, and the viewer saw no new run and called the
    /// sound file malformed.)
    static func checkHeader(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StoreError.readOnlyFile(path: path) }
        let header = try handle.read(upToCount: 16) ?? Data()
        try handle.close()
        guard header == Data("SQLite format 3\u{0}".utf8) else { throw StoreError.notSQLite(path: path) }
    }

    /// Throws unless `path` is a file that starts as an SQLite database: it exists, is no folder,
    /// and is not empty. `checkHeader`'s caution applies.
    static func requireDatabaseFile(_ path: String, checkingHeader: Bool = true) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw StoreError.missingDatabase(path: path)
        }
        if isFolder.boolValue { throw StoreError.folder(path: path) }
        guard try size(of: path) > 0 else { throw StoreError.emptyFile(path: path) }
        if checkingHeader { try checkHeader(path) }
    }

    /// Opens `path` for reading; an older schema is read from a migrated temporary copy.
    static func open(path: String) throws -> (reader: any DatabaseReader, migratedCopy: String?) {
        try requireDatabaseFile(path)
        let pool = try connect(path)
        let version = try schemaVersion(pool, path: path)
        if version == Schema.currentVersion { return (pool, nil) }

        // An older schema: a consistent snapshot (VACUUM INTO reads through a read-only
        // connection), migrated in the temporary folder and read from there.
        let copy = FileManager.default.temporaryDirectory.appending(path: "hvae-read-\(UUID().uuidString).sqlite").path
        do {
            try ExperimentStore.mapped(path) {
                // Outside a transaction (VACUUM cannot run in one); VACUUM INTO reads a consistent snapshot.
                try pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
            }
            try pool.close()
            var writable = Configuration()
            writable.foreignKeysEnabled = true
            let migrating = try DatabaseQueue(path: copy, configuration: writable)
            try Schema.migrate(migrating)
            try migrating.close()
            return (try DatabasePool(path: copy, configuration: configuration), copy)
        } catch {
            remove(copy)
            throw error
        }
    }

    /// A read-only pool on `path`; immutable when SQLite could not otherwise open it read-only
    /// (no -shm file can be made in a folder that cannot be written).
    static func connect(_ path: String) throws -> DatabasePool {
        try ExperimentStore.mapped(path) { try connectUntranslated(path) }
    }

    /// `connect` with SQLite's errors as they come: what the damage check opens through, since
    /// translating a damaged file's error asks that check.
    static func connectUntranslated(_ path: String) throws -> DatabasePool {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let manager = FileManager.default
        if manager.isWritableFile(atPath: folder) || manager.fileExists(atPath: path + "-shm") {
            return try DatabasePool(path: path, configuration: configuration)
        }
        // Immutable ignores a -wal file: refuse rather than read the database without its last commits.
        if try size(of: path + "-wal") > 0 { throw StoreError.unreadableWAL(path: path) }
        var components = URLComponents()
        components.scheme = "file"
        components.path = URL(fileURLWithPath: path).standardizedFileURL.path
        components.queryItems = [URLQueryItem(name: "immutable", value: "1")]
        let uri = components.string ?? "file:\(path)?immutable=1"
        return try DatabasePool(path: uri, configuration: configuration)
    }

    /// The schema version of an open database, after checking that it is an hvae database this
    /// binary can read; 0 for an empty one (or one another process is creating).
    static func schemaVersion(_ reader: some DatabaseReader, path: String) throws -> Int {
        try ExperimentStore.mapped(path) {
            try reader.read { db in
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let objects = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master")
                // Empty, or being created by another process at this moment: GRDB makes its
                // bookkeeping table before the first migration marks the file as hvae's.
                if Set(objects).isSubset(of: ["grdb_migrations", "sqlite_autoindex_grdb_migrations_1"]),
                    try Int.fetchOne(db, sql: objects.isEmpty ? "SELECT 0" : "SELECT count(*) FROM grdb_migrations")
                        == 0
                {
                    return 0
                }
                guard applicationID == Schema.applicationID else { throw StoreError.foreignDatabase(path: path) }
                if try Schema.migrator.hasBeenSuperseded(db) {
                    let applied = try Schema.migrator.appliedIdentifiers(db)
                    let known = Set(embeddedMigrations.map(\.identifier))
                    throw StoreError.newerSchema(
                        path: path, detail: "schema \(applied.subtracting(known).sorted().joined(separator: ", "))")
                }
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                // docs/schema.md: user_version is the schema version; one above ours is a newer hvae's.
                if version > Schema.currentVersion {
                    throw StoreError.newerSchema(
                        path: path, detail: "user_version \(version), this hvae knows \(Schema.currentVersion)")
                }
                return version
            }
        }
    }

    static func remove(_ copy: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) }
    }
}
