/*
** book.c - bookings: create, move, cancel and mark, each in one
** transaction with the capacity compare-and-swap, the member keys, the
** service's hooks, a history row and the audit entry (RSV-9); and
** reading bookings back.
**
** Why no double booking can happen, on SQLite and PostgreSQL alike:
**  - places: booking_slots.booked only moves by
**      UPDATE ... SET booked = booked + k WHERE id = ? AND booked + k <=
*capacity
**    and 0 rows changed means full.  On PostgreSQL a concurrent UPDATE of
**    the same row waits for the first to commit, then re-checks the
**    condition against the committed row (READ COMMITTED re-evaluation); on
**    SQLite writers are serialised by BEGIN IMMEDIATE.  A CHECK constraint
**    (booked <= capacity) backs it up.
**  - persons: each member key of an active booking is a row of
**    booking_members, whose primary key refuses a second one; a concurrent
**    insert of the same key waits for the first transaction and fails when
**    it commits.
** Every step runs in one transaction; any failure rolls all back.
**
** Statement order keeps hot locks short on PostgreSQL: the slot's row is
** locked by the compare-and-swap near the end, and the audit head (locked
** by every audited transaction) last, just before the commit.  A move
** locks the booking's row first and then its two slots in id order, so two
** moves cannot deadlock each other.
*/
#include "booking_int.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/audit.h"
#include "core/db.h"
#include "core/jpdate.h"
#include "core/util.h"

/* References: no 0/O or 1/I to misread; 32 symbols, 8 of them = 40 bits. */
static const char ref_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
#define REF_LEN 8

static int make_ref(char out[16])
{
    unsigned char rnd[REF_LEN];
    if (sodium_ready() != 0)
        return -1;
    randombytes_buf(rnd, sizeof rnd);
    for (int i = 0; i < REF_LEN; i++)
        out[i] = ref_alphabet[rnd[i] % 32]; /* 256 % 32 == 0: unbiased */
    out[REF_LEN] = 0;
    return 0;
}

static int member_key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n >= BOOKING_KEY_MAX)
        return 0;
    for (const char *p = k; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return 1;
}

static int channel_ok(const char *ch)
{
    size_t n = strlen(ch);
    if (n == 0 || n >= sizeof((struct booking *)0)->channel)
        return 0;
    for (const char *p = ch; *p; p++)
        if (*p < 'a' || *p > 'z')
            return 0;
    return 1;
}

/* ---- reading ---------------------------------------------------------- */

/* One booking by a query with one bound value; BK_RETRY when busy. */
static int booking_one(struct db_conn *c, const char *sql, const char *types,
                       int64_t id, const char *text, struct booking *b)
{
    struct db_stmt *s = types[0] == 'i' ? db_queryf(c, sql, "i", id)
                                        : db_queryf(c, sql, "s", text);
    if (!s)
        return BOOKING_EDB;
    int rc = db_step(s);
    if (rc == DB_ROW)
        bk_booking_row(s, b);
    db_finalize(s);
    if (rc == DB_ROW)
        return BOOKING_OK;
    return rc == DB_DONE ? BOOKING_ENOTFOUND : bk_db_err(rc);
}

static int read_booking(struct db_conn *c, int64_t id, struct booking *b)
{
    return booking_one(
        c, "SELECT " BK_BOOKING_COLS " FROM bookings b WHERE b.id = ?", "i", id,
        NULL, b);
}

static int public_rc(int rc)
{
    return rc == BK_RETRY ? BOOKING_EBUSY : rc;
}

int booking_get(struct db_conn *c, int64_t booking_id, struct booking *b)
{
    return public_rc(read_booking(c, booking_id, b));
}

