/*
** test_audit.c - the tamper-evident audit log (SEC-8, WIN-3) on a real
** database: appending, the canonical hash form documented in audit.c,
** detection of changed, deleted and forged entries by audit_verify(),
** bounds on stored fields, search, CSV export, concurrent appenders and
** alerts.  Runs on a temporary SQLite file, and also on PostgreSQL when
** CITYOS_TEST_PG holds a postgresql:// URL (in a schema of its own, dropped
** at the end).
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

#include "core/app.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/util.h"
#include "testlib.h"

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static struct app g_app;

/* ---- helpers ---------------------------------------------------------- */

static int64_t id_of_seq(int64_t seq)
{
    return testlib_query_int("SELECT id FROM audit_log WHERE seq = ?", "i",
                             seq);
}

/* Appends one entry in its own transaction, as a service would. */
static int append_one(const struct actor *who, const char *action,
                      const char *ttype, const char *tid, const char *result,
                      const char *detail)
{
    struct db_conn *c = testlib_conn();
    int rc;
    while ((rc = db_begin(c)) == DB_BUSY)
        usleep(1000);
    if (rc != DB_OK) {
        db_release(c);
        return -1;
    }
    if (audit_append(c, who, action, ttype, tid, result, detail) != 0) {
        db_rollback(c);
        db_release(c);
        return -1;
    }
    rc = db_commit(c);
    db_release(c);
    return rc == DB_OK ? 0 : -1;
}

static void append_n(int n)
{
    struct actor who = {.user_id = 7,
                        .login = "tanaka",
                        .role = "staff_citizen",
                        .ip = "192.0.2.10",
                        .ua = "Mozilla/5.0"};
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", 1000 + i);
        assert_int_equal(
            append_one(&who, "resident.view", "resident", id, "ok", "閲覧"), 0);
    }
}

static int64_t verify(char *why, size_t n)
{
    return audit_verify(g_app.db, why, n);
}

static void expect_failure(int64_t want_id, const char *want_why)
{
    char why[128];
    int64_t got = verify(why, sizeof why);
    if (got != want_id || strcmp(why, want_why) != 0)
        fail_msg("verify: got %lld \"%s\", want %lld \"%s\"", (long long)got,
                 why, (long long)want_id, want_why);
}

static void expect_intact(void)
{
    char why[128];
    int64_t got = verify(why, sizeof why);
    if (got != 0)
        fail_msg("verify: got %lld \"%s\", want intact", (long long)got, why);
}

/* The canonical form exactly as documented at the top of audit.c, written
** again here so a change to the format is caught. */
static void canon_field(struct buf *b, const char *s)
{
    if (!s)
        buf_puts(b, "N\n");
    else
        buf_printf(b, "S%zu:%s\n", strlen(s), s);
}

static void documented_hash(int64_t seq, char out[65])
{
    struct db_conn *c = testlib_conn();
    struct db_stmt *s = db_queryf(
        c,
        "SELECT seq, ts, user_id, login, role, action, target_type, "
        "target_id, result, ip, user_agent, detail, prev_hash FROM audit_log "
        "WHERE seq = ?",
        "i", seq);
    assert_non_null(s);
    assert_int_equal(db_step(s), DB_ROW);
    struct buf b;
    buf_init(&b);
    buf_puts(&b, db_col_text(s, 12));
    buf_puts(&b, "cityos-audit-v1\n");
    buf_printf(&b, "I%lld\nI%lld\n", (long long)db_col_int(s, 0),
               (long long)db_col_int(s, 1));
    if (db_col_is_null(s, 2))
        buf_puts(&b, "N\n");
    else
        buf_printf(&b, "I%lld\n", (long long)db_col_int(s, 2));
    for (int i = 3; i <= 11; i++)
        canon_field(&b, db_col_text(s, i));
    sha256_hex(b.data, b.len, out);
    buf_free(&b);
    db_finalize(s);
    db_release(c);
}

