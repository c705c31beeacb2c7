#include <sqlite3.h>
#include "hvae_sqlite_config.h"

int hvae_sqlite3_defensive(struct sqlite3 *db, int on) {
    int now = -1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, on, &now) != SQLITE_OK) return -1;
    return now;
}

int hvae_sqlite3_enable_uri(void) {
    if (sqlite3_compileoption_used("USE_URI")) return 1;
    return sqlite3_config(SQLITE_CONFIG_URI, 1) == SQLITE_OK;
}
