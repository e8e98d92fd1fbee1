/*
** testlib.h - fixtures shared by the unit tests: a migrated database on
** SQLite (a temporary file) or on PostgreSQL (a schema, or a database, of
** its own on the server named by CITYOS_TEST_PG, dropped afterwards), with
** a key file and the_app set, so the modules under test run as in the
** server.  Also SQL helpers that fail the running test on error,
** temporary directories, and the SMTP sink tests/tools/smtp_sink.py.
**
** One fixture is open at a time: the SQL helpers act on its database.
*/
#ifndef CITYOS_TESTLIB_H
#define CITYOS_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "core/app.h"

struct db_conn;
struct CMUnitTest;

struct testlib_opts {
    int pool;        /* database connections; 0: the configured default */
    int pg_database; /* PostgreSQL: a database of its own instead of a
                        schema (pg_restore --clean acts on a whole
                        database) */
    int tmpdir;      /* TMPDIR: testlib_dir()/tmp, set before the database
                        is opened (SQLite reads it once), restored by
                        testlib_close(); to see what is left there */
    /* Called by testlib_run_group() once the fixture is open (0, or -1
    ** to fail the group) and before it is closed; either may be NULL. */
    int (*opened)(struct app *app);
    void (*closing)(struct app *app);
};

/* engine: "sqlite" or "pg"; name: a short word naming the test.  The
** database, key file and anything the test adds live in testlib_dir().
** opts may be NULL.  Returns 0, or -1 (message printed). */
int testlib_open(const char *engine, const char *name, struct app *app);
int testlib_open_opts(const char *engine, const char *name,
                      const struct testlib_opts *opts, struct app *app);
/* Closes app, drops the PostgreSQL schema or database, removes the
** directory and clears the_app. */
void testlib_close(struct app *app);
/* The open fixture's temporary directory. */
const char *testlib_dir(void);
/* 1 when CITYOS_TEST_PG is set. */
int testlib_have_pg(void);

/* Runs n tests as the cmocka group "NAME (sqlite)" or "NAME (postgresql)"
** (engine "sqlite" or "pg") around one fixture opened with opts (may be
** NULL) into app.  Returns the number of tests that failed. */
int testlib_run_group(const char *engine, const char *name,
                      const struct CMUnitTest *tests, size_t n,
                      const struct testlib_opts *opts, struct app *app);
/* The same on SQLite and, when CITYOS_TEST_PG is set, on PostgreSQL. */
int testlib_run_engines(const char *name, const struct CMUnitTest *tests,
                        size_t n, const struct testlib_opts *opts,
                        struct app *app);

/* A fresh, empty PostgreSQL schema (database = 0) or database (1) named
** after name on the CITYOS_TEST_PG server; its URL goes to url.  0 or -1
** (printed).  testlib_pg_drop() drops it again. */
int testlib_pg_create(const char *name, int database, char *url, size_t urllen);
int testlib_pg_drop(void);

/* A new private directory /tmp/cityos-NAME-XXXXXX in out.  0 or -1. */
int testlib_mkdtemp(const char *name, char *out, size_t outlen);
/* Removes path and, for a directory, everything below it. */
void testlib_rm_rf(const char *path);
/* Entries of dir, hidden ones left out, whose name contains part; -1 when
** dir cannot be read. */
int testlib_count_files(const char *dir, const char *part);
/* Waits up to timeout_ms until dir holds want such entries (files that
** another process writes while the test runs); returns the count then. */
int testlib_wait_files(const char *dir, const char *part, int want,
                       int timeout_ms);

/* SQL on the fixture's database.  types and the arguments after it are
** those of db_run() ('s' text, 'i' int64_t, 'n' NULL).  Any error or a
** missing row fails the running test. */
struct db_conn *testlib_conn(void);
void testlib_exec(const char *sql);
/* The first column of the first row. */
int64_t testlib_query_int(const char *sql, const char *types, ...);
/* The same as text (caller frees); "(null)" for SQL NULL. */
char *testlib_query_text(const char *sql, const char *types, ...);

/* Starts the SMTP sink on a free loopback port, saving each message it
** accepts as a .eml file in dir (reject: an SMTP code answered to every
** DATA, 0 to accept).  Returns the port once it listens; fails the running
** test when it does not start.  One sink at a time. */
int testlib_sink_start(const char *dir, int reject);
void testlib_sink_stop(void);

#endif
