/*
** db_pg.c - the PostgreSQL adapter of the storage layer (libpq).  SQL is
** written with '?' placeholders everywhere; they become $1, $2 ... here.
** Parameters are sent separately from the SQL text (PQexecParams), so
** values can never change a statement.  A statement runs on its first
** db_step() and its rows are then read from the PGresult.
*/
#include "db_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PG_MAX_PARAMS 64

struct db_stmt {
    struct db_conn *conn; /* must stay first: see db.c ops_of() */
    char *sql;
    int nparams;
    char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
    PGresult *res;
    int row; /* current row, -1 before the first */
    int nrows;
    int64_t changes;
    unsigned char *blob; /* last unescaped bytea */
};

static int pg_connect(struct db_conn *c, char *err, size_t errlen)
{
    PGconn *h = PQconnectdb(c->db->url);
    if (PQstatus(h) != CONNECTION_OK) {
        snprintf(err, errlen, "postgresql: %s", PQerrorMessage(h));
        PQfinish(h);
        return -1;
    }
    PGresult *r = PQexec(h, "SET TIME ZONE 'UTC'; "
                            "SET client_min_messages = warning");
    PQclear(r);
    c->handle = h;
    return 0;
}

static void pg_disconnect(struct db_conn *c)
{
    PQfinish(c->handle);
    c->handle = NULL;
}

static int pg_alive(struct db_conn *c)
{
    return c->handle && PQstatus(c->handle) == CONNECTION_OK;
}

/* SQLSTATE classes: 23 integrity, 40 serialization/deadlock, 55P03 lock. */
static int map_result(struct db_conn *c, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return DB_OK;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorMessage(r);
    db_set_error(c, msg && *msg ? msg : PQerrorMessage(c->handle));
    if (state && strncmp(state, "23", 2) == 0)
        return DB_CONSTRAINT;
    if (state && (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0))
        return DB_BUSY;
    return DB_ERROR;
}

static int pg_exec(struct db_conn *c, const char *sql)
{
    PGresult *r = PQexec(c->handle, sql);
    int rc = map_result(c, r);
    PQclear(r);
    return rc;
}

/* '?' outside quotes and comments becomes $n. */
static char *pg_rewrite(const char *sql, int *nparams)
{
    struct buf b;
    buf_init(&b);
    char quote = 0;
    int n = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            buf_putc(&b, *p);
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            buf_putc(&b, *p);
        } else if (*p == '?') {
            buf_printf(&b, "$%d", ++n);
        } else {
            buf_putc(&b, *p);
        }
    }
    *nparams = n;
    return buf_steal(&b);
}

static struct db_stmt *pg_prepare(struct db_conn *c, const char *sql)
{
    struct db_stmt *s = xcalloc(1, sizeof *s);
    s->conn = c;
    s->sql = pg_rewrite(sql, &s->nparams);
    if (s->nparams > PG_MAX_PARAMS) {
        db_set_error(c, "too many parameters");
        free(s->sql);
        free(s);
        return NULL;
    }
    s->row = -1;
    return s;
}

static void pg_bind(struct db_stmt *s, int idx, int type, const void *v,
                    size_t n)
{
    if (idx < 1 || idx > s->nparams)
        return;
    int i = idx - 1;
    free(s->values[i]);
    s->values[i] = NULL;
    s->lengths[i] = 0;
    s->formats[i] = 0;
    switch (type) {
    case BIND_TEXT:
        s->values[i] = xstrndup(v, n);
        break;
    case BIND_INT: {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)*(const int64_t *)v);
        s->values[i] = xstrdup(num);
        break;
    }
    case BIND_BLOB:
        s->values[i] = xmalloc(n ? n : 1);
        memcpy(s->values[i], v, n);
        s->lengths[i] = (int)n;
        s->formats[i] = 1;
        break;
    default:
        break;
    }
}

static int pg_step(struct db_stmt *s)
{
    if (!s->res) {
        s->res = PQexecParams(s->conn->handle, s->sql, s->nparams, NULL,
                              (const char *const *)s->values, s->lengths,
                              s->formats, 0);
        int rc = map_result(s->conn, s->res);
        if (rc != DB_OK)
            return rc;
        s->nrows = PQntuples(s->res);
        const char *ct = PQcmdTuples(s->res);
        s->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
    }
    s->row++;
    return s->row < s->nrows ? DB_ROW : DB_DONE;
}

static const char *pg_col_text(struct db_stmt *s, int col)
{
    if (!s->res || s->row < 0 || s->row >= s->nrows ||
        PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

static const void *pg_col_blob(struct db_stmt *s, int col, size_t *len)
{
    const char *t = pg_col_text(s, col);
    *len = 0;
    if (!t)
        return NULL;
    PQfreemem(s->blob);
    s->blob = PQunescapeBytea((const unsigned char *)t, len);
    return s->blob;
}

static int pg_col_is_null(struct db_stmt *s, int col)
{
    return pg_col_text(s, col) == NULL;
}

static int pg_col_count(struct db_stmt *s)
{
    return s->res ? PQnfields(s->res) : 0;
}

static int64_t pg_changes(struct db_stmt *s)
{
    return s->changes;
}

static void pg_finalize(struct db_stmt *s)
{
    for (int i = 0; i < s->nparams; i++)
        free(s->values[i]);
    PQclear(s->res);
    PQfreemem(s->blob);
    free(s->sql);
    free(s);
}

const struct db_ops db_pg_ops = {
    pg_connect,   pg_disconnect, pg_alive,    pg_exec,     pg_prepare,
    pg_bind,      pg_step,       pg_col_text, pg_col_blob, pg_col_is_null,
    pg_col_count, pg_changes,    pg_finalize,
};
