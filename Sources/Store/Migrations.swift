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
                try db.execute(sql: migration.sql)
                // Mirrors the version where sqlite3 users look for it.
                try db.execute(sql: "PRAGMA user_version = \(migration.version)")
            }
        }
        return migrator
    }
}
