/*
** jobs.c - the scheduler inside the server (see jobs.h).  Every registered
** job gets a thread that wakes every JOBS_TICK_SECONDS, asks the job
** whether it is due and, for a slot it has not seen yet, tries to claim the
** slot by inserting (job, slot) into job_runs.  The primary key lets the
** insert succeed on exactly one server, so a daily backup runs once even
** when several servers share one PostgreSQL.
*/
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "db.h"
#include "util.h"

#define MAX_JOBS 16
#define SLOT_MAX 128

struct job_entry {
    struct job job;
    pthread_mutex_t run_mu;   /* one run of a job at a time per process */
    char last_slot[SLOT_MAX]; /* the slot last claimed or seen taken */
    int warned;               /* a bad setting is logged once */
    pthread_t thread;
    int started;
};

struct job_thread_arg {
    struct app *app;
    struct job_entry *entry;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job_entry entries[MAX_JOBS];
static int nentries;

/* The stop flag and the condition the job threads sleep on. */
static pthread_mutex_t tick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tick_cv;
static int stop_flag;
static int running;
static struct job_thread_arg thread_args[MAX_JOBS];

void jobs_register(const struct job *job)
{
    pthread_mutex_lock(&reg_mu);
    struct job_entry *e = NULL;
    for (int i = 0; i < nentries && !e; i++)
        if (str_eq(entries[i].job.name, job->name))
            e = &entries[i];
    if (!e && nentries < MAX_JOBS) {
        e = &entries[nentries++];
        memset(e, 0, sizeof *e);
        pthread_mutex_init(&e->run_mu, NULL);
    }
    if (e) {
        e->job = *job;
        e->last_slot[0] = 0;
        e->warned = 0;
    } else {
        log_error("jobs: too many jobs; %s not registered", job->name);
    }
    pthread_mutex_unlock(&reg_mu);
}

void jobs_clear(void)
{
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < nentries; i++)
        pthread_mutex_destroy(&entries[i].run_mu);
    nentries = 0;
    pthread_mutex_unlock(&reg_mu);
}

static void host_id(char *out, size_t outlen)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        str_copy(host, "unknown", sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(out, outlen, "%s:%d", host, (int)getpid());
}

int jobs_claim(struct app *app, const char *name, const char *slot)
{
    struct db_conn *c = db_acquire(app->db);
    if (!c)
        return -1;
    char host[300];
    host_id(host, sizeof host);
    /* Autocommit: the insert is the whole claim. */
    int64_t rc = db_run(c,
                        "INSERT INTO job_runs (job, slot, started, host) "
                        "VALUES (?, ?, ?, ?)",
                        "ssis", name, slot, now_unix(), host);
    if (rc < 0 && rc != DB_CONSTRAINT)
        log_error("jobs: claim %s %s: %s", name, slot, db_errmsg(c));
    db_release(c);
    if (rc == DB_CONSTRAINT)
        return 0;
    return rc < 0 ? -1 : 1;
}

static void record_result(struct app *app, const char *name, const char *slot,
                          const char *result)
{
    struct db_conn *c = db_acquire(app->db);
    if (!c) {
        log_error("jobs: %s %s finished (%s) but cannot be recorded", name,
                  slot, result);
        return;
    }
    if (db_run(c,
               "UPDATE job_runs SET finished = ?, result = ? "
               "WHERE job = ? AND slot = ?",
               "isss", now_unix(), result, name, slot) < 0)
        log_error("jobs: record %s %s: %s", name, slot, db_errmsg(c));
    db_release(c);
}

/* One job, one tick.  1 when it ran, 0 when not, -1 on an error. */
static int tick_one(struct app *app, struct job_entry *e, int64_t now)
{
    if (!e->job.due)
        return e->job.run(app) == 0 ? 1 : -1;

    char slot[SLOT_MAX];
    int due = e->job.due(app, now, slot, sizeof slot);
    if (due < 0) {
        if (!e->warned)
            log_error("jobs: %s: unusable settings; not scheduled",
                      e->job.name);
        e->warned = 1;
        return 0;
    }
    if (due != 1 || str_eq(slot, e->last_slot))
        return 0;
    int claimed = jobs_claim(app, e->job.name, slot);
    if (claimed < 0)
        return -1; /* retried on the next tick */
    str_copy(e->last_slot, slot, sizeof e->last_slot);
    if (!claimed)
        return 0;

    log_info("jobs: %s started", slot);
    int64_t t0 = now_mono_ms();
    int rc = e->job.run(app);
    record_result(app, e->job.name, slot, rc == 0 ? "ok" : "error");
    if (rc == 0)
        log_info("jobs: %s done in %lld ms", slot,
                 (long long)(now_mono_ms() - t0));
    else
        log_error("jobs: %s failed", slot);
    return rc == 0 ? 1 : -1;
}