int booking_get_by_ref(struct db_conn *c, const char *ref, struct booking *b)
{
    char up[16];
    size_t n = ref ? strlen(ref) : 0;
    if (n != REF_LEN)
        return BOOKING_ENOTFOUND;
    for (size_t i = 0; i < n; i++) {
        char ch = ref[i];
        up[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
    }
    up[n] = 0;
    return public_rc(booking_one(
        c, "SELECT " BK_BOOKING_COLS " FROM bookings b WHERE b.ref = ?", "s", 0,
        up, b));
}

int booking_find_active(struct db_conn *c, const char *member_key,
                        struct booking *b)
{
    if (!member_key_ok(member_key))
        return BOOKING_EINVAL;
    return public_rc(booking_one(c,
                                 "SELECT " BK_BOOKING_COLS
                                 " FROM booking_members m JOIN bookings b ON "
                                 "b.id = m.booking_id WHERE m.member_key = ?",
                                 "s", 0, member_key, b));
}

/* A slot and its resource. */
static int read_slot(struct db_conn *c, int64_t slot_id, struct booking_slot *s,
                     struct booking_resource *r)
{
    struct db_stmt *st = db_queryf(c,
                                   "SELECT " BK_SLOT_COLS ", " BK_RESOURCE_COLS
                                   " FROM booking_slots s JOIN "
                                   "booking_resources r ON r.id = "
                                   "s.resource_id WHERE s.id = ?",
                                   "i", slot_id);
    if (!st)
        return BOOKING_EDB;
    int rc = db_step(st);
    if (rc == DB_ROW) {
        bk_slot_row(st, 0, s);
        bk_resource_row(st, BK_SLOT_NCOLS, r);
    }
    db_finalize(st);
    if (rc == DB_ROW)
        return BOOKING_OK;
    return rc == DB_DONE ? BOOKING_ENOTFOUND : bk_db_err(rc);
}

/* ---- rules ------------------------------------------------------------ */

/* May a booking be made in, or changed from, slot s at now?  Staff with
** override skip the deadline, nothing else. */
static int bookable(const struct booking_resource *r,
                    const struct booking_slot *s, int64_t now, int override)
{
    int64_t day;
    if (bk_days(s->date, &day) != 0)
        return BOOKING_EINVAL;
    if (!r->open)
        return BOOKING_ECLOSED;
    if (booking_time_of(s->date, s->start_min) <= now)
        return BOOKING_ECLOSED; /* started or past */
    int64_t today = bk_today(now);
    if (day > today + r->window_days)
        return BOOKING_ECLOSED;
    if (!override && today > day - r->deadline_days)
        return BOOKING_ECLOSED;
    return BOOKING_OK;
}

int booking_slot_open(const struct booking_resource *r,
                      const struct booking_slot *s, int64_t now)
{
    return bookable(r, s, now, 0) == BOOKING_OK;
}

/* Changing or cancelling: the booking's slot must not have started and,
** for citizens, its deadline must not have passed.  The window does not
** matter (the booking was made inside it). */
static int changeable(const struct booking_resource *r,
                      const struct booking_slot *s, int64_t now, int override)
{
    int64_t day;
    if (bk_days(s->date, &day) != 0)
        return BOOKING_EINVAL;
    if (override)
        return BOOKING_OK;
    if (booking_time_of(s->date, s->start_min) <= now)
        return BOOKING_ECLOSED;
    if (bk_today(now) > day - r->deadline_days)
        return BOOKING_ECLOSED;
    return BOOKING_OK;
}

/* ---- shared steps ----------------------------------------------------- */

static int history_add(struct db_conn *c, const struct booking *b,
                       const char *action, const char *login, int64_t from_slot,
                       int64_t to_slot, const char *from_status,
                       const char *to_status, const char *detail, int64_t now)
{
    struct db_stmt *s = db_prepare(
        c, "INSERT INTO booking_history (booking_id, ts, action, login, "
           "channel, from_slot_id, to_slot_id, from_status, to_status, "
           "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s)
        return BOOKING_EDB;
    db_bind_int(s, 1, b->id);
    db_bind_int(s, 2, now);
    db_bind_text(s, 3, action);
    db_bind_text(s, 4, login);
    db_bind_text(s, 5, b->channel);
    if (from_slot)
        db_bind_int(s, 6, from_slot);
    else
        db_bind_null(s, 6);
    if (to_slot)
        db_bind_int(s, 7, to_slot);
    else
        db_bind_null(s, 7);
    db_bind_text(s, 8, from_status);
    db_bind_text(s, 9, to_status);
    db_bind_text(s, 10, detail);
    int rc = db_step(s);
    db_finalize(s);
    return rc == DB_DONE ? BOOKING_OK : bk_db_err(rc);
}

static int audit_booking(struct db_conn *c, const struct actor *who,
                         const char *action, const struct booking *b,
                         const char *detail)
{
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)b->id);
    return audit_append(c, who, action, "booking", tid, "ok", detail) == 0
               ? BOOKING_OK
               : BOOKING_EAUDIT;
}