static char *text_of(const char *sql, int64_t arg)
{
    return testlib_query_text(sql, "i", arg);
}

/* 1 when s is well-formed UTF-8 (checked with a decoder of our own). */
static int utf8_ok(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80                  ? 1
                : *s >= 0xc2 && *s <= 0xdf ? 2
                : (*s & 0xf0) == 0xe0      ? 3
                : *s >= 0xf0 && *s <= 0xf4 ? 4
                                           : 0;
        if (!n)
            return 0;
        for (int i = 1; i < n; i++)
            if ((s[i] & 0xc0) != 0x80)
                return 0;
        s += n;
    }
    return 1;
}

/* ---- fixtures --------------------------------------------------------- */

static int reset(void **state)
{
    testlib_exec("DELETE FROM audit_log");
    testlib_exec("UPDATE audit_head SET seq = 0, hash = '" ZEROS
                 "' WHERE id = 1");
    testlib_exec("DELETE FROM alerts");
    return 0;
}

static int opened(struct app *app)
{
    str_copy(app->cfg.mail_from, "cityos@example.jp",
             sizeof app->cfg.mail_from);
    return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_append_and_verify(void **state)
{
    expect_intact(); /* the empty log at genesis */
    append_n(3);
    assert_int_equal(append_one(NULL, "backup.run", NULL, NULL, "ok", NULL), 0);
    struct actor anon = {.user_id = 0, .login = NULL, .ip = "2001:db8::1"};
    assert_int_equal(
        append_one(&anon, "auth.login", "user", "a|b", "denied", "a|b"), 0);
    expect_intact();

    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM audit_log", ""),
                     5);
    assert_int_equal(testlib_query_int("SELECT MIN(seq) FROM audit_log", ""),
                     1);
    assert_int_equal(testlib_query_int("SELECT MAX(seq) FROM audit_log", ""),
                     5);
    assert_int_equal(testlib_query_int("SELECT seq FROM audit_head", ""), 5);

    /* The system acts as "system", with no user; nobody signed in as "-". */
    char *login = text_of("SELECT login FROM audit_log WHERE seq = ?", 4);
    assert_string_equal(login, "system");
    free(login);
    assert_int_equal(
        testlib_query_int("SELECT COUNT(*) FROM audit_log WHERE seq = ? "
                          "AND user_id IS NULL AND role IS NULL",
                          "i", (int64_t)4),
        1);
    login = text_of("SELECT login FROM audit_log WHERE seq = ?", 5);
    assert_string_equal(login, "-");
    free(login);

    /* Each entry links to the one before; the first to the genesis. */
    char *prev = text_of("SELECT prev_hash FROM audit_log WHERE seq = ?", 1);
    assert_string_equal(prev, ZEROS);
    free(prev);
    for (int64_t seq = 2; seq <= 5; seq++) {
        char *p = text_of("SELECT prev_hash FROM audit_log WHERE seq = ?", seq);
        char *h = text_of("SELECT hash FROM audit_log WHERE seq = ?", seq - 1);
        assert_string_equal(p, h);
        free(p);
        free(h);
    }
    /* The stored hashes follow the documented canonical form. */
    for (int64_t seq = 1; seq <= 5; seq++) {
        char want[65];
        documented_hash(seq, want);
        char *h = text_of("SELECT hash FROM audit_log WHERE seq = ?", seq);
        assert_string_equal(h, want);
        free(h);
    }
    char *head = text_of("SELECT hash FROM audit_head WHERE id = ?", 1);
    char *last = text_of("SELECT hash FROM audit_log WHERE seq = ?", 5);
    assert_string_equal(head, last);
    free(head);
    free(last);
}

static void test_append_outside_transaction(void **state)
{
    struct db_conn *c = testlib_conn();
    assert_int_equal(audit_append(c, NULL, "x.y", NULL, NULL, "ok", NULL), -1);
    db_release(c);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM audit_log", ""),
                     0);
    assert_int_equal(testlib_query_int("SELECT seq FROM audit_head", ""), 0);
}

