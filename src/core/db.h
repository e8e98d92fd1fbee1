/*
** db.h - the one storage interface of cityos, with two adapters:
** SQLite (embedded, WAL) and PostgreSQL (libpq).  Services write portable
** SQL with '?' placeholders; the PostgreSQL adapter rewrites them to $n.
** Values are bound, never spliced into SQL text.
**
** A struct db is a pool of connections; a request or job takes one with
** db_acquire() and gives it back with db_release().  Write transactions
** start with db_begin(), which is BEGIN IMMEDIATE on SQLite so that two
** writers never deadlock on lock upgrade, and plain BEGIN on PostgreSQL.
**
** Schema: migrations/NNNN_name.sql, embedded, applied in order by
** db_migrate().  Tokens in them are replaced per engine:
**   @ID@    integer primary key with automatic values
**   @BLOB@  binary column type
*/
#ifndef CITYOS_DB_H
#define CITYOS_DB_H

#include <stddef.h>
#include <stdint.h>

enum db_engine { DB_SQLITE = 1, DB_POSTGRES = 2 };

/* Results of db_step() and of the helpers below. */
enum {
    DB_OK = 0,
    DB_ROW = 1,
    DB_DONE = 2,
    DB_ERROR = -1,
    DB_CONSTRAINT = -2, /* unique, check or foreign-key violation */
    DB_BUSY = -3,       /* lock timeout or serialization failure: retry */
};

struct db;
struct db_conn;
struct db_stmt;

/* url: "sqlite:PATH" or "postgresql://..." (any libpq conninfo also
** accepted when it starts with "postgres").  pool_size >= 1.  On failure
** returns -1 and writes a message to err. */
int db_open(const char *url, int pool_size, struct db **out, char *err,
            size_t errlen);
void db_close(struct db *db);
enum db_engine db_engine(const struct db *db);
const char *db_engine_name(const struct db *db); /* "sqlite" / "postgresql" */
const char *db_url(const struct db *db);
/* For SQLite the file path, else NULL. */
const char *db_sqlite_path(const struct db *db);

/* Blocks until a connection is free.  NULL when the database cannot be
** reached (PostgreSQL down); the caller answers 503. */
struct db_conn *db_acquire(struct db *db);
void db_release(struct db_conn *c);
struct db *db_of(struct db_conn *c);
/* 0 when the database answers a trivial query. */
int db_ping(struct db *db);

int db_begin(struct db_conn *c);
int db_commit(struct db_conn *c);
int db_rollback(struct db_conn *c);
int db_in_transaction(struct db_conn *c);

/* Runs one or more statements without parameters (DDL, migrations). */
int db_exec(struct db_conn *c, const char *sql);

struct db_stmt *db_prepare(struct db_conn *c, const char *sql);
/* Parameters are numbered from 1. */
void db_bind_text(struct db_stmt *s, int idx, const char *v); /* NULL->NULL */
void db_bind_int(struct db_stmt *s, int idx, int64_t v);
void db_bind_null(struct db_stmt *s, int idx);
void db_bind_blob(struct db_stmt *s, int idx, const void *v, size_t n);
/* DB_ROW, DB_DONE or a negative error. */
int db_step(struct db_stmt *s);
/* Columns are numbered from 0.  Text is valid until the next step. */
const char *db_col_text(struct db_stmt *s, int col); /* NULL for NULL */
int64_t db_col_int(struct db_stmt *s, int col);
int db_col_is_null(struct db_stmt *s, int col);
const void *db_col_blob(struct db_stmt *s, int col, size_t *len);
int db_col_count(struct db_stmt *s);
/* Rows changed by the last INSERT/UPDATE/DELETE this statement ran. */
int64_t db_changes(struct db_stmt *s);
void db_finalize(struct db_stmt *s);

/* Last error message of the connection (never NULL). */
const char *db_errmsg(struct db_conn *c);

/* Convenience: prepare, bind by a type string, step once, finalize.
** types: one char per parameter: 's' const char *, 'i' int64_t,
** 'n' (no argument) NULL.  Returns the number of rows changed (>= 0) or a
** negative DB_* error. */
int64_t db_run(struct db_conn *c, const char *sql, const char *types, ...);
/* Like db_run but returns the first column of the first row as an integer
** in *out; DB_ROW when a row was found, DB_DONE when none, or an error. */
int db_query_int(struct db_conn *c, int64_t *out, const char *sql,
                 const char *types, ...);
/* Prepares and binds; the caller steps and finalizes.  NULL on error. */
struct db_stmt *db_queryf(struct db_conn *c, const char *sql, const char *types,
                          ...);

/* Applies pending migrations in one transaction each.  Returns 0. */
int db_migrate(struct db *db, char *err, size_t errlen);
/* Highest applied migration version. */
int db_schema_version(struct db *db);

#endif
