/*
** booking_load.c - the load driver of bench/booking: a burst of concurrent
** clients booking across the slots of several weeks through the booking
** engine (booking_create, the same call the pages and APIs make), or, for
** comparison, the same clients committing plain single-row transactions
** (an INSERT and an UPDATE) on the same database with the same settings.
**
**   booking_load --db URL [--mode booking|raw] [--threads 256] [--pool 16]
**                [--resources 4] [--weeks 6] [--per-thread 40] [--rate R]
**
** Each client is a thread; every booking is for a distinct person (member
** key).  Like the server, where a fixed number of request threads (8, with
** 16 database connections) serve the clients in the order they came, at
** most --pool requests are inside the engine at once, each on a pooled
** connection, and the others wait their turn in a first-come first-served
** queue.  Latency is measured from the request to its answer, the wait in
** that queue included.
**
** Without --rate the clients send their next request as soon as the last
** one is answered (a closed loop: the highest rate the engine sustains,
** and, by Little's law, a mean latency of about clients / rate).  With
** --rate R the requests are sent on a schedule, R per second spread over
** the clients (an open loop), and latency counts from the scheduled time,
** so a late answer also delays what was due after it (no coordinated
** omission): the latency at that load.
**
** After the run the database is checked: slots above capacity, slot
** counters that differ from their bookings, and member rows that do not
** match active bookings are all counted as overbookings (must be 0).
**
** Prints one line of key=value pairs.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "booking/booking.h"
#include "core/db.h"
#include "core/http.h"
#include "core/util.h"

struct opts {
    const char *db;
    const char *mode;
    int threads, pool, resources, weeks, per_thread;
    double rate; /* 0: closed loop */
};

/* The first-come first-served queue in front of the engine: at most
** `free` requests inside at once. */
struct gate_wait {
    pthread_cond_t cv;
    int admitted;
    struct gate_wait *next;
};

static struct {
    pthread_mutex_t mu;
    int free;
    struct gate_wait *head, *tail;
} gate = {PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL};

static void gate_enter(void)
{
    pthread_mutex_lock(&gate.mu);
    if (gate.free > 0 && !gate.head) {
        gate.free--;
        pthread_mutex_unlock(&gate.mu);
        return;
    }
    struct gate_wait w = {.admitted = 0, .next = NULL};
    pthread_cond_init(&w.cv, NULL);
    if (gate.tail)
        gate.tail->next = &w;
    else
        gate.head = &w;
    gate.tail = &w;
    while (!w.admitted)
        pthread_cond_wait(&w.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
    pthread_cond_destroy(&w.cv);
}

/* Hands the place to the oldest waiter, if any. */
static void gate_leave(void)
{
    pthread_mutex_lock(&gate.mu);
    struct gate_wait *w = gate.head;
    if (w) {
        gate.head = w->next;
        if (!gate.head)
            gate.tail = NULL;
        w->admitted = 1;
        pthread_cond_signal(&w->cv);
    } else {
        gate.free++;
    }
    pthread_mutex_unlock(&gate.mu);
}

struct client {
    struct db *db;
    const struct opts *o;
    const int64_t *slots;
    size_t nslots;
    int id;
    unsigned seed;
    pthread_barrier_t *start;
    int64_t *lat_us; /* per request */
    int n, ok, full, other;
};

static const struct actor bench_actor = {0, "-", "citizen", "127.0.0.1",
                                         "bench"};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *msg, const char *detail)
{
    fprintf(stderr, "booking_load: %s%s%s\n", msg, detail ? ": " : "",
            detail ? detail : "");
    exit(1);
}

/* ---- setup ------------------------------------------------------------ */