/* Rolling back the caller's transaction takes the entry with it. */
static void test_append_rolls_back(void **state)
{
    append_n(2);
    struct db_conn *c = testlib_conn();
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(audit_append(c, NULL, "x.y", NULL, NULL, "ok", NULL), 0);
    assert_int_equal(db_rollback(c), DB_OK);
    db_release(c);
    append_n(1);
    assert_int_equal(testlib_query_int("SELECT MAX(seq) FROM audit_log", ""),
                     3);
    expect_intact();
}

/* Fail closed: with the table gone the append fails. */
static void test_append_fails_without_table(void **state)
{
    append_n(1);
    testlib_exec("ALTER TABLE audit_log RENAME TO audit_log_away");
    struct actor who = {.user_id = 1, .login = "a"};
    int rc = append_one(&who, "resident.update", "resident", "1", "ok", NULL);
    testlib_exec("ALTER TABLE audit_log_away RENAME TO audit_log");
    assert_int_equal(rc, -1);
    assert_int_equal(testlib_query_int("SELECT seq FROM audit_head", ""), 1);
    expect_intact();
}

static void test_tamper_field(void **state)
{
    append_n(5);
    testlib_exec("UPDATE audit_log SET target_id = '9999' WHERE seq = 3");
    expect_failure(id_of_seq(3), "hash mismatch");
}

static void test_tamper_time(void **state)
{
    append_n(5);
    testlib_exec("UPDATE audit_log SET ts = ts - 86400 WHERE seq = 2");
    expect_failure(id_of_seq(2), "hash mismatch");
}

static void test_tamper_null_vs_empty(void **state)
{
    append_n(1);
    assert_int_equal(append_one(NULL, "x.y", NULL, NULL, "ok", NULL), 0);
    append_n(1);
    testlib_exec("UPDATE audit_log SET detail = '' WHERE seq = 2");
    expect_failure(id_of_seq(2), "hash mismatch");
}

/* Changing an entry and recomputing its hash breaks the link from the
** next entry. */
static void test_tamper_with_rehash(void **state)
{
    append_n(5);
    testlib_exec("UPDATE audit_log SET result = 'denied' WHERE seq = 3");
    char h[65];
    documented_hash(3, h);
    struct db_conn *c = testlib_conn();
    assert_int_equal(
        db_run(c, "UPDATE audit_log SET hash = ? WHERE seq = 3", "s", h), 1);
    db_release(c);
    expect_failure(id_of_seq(4), "chain broken");
}

static void test_delete_middle(void **state)
{
    append_n(5);
    int64_t next_id = id_of_seq(4);
    testlib_exec("DELETE FROM audit_log WHERE seq = 3");
    expect_failure(next_id, "sequence gap");
}

static void test_delete_last(void **state)
{
    append_n(5);
    int64_t id4 = id_of_seq(4);
    testlib_exec("DELETE FROM audit_log WHERE seq = 5");
    expect_failure(id4, "head mismatch");
}

static void test_delete_all(void **state)
{
    append_n(3);
    testlib_exec("DELETE FROM audit_log");
    expect_failure(1, "head mismatch");
}

static void test_head_moved(void **state)
{
    append_n(3);
    testlib_exec("UPDATE audit_head SET seq = 2 WHERE id = 1");
    expect_failure(id_of_seq(3), "head mismatch");
}

