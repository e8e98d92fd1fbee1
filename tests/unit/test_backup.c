/*
** test_backup.c - backups and restore (OPS-1, SEC-7): a SQLite round trip
** (back up, change, restore, the data is back, through connections that
** stayed open), a consistent copy taken while a writer is busy, the file
** name, mode and encryption, refusal of altered, truncated, foreign and
** wrongly keyed files without touching the database, no plain copies left
** behind, pruning to N generations, and the daily job.  With
** CITYOS_TEST_PG set, the same round trip with pg_dump / pg_restore on a
** database created for the test and dropped afterwards.
*/
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/app.h"
#include "core/backup.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/jobs.h"
#include "core/util.h"
#include "testlib.h"

static struct app g_app;
static const char *g_root; /* everything of this test lives here */
static char g_dir[300];    /* backups */
static char g_tmp[300];    /* TMPDIR, to see that nothing is left */

/* ---- helpers ---------------------------------------------------------- */

/* Names in dir (hidden ones too), sorted, comma-separated. */
static char *listing(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    assert_true(n >= 0);
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "");
    for (int i = 0; i < n; i++) {
        if (!str_eq(list[i]->d_name, ".") && !str_eq(list[i]->d_name, "..")) {
            if (b.len)
                buf_putc(&b, ',');
            buf_puts(&b, list[i]->d_name);
        }
        free(list[i]);
    }
    free(list);
    return buf_steal(&b);
}

static int count_backups(void)
{
    if (access(g_dir, F_OK) != 0)
        return 0;
    return testlib_count_files(g_dir, ".enc");
}

/* Nothing but finished backups in the backup dir, nothing in TMPDIR. */
static void expect_no_leftovers(void)
{
    char *t = listing(g_tmp);
    assert_string_equal(t, "");
    free(t);
    char *l = listing(g_dir);
    assert_null(strstr(l, ".cityos-tmp"));
    assert_null(strstr(l, ".tmp"));
    free(l);
}

static void backup_ok(char *out, size_t outlen)
{
    char err[512] = "";
    if (backup_run(&g_app, g_dir, out, outlen, err, sizeof err) != 0)
        fail_msg("backup_run: %s", err);
}

static void copy_file(const char *from, const char *to, long truncate_at,
                      long flip_at)
{
    size_t n;
    char *d = file_read(from, 1 << 28, &n);
    assert_non_null(d);
    if (flip_at >= 0) {
        assert_true((size_t)flip_at < n);
        d[flip_at] ^= 0x01;
    }
    if (truncate_at >= 0 && (size_t)truncate_at < n)
        n = (size_t)truncate_at;
    assert_int_equal(file_write_atomic(to, d, n, 0600), 0);
    free(d);
}

static void create_probe(void)
{
    testlib_exec("DROP TABLE IF EXISTS probe");
    testlib_exec("CREATE TABLE probe (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    testlib_exec(
        "INSERT INTO probe VALUES ('name', 'Yamada Taro secret-7f3a')");
    testlib_exec("INSERT INTO probe VALUES ('city', '架空市')");
}

/* ---- tests ------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    create_probe();
    char out[1024];
    backup_ok(out, sizeof out);

    /* DIR/cityos-YYYYMMDDTHHMMSSZ.<engine>.enc, mode 0600. */
    char want[400];
    snprintf(want, sizeof want, "%s/cityos-", g_dir);
    assert_true(str_starts(out, want));
    const char *stamp = out + strlen(want);
    assert_int_equal(strlen(stamp), strlen("20261122T020000Z.") +
                                        strlen(db_engine_name(g_app.db)) +
                                        strlen(".enc"));
    assert_int_equal(stamp[8], 'T');
    assert_int_equal(stamp[15], 'Z');
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Encrypted: the data is not readable in the file. */
    size_t n;
    char *raw = file_read(out, 1 << 28, &n);
    assert_non_null(raw);
    assert_null(memmem(raw, n, "secret-7f3a", 11));
    assert_null(memmem(raw, n, "SQLite format", 13));
    free(raw);
    expect_no_leftovers();

    char err[512] = "";
    if (backup_verify(&g_app, out, err, sizeof err) != 0)
        fail_msg("verify: %s", err);

    /* Changes after the backup ... */
    testlib_exec("UPDATE probe SET v = 'changed' WHERE k = 'name'");
    testlib_exec("DELETE FROM probe WHERE k = 'city'");
    testlib_exec("INSERT INTO probe VALUES ('later', 'x')");
    testlib_exec("CREATE TABLE later_table (x INTEGER)");

    /* ... are undone by the restore, seen through the pool's open
    ** connections. */
    if (backup_restore(&g_app, out, err, sizeof err) != 0)
        fail_msg("restore: %s", err);
    char *v = testlib_query_text("SELECT v FROM probe WHERE k = 'name'", "");
    assert_string_equal(v, "Yamada Taro secret-7f3a");
    free(v);
    v = testlib_query_text("SELECT v FROM probe WHERE k = 'city'", "");
    assert_string_equal(v, "架空市");
    free(v);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM probe", ""), 2);
    /* The database keeps working: writes after the restore. */
    testlib_exec("INSERT INTO probe VALUES ('after', 'y')");
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM probe", ""), 3);
    expect_no_leftovers();
}