/* Resources with weekday hours 09:00-17:00 in 30-minute slots, 5 to 10
** places each, bookable weeks * 7 days ahead; returns every slot id. */
static int64_t *setup_booking(struct db *db, const struct opts *o,
                              size_t *nslots)
{
    struct db_conn *c = db_acquire(db);
    if (!c)
        die("no connection", NULL);
    for (int i = 0; i < o->resources; i++) {
        struct booking_resource r = {0};
        str_copy(r.kind, "pickup", sizeof r.kind);
        snprintf(r.name, sizeof r.name, "窓口 %d", i + 1);
        r.open = 1;
        r.slot_minutes = 30;
        r.capacity = 5 + (i * 5) / (o->resources > 1 ? o->resources - 1 : 1);
        r.window_days = o->weeks * 7;
        r.deadline_days = 0;
        r.max_party = 4;
        if (booking_resource_save(c, NULL, &r) != BOOKING_OK)
            die("resource", db_errmsg(c));
        struct booking_hours h[5];
        for (int wd = 1; wd <= 5; wd++)
            h[wd - 1] = (struct booking_hours){wd, 540, 1020, 0};
        int rc = booking_hours_set(c, NULL, r.id, h, 5, NULL);
        if (rc != BOOKING_OK)
            die("hours", booking_error_key(rc));
    }
    /* Slots from tomorrow on: today's may be past or closing. */
    char tomorrow[11], today[11];
    booking_date_of(now_unix(), today);
    booking_date_add(today, 1, tomorrow);
    struct db_stmt *s = db_queryf(c,
                                  "SELECT id FROM booking_slots WHERE date >= "
                                  "? ORDER BY id",
                                  "s", tomorrow);
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    while (s && db_step(s) == DB_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            ids = xrealloc(ids, cap * sizeof *ids);
        }
        ids[n++] = db_col_int(s, 0);
    }
    db_finalize(s);
    db_release(c);
    if (n == 0)
        die("no slots", NULL);
    *nslots = n;
    return ids;
}

static void setup_raw(struct db *db, size_t nrows)
{
    struct db_conn *c = db_acquire(db);
    if (!c)
        die("no connection", NULL);
    if (db_exec(c, "CREATE TABLE IF NOT EXISTS bench_rows (id BIGINT "
                   "PRIMARY KEY, n INTEGER NOT NULL)") != DB_OK ||
        db_exec(c,
                "CREATE TABLE IF NOT EXISTS bench_log (k TEXT NOT NULL "
                "UNIQUE, row_id BIGINT NOT NULL, ts BIGINT NOT NULL)") != DB_OK)
        die("raw tables", db_errmsg(c));
    if (db_begin(c) != DB_OK)
        die("begin", db_errmsg(c));
    for (size_t i = 1; i <= nrows; i++)
        if (db_run(c, "INSERT INTO bench_rows (id, n) VALUES (?, 0)", "i",
                   (int64_t)i) < 0)
            die("raw rows", db_errmsg(c));
    if (db_commit(c) != DB_OK)
        die("commit", db_errmsg(c));
    db_release(c);
}

/* ---- the clients ------------------------------------------------------ */

static int book_one(struct client *cl, int i)
{
    char key[48];
    snprintf(key, sizeof key, "notice:%d:%d", cl->id, i);
    struct booking_request req = {0};
    req.slot_id = cl->slots[(size_t)rand_r(&cl->seed) % cl->nslots];
    req.party = 1;
    req.members[0] = key;
    req.channel = "web";
    struct booking b;
    gate_enter();
    struct db_conn *c = db_acquire(cl->db);
    int rc = c ? booking_create(c, &bench_actor, &req, &b) : BOOKING_EDB;
    db_release(c);
    gate_leave();
    return rc;
}

/* The reference transaction: one INSERT and one UPDATE, committed. */
static int raw_one(struct client *cl, int i)
{
    char key[48];
    snprintf(key, sizeof key, "raw:%d:%d", cl->id, i);
    int64_t row = 1 + (int64_t)((size_t)rand_r(&cl->seed) % cl->nslots);
    gate_enter();
    struct db_conn *c = db_acquire(cl->db);
    int rc = BOOKING_EDB;
    for (int attempt = 0; c && attempt < 8; attempt++) {
        int b = db_begin(c);
        if (b == DB_BUSY)
            continue;
        if (b != DB_OK)
            break;
        if (db_run(c, "INSERT INTO bench_log (k, row_id, ts) VALUES (?, ?, ?)",
                   "sii", key, row, now_unix()) == 1 &&
            db_run(c, "UPDATE bench_rows SET n = n + 1 WHERE id = ?", "i",
                   row) == 1) {
            int cr = db_commit(c);
            if (cr == DB_OK) {
                rc = BOOKING_OK;
                break;
            }
            if (cr == DB_BUSY)
                continue;
            break;
        }
        db_rollback(c);
    }
    db_release(c);
    gate_leave();
    return rc;
}