/* A forged entry at the end with a correct link and hash but no head
** update: the head no longer names the last entry. */
static void test_forged_at_end(void **state)
{
    append_n(3);
    char *prev = text_of("SELECT hash FROM audit_log WHERE seq = ?", 3);
    struct db_conn *c = testlib_conn();
    assert_int_equal(
        db_run(c,
               "INSERT INTO audit_log (seq, ts, user_id, login, role, action, "
               "target_type, target_id, result, prev_hash, hash) VALUES "
               "(4, 1700000000, 1, 'mallory', 'sysadmin', 'user.delete', "
               "'user', '3', 'ok', ?, 'x')",
               "s", prev),
        1);
    db_release(c);
    char h[65];
    documented_hash(4, h);
    c = testlib_conn();
    assert_int_equal(
        db_run(c, "UPDATE audit_log SET hash = ? WHERE seq = 4", "s", h), 1);
    db_release(c);
    free(prev);
    int64_t forged = id_of_seq(4);
    expect_failure(forged, "head mismatch");
    /* And no later entry can be appended over it: fail closed. */
    struct actor who = {.user_id = 1, .login = "a"};
    assert_int_equal(append_one(&who, "x.y", NULL, NULL, "ok", NULL), -1);
}

static void test_forged_in_front(void **state)
{
    append_n(3);
    testlib_exec("INSERT INTO audit_log (seq, ts, login, action, result, "
                 "prev_hash, hash) VALUES (0, 1, 'mallory', 'x', 'ok', '" ZEROS
                 "', 'bad')");
    expect_failure(id_of_seq(0), "sequence gap");
}

static void test_forged_bad_hash(void **state)
{
    append_n(3);
    char *prev = text_of("SELECT hash FROM audit_log WHERE seq = ?", 3);
    struct db_conn *c = testlib_conn();
    assert_int_equal(
        db_run(c,
               "INSERT INTO audit_log (seq, ts, login, action, result, "
               "prev_hash, hash) VALUES (4, 1, 'mallory', 'x', 'ok', ?, ?)",
               "ss", prev, ZEROS),
        1);
    db_release(c);
    free(prev);
    expect_failure(id_of_seq(4), "hash mismatch");
}

/* Fields are cut to their bound at a character boundary, made valid
** UTF-8, and the stored values are what is hashed. */
static void test_bounds_and_utf8(void **state)
{
    struct buf ua, detail;
    buf_init(&ua);
    buf_init(&detail);
    for (int i = 0; i < 300; i++)
        buf_puts(&ua, "あ"); /* 900 bytes, 3 a character */
    for (int i = 0; i < 5000; i++)
        buf_putc(&detail, 'x');
    struct actor who = {.user_id = 3,
                        .login = "sato\xff\xfe",
                        .role = "operator",
                        .ip = "198.51.100.7",
                        .ua = ua.data};
    assert_int_equal(
        append_one(&who, "resident.search", "resident", "1", "ok", detail.data),
        0);
    char *s = text_of("SELECT user_agent FROM audit_log WHERE seq = ?", 1);
    assert_int_equal(strlen(s), 510); /* 170 characters, <= 512 bytes */
    assert_true(utf8_ok((const unsigned char *)s));
    free(s);
    s = text_of("SELECT detail FROM audit_log WHERE seq = ?", 1);
    assert_int_equal(strlen(s), 4000);
    free(s);
    s = text_of("SELECT login FROM audit_log WHERE seq = ?", 1);
    assert_string_equal(s, "sato??");
    free(s);
    char want[65];
    documented_hash(1, want);
    s = text_of("SELECT hash FROM audit_log WHERE seq = ?", 1);
    assert_string_equal(s, want);
    free(s);
    expect_intact();
    buf_free(&ua);
    buf_free(&detail);
}

