/*
** booking.h - the generic booking engine (RSV-9, RSV-11, RSV-12, RSV-18):
** resources (a pickup counter, a consultation room, a lendable device),
** their opening schedules (weekly hours, date exceptions for holiday
** openings, night counters and closures), slots of 60/30/20/15/10
** minutes with a capacity counted in people, and bookings with a party.
** The My Number Card pickup service (src/pickup) and, later, events,
** consultations and equipment lending are built on it.
**
** No double booking, ever, enforced by the database on SQLite and on
** PostgreSQL alike, under concurrency from several server processes:
**  - capacity: a slot's counter changes only through
**      UPDATE booking_slots SET booked = booked + k
**       WHERE id = ? AND booked + k <= capacity
**    whose affected-row count decides (compare-and-swap; no lock held
**    while the user thinks);
**  - one active booking per person: every member of a booking has a row
**    in booking_members whose PRIMARY KEY is the member key
**    ("notice:123456789"), present only while the booking is active, so a
**    second active booking for the same person violates the key;
**  - both happen in the one transaction that inserts or moves the
**    booking, with its audit entry, or not at all.
**
** Dates are Japan dates "YYYY-MM-DD"; times are minutes after midnight,
** Japan time (UTC+9, no daylight saving time).
**
** Transactions: each changing function runs in a transaction of its own,
** retried a few times when the database is busy, and on an audit failure
** rolls back, calls audit_alert() and returns BOOKING_EAUDIT.  Called on a
** connection already inside a transaction (db_begin by the caller, e.g. a
** service doing more in the same transaction), it works inside that one
** instead: no retry, no commit, and on any error the caller must roll back
** (and call audit_alert() for BOOKING_EAUDIT).  On SQLite, bookings made
** at the same time by several threads share one commit, each in a
** savepoint of its own (group commit: see src/booking/group.c).  The
** design and its measurements: docs/booking.md.
*/
#ifndef CITYOS_BOOKING_H
#define CITYOS_BOOKING_H

#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct actor;
struct json_t;

/* Results.  booking_error_key() gives the catalog key of each. */
enum {
    BOOKING_OK = 0,
    BOOKING_ENOTFOUND = -1,  /* resource, slot or booking */
    BOOKING_EFULL = -2,      /* not enough places left in the slot */
    BOOKING_EDUPLICATE = -3, /* a member already holds an active booking */
    BOOKING_ECLOSED = -4,    /* slot in the past, resource closed, outside
                                the booking window or past the deadline */
    BOOKING_EINVAL = -5,     /* bad party size, date, time, length ... */
    BOOKING_EAUDIT = -6,     /* the audit entry could not be written */
    BOOKING_EDB = -7,
    BOOKING_EBUSY = -8,     /* database busy after retries: try again */
    BOOKING_ECONFLICT = -9, /* a schedule change would leave a slot with
                               fewer places than are booked */
};
const char *booking_error_key(int rc);

#define BOOKING_MAX_PARTY 10
/* Member keys: 1-63 printable ASCII bytes without spaces, e.g.
** "notice:123456789". */
#define BOOKING_KEY_MAX   64
#define BOOKING_MAX_HOURS 64 /* weekly intervals of one resource */

/* Slot lengths allowed (RSV-11). */
int booking_slot_len_valid(int minutes);

struct booking_resource {
    int64_t id;
    char kind[32]; /* "pickup", "event", "consultation", "equipment" */
    char name[128];
    char address[256];
    char note[512];
    int open;          /* 0: closed, no new bookings */
    int slot_minutes;  /* 60, 30, 20, 15 or 10 */
    int capacity;      /* default places per slot */
    int window_days;   /* bookable up to N days ahead (1 .. 366) */
    int deadline_days; /* citizens book, change and cancel until the
                          end of the Nth day before the slot's day
                          ("N日前まで"; 0: until the slot starts) */
    int max_party;     /* 1 .. BOOKING_MAX_PARTY */
};

/* Weekly opening hours: weekday 0 = Sunday ... 6 = Saturday.  A day may
** have several intervals.  capacity 0 = the resource's default. */
struct booking_hours {
    int weekday;
    int start_min, end_min;
    int capacity;
};

/* A date exception: "closed" (no slots that day), or "open" (these hours
** replace the weekly ones that day: holiday openings, night counters). */
struct booking_exception {
    char date[11];
    char kind[8];           /* "closed" or "open" */
    int start_min, end_min; /* for "open" */
    int capacity;           /* for "open"; 0 = default */
    char note[128];
};

struct booking_slot {
    int64_t id;
    int64_t resource_id;
    char date[11];
    int start_min;
    int len_min;
    int capacity;
    int booked;
};