static void sleep_until(int64_t t_us)
{
    int64_t d = t_us - now_us();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)(d / 1000000), (long)(d % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int64_t run_start; /* now_us() when the clients start */

static void *client_main(void *arg)
{
    struct client *cl = arg;
    int raw = strcmp(cl->o->mode, "raw") == 0;
    const struct opts *o = cl->o;
    pthread_barrier_wait(cl->start);
    sleep_until(run_start);
    for (int i = 0; i < o->per_thread; i++) {
        int64_t t0 = now_us();
        if (o->rate > 0) {
            /* Request number i * threads + id is due at that / rate. */
            double n = (double)i * o->threads + cl->id;
            t0 = run_start + (int64_t)(n * 1e6 / o->rate);
            sleep_until(t0);
        }
        int rc = raw ? raw_one(cl, i) : book_one(cl, i);
        cl->lat_us[cl->n++] = now_us() - t0;
        if (rc == BOOKING_OK)
            cl->ok++;
        else if (rc == BOOKING_EFULL)
            cl->full++;
        else
            cl->other++;
    }
    return NULL;
}

/* ---- checks ----------------------------------------------------------- */

static int64_t count(struct db_conn *c, const char *sql)
{
    int64_t v = -1;
    if (db_query_int(c, &v, sql, "") != DB_ROW)
        die("check", db_errmsg(c));
    return v;
}

/* Every way a booking could exceed what is allowed, summed. */
static int64_t overbookings(struct db *db)
{
    struct db_conn *c = db_acquire(db);
    if (!c)
        die("no connection", NULL);
    int64_t n = count(c, "SELECT COUNT(*) FROM booking_slots WHERE booked > "
                         "capacity OR booked < 0");
    n += count(c, "SELECT COUNT(*) FROM booking_slots s WHERE s.booked <> "
                  "(SELECT COALESCE(SUM(b.party), 0) FROM bookings b WHERE "
                  "b.slot_id = s.id AND b.status <> 'cancelled')");
    n += count(c, "SELECT COUNT(*) FROM booking_members m JOIN bookings b ON "
                  "b.id = m.booking_id WHERE b.status <> 'active'");
    int64_t members = count(c, "SELECT COUNT(*) FROM booking_members");
    int64_t parties = count(c, "SELECT COALESCE(SUM(party), 0) FROM bookings "
                               "WHERE status = 'active'");
    n += members > parties ? members - parties : parties - members;
    db_release(c);
    return n;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: booking_load --db URL [--mode booking|raw] "
                    "[--threads N] [--pool N] [--resources N] [--weeks N] "
                    "[--per-thread N] [--rate PER_SECOND]\n");
    exit(2);
}

static int int_arg(const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > 100000)
        usage();
    return (int)n;
}

