/*
** test_db.c - the storage layer on SQLite and, when CITYOS_TEST_PG is set,
** on PostgreSQL: the same assertions on both engines.  Migrations are
** idempotent, values are bound (quotes and '?' inside literals survive),
** constraint violations are reported as such, rollback discards, a
** connection released inside a transaction is rolled back, NULLs and blobs
** round-trip, and concurrent writers lose no update.
*/
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/db.h"
#include "core/util.h"
#include "testlib.h"

static struct app app;

static void test_open_errors(void **state)
{
    struct db *db = NULL;
    char err[256];
    assert_int_equal(db_open("mysql://x", 1, &db, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown database URL"));
    assert_int_equal(db_open("sqlite:", 1, &db, err, sizeof err), -1);
    assert_int_equal(
        db_open("sqlite:/nonexistent-dir/x/y.db", 1, &db, err, sizeof err), -1);
}

static void test_migrate_twice(void **state)
{
    char err[256];
    int v = db_schema_version(app.db);
    assert_true(v >= 1);
    assert_int_equal(db_migrate(app.db, err, sizeof err), 0);
    assert_int_equal(db_schema_version(app.db), v);
}

static void test_bound_values(void **state)
{
    struct db_conn *c = testlib_conn();
    assert_int_equal(db_exec(c, "CREATE TABLE t_bind (id BIGINT PRIMARY KEY,"
                                " s TEXT, note TEXT)"),
                     DB_OK);
    const char *evil = "x'); DROP TABLE t_bind; --?";
    assert_int_equal(db_run(c,
                            "INSERT INTO t_bind (id, s, note) "
                            "VALUES (?, ?, 'a ''?'' mark')",
                            "is", (int64_t)1, evil),
                     1);
    struct db_stmt *st = db_queryf(c, "SELECT s, note FROM t_bind WHERE id = ?",
                                   "i", (int64_t)1);
    assert_non_null(st);
    assert_int_equal(db_step(st), DB_ROW);
    assert_string_equal(db_col_text(st, 0), evil);
    assert_string_equal(db_col_text(st, 1), "a '?' mark");
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(st);
    db_exec(c, "DROP TABLE t_bind");
    db_release(c);
}

static void test_constraint_and_rollback(void **state)
{
    struct db_conn *c = testlib_conn();
    assert_int_equal(
        db_exec(c, "CREATE TABLE t_u (k TEXT PRIMARY KEY, v BIGINT)"), DB_OK);
    assert_int_equal(
        db_run(c, "INSERT INTO t_u VALUES (?, ?)", "si", "a", (int64_t)1), 1);
    assert_int_equal(
        db_run(c, "INSERT INTO t_u VALUES (?, ?)", "si", "a", (int64_t)2),
        DB_CONSTRAINT);
    assert_int_equal(db_begin(c), DB_OK);
    assert_true(db_in_transaction(c));
    assert_int_equal(db_run(c, "UPDATE t_u SET v = 9 WHERE k = ?", "s", "a"),
                     1);
    assert_int_equal(db_rollback(c), DB_OK);
    int64_t v = 0;
    assert_int_equal(
        db_query_int(c, &v, "SELECT v FROM t_u WHERE k = ?", "s", "a"), DB_ROW);
    assert_int_equal(v, 1);
    /* Released inside a transaction: the pool rolls it back. */
    assert_int_equal(db_begin(c), DB_OK);
    db_run(c, "UPDATE t_u SET v = 7 WHERE k = ?", "s", "a");
    db_release(c);
    c = testlib_conn();
    assert_false(db_in_transaction(c));
    assert_int_equal(
        db_query_int(c, &v, "SELECT v FROM t_u WHERE k = ?", "s", "a"), DB_ROW);
    assert_int_equal(v, 1);
    assert_int_equal(
        db_query_int(c, &v, "SELECT v FROM t_u WHERE k = ?", "s", "nobody"),
        DB_DONE);
    db_exec(c, "DROP TABLE t_u");
    db_release(c);
}

static void test_null_and_blob(void **state)
{
    struct db_conn *c = testlib_conn();
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE TABLE t_b (id BIGINT, s TEXT, b %s)",
             db_engine(app.db) == DB_SQLITE ? "BLOB" : "BYTEA");
    assert_int_equal(db_exec(c, sql), DB_OK);
    const unsigned char bin[] = {0, 1, 2, 255, 0, 'x'};
    struct db_stmt *st = db_prepare(c, "INSERT INTO t_b VALUES (?, ?, ?)");
    db_bind_int(st, 1, 5);
    db_bind_text(st, 2, NULL);
    db_bind_blob(st, 3, bin, sizeof bin);
    assert_int_equal(db_step(st), DB_DONE);
    assert_int_equal(db_changes(st), 1);
    db_finalize(st);
    st = db_queryf(c, "SELECT s, b FROM t_b WHERE id = 5", "");
    assert_int_equal(db_step(st), DB_ROW);
    assert_true(db_col_is_null(st, 0));
    assert_null(db_col_text(st, 0));
    size_t n = 0;
    const void *p = db_col_blob(st, 1, &n);
    assert_int_equal(n, sizeof bin);
    assert_memory_equal(p, bin, sizeof bin);
    db_finalize(st);
    db_exec(c, "DROP TABLE t_b");
    db_release(c);
}

/* Each thread adds 1 a hundred times in write transactions; a lost update
** would leave the total short. */
static void *adder(void *arg)
{
    for (int i = 0; i < 100; i++) {
        struct db_conn *c = db_acquire(app.db);
        int rc;
        while ((rc = db_begin(c)) == DB_BUSY)
            usleep(1000);
        int64_t v = 0;
        if (rc == DB_OK &&
            db_query_int(c, &v,
                         db_engine(app.db) == DB_SQLITE
                             ? "SELECT v FROM t_c WHERE id = 1"
                             : "SELECT v FROM t_c WHERE id = 1 FOR UPDATE",
                         "") == DB_ROW &&
            db_run(c, "UPDATE t_c SET v = ? WHERE id = 1", "i", v + 1) == 1)
            db_commit(c);
        else
            db_rollback(c);
        db_release(c);
    }
    return arg;
}

static void test_concurrent_writers(void **state)
{
    struct db_conn *c = testlib_conn();
    assert_int_equal(
        db_exec(c, "CREATE TABLE t_c (id BIGINT PRIMARY KEY, v BIGINT)"),
        DB_OK);
    assert_int_equal(db_run(c, "INSERT INTO t_c VALUES (1, 0)", ""), 1);
    db_release(c);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, adder, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    c = testlib_conn();
    int64_t v = 0;
    assert_int_equal(db_query_int(c, &v, "SELECT v FROM t_c", ""), DB_ROW);
    assert_int_equal(v, 800);
    db_exec(c, "DROP TABLE t_c");
    db_release(c);
}

static void test_ping(void **state)
{
    assert_int_equal(db_ping(app.db), 0);
}

#define ALL_TESTS                                                              \
    cmocka_unit_test(test_migrate_twice), cmocka_unit_test(test_bound_values), \
        cmocka_unit_test(test_constraint_and_rollback),                        \
        cmocka_unit_test(test_null_and_blob),                                  \
        cmocka_unit_test(test_concurrent_writers), cmocka_unit_test(test_ping)

int main(void)
{
    const struct CMUnitTest plain[] = {cmocka_unit_test(test_open_errors)};
    const struct CMUnitTest engine[] = {ALL_TESTS};
    int failed = cmocka_run_group_tests_name("db", plain, NULL, NULL);
    failed += testlib_run_engines("db", engine, ARRAY_LEN(engine), NULL, &app);
    return failed ? 1 : 0;
}
