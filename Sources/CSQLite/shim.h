#ifndef ATREST_CSQLITE_SHIM_H
#define ATREST_CSQLITE_SHIM_H
/* SQLite 3 (the local backend's record maps). Only AtRestSQLite imports this module. */
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro Swift cannot import: bound bytes are copied by SQLite. */
static inline sqlite3_destructor_type atrest_sqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif
