/*
** group.c - group commit of bookings on SQLite.  A SQLite database has one
** writer at a time, and with synchronous=FULL every commit waits for the
** disk (an fsync, 0.2-1 ms here): one booking per commit caps bookings at
** about 1/fsync per second however fast the rest is.  So bookings made at
** the same time by the threads of one process share a commit:
**
**   - each caller puts its transaction body in the queue of the database
**     file and waits;
**   - a waiting caller that finds no leader becomes the leader: on its own
**     connection it begins one write transaction, runs each queued body
**     inside a SAVEPOINT of its own (released when it succeeds, rolled back
**     to when it fails, so every booking is still all or nothing), commits
**     once, and hands each caller its result;
**   - nobody is answered before the commit is on disk; when the commit
**     fails, every body that had succeeded is answered with the error.
**
** Bodies run on the leader's connection: they use only the connection they
** are given (so do the services' hooks).  PostgreSQL needs none of this
** (its writers run in parallel and it groups commits itself), nor does a
** body running in a caller's own transaction.
*/
#include "booking_int.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "core/audit.h"
#include "core/db.h"
#include "core/util.h"

#define MAX_BATCH 32 /* bodies per commit: bounds the leader's extra wait */
#define MAX_FILES 8  /* SQLite files with a queue (one in a server) */

struct job {
    int (*body)(struct db_conn *c, void *arg);
    void *arg;
    const char *what;
    int rc;
    int done;
    pthread_cond_t cv; /* its caller waits on it: no thundering herd */
    struct job *next;
};

struct queue {
    char path[512];
    pthread_mutex_t mu;
    struct job *head, *tail;
    int leading; /* a leader is running a batch */
};

static pthread_mutex_t queues_mu = PTHREAD_MUTEX_INITIALIZER;
static struct queue queues[MAX_FILES];
static int nqueues;

/* The queue of a database file (shared by every pool opened on it in this
** process), or NULL when there are too many files. */
static struct queue *queue_of(const char *path)
{
    struct queue *q = NULL;
    pthread_mutex_lock(&queues_mu);
    for (int i = 0; i < nqueues && !q; i++)
        if (strcmp(queues[i].path, path) == 0)
            q = &queues[i];
    if (!q && nqueues < MAX_FILES && strlen(path) < sizeof q->path) {
        q = &queues[nqueues++];
        str_copy(q->path, path, sizeof q->path);
        pthread_mutex_init(&q->mu, NULL);
    }
    pthread_mutex_unlock(&queues_mu);
    return q;
}

static int savepoint(struct db_conn *c, const char *sql)
{
    return db_run(c, sql, "") >= 0 ? 0 : -1;
}

/* One body inside its own savepoint, tried again on BK_RETRY.  Returns
** its result, or BATCH_BROKEN when the savepoint itself failed (the whole
** transaction is then unusable). */
#define BATCH_BROKEN INT_MIN
static int run_one(struct db_conn *c, struct job *j)
{
    for (int attempt = 0; attempt < BK_TRIES; attempt++) {
        if (savepoint(c, "SAVEPOINT booking") != 0)
            return BATCH_BROKEN;
        int rc = j->body(c, j->arg);
        if (rc >= 0 && rc != BK_RETRY)
            return savepoint(c, "RELEASE booking") == 0 ? rc : BATCH_BROKEN;
        if (savepoint(c, "ROLLBACK TO booking") != 0 ||
            savepoint(c, "RELEASE booking") != 0)
            return BATCH_BROKEN;
        if (rc != BK_RETRY && rc != BOOKING_EBUSY)
            return rc;
    }
    return BOOKING_EBUSY;
}

/* Runs a batch in one transaction and sets every job's result.  A batch
** of one (no concurrency) needs no savepoint: its own transaction is all
** or nothing (a savepoint copies every page it changes to a journal in
** memory, some 30% of a booking's CPU time). */
static void run_batch(struct db_conn *c, struct job *batch)
{
    if (!batch->next) {
        batch->rc = bk_tx_own(c, batch->body, batch->arg, batch->what);
        return;
    }
    int rc = DB_BUSY;
    for (int attempt = 0; attempt < BK_TRIES && rc == DB_BUSY; attempt++)
        rc = db_begin(c);
    if (rc != DB_OK) {
        log_error("booking: begin: %s", db_errmsg(c));
        for (struct job *j = batch; j; j = j->next)
            j->rc = rc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
        return;
    }
    int broken = 0;
    for (struct job *j = batch; j; j = j->next) {
        j->rc = broken ? BOOKING_EDB : run_one(c, j);
        if (j->rc == BATCH_BROKEN) {
            log_error("booking: %s: savepoint: %s", j->what, db_errmsg(c));
            broken = 1;
            j->rc = BOOKING_EDB;
        }
    }
    if (broken) {
        db_rollback(c);
        for (struct job *j = batch; j; j = j->next)
            if (j->rc >= 0)
                j->rc = BOOKING_EDB;
        return;
    }
    rc = db_commit(c);
    if (rc != DB_OK) {
        log_error("booking: commit: %s", db_errmsg(c));
        for (struct job *j = batch; j; j = j->next)
            if (j->rc >= 0)
                j->rc = rc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
    }
}

/* Takes up to MAX_BATCH jobs off the queue (q->mu held). */
static struct job *take_batch(struct queue *q)
{
    struct job *first = q->head, *last = q->head;
    for (int n = 1; n < MAX_BATCH && last->next; n++)
        last = last->next;
    q->head = last->next;
    if (!q->head)
        q->tail = NULL;
    last->next = NULL;
    return first;
}

int bk_tx_grouped(struct db_conn *c, int (*body)(struct db_conn *c, void *arg),
                  void *arg, const char *what)
{
    const char *path = db_sqlite_path(db_of(c));
    struct queue *q = NULL;
    if (db_in_transaction(c) || !path || !(q = queue_of(path)))
        return bk_tx(c, body, arg, what);
    struct job me = {.body = body, .arg = arg, .what = what};
    pthread_cond_init(&me.cv, NULL);
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = &me;
    else
        q->head = &me;
    q->tail = &me;
    while (!me.done) {
        if (q->leading) {
            pthread_cond_wait(&me.cv, &q->mu);
            continue;
        }
        q->leading = 1;
        struct job *batch = take_batch(q);
        pthread_mutex_unlock(&q->mu);
        run_batch(c, batch);
        pthread_mutex_lock(&q->mu);
        for (struct job *j = batch, *next; j; j = next) {
            next = j->next; /* j vanishes once its caller runs again */
            j->done = 1;
            pthread_cond_signal(&j->cv);
        }
        q->leading = 0;
        /* The oldest waiter leads the next batch. */
        if (q->head)
            pthread_cond_signal(&q->head->cv);
    }
    pthread_mutex_unlock(&q->mu);
    pthread_cond_destroy(&me.cv);
    if (me.rc == BOOKING_EAUDIT)
        audit_alert(db_of(c), "audit.write_failed", what);
    return me.rc;
}