struct booking {
    int64_t id;
    int64_t resource_id;
    int64_t slot_id;
    char ref[16]; /* short reference shown to the citizen */
    int party;
    char status[16];  /* "active", "cancelled", "visited", "noshow" */
    char channel[16]; /* "web", "counter", "callcenter", "api" */
    char date[11];
    int start_min, len_min;
    int64_t created_at, updated_at;
    int nmembers;
    char members[BOOKING_MAX_PARTY][BOOKING_KEY_MAX];
    char created_by[64];  /* login of whoever made it ("-": a citizen) */
    int64_t prev_slot_id; /* for on_move hooks: the slot before the move
                             (0 otherwise) */
};

/* ---- services built on the engine ---- */

/* A service (e.g. the pickup service for kind "pickup") can take part in
** the transaction of every booking change on its resources: each hook runs
** inside the transaction after the engine's own checks succeeded; a
** non-zero return (a BOOKING_* code) rolls everything back and is
** returned to the caller.  This is how "no booking after the card was
** issued" is enforced in the same transaction as the booking itself. */
struct booking_hooks {
    int (*on_create)(struct db_conn *c, const struct booking *b);
    int (*on_move)(struct db_conn *c, const struct booking *b);
    int (*on_cancel)(struct db_conn *c, const struct booking *b);
    /* After booking_mark: b->status is "visited" or "noshow". */
    int (*on_mark)(struct db_conn *c, const struct booking *b);
};
/* Any hook may be NULL.  A hook returning BOOKING_EBUSY (its database was
** busy) makes the engine retry the whole transaction.  Hooks use only the
** connection they are given (on SQLite it may be another thread's, running
** several bookings in one transaction) and must not start transactions. */
/* Registered once at start-up, before serving. */
void booking_kind_register(const char *kind, const struct booking_hooks *h);

/* ---- resources and schedules (each change audited) ---- */

int booking_resource_save(struct db_conn *c, const struct actor *who,
                          struct booking_resource *r); /* id 0 = new */
/* The same, naming in *conflict (may be NULL) the first slot that a
** change of slot length or capacity would leave with fewer places than
** are booked (BOOKING_ECONFLICT; nothing changed).  The kind of an
** existing resource cannot change (BOOKING_EINVAL). */
int booking_resource_save_ex(struct db_conn *c, const struct actor *who,
                             struct booking_resource *r,
                             struct booking_slot *conflict);
int booking_resource_get(struct db_conn *c, int64_t id,
                         struct booking_resource *r);
/* JSON array of resources of a kind (NULL = all), open ones first. */
int booking_resource_list(struct db_conn *c, const char *kind,
                          int include_closed, struct json_t **out);

/* Replaces the weekly hours / the exceptions of a resource, then brings
** the slots in line (booking_slots_sync).  BOOKING_ECONFLICT when a slot
** with bookings would disappear or shrink below its bookings: nothing is
** changed and *conflict names the first such slot. */
int booking_hours_set(struct db_conn *c, const struct actor *who,
                      int64_t resource_id, const struct booking_hours *h,
                      size_t n, struct booking_slot *conflict);
/* Intervals in weekday and time order; BOOKING_EINVAL when more than max
** (the first max are written).  At most BOOKING_MAX_HOURS are stored;
** intervals of one weekday may not overlap (BOOKING_EINVAL). */
int booking_hours_get(struct db_conn *c, int64_t resource_id,
                      struct booking_hours *h, size_t max, size_t *n);
int booking_exception_set(struct db_conn *c, const struct actor *who,
                          int64_t resource_id,
                          const struct booking_exception *e,
                          struct booking_slot *conflict);
int booking_exception_delete(struct db_conn *c, const struct actor *who,
                             int64_t resource_id, const char *date,
                             struct booking_slot *conflict);
/* booking_exception_set: "closed" replaces every exception of that date;
** "open" adds an interval (several per date: a day opening plus a night
** counter), replacing one that starts at the same minute and refusing one
** that overlaps another (BOOKING_EINVAL).  booking_exception_delete drops
** every exception of the date; this drops one "open" interval. */
int booking_exception_delete_one(struct db_conn *c, const struct actor *who,
                                 int64_t resource_id, const char *date,
                                 int start_min, struct booking_slot *conflict);
int booking_exception_list(struct db_conn *c, int64_t resource_id,
                           const char *from, const char *to,
                           struct json_t **out);

/* Creates the slots of the next window_days days from hours and
** exceptions (idempotent; existing slots keep their bookings).  Run daily
** by a job and after every schedule change.  Returns slots created. */
int booking_slots_sync(struct db_conn *c, int64_t resource_id,
                       const char *today);