static int tick_entry(struct app *app, struct job_entry *e, int64_t now)
{
    pthread_mutex_lock(&e->run_mu);
    int rc = tick_one(app, e, now);
    pthread_mutex_unlock(&e->run_mu);
    return rc;
}

int jobs_tick(struct app *app, int64_t now)
{
    int ran = 0, failed = 0;
    pthread_mutex_lock(&reg_mu);
    int n = nentries;
    pthread_mutex_unlock(&reg_mu);
    for (int i = 0; i < n; i++) {
        int rc = tick_entry(app, &entries[i], now);
        if (rc > 0)
            ran++;
        else if (rc < 0)
            failed = 1;
    }
    return failed ? -1 : ran;
}

int jobs_stopping(void)
{
    pthread_mutex_lock(&tick_mu);
    int s = stop_flag;
    pthread_mutex_unlock(&tick_mu);
    return s;
}

static int should_stop(struct app *app)
{
    return jobs_stopping() || app->stopping;
}

/* Sleeps one tick, or less when jobs_stop() is called. */
static void wait_tick(void)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += JOBS_TICK_SECONDS;
    pthread_mutex_lock(&tick_mu);
    while (!stop_flag) {
        int rc = pthread_cond_timedwait(&tick_cv, &tick_mu, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&tick_mu);
}

static void *job_thread(void *arg)
{
    struct job_thread_arg *a = arg;
    while (!should_stop(a->app)) {
        tick_entry(a->app, a->entry, now_unix());
        if (should_stop(a->app))
            break;
        wait_tick();
    }
    return NULL;
}

int jobs_start(struct app *app)
{
    pthread_mutex_lock(&tick_mu);
    if (running) {
        pthread_mutex_unlock(&tick_mu);
        log_error("jobs: scheduler already running");
        return -1;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&tick_cv, &ca);
    pthread_condattr_destroy(&ca);
    stop_flag = 0;
    running = 1;
    pthread_mutex_unlock(&tick_mu);

    pthread_mutex_lock(&reg_mu);
    int rc = 0;
    for (int i = 0; i < nentries; i++) {
        thread_args[i].app = app;
        thread_args[i].entry = &entries[i];
        if (pthread_create(&entries[i].thread, NULL, job_thread,
                           &thread_args[i]) != 0) {
            log_error("jobs: cannot start a thread for %s",
                      entries[i].job.name);
            rc = -1;
            break;
        }
        entries[i].started = 1;
    }
    pthread_mutex_unlock(&reg_mu);
    if (rc != 0)
        jobs_stop();
    return rc;
}

void jobs_stop(void)
{
    pthread_mutex_lock(&tick_mu);
    if (!running) {
        pthread_mutex_unlock(&tick_mu);
        return;
    }
    stop_flag = 1;
    pthread_cond_broadcast(&tick_cv);
    pthread_mutex_unlock(&tick_mu);

    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < nentries; i++) {
        if (entries[i].started)
            pthread_join(entries[i].thread, NULL);
        entries[i].started = 0;
    }
    pthread_mutex_unlock(&reg_mu);

    pthread_mutex_lock(&tick_mu);
    running = 0;
    pthread_cond_destroy(&tick_cv);
    pthread_mutex_unlock(&tick_mu);
}

/* "HH:MM" -> minutes after midnight, or -1. */
static int parse_hhmm(const char *s)
{
    if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
          s[2] == ':' && s[3] >= '0' && s[3] <= '9' && s[4] >= '0' &&
          s[4] <= '9'))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* Japan has no daylight saving time: a fixed UTC+9 offset is exact. */
#define JST_OFFSET (9 * 3600)

int job_due_daily_window(const char *window, int64_t now, const char *name,
                         char *slot, size_t slotlen)
{
    if (!window || strlen(window) != 11 || window[5] != '-')
        return -1;
    int start = parse_hhmm(window);
    int end = parse_hhmm(window + 6);
    if (start < 0 || end < 0 || start == end)
        return -1;

    int64_t local = now + JST_OFFSET;
    int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int minute = (int)((local - day * 86400) / 60);

    int inside;
    if (start < end) {
        inside = minute >= start && minute < end;
    } else {
        /* Crosses midnight: after midnight the window opened yesterday. */
        inside = minute >= start || minute < end;
        if (minute < end)
            day -= 1;
    }
    if (!inside)
        return 0;

    time_t opened = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&opened, &tm);
    int n = snprintf(slot, slotlen, "%s:%04d-%02d-%02d", name,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (n < 0 || (size_t)n >= slotlen)
        return -1;
    return 1;
}
