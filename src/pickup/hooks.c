/*
** hooks.c - the pickup service's part in every booking change on a
** "pickup" resource (booking.h hooks), run inside the booking's own
** transaction so that the card statuses, the booking and the mail agree:
**
**   create  each member's notice must be "mailed" (or already "booked"):
**           it becomes "booked".  A card issued, returned, discarded or
**           held, or a notice that does not exist, refuses the booking
**           (PICKUP_EREFUSED) and nothing is changed (RSV-9).
**   move    the same check: a card handed over meanwhile cannot be moved.
**   cancel  "booked" notices become "mailed" again.
**   mark    visited: "booked" -> "visited"; no-show: "booked" -> "mailed",
**           so the citizen may book again.
** Each status change leaves a notice_status_log row, and each booking,
** change and cancellation queues its mail (RSV-2) in the same transaction.
*/
#include <stdio.h>
#include <string.h>

#include "booking/booking.h"
#include "core/db.h"
#include "core/util.h"
#include "pickup/pickup.h"

#define KEY_PREFIX "notice:"

static int db_fail(int64_t rc)
{
    return rc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
}

static const char *member_notice(const char *key)
{
    return str_starts(key, KEY_PREFIX) ? key + strlen(KEY_PREFIX) : NULL;
}

static int log_change(struct db_conn *c, const char *no, const char *from,
                      const char *to, const struct booking *b, const char *what)
{
    char reason[96];
    snprintf(reason, sizeof reason, "%s %s", what, b->ref);
    int64_t rc = db_run(c,
                        "INSERT INTO notice_status_log (notice_id, "
                        "from_status, to_status, reason, login, ts) "
                        "SELECT id, ?, ?, ?, ?, ? FROM notices WHERE "
                        "notice_no = ?",
                        "ssssis", from, to, reason, "booking", now_unix(), no);
    return rc < 0 ? db_fail(rc) : 0;
}

/* Moves one notice from -> to when it is in from; *changed tells whether
** it was.  0 or a BOOKING_* error. */
static int step(struct db_conn *c, const char *no, const char *from,
                const char *to, const struct booking *b, const char *what,
                int *changed)
{
    int64_t n = db_run(c,
                       "UPDATE notices SET status = ?, updated_at = ? WHERE "
                       "notice_no = ? AND status = ?",
                       "siss", to, now_unix(), no, from);
    if (n < 0)
        return db_fail(n);
    *changed = n == 1;
    return n == 1 ? log_change(c, no, from, to, b, what) : 0;
}

/* Every member's notice booked, or the whole change refused. */
static int members_booked(struct db_conn *c, const struct booking *b)
{
    for (int i = 0; i < b->nmembers; i++) {
        const char *no = member_notice(b->members[i]);
        if (!no)
            return PICKUP_EREFUSED;
        int changed = 0;
        int rc = step(c, no, "mailed", "booked", b, "予約", &changed);
        if (rc != 0)
            return rc;
        if (changed)
            continue;
        int64_t ok = 0;
        rc = db_query_int(c, &ok,
                          "SELECT COUNT(*) FROM notices WHERE notice_no = ? "
                          "AND status = 'booked'",
                          "s", no);
        if (rc != DB_ROW)
            return db_fail(rc);
        if (ok != 1)
            return PICKUP_EREFUSED;
    }
    return 0;
}

static int queue_mail(struct db_conn *c, const char *kind,
                      const struct booking *b)
{
    return pickup_mail_booking(c, kind, b) < 0 ? BOOKING_EDB : 0;
}

static int on_create(struct db_conn *c, const struct booking *b)
{
    int rc = members_booked(c, b);
    return rc ? rc : queue_mail(c, "book", b);
}

static int on_move(struct db_conn *c, const struct booking *b)
{
    int rc = members_booked(c, b);
    return rc ? rc : queue_mail(c, "change", b);
}

static int on_cancel(struct db_conn *c, const struct booking *b)
{
    for (int i = 0; i < b->nmembers; i++) {
        const char *no = member_notice(b->members[i]);
        int changed;
        int rc =
            no ? step(c, no, "booked", "mailed", b, "予約取消", &changed) : 0;
        if (rc != 0)
            return rc;
    }
    return queue_mail(c, "cancel", b);
}

static int on_mark(struct db_conn *c, const struct booking *b)
{
    int visited = strcmp(b->status, "visited") == 0;
    for (int i = 0; i < b->nmembers; i++) {
        const char *no = member_notice(b->members[i]);
        int changed;
        int rc = 0;
        if (no && visited)
            rc = step(c, no, "booked", "visited", b, "来庁", &changed);
        else if (no)
            rc = step(c, no, "booked", "mailed", b, "無断キャンセル", &changed);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void pickup_hooks_register(void)
{
    static const struct booking_hooks hooks = {on_create, on_move, on_cancel,
                                               on_mark};
    booking_kind_register("pickup", &hooks);
}
