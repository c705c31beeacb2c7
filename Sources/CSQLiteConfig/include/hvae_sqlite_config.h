#ifndef HVAE_SQLITE_CONFIG_H
#define HVAE_SQLITE_CONFIG_H

// sqlite3_db_config() is variadic, so Swift cannot call it; these wrappers can be.
// The connection is declared, not included, so that this module does not import a second copy
// of sqlite3.h beside GRDB's; Swift sees it as an OpaquePointer, as it sees GRDB's.
struct sqlite3;

/// SQLITE_DBCONFIG_DEFENSIVE of `db`: `on` 1 sets it, 0 clears it, -1 leaves it. Returns the
/// setting after the call (0 or 1), or -1 if SQLite refused.
int hvae_sqlite3_defensive(struct sqlite3 *db, int on);

/// Lets every connection take a `file:` URI (for `immutable=1`): returns 1 when URIs are read,
/// 0 when SQLite was initialised already without them. Call it before the first connection.
int hvae_sqlite3_enable_uri(void);

#endif