static void add_search_data(void)
{
    struct actor a = {.user_id = 1,
                      .login = "suzuki",
                      .role = "sysadmin",
                      .ip = "192.0.2.1",
                      .ua = "UA-1"};
    struct actor b = {.user_id = 2,
                      .login = "yamada",
                      .role = "auditor",
                      .ip = "192.0.2.2",
                      .ua = "UA-2"};
    assert_int_equal(append_one(&a, "user.create", "user", "10", "ok", NULL),
                     0);
    assert_int_equal(append_one(&a, "user.update", "user", "10", "ok", "x"), 0);
    assert_int_equal(append_one(&b, "audit.search", NULL, NULL, "ok", NULL), 0);
    assert_int_equal(
        append_one(&b, "user_x.view", "resident", "5", "denied", NULL), 0);
    assert_int_equal(append_one(&a, "userAx.view", "resident", "6", "ok", NULL),
                     0);
    assert_int_equal(
        append_one(NULL, "auth.login", "user", "11", "failed", "bad password"),
        0);
}

/* Runs a search and returns the number of rows (total in *total). */
static size_t search(const struct audit_query *q, int64_t *total,
                     json_t **rows_out)
{
    struct db_conn *c = testlib_conn();
    json_t *rows = NULL;
    assert_int_equal(audit_search(c, q, &rows, total), 0);
    db_release(c);
    assert_true(json_is_array(rows));
    size_t n = json_array_size(rows);
    if (rows_out)
        *rows_out = rows;
    else
        json_decref(rows);
    return n;
}

static void test_search_filters(void **state)
{
    add_search_data();
    int64_t total = 0;
    json_t *rows = NULL;

    struct audit_query all = {0};
    assert_int_equal(search(&all, &total, &rows), 6);
    assert_int_equal(total, 6);
    /* Newest first, with every field. */
    json_t *first = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "seq")), 6);
    assert_string_equal(json_string_value(json_object_get(first, "login")),
                        "system");
    assert_true(json_is_null(json_object_get(first, "role")));
    assert_string_equal(json_string_value(json_object_get(first, "detail")),
                        "bad password");
    const char *time = json_string_value(json_object_get(first, "time"));
    assert_non_null(time);
    assert_int_equal(strlen(time), 19); /* "2026-11-22 13:05:00" */
    static const char *const keys[] = {
        "id",   "seq",        "ts",          "time",      "login",
        "role", "action",     "target_type", "target_id", "result",
        "ip",   "user_agent", "detail",
    };
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        assert_non_null(json_object_get(first, keys[i]));
    json_t *last = json_array_get(rows, 5);
    assert_string_equal(json_string_value(json_object_get(last, "ip")),
                        "192.0.2.1");
    assert_string_equal(json_string_value(json_object_get(last, "user_agent")),
                        "UA-1");
    json_decref(rows);

    struct audit_query q = {.login = "yamada"};
    assert_int_equal(search(&q, &total, NULL), 2);
    assert_int_equal(total, 2);

    struct audit_query pre = {.action = "user."};
    assert_int_equal(search(&pre, &total, NULL), 2);
    /* '_' is no wildcard: only user_x.view, not userAx.view. */
    struct audit_query under = {.action = "user_"};
    assert_int_equal(search(&under, &total, &rows), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(rows, 0), "action")),
        "user_x.view");
    json_decref(rows);
    struct audit_query pct = {.action = "%"};
    assert_int_equal(search(&pct, &total, NULL), 0);
    struct audit_query upper = {.action = "USER."};
    assert_int_equal(search(&upper, &total, NULL), 0);

    struct audit_query type = {.target = "user"};
    assert_int_equal(search(&type, &total, NULL), 3);
    struct audit_query typeid = {.target = "user:10"};
    assert_int_equal(search(&typeid, &total, NULL), 2);
    struct audit_query res = {.result = "denied"};
    assert_int_equal(search(&res, &total, NULL), 1);
    struct audit_query combo = {.login = "suzuki", .target = "resident"};
    assert_int_equal(search(&combo, &total, NULL), 1);
    struct audit_query empty = {.login = "", .action = "", .result = ""};
    assert_int_equal(search(&empty, &total, NULL), 6);

    int64_t now = now_unix();
    struct audit_query period = {.from = now - 60, .to = now + 60};
    assert_int_equal(search(&period, &total, NULL), 6);
    struct audit_query future = {.from = now + 60};
    assert_int_equal(search(&future, &total, NULL), 0);
    struct audit_query past = {.to = now - 60};
    assert_int_equal(search(&past, &total, NULL), 0);

    /* Paging: total counts every match. */
    struct audit_query page = {.limit = 2, .offset = 2};
    assert_int_equal(search(&page, &total, &rows), 2);
    assert_int_equal(total, 6);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(rows, 0), "seq")), 4);
    json_decref(rows);
    struct audit_query huge = {.limit = 1000000, .offset = -5};
    assert_int_equal(search(&huge, &total, NULL), 6);
    /* Quotes in values are data, never SQL. */
    struct audit_query inj = {.login = "' OR '1'='1"};
    assert_int_equal(search(&inj, &total, NULL), 0);
}

