/*
** test_jobs.c - the scheduler (jobs.c): the daily window in Japan time
** (also across midnight), the job_runs claim that lets exactly one server
** run a slot (OPS-1 backups run once with several servers), claims raced
** by threads on separate connection pools, jobs_tick bookkeeping, jobs
** without a due function, and a prompt jobs_stop().  Runs on a temporary
** SQLite file, and on PostgreSQL when CITYOS_TEST_PG holds a URL (in a
** schema of its own, dropped at the end).
*/
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/app.h"
#include "core/db.h"
#include "core/jobs.h"
#include "core/util.h"
#include "testlib.h"

static struct app g_app;

/* ---- helpers ---------------------------------------------------------- */

/* Unix time of a Japan-time wall clock reading. */
static int64_t jst(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) - 9 * 3600;
}

/* ---- the daily window ------------------------------------------------- */

static void expect_window(const char *w, int64_t now, int want,
                          const char *want_slot)
{
    char slot[64] = "";
    int got = job_due_daily_window(w, now, "backup", slot, sizeof slot);
    if (got != want)
        fail_msg("%s at %lld: got %d, want %d", w, (long long)now, got, want);
    if (want == 1 && strcmp(slot, want_slot) != 0)
        fail_msg("%s: slot %s, want %s", w, slot, want_slot);
}

static void test_window_same_day(void **state)
{
    const char *w = "02:00-05:00";
    expect_window(w, jst(2026, 11, 22, 1, 59), 0, NULL);
    expect_window(w, jst(2026, 11, 22, 2, 0), 1, "backup:2026-11-22");
    expect_window(w, jst(2026, 11, 22, 4, 59), 1, "backup:2026-11-22");
    expect_window(w, jst(2026, 11, 22, 5, 0), 0, NULL);
    expect_window(w, jst(2026, 11, 22, 12, 0), 0, NULL);
    /* 02:30 JST on the 22nd is 17:30 UTC on the 21st: the Japan date. */
    expect_window(w, jst(2026, 11, 22, 2, 30), 1, "backup:2026-11-22");
    /* New year and a leap day. */
    expect_window(w, jst(2027, 1, 1, 3, 0), 1, "backup:2027-01-01");
    expect_window(w, jst(2028, 2, 29, 3, 0), 1, "backup:2028-02-29");
    /* The whole day. */
    expect_window("00:00-24:00", jst(2026, 11, 22, 23, 59), 1,
                  "backup:2026-11-22");
    expect_window("00:00-24:00", jst(2026, 11, 22, 0, 0), 1,
                  "backup:2026-11-22");
}

static void test_window_crossing_midnight(void **state)
{
    const char *w = "23:00-02:00";
    expect_window(w, jst(2026, 11, 22, 22, 59), 0, NULL);
    expect_window(w, jst(2026, 11, 22, 23, 0), 1, "backup:2026-11-22");
    expect_window(w, jst(2026, 11, 22, 23, 59), 1, "backup:2026-11-22");
    /* After midnight it is still the night that began on the 22nd. */
    expect_window(w, jst(2026, 11, 23, 0, 0), 1, "backup:2026-11-22");
    expect_window(w, jst(2026, 11, 23, 1, 59), 1, "backup:2026-11-22");
    expect_window(w, jst(2026, 11, 23, 2, 0), 0, NULL);
    expect_window(w, jst(2026, 11, 23, 12, 0), 0, NULL);
    expect_window(w, jst(2026, 11, 23, 23, 30), 1, "backup:2026-11-23");
    /* Across a month and a year end. */
    expect_window(w, jst(2026, 12, 1, 1, 0), 1, "backup:2026-11-30");
    expect_window(w, jst(2027, 1, 1, 0, 30), 1, "backup:2026-12-31");
}

static void test_window_malformed(void **state)
{
    const char *bad[] = {"",
                         "2:00-05:00",
                         "02:00-5:00",
                         "25:00-01:00",
                         "02:60-03:00",
                         "02:00-02:00",
                         "02:00_05:00",
                         "02:00-05:00x",
                         "aa:bb-cc:dd",
                         "24:01-01:00"};
    char slot[64];
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (job_due_daily_window(bad[i], jst(2026, 11, 22, 3, 0), "b", slot,
                                 sizeof slot) != -1)
            fail_msg("window \"%s\" accepted", bad[i]);
    assert_int_equal(job_due_daily_window(NULL, 0, "b", slot, sizeof slot), -1);
    /* A slot that does not fit is an error, not a truncated key. */
    char tiny[8];
    assert_int_equal(job_due_daily_window("02:00-05:00",
                                          jst(2026, 11, 22, 3, 0), "backup",
                                          tiny, sizeof tiny),
                     -1);
}

