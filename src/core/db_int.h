/*
** db_int.h - private to the storage layer: the adapter interface that
** db_sqlite.c and db_pg.c implement and db.c dispatches to.
*/
#ifndef CITYOS_DB_INT_H
#define CITYOS_DB_INT_H

#include <pthread.h>
#include "db.h"

struct db_ops {
    int (*connect)(struct db_conn *c, char *err, size_t errlen);
    void (*disconnect)(struct db_conn *c);
    int (*alive)(struct db_conn *c); /* 1 when usable, else reconnect */
    int (*exec)(struct db_conn *c, const char *sql);
    struct db_stmt *(*prepare)(struct db_conn *c, const char *sql);
    void (*bind)(struct db_stmt *s, int idx, int type, const void *v, size_t n);
    int (*step)(struct db_stmt *s);
    const char *(*col_text)(struct db_stmt *s, int col);
    const void *(*col_blob)(struct db_stmt *s, int col, size_t *len);
    int (*col_is_null)(struct db_stmt *s, int col);
    int (*col_count)(struct db_stmt *s);
    int64_t (*changes)(struct db_stmt *s);
    void (*finalize)(struct db_stmt *s);
};

enum { BIND_NULL, BIND_TEXT, BIND_INT, BIND_BLOB };

struct db {
    enum db_engine engine;
    char *url;
    char *path; /* SQLite file */
    const struct db_ops *ops;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* SQLite: held by the connection whose write transaction is open, so
    ** that the writers of one process queue here instead of polling the
    ** file lock in SQLite's busy handler (sleeps of up to 100 ms, unfair:
    ** seconds of tail latency with a dozen writers).  Writers of other
    ** processes still meet at the file lock, with the busy timeout. */
    pthread_mutex_t write_mu;
    struct db_conn *conns;
    int nconns;
};

struct db_conn {
    struct db *db;
    void *handle; /* sqlite3 * or PGconn * */
    int connected;
    int in_use;
    int in_tx;
    char err[512];
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

void db_set_error(struct db_conn *c, const char *msg);

#endif