/* Runs a service's hook; BOOKING_EBUSY from it retries the transaction. */
static int run_hook(int (*fn)(struct db_conn *, const struct booking *),
                    struct db_conn *c, const struct booking *b)
{
    if (!fn)
        return BOOKING_OK;
    int rc = fn(c, b);
    return rc == BOOKING_EBUSY ? BK_RETRY : rc;
}

/* Places taken (delta > 0) or given back (delta < 0) by compare-and-swap.
** Returns 1 when done, 0 when the condition failed, or an error. */
static int slot_add(struct db_conn *c, int64_t slot_id, int delta)
{
    int64_t n;
    if (delta > 0)
        n = db_run(c,
                   "UPDATE booking_slots SET booked = booked + ? "
                   "WHERE id = ? AND booked + ? <= capacity",
                   "iii", (int64_t)delta, slot_id, (int64_t)delta);
    else
        n = db_run(c,
                   "UPDATE booking_slots SET booked = booked - ? "
                   "WHERE id = ? AND booked >= ?",
                   "iii", (int64_t)-delta, slot_id, (int64_t)-delta);
    if (n < 0)
        return bk_db_err((int)n);
    return n == 1;
}

/* Takes places: BOOKING_EFULL when they are not there. */
static int slot_take(struct db_conn *c, int64_t slot_id, int party)
{
    int rc = slot_add(c, slot_id, party);
    return rc == 1 ? BOOKING_OK : rc == 0 ? BOOKING_EFULL : rc;
}

/* Gives places back; a slot with fewer booked than the booking's party
** means the tables disagree, which must never be papered over. */
static int slot_release(struct db_conn *c, int64_t slot_id, int party)
{
    int rc = slot_add(c, slot_id, -party);
    if (rc == 0) {
        log_error("booking: slot %lld has fewer places booked than %d",
                  (long long)slot_id, party);
        return BOOKING_EDB;
    }
    return rc == 1 ? BOOKING_OK : rc;
}

static int members_release(struct db_conn *c, const struct booking *b)
{
    for (int i = 0; i < b->nmembers; i++) {
        int64_t n = db_run(c,
                           "DELETE FROM booking_members WHERE member_key = ? "
                           "AND booking_id = ?",
                           "si", b->members[i], b->id);
        if (n < 0)
            return bk_db_err((int)n);
    }
    return BOOKING_OK;
}

static void when(const struct booking_slot *s, char *out, size_t n)
{
    char t[8];
    jpdate_time(s->start_min, t, sizeof t);
    snprintf(out, n, "slot %lld %s %s", (long long)s->id, s->date, t);
}

/* ---- create ----------------------------------------------------------- */

struct create_args {
    const struct actor *who;
    const struct booking_request *req;
    const char *channel;
    char members[BOOKING_MAX_PARTY * BOOKING_KEY_MAX];
    struct booking *out;
};