/* ---- claims ----------------------------------------------------------- */

static int reset(void **state)
{
    testlib_exec("DELETE FROM job_runs");
    jobs_clear();
    return 0;
}

static void test_claim_once(void **state)
{
    assert_int_equal(jobs_claim(&g_app, "backup", "backup:2026-11-22"), 1);
    assert_int_equal(jobs_claim(&g_app, "backup", "backup:2026-11-22"), 0);
    assert_int_equal(jobs_claim(&g_app, "backup", "backup:2026-11-23"), 1);
    assert_int_equal(jobs_claim(&g_app, "other", "backup:2026-11-22"), 1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM job_runs WHERE "
                                       "started > 0 AND host IS NOT NULL AND "
                                       "finished IS NULL",
                                       ""),
                     3);
}

#define RACERS 6
#define ROUNDS 15

struct racer {
    struct app app;
    pthread_barrier_t *start;
    int wins[ROUNDS];
    int errors;
};

/* Each racer is a separate "server": its own connection pool. */
static void *race(void *arg)
{
    struct racer *r = arg;
    for (int round = 0; round < ROUNDS; round++) {
        char slot[64];
        snprintf(slot, sizeof slot, "race:%d", round);
        pthread_barrier_wait(r->start);
        int rc = jobs_claim(&r->app, "race", slot);
        if (rc < 0)
            r->errors++;
        r->wins[round] = rc == 1;
    }
    return NULL;
}

static void test_claim_race(void **state)
{
    static struct racer racers[RACERS];
    pthread_t th[RACERS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        memset(&racers[i], 0, sizeof racers[i]);
        racers[i].start = &start;
        char err[512];
        if (db_open(g_app.cfg.db, 1, &racers[i].app.db, err, sizeof err) != 0)
            fail_msg("db_open %s: %s", g_app.cfg.db, err);
    }
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &racers[i]), 0);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int round = 0; round < ROUNDS; round++) {
        int winners = 0;
        for (int i = 0; i < RACERS; i++)
            winners += racers[i].wins[round];
        if (winners != 1)
            fail_msg("round %d: %d winners", round, winners);
    }
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(racers[i].errors, 0);
        db_close(racers[i].app.db);
    }
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM job_runs", ""),
                     ROUNDS);
}

/* ---- jobs_tick -------------------------------------------------------- */

static int runs_a, runs_b, runs_every, fail_next;

static int due_daily(struct app *app, int64_t now, char *slot, size_t n)
{
    return job_due_daily_window("02:00-05:00", now, "daily", slot, n);
}

static int run_a(struct app *app)
{
    runs_a++;
    if (fail_next) {
        fail_next = 0;
        return -1;
    }
    return 0;
}

static int run_b(struct app *app)
{
    runs_b++;
    return 0;
}

