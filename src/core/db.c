/*
** db.c - the engine-independent part of the storage layer: URL parsing,
** the connection pool, transactions, convenience helpers and migrations.
** See db.h for the interface and db_sqlite.c / db_pg.c for the adapters.
*/
#include "db_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed.h"
#include "util.h"

int db_open(const char *url, int pool_size, struct db **out, char *err,
            size_t errlen)
{
    struct db *db = xcalloc(1, sizeof *db);
    if (str_starts(url, "sqlite:")) {
        db->engine = DB_SQLITE;
        db->ops = &db_sqlite_ops;
        db->path = xstrdup(url + 7);
        if (!db->path[0]) {
            snprintf(err, errlen, "sqlite: URL has no file path");
            free(db->path);
            free(db);
            return -1;
        }
    } else if (str_starts(url, "postgres")) {
        db->engine = DB_POSTGRES;
        db->ops = &db_pg_ops;
    } else {
        snprintf(err, errlen,
                 "unknown database URL (use sqlite:PATH or postgresql://...)");
        free(db);
        return -1;
    }
    db->url = xstrdup(url);
    db->nconns = pool_size < 1 ? 1 : pool_size;
    db->conns = xcalloc((size_t)db->nconns, sizeof *db->conns);
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    pthread_mutex_init(&db->write_mu, NULL);
    for (int i = 0; i < db->nconns; i++)
        db->conns[i].db = db;
    /* Connect one now so a wrong URL is reported at once. */
    if (db->ops->connect(&db->conns[0], err, errlen) != 0) {
        db_close(db);
        return -1;
    }
    db->conns[0].connected = 1;
    *out = db;
    return 0;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->nconns; i++)
        if (db->conns[i].connected)
            db->ops->disconnect(&db->conns[i]);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->write_mu);
    free(db->conns);
    free(db->url);
    free(db->path);
    free(db);
}

enum db_engine db_engine(const struct db *db)
{
    return db->engine;
}

const char *db_engine_name(const struct db *db)
{
    return db->engine == DB_SQLITE ? "sqlite" : "postgresql";
}

const char *db_url(const struct db *db)
{
    return db->url;
}

const char *db_sqlite_path(const struct db *db)
{
    return db->path;
}

struct db *db_of(struct db_conn *c)
{
    return c->db;
}

void db_set_error(struct db_conn *c, const char *msg)
{
    str_copy(c->err, msg ? msg : "unknown error", sizeof c->err);
}

const char *db_errmsg(struct db_conn *c)
{
    return c->err;
}

static int conn_ready(struct db_conn *c)
{
    if (c->connected && c->db->ops->alive(c))
        return 0;
    if (c->connected) {
        c->db->ops->disconnect(c);
        c->connected = 0;
    }
    char err[256];
    if (c->db->ops->connect(c, err, sizeof err) != 0) {
        log_error("database connection failed: %s", err);
        return -1;
    }
    c->connected = 1;
    return 0;
}

struct db_conn *db_acquire(struct db *db)
{
    struct db_conn *c = NULL;
    pthread_mutex_lock(&db->mu);
    for (;;) {
        for (int i = 0; i < db->nconns && !c; i++)
            if (!db->conns[i].in_use)
                c = &db->conns[i];
        if (c)
            break;
        pthread_cond_wait(&db->cv, &db->mu);
    }
    c->in_use = 1;
    pthread_mutex_unlock(&db->mu);
    if (conn_ready(c) != 0) {
        db_release(c);
        return NULL;
    }
    c->err[0] = 0;
    return c;
}