static int insert_booking(struct db_conn *c, struct create_args *a,
                          const struct booking_slot *s, struct booking *b,
                          int64_t now)
{
    const char *login = bk_login(a->who);
    if (make_ref(b->ref) != 0)
        return BOOKING_EDB;
    /* On SQLite without RETURNING: there it opens a statement journal
    ** whose memory, freed at every booking, made glibc trim the heap
    ** (madvise and a TLB flush on every CPU), a fifth of the time of a
    ** booking; the id is read back by the unique reference instead.  On
    ** PostgreSQL RETURNING saves that round trip. */
    int pg = db_engine(db_of(c)) == DB_POSTGRES;
    struct db_stmt *st = db_prepare(
        c, pg ? "INSERT INTO bookings (ref, resource_id, slot_id, date, "
                "start_min, len_min, party, members, status, channel, "
                "created_by, updated_by, created_at, updated_at) VALUES (?, ?, "
                "?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?) RETURNING id"
              : "INSERT INTO bookings (ref, resource_id, slot_id, date, "
                "start_min, len_min, party, members, status, channel, "
                "created_by, updated_by, created_at, updated_at) VALUES (?, ?, "
                "?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)");
    if (!st)
        return BOOKING_EDB;
    db_bind_text(st, 1, b->ref);
    db_bind_int(st, 2, s->resource_id);
    db_bind_int(st, 3, s->id);
    db_bind_text(st, 4, s->date);
    db_bind_int(st, 5, s->start_min);
    db_bind_int(st, 6, s->len_min);
    db_bind_int(st, 7, a->req->party);
    db_bind_text(st, 8, a->members);
    db_bind_text(st, 9, a->channel);
    db_bind_text(st, 10, login);
    db_bind_text(st, 11, login);
    db_bind_int(st, 12, now);
    db_bind_int(st, 13, now);
    int rc = db_step(st);
    if (pg && rc == DB_ROW)
        b->id = db_col_int(st, 0);
    db_finalize(st);
    /* The only unique column is ref (a 1 in 2^40 collision), or the slot
    ** vanished under a concurrent schedule change: either way, again. */
    if (rc == DB_CONSTRAINT)
        return BK_RETRY;
    if (pg)
        return rc == DB_ROW ? BOOKING_OK : bk_db_err(rc);
    if (rc != DB_DONE)
        return bk_db_err(rc);
    rc = db_query_int(c, &b->id, "SELECT id FROM bookings WHERE ref = ?", "s",
                      b->ref);
    return rc == DB_ROW ? BOOKING_OK : bk_db_err(rc == DB_DONE ? DB_ERROR : rc);
}

static int insert_members(struct db_conn *c, const struct booking *b)
{
    for (int i = 0; i < b->nmembers; i++) {
        int64_t n = db_run(c,
                           "INSERT INTO booking_members (member_key, "
                           "booking_id) VALUES (?, ?)",
                           "si", b->members[i], b->id);
        if (n == DB_CONSTRAINT)
            return BOOKING_EDUPLICATE;
        if (n < 0)
            return bk_db_err((int)n);
    }
    return BOOKING_OK;
}

