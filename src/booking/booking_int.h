/*
** booking_int.h - private to the booking engine (the files of src/booking): the
** transaction runner with its retries, date helpers on day numbers, row
** readers and the slot sync that runs inside a caller's transaction.
*/
#ifndef CITYOS_BOOKING_INT_H
#define CITYOS_BOOKING_INT_H

#include "booking.h"

struct db_stmt;

/* Internal result: roll back and run the transaction again (busy
** database, a reference that collided).  Never returned to callers. */
#define BK_RETRY 1000

/* How many times a transaction is tried before BOOKING_EBUSY. */
#define BK_TRIES 8

/* Runs body(c, arg) in a transaction: db_begin, body, audit-failure
** handling, commit, retries (see booking.h "Transactions").  what names the
** operation in logs and alerts. */
int bk_tx(struct db_conn *c, int (*body)(struct db_conn *c, void *arg),
          void *arg, const char *what);
/* bk_tx on a connection outside any transaction, without the alert. */
int bk_tx_own(struct db_conn *c, int (*body)(struct db_conn *c, void *arg),
              void *arg, const char *what);
/* bk_tx, but on SQLite bookings made at the same time by several threads
** share one commit, each in a savepoint of its own (group.c). */
int bk_tx_grouped(struct db_conn *c, int (*body)(struct db_conn *c, void *arg),
                  void *arg, const char *what);
/* A DB_* error from a statement as a body result: DB_BUSY -> BK_RETRY,
** anything else BOOKING_EDB. */
int bk_db_err(int db_rc);

/* Day numbers (days since 1970-01-01) of Japan dates. */
int bk_days(const char *date, int64_t *days); /* 0 or -1 */
void bk_ymd(int64_t days, char out[11]);
int64_t bk_today(int64_t now); /* day number of now in Japan */

/* Who did it, for history rows: the login, "system" for NULL. */
const char *bk_login(const struct actor *who);

/* The columns of a resource, in the order bk_resource_row reads them. */
#define BK_RESOURCE_COLS                                                       \
    "r.id, r.kind, r.name, r.address, r.note, r.is_open, r.slot_minutes, "     \
    "r.capacity, r.window_days, r.deadline_days, r.max_party"
#define BK_RESOURCE_NCOLS 11
void bk_resource_row(struct db_stmt *s, int col, struct booking_resource *r);
#define BK_SLOT_COLS                                                           \
    "s.id, s.resource_id, s.date, s.start_min, s.len_min, s.capacity, "        \
    "s.booked"
#define BK_SLOT_NCOLS 7
void bk_slot_row(struct db_stmt *s, int col, struct booking_slot *sl);
#define BK_BOOKING_COLS                                                        \
    "b.id, b.resource_id, b.slot_id, b.ref, b.party, b.status, b.channel, "    \
    "b.date, b.start_min, b.len_min, b.created_at, b.updated_at, b.members, "  \
    "b.created_by"
void bk_booking_row(struct db_stmt *s, struct booking *b);
void bk_copy_col(struct db_stmt *s, int col, char *dst, size_t n);

/* Brings the slots of r in line with its schedule from today on, inside
** the caller's transaction.  Returns slots created (>= 0), or
** BOOKING_ECONFLICT with *conflict filled (may be NULL), or an error. */
int bk_sync(struct db_conn *c, const struct booking_resource *r,
            const char *today, struct booking_slot *conflict);

/* The hooks registered for a kind, or NULL. */
const struct booking_hooks *bk_hooks(const char *kind);

#endif