static void test_sqlite_restore_keeps_wal_and_schema(void **state)
{
    create_probe();
    char out[1024], err[512];
    backup_ok(out, sizeof out);
    testlib_exec("CREATE TABLE later_table (x INTEGER)");
    assert_int_equal(backup_restore(&g_app, out, err, sizeof err), 0);
    char *mode = testlib_query_text("PRAGMA journal_mode", "");
    assert_string_equal(mode, "wal");
    free(mode);
    /* The table made after the backup is gone; the migrations are there. */
    assert_int_equal(
        testlib_query_int("SELECT COUNT(*) FROM sqlite_master WHERE "
                          "name = 'later_table'",
                          ""),
        0);
    assert_true(testlib_query_int("SELECT MAX(version) FROM schema_migrations",
                                  "") >= 3);
    char *ok = testlib_query_text("PRAGMA integrity_check", "");
    assert_string_equal(ok, "ok");
    free(ok);
}

static void test_refuses_bad_files(void **state)
{
    create_probe();
    char out[1024], err[512];
    backup_ok(out, sizeof out);
    testlib_exec("UPDATE probe SET v = 'current' WHERE k = 'name'");
    size_t n;
    char *raw = file_read(out, 1 << 28, &n);
    assert_non_null(raw);
    free(raw);

    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.enc", g_root);
    struct {
        const char *what;
        long truncate_at, flip_at;
    } cases[] = {
        {"a flipped byte in the middle", -1, (long)n / 2},
        {"a flipped byte at the end", -1, (long)n - 1},
        {"a flipped byte in the header", -1, 3},
        {"truncated", (long)n - 100, -1},
        {"cut to a chunk", (long)n / 3, -1},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        copy_file(out, bad, cases[i].truncate_at, cases[i].flip_at);
        err[0] = 0;
        if (backup_verify(&g_app, bad, err, sizeof err) == 0)
            fail_msg("verify accepted %s", cases[i].what);
        assert_true(err[0] != 0);
        if (backup_restore(&g_app, bad, err, sizeof err) == 0)
            fail_msg("restore accepted %s", cases[i].what);
    }
    /* A plain file, an empty one, a missing one. */
    assert_int_equal(file_write_atomic(bad, "SQLite format 3", 16, 0600), 0);
    assert_int_equal(backup_restore(&g_app, bad, err, sizeof err), -1);
    assert_int_equal(file_write_atomic(bad, "", 0, 0600), 0);
    assert_int_equal(backup_restore(&g_app, bad, err, sizeof err), -1);
    assert_int_equal(
        backup_restore(&g_app, "/nonexistent/x.enc", err, sizeof err), -1);

    /* Another key file: refused. */
    char other[400];
    snprintf(other, sizeof other, "%s/other.key", g_root);
    struct keyring *k2 = NULL;
    assert_int_equal(keyring_load(other, 1, &k2, err, sizeof err), 0);
    struct keyring *mine = g_app.keys;
    g_app.keys = k2;
    assert_int_equal(backup_restore(&g_app, out, err, sizeof err), -1);
    g_app.keys = mine;
    keyring_free(k2);

    /* The database was never touched. */
    char *v = testlib_query_text("SELECT v FROM probe WHERE k = 'name'", "");
    assert_string_equal(v, "current");
    free(v);
    expect_no_leftovers();
    unlink(bad);
    unlink(other);
}