/* The same naming the conflicting slot (BOOKING_ECONFLICT). */
int booking_slots_sync_ex(struct db_conn *c, int64_t resource_id,
                          const char *today, struct booking_slot *conflict);
/* booking_slots_sync for every open resource; what the daily job
** "booking.slots" runs.  Returns the slots created, or the first error
** (the other resources are still synced). */
int booking_slots_sync_all(struct db_conn *c, const char *today);
/* Staff set the capacity of one slot (RSV-11: places per date and time);
** the schedule no longer changes it.  BOOKING_ECONFLICT when capacity is
** below the places booked.  Audited. */
int booking_slot_capacity_set(struct db_conn *c, const struct actor *who,
                              int64_t slot_id, int capacity);
int booking_slot_get(struct db_conn *c, int64_t slot_id,
                     struct booking_slot *s);
/* Slots of one day, in time order, as JSON {id, start, end, capacity,
** booked, left, state: "available" | "few" | "full" | "closed"}. */
int booking_day(struct db_conn *c, int64_t resource_id, const char *date,
                int64_t now, struct json_t **out);
/* Per-day availability from..to (a month view): JSON array of
** {date, weekday, places, left, state}. */
int booking_month(struct db_conn *c, int64_t resource_id, const char *from,
                  const char *to, int64_t now, struct json_t **out);

/* ---- bookings ---- */

struct booking_request {
    int64_t slot_id;
    int party;                              /* = number of members */
    const char *members[BOOKING_MAX_PARTY]; /* member keys */
    const char *channel;
    int override_deadline; /* staff may book past the deadline
                              (never past capacity); audited */
};

/* Books atomically (see the top of this file).  On BOOKING_OK *out holds
** the booking.  The audit entry "booking.create" is written in the same
** transaction.  Busy databases are retried a few times. */
int booking_create(struct db_conn *c, const struct actor *who,
                   const struct booking_request *req, struct booking *out);
/* Moves a booking to another slot in one transaction: the old places are
** given back and the new ones taken, or nothing changes. */
int booking_move(struct db_conn *c, const struct actor *who, int64_t booking_id,
                 int64_t new_slot_id, int override_deadline,
                 struct booking *out);
/* Cancels; the places and the members' keys are released. */
int booking_cancel(struct db_conn *c, const struct actor *who,
                   int64_t booking_id, int override_deadline);
/* "visited" or "noshow" after the slot (staff). */
int booking_mark(struct db_conn *c, const struct actor *who, int64_t booking_id,
                 const char *status);
int booking_get(struct db_conn *c, int64_t booking_id, struct booking *b);
int booking_get_by_ref(struct db_conn *c, const char *ref, struct booking *b);
/* The active booking held by a member key, if any. */
int booking_find_active(struct db_conn *c, const char *member_key,
                        struct booking *b);
/* Bookings of a resource on a date (all slots, every status), JSON, for
** staff views: [{id, ref, slot_id, date, start, end, start_min, len_min,
** party, members: [...], status, channel, created_by, created_at,
** updated_at}] in time order. */
int booking_list_day(struct db_conn *c, int64_t resource_id, const char *date,
                     struct json_t **out);
/* The changes of one booking, oldest first: [{ts, action, login, channel,
** from_slot_id, to_slot_id, from_status, to_status, detail}]. */
int booking_history(struct db_conn *c, int64_t booking_id, struct json_t **out);

/* 1 when the slot may still be booked or changed by a citizen at now:
** not in the past, inside the window, before the deadline, resource open. */
int booking_slot_open(const struct booking_resource *r,
                      const struct booking_slot *s, int64_t now);

/* "available", "few" (left <= max(1, capacity / 5)), "full" or "closed"
** (booking_slot_open() false) for one slot at now. */
const char *booking_slot_state(const struct booking_resource *r,
                               const struct booking_slot *s, int64_t now);

/* Japan date of a unix time, and unix time of a Japan date + minutes
** (-1 for an invalid date). */
void booking_date_of(int64_t t, char out[11]);
int64_t booking_time_of(const char *date, int minutes);
/* 0..6 (Sunday = 0), or -1 for an invalid date. */
int booking_weekday(const char *date);
/* date + days, "YYYY-MM-DD". 0 or -1. */
int booking_date_add(const char *date, int days, char out[11]);
/* Days from a to b (b - a); 0 or -1 for an invalid date. */
int booking_date_diff(const char *a, const char *b, int *days);

/* Registers the daily job "booking.slots" (00:10 Japan time, or at the
** first tick after it): booking_slots_sync_all for today.  No routes. */
void booking_register(void);

#endif
