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
    ///
    /// The applied migrations are read on the writer's connection, so that no reader of the pool
    /// loads the schema before it is current: a reader prepares statements against the schema it
    /// loaded (a `SELECT *` there listed an older schema's columns; see `ListedColumnsRecord`).
    static func migrate(_ pool: some DatabaseWriter) throws {
        let migrator = self.migrator
        let applied = {
            try pool.writeWithoutTransaction { db in
                // GRDB's read looks for grdb_migrations after its SELECT failed, so a process that
                // creates the table in between makes it throw; looking first leaves no such gap.
                let exists = try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'grdb_migrations')")
                return exists == true ? try migrator.appliedIdentifiers(db) : []
            }
        }
        while true {
            let before = try applied()
            do {
                try migrator.migrate(pool)
                return
            } catch {
                let after = try applied()
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