static void test_prune(void **state)
{
    testlib_rm_rf(g_dir);
    assert_int_equal(mkdir(g_dir, 0700), 0);
    const char *names[] = {
        "cityos-20260101T020000Z.sqlite.enc",
        "cityos-20260102T020000Z.sqlite.enc",
        "cityos-20260103T020000Z.postgresql.enc",
        "cityos-20260104T020000Z.sqlite.enc",
        "cityos-20260105T020000Z.sqlite.enc",
        "cityos-20251231T235959Z.sqlite.enc",
        /* Not ours: never deleted. */
        "notes.txt",
        "cityos-latest.sqlite.enc",
        "cityos-20260101T020000Z.sqlite.enc.bak",
        "cityos-2026010XT020000Z.sqlite.enc",
    };
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
        assert_int_equal(file_write_atomic(p, "x", 1, 0600), 0);
    }
    assert_int_equal(backup_prune(g_dir, 3), 3);
    char *l = listing(g_dir);
    assert_string_equal(l, "cityos-20260101T020000Z.sqlite.enc.bak,"
                           "cityos-20260103T020000Z.postgresql.enc,"
                           "cityos-20260104T020000Z.sqlite.enc,"
                           "cityos-20260105T020000Z.sqlite.enc,"
                           "cityos-2026010XT020000Z.sqlite.enc,"
                           "cityos-latest.sqlite.enc,notes.txt");
    free(l);
    assert_int_equal(backup_prune(g_dir, 3), 0);
    /* keep < 1 still keeps the newest. */
    assert_int_equal(backup_prune(g_dir, 0), 2);
    l = listing(g_dir);
    assert_non_null(strstr(l, "cityos-20260105T020000Z.sqlite.enc"));
    assert_null(strstr(l, "cityos-20260104T020000Z.sqlite.enc"));
    free(l);
    assert_int_equal(backup_prune("/nonexistent-dir", 3), -1);
    testlib_rm_rf(g_dir);
}

static void test_run_prunes_to_keep(void **state)
{
    testlib_rm_rf(g_dir);
    g_app.cfg.backup_keep = 2;
    char out[3][1024];
    for (int i = 0; i < 3; i++)
        backup_ok(out[i], sizeof out[i]);
    /* Three distinct names (a second apart), the oldest pruned. */
    assert_string_not_equal(out[0], out[1]);
    assert_string_not_equal(out[1], out[2]);
    assert_int_equal(count_backups(), 2);
    assert_int_equal(access(out[0], F_OK), -1);
    assert_int_equal(access(out[2], F_OK), 0);
    struct stat st;
    assert_int_equal(stat(g_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700); /* created private */
    g_app.cfg.backup_keep = 7;
    expect_no_leftovers();
}

/* Work directories a crash left behind (plain personal data) are removed
** by the next backup once a day old; a young one may be a running backup. */
static void test_stale_work_dirs_swept(void **state)
{
    assert_int_equal(mkdir(g_dir, 0700), 0);
    char old_dir[400], young_dir[400], f[500];
    snprintf(old_dir, sizeof old_dir, "%s/.cityos-tmp-OLD123", g_dir);
    snprintf(young_dir, sizeof young_dir, "%s/.cityos-tmp-NEW123", g_dir);
    assert_int_equal(mkdir(old_dir, 0700), 0);
    assert_int_equal(mkdir(young_dir, 0700), 0);
    snprintf(f, sizeof f, "%s/plain", old_dir);
    assert_int_equal(file_write_atomic(f, "secret", 6, 0600), 0);
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 2 * 86400},
                             {.tv_sec = time(NULL) - 2 * 86400}};
    assert_int_equal(utimensat(AT_FDCWD, old_dir, ts, 0), 0);
    char out[1024];
    backup_ok(out, sizeof out);
    assert_int_equal(access(old_dir, F_OK), -1);
    assert_int_equal(access(young_dir, F_OK), 0);
    rmdir(young_dir);
}

struct writer {
    struct db *db;
    volatile int stop;
    int pairs;
    int errors;
};

/* Inserts rows in pairs, one pair per transaction: a consistent copy
** always holds an even number. */
static void *write_pairs(void *arg)
{
    struct writer *w = arg;
    while (!w->stop) {
        struct db_conn *c = db_acquire(w->db);
        if (!c || db_begin(c) != DB_OK) {
            w->errors++;
            db_release(c);
            continue;
        }
        int ok = db_run(c, "INSERT INTO pairs (n) VALUES (1)", "") == 1 &&
                 db_run(c, "INSERT INTO pairs (n) VALUES (2)", "") == 1;
        if (ok && db_commit(c) == DB_OK)
            w->pairs++;
        else
            db_rollback(c);
        db_release(c);
    }
    return NULL;
}

