/*
** jobs.h - the scheduler inside the server: periodic work (the mail queue,
** daily backups, later reminders and batches).  Each run of a job has a
** slot key ("backup:2026-11-22"); a server runs the job only after it has
** inserted that key into job_runs, whose primary key makes the insert
** succeed on exactly one server when several share one PostgreSQL.
**
** A job whose due is NULL runs on every tick of every server, without a
** claim: for work that claims its own items, like the mail queue (each row
** is claimed by a conditional UPDATE), where a job_runs row every few
** seconds would be noise.
**
** jobs_start() runs each registered job in its own thread, ticking every
** JOBS_TICK_SECONDS, so a long backup never delays mail.  A claimed run
** records its end and result ("ok" or "error") in job_runs; a failed or
** interrupted run is not retried in the same slot (the error is logged).
*/
#ifndef CITYOS_JOBS_H
#define CITYOS_JOBS_H

#include <stddef.h>
#include <stdint.h>

struct app;

/* Returns 1 after writing the slot key for now into slot, 0 when not due,
** -1 when the job's settings are unusable (logged, not run). */
typedef int (*job_due_fn)(struct app *app, int64_t now, char *slot,
                          size_t slotlen);
typedef int (*job_run_fn)(struct app *app);

struct job {
    const char *name; /* static storage: the registry keeps the pointer */
    job_due_fn due;
    job_run_fn run;
};

#define JOBS_TICK_SECONDS 2

/* Copies *job into the registry (a job of the same name is replaced).
** Register before jobs_start(). */
void jobs_register(const struct job *job);
/* Forgets every registered job (tests); only while stopped. */
void jobs_clear(void);
/* Starts the scheduler: one thread per registered job.  0 or -1. */
int jobs_start(struct app *app);
/* Asks every job thread to stop and waits for them; a run in progress is
** finished first (the mail job stops between messages). */
void jobs_stop(void);
/* 1 once jobs_stop() has been called: long jobs check it between items. */
int jobs_stopping(void);
/* One pass over every job in the caller's thread; for tests and the
** command line.  Returns the number of jobs run, or -1 on an error. */
int jobs_tick(struct app *app, int64_t now);
/* 1 when this server won the slot, 0 when another had it, -1 on error. */
int jobs_claim(struct app *app, const char *name, const char *slot);

/* Due helper: "once a day inside window HH:MM-HH:MM Japan time" (UTC+9).
** The window may cross midnight ("23:00-02:00"); the slot is
** "name:YYYY-MM-DD" with the Japan date on which the window opened, so a
** night's run has one slot on both sides of midnight.  1 and the slot when
** now is inside the window, 0 when not, -1 for a malformed window. */
int job_due_daily_window(const char *window, int64_t now, const char *name,
                         char *slot, size_t slotlen);

#endif