static void test_export_csv(void **state)
{
    add_search_data();
    struct db_conn *c = testlib_conn();
    struct buf out;
    buf_init(&out);
    struct audit_query q = {.login = "suzuki", .limit = 1};
    assert_int_equal(audit_export_csv(c, &q, 0, &out), 3);
    const char *want_head = "\xef\xbb\xbf"
                            "日時,利用者,ロール,操作,対象種別,対象ID,結果,"
                            "IPアドレス,ユーザーエージェント,詳細,連番,"
                            "ハッシュ\r\n";
    assert_true(out.len > strlen(want_head));
    assert_memory_equal(out.data, want_head, strlen(want_head));
    /* Newest first: userAx.view (seq 5) is the first data row. */
    const char *row1 = out.data + strlen(want_head);
    assert_non_null(strstr(row1, ",suzuki,sysadmin,userAx.view,resident,6,"
                                 "ok,192.0.2.1,UA-1,,5,"));
    size_t lines = 0;
    for (size_t i = 0; i < out.len; i++)
        lines += out.data[i] == '\n';
    assert_int_equal(lines, 4);
    buf_reset(&out);

    struct audit_query none = {.login = "nobody"};
    assert_int_equal(audit_export_csv(c, &none, 1, &out), 0);
    /* CP932: "日時" is 93 FA 8E 9E, no BOM. */
    assert_memory_equal(out.data, "\x93\xfa\x8e\x9e", 4);
    buf_free(&out);
    db_release(c);
}

#define THREADS    4
#define PER_THREAD 200

static void *append_worker(void *arg)
{
    int *failures = arg;
    char login[32];
    snprintf(login, sizeof login, "worker%lu",
             (unsigned long)(uintptr_t)pthread_self() % 1000);
    struct actor who = {.user_id = 1, .login = login, .role = "staff_ict"};
    for (int i = 0; i < PER_THREAD; i++) {
        struct db_conn *c = db_acquire(g_app.db);
        if (!c) {
            (*failures)++;
            continue;
        }
        int rc;
        while ((rc = db_begin(c)) == DB_BUSY)
            usleep(1000);
        if (rc != DB_OK ||
            audit_append(c, &who, "load.test", "n", NULL, "ok", NULL) != 0 ||
            db_commit(c) != DB_OK) {
            if (db_in_transaction(c))
                db_rollback(c);
            __atomic_add_fetch(failures, 1, __ATOMIC_SEQ_CST);
        }
        db_release(c);
    }
    return NULL;
}

static void test_concurrent_appenders(void **state)
{
    pthread_t t[THREADS];
    int failures = 0;
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, append_worker, &failures),
                         0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(failures, 0);
    expect_intact();
    int64_t n = THREADS * PER_THREAD;
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM audit_log", ""),
                     n);
    assert_int_equal(
        testlib_query_int("SELECT COUNT(DISTINCT seq) FROM audit_log "
                          "WHERE seq BETWEEN 1 AND ?",
                          "i", n),
        n);
    assert_int_equal(testlib_query_int("SELECT seq FROM audit_head", ""), n);
}