static int run_every(struct app *app)
{
    __atomic_add_fetch(&runs_every, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int due_broken(struct app *app, int64_t now, char *slot, size_t n)
{
    return -1;
}

static void test_tick_runs_once_per_slot(void **state)
{
    runs_a = 0;
    const struct job a = {"daily", due_daily, run_a};
    jobs_register(&a);
    int64_t night = jst(2026, 11, 22, 2, 10);
    assert_int_equal(jobs_tick(&g_app, night), 1);
    assert_int_equal(runs_a, 1);
    /* Every tick of the window after that: nothing. */
    assert_int_equal(jobs_tick(&g_app, night + 2), 0);
    assert_int_equal(jobs_tick(&g_app, night + 3600), 0);
    assert_int_equal(runs_a, 1);
    /* Outside the window: nothing. */
    assert_int_equal(jobs_tick(&g_app, jst(2026, 11, 22, 12, 0)), 0);
    /* Another server (a fresh registry, the same database): no run. */
    jobs_clear();
    jobs_register(&a);
    assert_int_equal(jobs_tick(&g_app, night + 60), 0);
    assert_int_equal(runs_a, 1);
    /* The next night runs again. */
    assert_int_equal(jobs_tick(&g_app, night + 86400), 1);
    assert_int_equal(runs_a, 2);

    struct db_conn *c = db_acquire(g_app.db);
    assert_non_null(c);
    struct db_stmt *s = db_queryf(
        c, "SELECT slot, result, finished FROM job_runs ORDER BY slot", "");
    assert_non_null(s);
    assert_int_equal(db_step(s), DB_ROW);
    assert_string_equal(db_col_text(s, 0), "daily:2026-11-22");
    assert_string_equal(db_col_text(s, 1), "ok");
    assert_true(db_col_int(s, 2) > 0);
    assert_int_equal(db_step(s), DB_ROW);
    assert_string_equal(db_col_text(s, 0), "daily:2026-11-23");
    assert_int_equal(db_step(s), DB_DONE);
    db_finalize(s);
    db_release(c);
}

static void test_tick_failure_recorded(void **state)
{
    runs_a = runs_b = 0;
    fail_next = 1;
    const struct job a = {"daily", due_daily, run_a};
    const struct job b = {"other", NULL, run_b};
    jobs_register(&a);
    jobs_register(&b);
    int64_t night = jst(2026, 11, 24, 3, 0);
    /* One job failed: -1, but the other job still ran. */
    assert_int_equal(jobs_tick(&g_app, night), -1);
    assert_int_equal(runs_a, 1);
    assert_int_equal(runs_b, 1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM job_runs "
                                       "WHERE result = 'error'",
                                       ""),
                     1);
    /* A failed slot is not retried the same night. */
    assert_int_equal(jobs_tick(&g_app, night + 10), 1); /* b only */
    assert_int_equal(runs_a, 1);
    assert_int_equal(runs_b, 2);
}

static void test_tick_without_due(void **state)
{
    runs_b = 0;
    const struct job b = {"every", NULL, run_b};
    jobs_register(&b);
    for (int i = 0; i < 5; i++)
        assert_int_equal(jobs_tick(&g_app, 1000 + i), 1);
    assert_int_equal(runs_b, 5);
    /* No claims are written for such jobs. */
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM job_runs", ""), 0);
}

static void test_tick_broken_settings(void **state)
{
    runs_a = 0;
    const struct job a = {"broken", due_broken, run_a};
    jobs_register(&a);
    assert_int_equal(jobs_tick(&g_app, 1000), 0);
    assert_int_equal(runs_a, 0);
}

static void test_register_replaces(void **state)
{
    runs_a = runs_b = 0;
    const struct job a = {"same", NULL, run_a};
    const struct job b = {"same", NULL, run_b};
    jobs_register(&a);
    jobs_register(&b);
    assert_int_equal(jobs_tick(&g_app, 1000), 1);
    assert_int_equal(runs_a, 0);
    assert_int_equal(runs_b, 1);
}

/* ---- the threads ------------------------------------------------------ */

static void test_start_stop(void **state)
{
    __atomic_store_n(&runs_every, 0, __ATOMIC_SEQ_CST);
    const struct job e = {"every", NULL, run_every};
    jobs_register(&e);
    assert_int_equal(jobs_start(&g_app), 0);
    assert_int_equal(jobs_start(&g_app), -1); /* already running */
    /* The first tick is at once, the second after JOBS_TICK_SECONDS. */
    int64_t t0 = now_mono_ms();
    while (__atomic_load_n(&runs_every, __ATOMIC_SEQ_CST) < 2 &&
           now_mono_ms() - t0 < 10000)
        usleep(20000);
    assert_true(__atomic_load_n(&runs_every, __ATOMIC_SEQ_CST) >= 2);
    assert_true(now_mono_ms() - t0 >= (JOBS_TICK_SECONDS - 1) * 1000);
    assert_int_equal(jobs_stopping(), 0);
    /* Stopping does not wait for the rest of a tick. */
    int64_t s0 = now_mono_ms();
    jobs_stop();
    assert_true(now_mono_ms() - s0 < 1000);
    int after = __atomic_load_n(&runs_every, __ATOMIC_SEQ_CST);
    usleep(2500 * 1000);
    assert_int_equal(__atomic_load_n(&runs_every, __ATOMIC_SEQ_CST), after);
    jobs_stop(); /* harmless twice */
    /* And it starts again. */
    assert_int_equal(jobs_start(&g_app), 0);
    jobs_stop();
}

/* ---- fixtures --------------------------------------------------------- */

static void closing(struct app *app)
{
    jobs_clear();
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_window_same_day),
        cmocka_unit_test(test_window_crossing_midnight),
        cmocka_unit_test(test_window_malformed),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_claim_once, reset),
        cmocka_unit_test_setup(test_claim_race, reset),
        cmocka_unit_test_setup(test_tick_runs_once_per_slot, reset),
        cmocka_unit_test_setup(test_tick_failure_recorded, reset),
        cmocka_unit_test_setup(test_tick_without_due, reset),
        cmocka_unit_test_setup(test_tick_broken_settings, reset),
        cmocka_unit_test_setup(test_register_replaces, reset),
        cmocka_unit_test_setup(test_start_stop, reset),
    };
    int failed = cmocka_run_group_tests_name("jobs window", pure, NULL, NULL);
    const struct testlib_opts opts = {.pool = 4, .closing = closing};
    failed +=
        testlib_run_engines("jobs", tests, ARRAY_LEN(tests), &opts, &g_app);
    return failed ? 1 : 0;
}