static void test_consistent_while_writing(void **state)
{
    testlib_exec("DROP TABLE IF EXISTS pairs");
    testlib_exec("CREATE TABLE pairs (n INTEGER NOT NULL)");
    struct writer w = {.db = g_app.db};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_pairs, &w), 0);
    usleep(100000);
    char out[1024], err[512];
    backup_ok(out, sizeof out);
    usleep(100000);
    w.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(w.errors, 0);
    int64_t before = testlib_query_int("SELECT COUNT(*) FROM pairs", "");
    assert_true(before > 0);
    assert_int_equal(backup_restore(&g_app, out, err, sizeof err), 0);
    int64_t restored = testlib_query_int("SELECT COUNT(*) FROM pairs", "");
    assert_int_equal(restored % 2, 0);
    assert_true(restored > 0 && restored <= before);
}

static void test_daily_job(void **state)
{
    testlib_rm_rf(g_dir);
    testlib_exec("DELETE FROM job_runs");
    jobs_clear();
    backup_job_register();
    str_copy(g_app.cfg.backup_dir, g_dir, sizeof g_app.cfg.backup_dir);
    str_copy(g_app.cfg.backup_window, "02:00-05:00",
             sizeof g_app.cfg.backup_window);
    /* 2026-11-22 03:00 Japan time = 2026-11-21 18:00 UTC. */
    int64_t night = 1795284000;
    int64_t noon = night + 9 * 3600;
    assert_int_equal(jobs_tick(&g_app, noon), 0);
    assert_int_equal(count_backups(), 0);
    assert_int_equal(jobs_tick(&g_app, night), 1);
    assert_int_equal(count_backups(), 1);
    assert_int_equal(jobs_tick(&g_app, night + 60), 0);
    assert_int_equal(count_backups(), 1);
    char *r = testlib_query_text("SELECT result FROM job_runs WHERE "
                                 "slot = 'backup:2026-11-22'",
                                 "");
    assert_string_equal(r, "ok");
    free(r);

    /* A failing backup is recorded and raises an alert. */
    str_copy(g_app.cfg.backup_dir, "/proc/cityos-cannot-write",
             sizeof g_app.cfg.backup_dir);
    testlib_exec("DELETE FROM alerts");
    assert_int_equal(jobs_tick(&g_app, night + 86400), -1);
    r = testlib_query_text("SELECT result FROM job_runs WHERE "
                           "slot = 'backup:2026-11-23'",
                           "");
    assert_string_equal(r, "error");
    free(r);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM alerts WHERE "
                                       "kind = 'backup_failed'",
                                       ""),
                     1);
    /* No backup directory configured: the job never runs. */
    g_app.cfg.backup_dir[0] = 0;
    assert_int_equal(jobs_tick(&g_app, night + 2 * 86400), 0);
    str_copy(g_app.cfg.backup_dir, g_dir, sizeof g_app.cfg.backup_dir);
    jobs_clear();
}

/* ---- fixtures --------------------------------------------------------- */

static int opened(struct app *app)
{
    g_root = testlib_dir();
    snprintf(g_dir, sizeof g_dir, "%s/backups", g_root);
    snprintf(g_tmp, sizeof g_tmp, "%s/tmp", g_root);
    app->cfg.backup_keep = 7;
    return 0;
}

static int reset(void **state)
{
    testlib_rm_rf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test_setup(test_round_trip, reset),
        cmocka_unit_test_setup(test_sqlite_restore_keeps_wal_and_schema, reset),
        cmocka_unit_test_setup(test_refuses_bad_files, reset),
        cmocka_unit_test_setup(test_prune, reset),
        cmocka_unit_test_setup(test_run_prunes_to_keep, reset),
        cmocka_unit_test_setup(test_consistent_while_writing, reset),
        cmocka_unit_test_setup(test_stale_work_dirs_swept, reset),
        cmocka_unit_test_setup(test_daily_job, reset),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup(test_round_trip, reset),
        cmocka_unit_test_setup(test_refuses_bad_files, reset),
        cmocka_unit_test_setup(test_consistent_while_writing, reset),
        cmocka_unit_test_setup(test_daily_job, reset),
    };
    /* Decrypted copies for verify/restore go to TMPDIR: watched.  On
    ** PostgreSQL a database of our own: pg_restore --clean acts on a whole
    ** database. */
    const struct testlib_opts opts = {
        .pool = 4, .pg_database = 1, .tmpdir = 1, .opened = opened};
    int failed = testlib_run_group("sqlite", "backup", sqlite_tests,
                                   ARRAY_LEN(sqlite_tests), &opts, &g_app);
    if (testlib_have_pg())
        failed += testlib_run_group("pg", "backup", pg_tests,
                                    ARRAY_LEN(pg_tests), &opts, &g_app);
    return failed ? 1 : 0;
}