void db_release(struct db_conn *c)
{
    if (!c)
        return;
    if (c->in_tx) {
        /* A forgotten transaction must never leak into the next user. */
        log_warn("db: connection released inside a transaction; rolling back");
        db_rollback(c);
    }
    struct db *db = c->db;
    pthread_mutex_lock(&db->mu);
    c->in_use = 0;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

int db_ping(struct db *db)
{
    struct db_conn *c = db_acquire(db);
    if (!c)
        return -1;
    int64_t one = 0;
    int rc = db_query_int(c, &one, "SELECT 1", "");
    db_release(c);
    return rc == DB_ROW && one == 1 ? 0 : -1;
}

/* SQLite: the process's writers take turns (see write_mu in db_int.h).
** Bounded by the same 10 s as the busy timeout, so a thread that already
** writes on another connection of the pool gets DB_BUSY, not a hang. */
static int write_lock(struct db_conn *c)
{
    if (c->db->engine != DB_SQLITE)
        return DB_OK;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    int e = pthread_mutex_timedlock(&c->db->write_mu, &until);
    if (e == 0)
        return DB_OK;
    db_set_error(c, e == ETIMEDOUT ? "database is locked (writer queue)"
                                   : "writer lock failed");
    return DB_BUSY;
}

static void write_unlock(struct db_conn *c)
{
    if (c->db->engine == DB_SQLITE)
        pthread_mutex_unlock(&c->db->write_mu);
}

int db_begin(struct db_conn *c)
{
    if (c->in_tx) {
        db_set_error(c, "transaction already open");
        return DB_ERROR;
    }
    int rc = write_lock(c);
    if (rc != DB_OK)
        return rc;
    rc = c->db->ops->exec(c, c->db->engine == DB_SQLITE ? "BEGIN IMMEDIATE"
                                                        : "BEGIN");
    if (rc == DB_OK)
        c->in_tx = 1;
    else
        write_unlock(c);
    return rc;
}

int db_commit(struct db_conn *c)
{
    int rc = c->db->ops->exec(c, "COMMIT");
    if (rc != DB_OK) {
        /* A failed COMMIT leaves nothing applied; close the transaction. */
        c->db->ops->exec(c, "ROLLBACK");
    }
    if (c->in_tx)
        write_unlock(c);
    c->in_tx = 0;
    return rc;
}

int db_rollback(struct db_conn *c)
{
    int rc = c->db->ops->exec(c, "ROLLBACK");
    if (c->in_tx)
        write_unlock(c);
    c->in_tx = 0;
    return rc;
}

int db_in_transaction(struct db_conn *c)
{
    return c->in_tx;
}

int db_exec(struct db_conn *c, const char *sql)
{
    return c->db->ops->exec(c, sql);
}

struct db_stmt *db_prepare(struct db_conn *c, const char *sql)
{
    return c->db->ops->prepare(c, sql);
}

/* Every statement starts with a pointer to its connection (see adapters). */
static const struct db_ops *ops_of(struct db_stmt *s)
{
    struct db_conn *c = *(struct db_conn **)s;
    return c->db->ops;
}

void db_bind_text(struct db_stmt *s, int idx, const char *v)
{
    if (!v)
        ops_of(s)->bind(s, idx, BIND_NULL, NULL, 0);
    else
        ops_of(s)->bind(s, idx, BIND_TEXT, v, strlen(v));
}

void db_bind_int(struct db_stmt *s, int idx, int64_t v)
{
    ops_of(s)->bind(s, idx, BIND_INT, &v, sizeof v);
}

void db_bind_null(struct db_stmt *s, int idx)
{
    ops_of(s)->bind(s, idx, BIND_NULL, NULL, 0);
}

void db_bind_blob(struct db_stmt *s, int idx, const void *v, size_t n)
{
    ops_of(s)->bind(s, idx, BIND_BLOB, v, n);
}

int db_step(struct db_stmt *s)
{
    return ops_of(s)->step(s);
}

const char *db_col_text(struct db_stmt *s, int col)
{
    return ops_of(s)->col_text(s, col);
}

int64_t db_col_int(struct db_stmt *s, int col)
{
    const char *t = ops_of(s)->col_text(s, col);
    return t ? strtoll(t, NULL, 10) : 0;
}

int db_col_is_null(struct db_stmt *s, int col)
{
    return ops_of(s)->col_is_null(s, col);
}

const void *db_col_blob(struct db_stmt *s, int col, size_t *len)
{
    return ops_of(s)->col_blob(s, col, len);
}

int db_col_count(struct db_stmt *s)
{
    return ops_of(s)->col_count(s);
}

int64_t db_changes(struct db_stmt *s)
{
    return ops_of(s)->changes(s);
}

void db_finalize(struct db_stmt *s)
{
    if (s)
        ops_of(s)->finalize(s);
}

static void bind_va(struct db_stmt *s, const char *types, va_list ap)
{
    int idx = 1;
    for (const char *t = types; *t; t++, idx++) {
        switch (*t) {
        case 's':
            db_bind_text(s, idx, va_arg(ap, const char *));
            break;
        case 'i':
            db_bind_int(s, idx, va_arg(ap, int64_t));
            break;
        default:
            db_bind_null(s, idx);
            break;
        }
    }
}

static struct db_stmt *prepare_va(struct db_conn *c, const char *sql,
                                  const char *types, va_list ap)
{
    struct db_stmt *s = db_prepare(c, sql);
    if (s)
        bind_va(s, types, ap);
    return s;
}

struct db_stmt *db_queryf(struct db_conn *c, const char *sql, const char *types,
                          ...)
{
    va_list ap;
    va_start(ap, types);
    struct db_stmt *s = prepare_va(c, sql, types, ap);
    va_end(ap);
    return s;
}

int64_t db_run(struct db_conn *c, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    struct db_stmt *s = prepare_va(c, sql, types, ap);
    va_end(ap);
    if (!s)
        return DB_ERROR;
    int rc = db_step(s);
    int64_t changed = rc < 0 ? rc : db_changes(s);
    db_finalize(s);
    return changed;
}

int db_query_int(struct db_conn *c, int64_t *out, const char *sql,
                 const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    struct db_stmt *s = prepare_va(c, sql, types, ap);
    va_end(ap);
    if (!s)
        return DB_ERROR;
    int rc = db_step(s);
    if (rc == DB_ROW)
        *out = db_col_int(s, 0);
    db_finalize(s);
    return rc;
}

/* Replaces the engine tokens of a migration (see db.h). */
static char *migration_sql(enum db_engine e, const char *src)
{
    struct buf b;
    buf_init(&b);
    while (*src) {
        if (str_starts(src, "@ID@")) {
            buf_puts(&b, e == DB_SQLITE
                             ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                             : "BIGINT GENERATED BY DEFAULT AS IDENTITY "
                               "PRIMARY KEY");
            src += 4;
        } else if (str_starts(src, "@BLOB@")) {
            buf_puts(&b, e == DB_SQLITE ? "BLOB" : "BYTEA");
            src += 6;
        } else {
            buf_putc(&b, *src++);
        }
    }
    return buf_steal(&b);
}

static int migration_version(const char *path)
{
    const char *name = path + strlen("migrations/");
    return atoi(name);
}

static int migrate_one(struct db_conn *c, const struct embedded_file *f,
                       char *err, size_t errlen)
{
    int version = migration_version(f->path);
    if (db_begin(c) != DB_OK)
        goto fail;
    if (c->db->engine == DB_POSTGRES &&
        db_exec(c, "SELECT pg_advisory_xact_lock(20261122)") != DB_OK)
        goto fail_tx;
    int64_t seen = 0;
    int rc = db_query_int(c, &seen,
                          "SELECT COUNT(*) FROM schema_migrations "
                          "WHERE version = ?",
                          "i", (int64_t)version);
    if (rc != DB_ROW)
        goto fail_tx;
    if (seen) {
        db_rollback(c);
        return 0;
    }
    char *sql = migration_sql(c->db->engine, (const char *)f->data);
    rc = db_exec(c, sql);
    free(sql);
    if (rc != DB_OK)
        goto fail_tx;
    if (db_run(c,
               "INSERT INTO schema_migrations (version, name, applied_at) "
               "VALUES (?, ?, ?)",
               "isi", (int64_t)version, f->path, now_unix()) < 0)
        goto fail_tx;
    if (db_commit(c) != DB_OK)
        goto fail;
    log_info("migration %s applied", f->path);
    return 0;
fail_tx:
    snprintf(err, errlen, "%s: %s", f->path, db_errmsg(c));
    db_rollback(c);
    return -1;
fail:
    snprintf(err, errlen, "%s: %s", f->path, db_errmsg(c));
    return -1;
}

int db_migrate(struct db *db, char *err, size_t errlen)
{
    struct db_conn *c = db_acquire(db);
    if (!c) {
        snprintf(err, errlen, "cannot connect to the database");
        return -1;
    }
    if (db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                   "applied_at BIGINT NOT NULL)") != DB_OK) {
        snprintf(err, errlen, "schema_migrations: %s", db_errmsg(c));
        db_release(c);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < embedded_count && rc == 0; i++) {
        const struct embedded_file *f = &embedded_files[i];
        if (str_starts(f->path, "migrations/"))
            rc = migrate_one(c, f, err, errlen);
    }
    db_release(c);
    return rc;
}

int db_schema_version(struct db *db)
{
    struct db_conn *c = db_acquire(db);
    if (!c)
        return -1;
    int64_t v = 0;
    int rc = db_query_int(c, &v,
                          "SELECT COALESCE(MAX(version), 0) "
                          "FROM schema_migrations",
                          "");
    db_release(c);
    return rc == DB_ROW ? (int)v : -1;
}