/* Verification reads one snapshot: appends during it are no false alarm. */
struct verify_run {
    int done;
    int bad;
};

static void *verify_worker(void *arg)
{
    struct verify_run *r = arg;
    while (!__atomic_load_n(&r->done, __ATOMIC_SEQ_CST)) {
        char why[128];
        if (audit_verify(g_app.db, why, sizeof why) != 0) {
            fprintf(stderr, "verify during appends: %s\n", why);
            __atomic_add_fetch(&r->bad, 1, __ATOMIC_SEQ_CST);
        }
    }
    return NULL;
}

static void test_verify_during_appends(void **state)
{
    append_n(50);
    struct verify_run r = {0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, verify_worker, &r), 0);
    append_n(100);
    __atomic_store_n(&r.done, 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    assert_int_equal(r.bad, 0);
    expect_intact();
}

static void add_user(int64_t id, const char *login, const char *email,
                     int64_t role, const char *status)
{
    char *enc = email ? field_encrypt(g_app.keys, "users.email", email) : NULL;
    struct db_conn *c = testlib_conn();
    int64_t n = db_run(c,
                       "INSERT INTO users (id, login, display_name, email, "
                       "role_id, status, created_at, updated_at) VALUES "
                       "(?, ?, ?, ?, ?, ?, 0, 0)",
                       "isssis", id, login, login, enc, role, status);
    if (n != 1)
        fail_msg("insert user %s: %s", login, db_errmsg(c));
    db_release(c);
    free(enc);
}

/* Decrypted recipients of the queued mail, sorted, comma-separated. */
static void queued_recipients(char *out, size_t outlen, int64_t *count)
{
    struct db_conn *c = testlib_conn();
    struct db_stmt *s = db_queryf(c, "SELECT to_addr FROM mail_queue", "");
    assert_non_null(s);
    char *addr[16];
    int n = 0;
    while (db_step(s) == DB_ROW && n < 16) {
        addr[n] =
            field_decrypt(g_app.keys, "mail_queue.to_addr", db_col_text(s, 0));
        assert_non_null(addr[n]);
        n++;
    }
    db_finalize(s);
    db_release(c);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(addr[j], addr[i]) < 0) {
                char *t = addr[i];
                addr[i] = addr[j];
                addr[j] = t;
            }
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", outlen - strlen(out) - 1);
        strncat(out, addr[i], outlen - strlen(out) - 1);
        free(addr[i]);
    }
    *count = n;
}

