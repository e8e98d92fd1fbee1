/*
** db_sqlite.c - the SQLite adapter of the storage layer.  WAL so readers
** never block the writer; synchronous=FULL because nothing acknowledged may
** be lost on power failure; a busy timeout so writers queue instead of
** failing; foreign keys on.
**
** Each connection keeps its most recently used prepared statements (keyed
** by their SQL text): compiling SQL took about a quarter of the CPU time of
** a booking transaction.  db_finalize() of a cached statement resets it
** (ending any read it holds) and clears its bindings instead of destroying
** it; a statement prepared again while its cached copy is in use is
** compiled anew.
*/
#include "db_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CACHE_SIZE 64

struct cached {
    char *sql;
    uint32_t hash;
    sqlite3_stmt *st;
    int in_use;
    uint64_t used; /* tick of last use, for eviction */
};

/* What c->handle points to. */
struct lite {
    sqlite3 *h;
    struct cached cache[CACHE_SIZE];
    uint64_t tick;
};

struct db_stmt {
    struct db_conn *conn; /* must stay first: see db.c ops_of() */
    sqlite3_stmt *st;
    int64_t changes;
    struct cached *cached; /* NULL when not from the cache */
};

static sqlite3 *H(struct db_conn *c)
{
    return ((struct lite *)c->handle)->h;
}

static int map_rc(struct db_conn *c, int rc)
{
    sqlite3 *h = H(c);
    switch (rc & 0xff) {
    case SQLITE_OK:
        return DB_OK;
    case SQLITE_ROW:
        return DB_ROW;
    case SQLITE_DONE:
        return DB_DONE;
    case SQLITE_CONSTRAINT:
        db_set_error(c, sqlite3_errmsg(h));
        return DB_CONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        db_set_error(c, sqlite3_errmsg(h));
        return DB_BUSY;
    default:
        db_set_error(c, sqlite3_errmsg(h));
        return DB_ERROR;
    }
}

static int lite_connect(struct db_conn *c, char *err, size_t errlen)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(
        c->db->path, &h,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite %s: %s", c->db->path,
                 h ? sqlite3_errmsg(h) : "cannot open");
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 10000);
    char *msg = NULL;
    rc = sqlite3_exec(h,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite %s: %s", c->db->path,
                 msg ? msg : "pragma failed");
        sqlite3_free(msg);
        sqlite3_close(h);
        return -1;
    }
    struct lite *l = xcalloc(1, sizeof *l);
    l->h = h;
    c->handle = l;
    return 0;
}

static void lite_disconnect(struct db_conn *c)
{
    struct lite *l = c->handle;
    if (!l)
        return;
    for (int i = 0; i < CACHE_SIZE; i++) {
        sqlite3_finalize(l->cache[i].st);
        free(l->cache[i].sql);
    }
    sqlite3_close_v2(l->h);
    free(l);
    c->handle = NULL;
}

static int lite_alive(struct db_conn *c)
{
    return c->handle != NULL;
}

static int lite_exec(struct db_conn *c, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(H(c), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        db_set_error(c, msg ? msg : sqlite3_errmsg(H(c)));
        sqlite3_free(msg);
        return map_rc(c, rc) == DB_CONSTRAINT ? DB_CONSTRAINT
               : (rc & 0xff) == SQLITE_BUSY   ? DB_BUSY
                                              : DB_ERROR;
    }
    return DB_OK;
}

/* FNV-1a: a cheap first comparison before strcmp. */
static uint32_t sql_hash(const char *sql)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* A free cached statement for sql, or NULL. */
static struct cached *cache_find(struct lite *l, const char *sql, uint32_t hash)
{
    for (int i = 0; i < CACHE_SIZE; i++) {
        struct cached *e = &l->cache[i];
        if (e->st && !e->in_use && e->hash == hash && strcmp(e->sql, sql) == 0)
            return e;
    }
    return NULL;
}

/* An empty entry, or the least recently used one not in use (emptied);
** NULL when every entry is in use. */
static struct cached *cache_slot(struct lite *l)
{
    struct cached *victim = NULL;
    for (int i = 0; i < CACHE_SIZE; i++) {
        struct cached *e = &l->cache[i];
        if (!e->st)
            return e;
        if (!e->in_use && (!victim || e->used < victim->used))
            victim = e;
    }
    if (victim) {
        sqlite3_finalize(victim->st);
        free(victim->sql);
        memset(victim, 0, sizeof *victim);
    }
    return victim;
}

static struct db_stmt *lite_prepare(struct db_conn *c, const char *sql)
{
    struct lite *l = c->handle;
    uint32_t hash = sql_hash(sql);
    struct cached *e = cache_find(l, sql, hash);
    sqlite3_stmt *st = e ? e->st : NULL;
    if (!e) {
        int rc = sqlite3_prepare_v3(l->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &st, NULL);
        if (rc != SQLITE_OK) {
            db_set_error(c, sqlite3_errmsg(l->h));
            log_error("sqlite prepare: %s: %s", sqlite3_errmsg(l->h), sql);
            return NULL;
        }
        /* Statements without SQL (only a comment) are not worth keeping. */
        if (st && (e = cache_slot(l)) != NULL) {
            e->sql = xstrdup(sql);
            e->hash = hash;
            e->st = st;
        }
    }
    struct db_stmt *s = xcalloc(1, sizeof *s);
    s->conn = c;
    s->st = st;
    s->cached = e;
    if (e) {
        e->in_use = 1;
        e->used = ++l->tick;
    }
    return s;
}

static void lite_bind(struct db_stmt *s, int idx, int type, const void *v,
                      size_t n)
{
    switch (type) {
    case BIND_TEXT:
        sqlite3_bind_text(s->st, idx, v, (int)n, SQLITE_TRANSIENT);
        break;
    case BIND_INT:
        sqlite3_bind_int64(s->st, idx, *(const int64_t *)v);
        break;
    case BIND_BLOB:
        sqlite3_bind_blob(s->st, idx, v, (int)n, SQLITE_TRANSIENT);
        break;
    default:
        sqlite3_bind_null(s->st, idx);
    }
}

static int lite_step(struct db_stmt *s)
{
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_DONE)
        s->changes = sqlite3_changes64(H(s->conn));
    return map_rc(s->conn, rc);
}

static const char *lite_col_text(struct db_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s->st, col);
}

static const void *lite_col_blob(struct db_stmt *s, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(s->st, col);
    *len = (size_t)sqlite3_column_bytes(s->st, col);
    return p;
}

static int lite_col_is_null(struct db_stmt *s, int col)
{
    return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

static int lite_col_count(struct db_stmt *s)
{
    return sqlite3_column_count(s->st);
}

static int64_t lite_changes(struct db_stmt *s)
{
    return s->changes;
}

static void lite_finalize(struct db_stmt *s)
{
    if (s->cached) {
        sqlite3_reset(s->st);
        sqlite3_clear_bindings(s->st);
        s->cached->in_use = 0;
    } else {
        sqlite3_finalize(s->st);
    }
    free(s);
}

const struct db_ops db_sqlite_ops = {
    lite_connect,  lite_disconnect,  lite_alive,     lite_exec,
    lite_prepare,  lite_bind,        lite_step,      lite_col_text,
    lite_col_blob, lite_col_is_null, lite_col_count, lite_changes,
    lite_finalize,
};