static int create_body(struct db_conn *c, void *arg)
{
    struct create_args *a = arg;
    const struct booking_request *req = a->req;
    int64_t now = now_unix();
    struct booking_slot s;
    struct booking_resource r;
    int rc = read_slot(c, req->slot_id, &s, &r);
    if (rc != BOOKING_OK)
        return rc;
    if (req->party > r.max_party)
        return BOOKING_EINVAL;
    rc = bookable(&r, &s, now, req->override_deadline);
    if (rc != BOOKING_OK)
        return rc;
    if (req->party > s.capacity - s.booked)
        return BOOKING_EFULL; /* early answer; the CAS below decides */

    struct booking b;
    memset(&b, 0, sizeof b);
    b.resource_id = s.resource_id;
    b.slot_id = s.id;
    b.party = req->party;
    str_copy(b.status, "active", sizeof b.status);
    str_copy(b.channel, a->channel, sizeof b.channel);
    str_copy(b.date, s.date, sizeof b.date);
    b.start_min = s.start_min;
    b.len_min = s.len_min;
    b.created_at = b.updated_at = now;
    str_copy(b.created_by, bk_login(a->who), sizeof b.created_by);
    b.nmembers = req->party;
    for (int i = 0; i < req->party; i++)
        str_copy(b.members[i], req->members[i], BOOKING_KEY_MAX);

    rc = insert_booking(c, a, &s, &b, now);
    if (rc == BOOKING_OK)
        rc = insert_members(c, &b);
    if (rc != BOOKING_OK)
        return rc;
    rc = slot_take(c, s.id, req->party);
    if (rc != BOOKING_OK)
        return rc;
    const struct booking_hooks *h = bk_hooks(r.kind);
    rc = run_hook(h ? h->on_create : NULL, c, &b);
    if (rc != BOOKING_OK)
        return rc;

    char at[64], detail[1024];
    when(&s, at, sizeof at);
    snprintf(detail, sizeof detail,
             "ref=%s %s party=%d channel=%s members=%s%s", b.ref, at, b.party,
             b.channel, a->members,
             req->override_deadline ? " override_deadline=1" : "");
    rc = history_add(c, &b, "create", bk_login(a->who), 0, s.id, NULL, "active",
                     req->override_deadline ? "override_deadline" : NULL, now);
    if (rc == BOOKING_OK)
        rc = audit_booking(c, a->who, "booking.create", &b, detail);
    if (rc == BOOKING_OK)
        *a->out = b;
    return rc;
}

int booking_create(struct db_conn *c, const struct actor *who,
                   const struct booking_request *req, struct booking *out)
{
    if (!req || !out || req->party < 1 || req->party > BOOKING_MAX_PARTY)
        return BOOKING_EINVAL;
    struct create_args a = {.who = who, .req = req, .out = out};
    a.channel = req->channel ? req->channel : "web";
    if (!channel_ok(a.channel))
        return BOOKING_EINVAL;
    size_t used = 0;
    for (int i = 0; i < req->party; i++) {
        if (!member_key_ok(req->members[i]))
            return BOOKING_EINVAL;
        for (int j = 0; j < i; j++)
            if (strcmp(req->members[i], req->members[j]) == 0)
                return BOOKING_EINVAL; /* the same person twice */
        size_t n = strlen(req->members[i]);
        if (i)
            a.members[used++] = ' ';
        memcpy(a.members + used, req->members[i], n);
        used += n;
    }
    a.members[used] = 0;
    return bk_tx_grouped(c, create_body, &a, "booking.create");
}

/* ---- move ------------------------------------------------------------- */

struct move_args {
    const struct actor *who;
    int64_t booking_id, new_slot_id;
    int override;
    struct booking *out;
};