int main(int argc, char **argv)
{
    struct opts o = {NULL, "booking", 256, 16, 4, 6, 40, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(a, "--db") == 0)
            o.db = v;
        else if (strcmp(a, "--mode") == 0)
            o.mode = v;
        else if (strcmp(a, "--threads") == 0)
            o.threads = int_arg(v);
        else if (strcmp(a, "--pool") == 0)
            o.pool = int_arg(v);
        else if (strcmp(a, "--resources") == 0)
            o.resources = int_arg(v);
        else if (strcmp(a, "--weeks") == 0)
            o.weeks = int_arg(v);
        else if (strcmp(a, "--per-thread") == 0)
            o.per_thread = int_arg(v);
        else if (strcmp(a, "--rate") == 0)
            o.rate = int_arg(v);
        else
            usage();
        i++;
    }
    if (!o.db || (strcmp(o.mode, "booking") != 0 && strcmp(o.mode, "raw") != 0))
        usage();

    struct db *db = NULL;
    char err[512];
    if (db_open(o.db, o.pool, &db, err, sizeof err) != 0)
        die("open", err);
    if (db_migrate(db, err, sizeof err) != 0)
        die("migrate", err);
    int raw = strcmp(o.mode, "raw") == 0;
    size_t nslots = 0;
    int64_t *slots = setup_booking(db, &o, &nslots);
    if (raw)
        setup_raw(db, nslots);
    int64_t places = 0;
    {
        struct db_conn *c = db_acquire(db);
        places = count(c, "SELECT SUM(capacity) FROM booking_slots");
        db_release(c);
    }

    struct client *cl = xcalloc((size_t)o.threads, sizeof *cl);
    pthread_t *th = xcalloc((size_t)o.threads, sizeof *th);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)o.threads + 1);
    for (int i = 0; i < o.threads; i++) {
        cl[i] = (struct client){.db = db,
                                .o = &o,
                                .slots = slots,
                                .nslots = nslots,
                                .id = i,
                                .seed = (unsigned)(i * 2654435761u + 1),
                                .start = &start};
        cl[i].lat_us = xcalloc((size_t)o.per_thread, sizeof(int64_t));
        /* Small stacks: 256 threads. */
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&th[i], &attr, client_main, &cl[i]) != 0)
            die("pthread_create", NULL);
        pthread_attr_destroy(&attr);
    }
    gate.free = o.pool;
    run_start = now_us() + 20000; /* all threads are past the barrier */
    pthread_barrier_wait(&start);
    int64_t t0 = run_start;
    sleep_until(run_start);
    size_t total = (size_t)o.threads * (size_t)o.per_thread;
    int64_t *lat = xcalloc(total, sizeof *lat);
    size_t nl = 0;
    int ok = 0, full = 0, other = 0;
    for (int i = 0; i < o.threads; i++) {
        pthread_join(th[i], NULL);
        memcpy(lat + nl, cl[i].lat_us, (size_t)cl[i].n * sizeof *lat);
        nl += (size_t)cl[i].n;
        ok += cl[i].ok;
        full += cl[i].full;
        other += cl[i].other;
        free(cl[i].lat_us);
    }
    double secs = (double)(now_us() - t0) / 1e6;
    qsort(lat, nl, sizeof *lat, cmp64);
    double p50 = nl ? (double)lat[nl / 2] / 1000.0 : 0;
    double p99 = nl ? (double)lat[(nl * 99) / 100] / 1000.0 : 0;
    double rate = (double)ok / secs;
    if (raw) {
        printf("mode=raw tps=%.0f p50_ms=%.2f p99_ms=%.2f ok=%d errors=%d "
               "seconds=%.2f threads=%d pool=%d rate=%.0f engine=%s\n",
               rate, p50, p99, ok, other, secs, o.threads, o.pool, o.rate,
               db_engine_name(db));
    } else {
        int64_t over = overbookings(db);
        int64_t rows = 0;
        struct db_conn *c = db_acquire(db);
        rows = count(c, "SELECT COUNT(*) FROM bookings WHERE status = "
                        "'active'");
        db_release(c);
        if (rows != ok)
            over += rows > ok ? rows - ok : ok - rows;
        printf("mode=booking bps=%.0f p50_ms=%.2f p99_ms=%.2f overbooked=%lld "
               "ok=%d full=%d errors=%d attempts=%zu places=%lld slots=%zu "
               "seconds=%.2f threads=%d pool=%d rate=%.0f engine=%s\n",
               rate, p50, p99, (long long)over, ok, full, other, total,
               (long long)places, nslots, secs, o.threads, o.pool, o.rate,
               db_engine_name(db));
    }
    free(lat);
    free(cl);
    free(th);
    free(slots);
    pthread_barrier_destroy(&start);
    db_close(db);
    return 0;
}
