import CSQLiteConfig
import GRDB

/// One schema migration, embedded at build time from `migrations/NNNN_name.sql`.
struct EmbeddedMigration: Sendable {
    /// NNNN: the schema version this migration brings the database to.
    let version: Int
    /// The file name without `.sql`; GRDB records it in `grdb_migrations` once applied.
    let identifier: String
    let sql: String
}

enum Schema {
    /// `PRAGMA application_id` of every hvae database ("HVAE"), set by the first migration.
    static let applicationID: Int32 = 0x4856_4145

    /// The newest schema version this binary knows.
    static var currentVersion: Int { embeddedMigrations.map(\.version).max() ?? 0 }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in embeddedMigrations {
            migrator.registerMigration(migration.identifier) { db in
                try allowingSchemaEdits(db) { try db.execute(sql: migration.sql) }
                // Mirrors the version where sqlite3 users look for it.
                try db.execute(sql: "PRAGMA user_version = \(migration.version)")
            }
        }
        return migrator
    }

    /// Brings the schema of the database up to date.
    ///
    /// Two processes may open a new or older file at the same moment (two `hvae run` on one
    /// database). GRDB decides which migrations to run before it takes the write lock, so the
    /// slower process can try a migration the other has just applied ("duplicate column name").
    /// When a migration fails and the applied migrations have changed meanwhile, another process
    /// made progress: this one looks again and goes on from there. A failure with no such
    /// progress is thrown. Each retry needs a migration more applied, so this ends.
    static func migrate(_ pool: some DatabaseWriter) throws {
        let migrator = self.migrator
        while true {
            let before = try pool.read { try migrator.appliedIdentifiers($0) }
            do {
                try migrator.migrate(pool)
                return
            } catch {
                let after = try pool.read { try migrator.appliedIdentifiers($0) }
                if after == before { throw error }
            }
        }
    }

    /// Runs `body` with SQLite's defensive mode off, then sets it back as it was.
    ///
    /// A migration may edit `sqlite_schema` directly (0006 does, as SQLite's documentation describes
    /// for changing CHECK constraints), which defensive mode forbids ("table sqlite_master may not
    /// be modified"). Linux builds of SQLite leave it off; macOS's system SQLite turns it on for
    /// every connection. The migrations are this binary's own SQL, so they may.
    static func allowingSchemaEdits<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        let connection = db.sqliteConnection
        let defensive = hvae_sqlite3_defensive(connection, -1) == 1
        if defensive, hvae_sqlite3_defensive(connection, 0) != 0 {
            throw DatabaseError(message: "cannot turn off SQLite's defensive mode to migrate the schema")
        }
        defer { if defensive { _ = hvae_sqlite3_defensive(connection, 1) } }
        return try body()
    }
}