static int move_body(struct db_conn *c, void *arg)
{
    struct move_args *a = arg;
    int64_t now = now_unix();
    struct booking b;
    int rc = read_booking(c, a->booking_id, &b);
    if (rc != BOOKING_OK)
        return rc;
    if (strcmp(b.status, "active") != 0 || b.slot_id == 0)
        return BOOKING_EINVAL;
    struct booking_slot olds, news;
    struct booking_resource oldr, newr;
    rc = read_slot(c, b.slot_id, &olds, &oldr);
    if (rc == BOOKING_OK)
        rc = changeable(&oldr, &olds, now, a->override);
    if (rc != BOOKING_OK)
        return rc;
    rc = read_slot(c, a->new_slot_id, &news, &newr);
    if (rc != BOOKING_OK)
        return rc;
    if (strcmp(newr.kind, oldr.kind) != 0 || b.party > newr.max_party)
        return BOOKING_EINVAL;
    if (news.id == olds.id) {
        if (a->out)
            *a->out = b; /* nothing to do */
        return BOOKING_OK;
    }
    rc = bookable(&newr, &news, now, a->override);
    if (rc != BOOKING_OK)
        return rc;
    if (b.party > news.capacity - news.booked)
        return BOOKING_EFULL;

    /* The booking's row first: a concurrent change of the same booking
    ** waits here, and finds it moved (0 rows: read it again). */
    const char *login = bk_login(a->who);
    int64_t n = db_run(c,
                       "UPDATE bookings SET slot_id = ?, resource_id = ?, "
                       "date = ?, start_min = ?, len_min = ?, updated_by = ?, "
                       "updated_at = ? WHERE id = ? AND status = 'active' AND "
                       "slot_id = ?",
                       "iisiisiii", news.id, news.resource_id, news.date,
                       (int64_t)news.start_min, (int64_t)news.len_min, login,
                       now, b.id, olds.id);
    if (n < 0)
        return bk_db_err((int)n);
    if (n == 0)
        return BK_RETRY;
    /* Both slots in id order: two opposite moves cannot deadlock. */
    if (news.id < olds.id) {
        rc = slot_take(c, news.id, b.party);
        if (rc == BOOKING_OK)
            rc = slot_release(c, olds.id, b.party);
    } else {
        rc = slot_release(c, olds.id, b.party);
        if (rc == BOOKING_OK)
            rc = slot_take(c, news.id, b.party);
    }
    if (rc != BOOKING_OK)
        return rc;

    b.prev_slot_id = olds.id;
    b.slot_id = news.id;
    b.resource_id = news.resource_id;
    str_copy(b.date, news.date, sizeof b.date);
    b.start_min = news.start_min;
    b.len_min = news.len_min;
    b.updated_at = now;
    const struct booking_hooks *h = bk_hooks(newr.kind);
    rc = run_hook(h ? h->on_move : NULL, c, &b);
    if (rc != BOOKING_OK)
        return rc;

    char from[64], to[64], detail[512];
    when(&olds, from, sizeof from);
    when(&news, to, sizeof to);
    snprintf(detail, sizeof detail, "ref=%s from %s to %s party=%d%s", b.ref,
             from, to, b.party, a->override ? " override_deadline=1" : "");
    rc = history_add(c, &b, "move", login, olds.id, news.id, "active", "active",
                     a->override ? "override_deadline" : NULL, now);
    if (rc == BOOKING_OK)
        rc = audit_booking(c, a->who, "booking.move", &b, detail);
    if (rc == BOOKING_OK && a->out)
        *a->out = b;
    return rc;
}

int booking_move(struct db_conn *c, const struct actor *who, int64_t booking_id,
                 int64_t new_slot_id, int override_deadline,
                 struct booking *out)
{
    struct move_args a = {who, booking_id, new_slot_id, override_deadline, out};
    return bk_tx_grouped(c, move_body, &a, "booking.move");
}

/* ---- cancel and mark -------------------------------------------------- */

struct end_args {
    const struct actor *who;
    int64_t booking_id;
    int override;
    const char *status; /* "cancelled", "visited" or "noshow" */
};

/* Sets the final status of an active booking; 0 rows: changed meanwhile. */
static int set_status(struct db_conn *c, const struct booking *b,
                      const char *status, const char *login, int64_t now)
{
    int64_t n = db_run(c,
                       "UPDATE bookings SET status = ?, updated_by = ?, "
                       "updated_at = ? WHERE id = ? AND status = 'active'",
                       "ssii", status, login, now, b->id);
    if (n < 0)
        return bk_db_err((int)n);
    return n == 1 ? BOOKING_OK : BK_RETRY;
}