/* Alerts: stored in their own transaction, mailed to every active user
** whose role holds alerts.receive and to cfg.alert_mail. */
static void test_alert(void **state)
{
    testlib_exec("DELETE FROM mail_queue");
    int64_t role =
        testlib_query_int("SELECT COALESCE(MAX(id), 0) + 100 FROM roles", "");
    struct db_conn *c = testlib_conn();
    assert_int_equal(db_run(c,
                            "INSERT INTO roles (id, name, label_ja, label_en) "
                            "VALUES (?, 'alert_test', 'テスト', 'Test')",
                            "i", role),
                     1);
    assert_int_equal(db_run(c,
                            "INSERT INTO roles (id, name, label_ja, label_en) "
                            "VALUES (?, 'alert_none', 'テスト2', 'Test 2')",
                            "i", role + 1),
                     1);
    assert_int_equal(db_run(c,
                            "INSERT INTO role_permissions (role_id, perm) "
                            "VALUES (?, 'alerts.receive')",
                            "i", role),
                     1);
    db_release(c);
    add_user(9001, "admin_a", "admin-a@example.jp", role, "active");
    add_user(9002, "admin_b", "ops@example.jp", role, "active"); /* dup */
    add_user(9003, "admin_c", NULL, role, "active");
    add_user(9004, "admin_d", "gone@example.jp", role, "suspended");
    add_user(9005, "clerk", "clerk@example.jp", role + 1, "active");
    str_copy(g_app.cfg.alert_mail, " ops@example.jp, soc@example.jp ,",
             sizeof g_app.cfg.alert_mail);

    /* The caller still holds the only pooled connection: the alert must
    ** not wait for it. */
    struct db *small = NULL;
    char err[256];
    assert_int_equal(db_open(g_app.cfg.db, 1, &small, err, sizeof err), 0);
    struct db_conn *held = db_acquire(small);
    assert_non_null(held);
    assert_int_equal(db_begin(held), DB_OK);
    assert_int_equal(db_rollback(held), DB_OK);
    audit_alert(small, "audit.write_failed", "disk full\nsecond line");
    db_release(held);
    db_close(small);

    assert_int_equal(
        testlib_query_int("SELECT COUNT(*) FROM alerts WHERE kind = "
                          "'audit.write_failed'",
                          ""),
        1);
    char *msg = text_of("SELECT message FROM alerts WHERE id > ?", 0);
    assert_string_equal(msg, "disk full\nsecond line");
    free(msg);
    char rcpt[512];
    int64_t n = 0;
    queued_recipients(rcpt, sizeof rcpt, &n);
    assert_string_equal(rcpt,
                        "admin-a@example.jp,ops@example.jp,soc@example.jp");
    char *enc = text_of("SELECT subject FROM mail_queue WHERE id > ?", 0);
    char *subject = field_decrypt(g_app.keys, "mail_queue.subject", enc);
    assert_non_null(subject);
    assert_string_equal(subject, "[cityos] 警告: audit.write_failed");
    free(subject);
    free(enc);

    /* Within the interval: stored, but not mailed again. */
    audit_alert(g_app.db, "audit.write_failed", "again");
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM alerts", ""), 2);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue", ""),
                     3);
    /* Another kind is mailed. */
    audit_alert(g_app.db, "backup.failed", "no space");
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue", ""),
                     6);
    /* No database at all: logged only, no crash. */
    audit_alert(NULL, "db.down", "database unreachable");
    g_app.cfg.alert_mail[0] = 0;
    testlib_exec("DELETE FROM mail_queue");
    testlib_exec("DELETE FROM users WHERE id >= 9001 AND id <= 9005");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_append_and_verify, reset),
        cmocka_unit_test_setup(test_append_outside_transaction, reset),
        cmocka_unit_test_setup(test_append_rolls_back, reset),
        cmocka_unit_test_setup(test_append_fails_without_table, reset),
        cmocka_unit_test_setup(test_tamper_field, reset),
        cmocka_unit_test_setup(test_tamper_time, reset),
        cmocka_unit_test_setup(test_tamper_null_vs_empty, reset),
        cmocka_unit_test_setup(test_tamper_with_rehash, reset),
        cmocka_unit_test_setup(test_delete_middle, reset),
        cmocka_unit_test_setup(test_delete_last, reset),
        cmocka_unit_test_setup(test_delete_all, reset),
        cmocka_unit_test_setup(test_head_moved, reset),
        cmocka_unit_test_setup(test_forged_at_end, reset),
        cmocka_unit_test_setup(test_forged_in_front, reset),
        cmocka_unit_test_setup(test_forged_bad_hash, reset),
        cmocka_unit_test_setup(test_bounds_and_utf8, reset),
        cmocka_unit_test_setup(test_search_filters, reset),
        cmocka_unit_test_setup(test_export_csv, reset),
        cmocka_unit_test_setup(test_concurrent_appenders, reset),
        cmocka_unit_test_setup(test_verify_during_appends, reset),
        cmocka_unit_test_setup(test_alert, reset),
    };
    /* Eight connections: the concurrent tests share them. */
    const struct testlib_opts opts = {.pool = 8, .opened = opened};
    return testlib_run_engines("audit", tests, ARRAY_LEN(tests), &opts, &g_app)
               ? 1
               : 0;
}