static int cancel_body(struct db_conn *c, void *arg)
{
    struct end_args *a = arg;
    int64_t now = now_unix();
    struct booking b;
    int rc = read_booking(c, a->booking_id, &b);
    if (rc != BOOKING_OK)
        return rc;
    if (strcmp(b.status, "active") != 0 || b.slot_id == 0)
        return BOOKING_EINVAL;
    struct booking_slot s;
    struct booking_resource r;
    rc = read_slot(c, b.slot_id, &s, &r);
    if (rc == BOOKING_OK)
        rc = changeable(&r, &s, now, a->override);
    if (rc != BOOKING_OK)
        return rc;
    const char *login = bk_login(a->who);
    rc = set_status(c, &b, "cancelled", login, now);
    if (rc == BOOKING_OK)
        rc = members_release(c, &b);
    if (rc == BOOKING_OK)
        rc = slot_release(c, s.id, b.party);
    if (rc != BOOKING_OK)
        return rc;
    str_copy(b.status, "cancelled", sizeof b.status);
    b.updated_at = now;
    const struct booking_hooks *h = bk_hooks(r.kind);
    rc = run_hook(h ? h->on_cancel : NULL, c, &b);
    if (rc != BOOKING_OK)
        return rc;
    char at[64], detail[256];
    when(&s, at, sizeof at);
    snprintf(detail, sizeof detail, "ref=%s %s party=%d%s", b.ref, at, b.party,
             a->override ? " override_deadline=1" : "");
    rc = history_add(c, &b, "cancel", login, s.id, 0, "active", "cancelled",
                     a->override ? "override_deadline" : NULL, now);
    if (rc == BOOKING_OK)
        rc = audit_booking(c, a->who, "booking.cancel", &b, detail);
    return rc;
}

int booking_cancel(struct db_conn *c, const struct actor *who,
                   int64_t booking_id, int override_deadline)
{
    struct end_args a = {who, booking_id, override_deadline, "cancelled"};
    return bk_tx_grouped(c, cancel_body, &a, "booking.cancel");
}

static int mark_body(struct db_conn *c, void *arg)
{
    struct end_args *a = arg;
    int64_t now = now_unix();
    struct booking b;
    int rc = read_booking(c, a->booking_id, &b);
    if (rc != BOOKING_OK)
        return rc;
    if (strcmp(b.status, "active") != 0)
        return BOOKING_EINVAL;
    int64_t day;
    if (bk_days(b.date, &day) != 0)
        return BOOKING_EINVAL;
    if (day > bk_today(now))
        return BOOKING_ECLOSED; /* not before the slot's day */
    struct booking_resource r;
    rc = booking_resource_get(c, b.resource_id, &r);
    if (rc != BOOKING_OK)
        return rc == BOOKING_EBUSY ? BK_RETRY : rc;
    const char *login = bk_login(a->who);
    rc = set_status(c, &b, a->status, login, now);
    if (rc == BOOKING_OK)
        rc = members_release(c, &b);
    if (rc != BOOKING_OK)
        return rc;
    str_copy(b.status, a->status, sizeof b.status);
    b.updated_at = now;
    const struct booking_hooks *h = bk_hooks(r.kind);
    rc = run_hook(h ? h->on_mark : NULL, c, &b);
    if (rc != BOOKING_OK)
        return rc;
    char detail[128];
    snprintf(detail, sizeof detail, "ref=%s %s", b.ref, a->status);
    rc = history_add(c, &b, "mark", login, b.slot_id, b.slot_id, "active",
                     a->status, NULL, now);
    if (rc == BOOKING_OK)
        rc = audit_booking(c, a->who, "booking.mark", &b, detail);
    return rc;
}

int booking_mark(struct db_conn *c, const struct actor *who, int64_t booking_id,
                 const char *status)
{
    if (!status ||
        (strcmp(status, "visited") != 0 && strcmp(status, "noshow") != 0))
        return BOOKING_EINVAL;
    struct end_args a = {who, booking_id, 0, status};
    return bk_tx_grouped(c, mark_body, &a, "booking.mark");
}
