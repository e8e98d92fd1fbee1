/*
** test_booking.c - the booking engine (src/booking): schedules into slots
** (lengths 60/30/20/15/10, several intervals, holiday openings, night
** counters, closures, conflicts with bookings), the booking window and
** deadline, party sizes, full slots, one active booking per person, atomic
** moves, cancellation, hooks that veto, audit entries and audit failure,
** the views, the daily slot job, and concurrency (RSV-9): threads on
** separate connection pools, as separate server processes would be,
** racing for one slot and for one person.  On SQLite, and on PostgreSQL
** when CITYOS_TEST_PG is set.
*/
#include <jansson.h>
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

#include "booking/booking.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/db.h"
#include "core/http.h"
#include "core/jobs.h"
#include "core/util.h"
#include "testlib.h"

static struct app g_app;
static const struct actor staff = {7, "tanaka", "staff", "127.0.0.1", "test"};
static const struct actor citizen = {0, "-", "citizen", "127.0.0.1", "test"};
static char today[11];

/* ---- helpers ---------------------------------------------------------- */

#define RUN(sql, types, ...)                                                   \
    do {                                                                       \
        struct db_conn *c_ = testlib_conn();                                   \
        int64_t n_ = db_run(c_, sql, types, __VA_ARGS__);                      \
        if (n_ < 0)                                                            \
            fail_msg("%s: %s", sql, db_errmsg(c_));                            \
        db_release(c_);                                                        \
    } while (0)

static void day_plus(int n, char out[11])
{
    assert_int_equal(booking_date_add(today, n, out), 0);
}

/* The first date from today + min_ahead on that falls on weekday wd. */
static void next_weekday(int min_ahead, int wd, char out[11])
{
    for (int i = min_ahead; i < min_ahead + 7; i++) {
        day_plus(i, out);
        if (booking_weekday(out) == wd)
            return;
    }
    fail_msg("no weekday %d", wd);
}

static int64_t new_resource(const char *kind, int slot_minutes, int capacity,
                            int window_days, int deadline_days, int max_party)
{
    struct booking_resource r = {0};
    str_copy(r.kind, kind, sizeof r.kind);
    snprintf(r.name, sizeof r.name, "松阪市役所 %s %d", kind, slot_minutes);
    str_copy(r.address, "三重県松阪市殿町1340番地1", sizeof r.address);
    r.open = 1;
    r.slot_minutes = slot_minutes;
    r.capacity = capacity;
    r.window_days = window_days;
    r.deadline_days = deadline_days;
    r.max_party = max_party;
    struct db_conn *c = testlib_conn();
    int rc = booking_resource_save(c, &staff, &r);
    db_release(c);
    assert_int_equal(rc, BOOKING_OK);
    assert_true(r.id > 0);
    return r.id;
}

/* Weekly hours: the same intervals every day of the week. */
static int set_daily(int64_t rid, const int (*iv)[3], size_t n)
{
    struct booking_hours h[BOOKING_MAX_HOURS];
    size_t k = 0;
    for (int wd = 0; wd < 7; wd++)
        for (size_t i = 0; i < n; i++)
            h[k++] = (struct booking_hours){wd, iv[i][0], iv[i][1], iv[i][2]};
    struct db_conn *c = testlib_conn();
    int rc = booking_hours_set(c, &staff, rid, h, k, NULL);
    db_release(c);
    return rc;
}

static int64_t count_slots(int64_t rid, const char *date)
{
    return testlib_query_int("SELECT COUNT(*) FROM booking_slots WHERE "
                             "resource_id = ? AND date = ?",
                             "is", rid, date);
}

static int64_t slot_at(int64_t rid, const char *date, int start_min)
{
    return testlib_query_int("SELECT id FROM booking_slots WHERE "
                             "resource_id = ? AND date = ? AND start_min = ?",
                             "isi", rid, date, (int64_t)start_min);
}

static int64_t booked(int64_t slot_id)
{
    return testlib_query_int("SELECT booked FROM booking_slots WHERE id = ?",
                             "i", slot_id);
}

static int book(int64_t slot_id, int override, struct booking *out, int party,
                ...)
{
    struct booking_request req = {0};
    req.slot_id = slot_id;
    req.party = party;
    req.channel = override ? "counter" : "web";
    req.override_deadline = override;
    va_list ap;
    va_start(ap, party);
    for (int i = 0; i < party && i < BOOKING_MAX_PARTY; i++)
        req.members[i] = va_arg(ap, const char *);
    va_end(ap);
    struct booking tmp;
    struct db_conn *c = testlib_conn();
    int rc =
        booking_create(c, override ? &staff : &citizen, &req, out ? out : &tmp);
    db_release(c);
    return rc;
}

static int64_t audit_count(const char *action, int64_t booking_id)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)booking_id);
    return testlib_query_int("SELECT COUNT(*) FROM audit_log WHERE action = ? "
                             "AND target_type = 'booking' AND target_id = ?",
                             "ss", action, id);
}

/* The invariants of RSV-9 over the whole database: no slot above its
** capacity, each slot's counter equal to the parties of its bookings that
** were not cancelled (visited and no-show ones used their places), and
** member rows exactly the members of active bookings. */
static void check_invariants(void)
{
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_slots "
                                       "WHERE booked > capacity OR booked < 0",
                                       ""),
                     0);
    assert_int_equal(
        testlib_query_int(
            "SELECT COUNT(*) FROM booking_slots s WHERE s.booked <> "
            "(SELECT COALESCE(SUM(b.party), 0) FROM bookings b WHERE "
            "b.slot_id = s.id AND b.status <> 'cancelled')",
            ""),
        0);
    assert_int_equal(
        testlib_query_int("SELECT COUNT(*) FROM booking_members m JOIN "
                          "bookings b ON b.id = m.booking_id WHERE "
                          "b.status <> 'active'",
                          ""),
        0);
    assert_int_equal(
        testlib_query_int("SELECT COALESCE(SUM(party), 0) FROM bookings "
                          "WHERE status = 'active'",
                          ""),
        testlib_query_int("SELECT COUNT(*) FROM booking_members", ""));
}

static void refresh_today(void)
{
    booking_date_of(now_unix(), today);
}

static int reset(void **state)
{
    refresh_today();
    return 0;
}

/* ---- dates ------------------------------------------------------------ */

static void test_dates(void **state)
{
    char d[11];
    /* 2026-11-22 00:30 JST is 2026-11-21 15:30 UTC. */
    int64_t t = booking_time_of("2026-11-22", 30);
    assert_int_equal(t, 1795275000);
    booking_date_of(t, d);
    assert_string_equal(d, "2026-11-22");
    booking_date_of(t - 31 * 60, d);
    assert_string_equal(d, "2026-11-21");
    assert_int_equal(booking_weekday("2026-11-22"), 0);
    assert_int_equal(booking_weekday("2026-11-28"), 6);
    assert_int_equal(booking_weekday("2026-02-30"), -1);
    assert_int_equal(booking_date_add("2026-12-31", 1, d), 0);
    assert_string_equal(d, "2027-01-01");
    assert_int_equal(booking_date_add("2028-03-01", -1, d), 0);
    assert_string_equal(d, "2028-02-29");
    assert_int_equal(booking_date_add("2028-13-01", 1, d), -1);
    int diff = 0;
    assert_int_equal(booking_date_diff("2026-11-22", "2027-01-01", &diff), 0);
    assert_int_equal(diff, 40);
    assert_int_equal(booking_time_of("bad", 0), -1);
    assert_true(booking_slot_len_valid(10) && booking_slot_len_valid(60));
    assert_false(booking_slot_len_valid(45) || booking_slot_len_valid(0));
    assert_string_equal(booking_error_key(BOOKING_EFULL), "booking.err.full");
}

/* ---- schedules into slots --------------------------------------------- */

static void test_slot_lengths(void **state)
{
    /* 09:00-12:00 and 13:00-17:15 every day: the 17:15 tail is shorter
    ** than most slots and is no slot. */
    static const int iv[][3] = {{540, 720, 0}, {780, 1035, 0}};
    static const struct {
        int len, per_day, last_start;
    } cases[] = {
        {60, 3 + 4, 16 * 60},       {30, 6 + 8, 16 * 60 + 30},
        {20, 9 + 12, 16 * 60 + 40}, {15, 12 + 17, 17 * 60},
        {10, 18 + 25, 17 * 60 + 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t rid = new_resource("pickup", cases[i].len, 5, 14, 0, 4);
        assert_int_equal(set_daily(rid, iv, 2), BOOKING_OK);
        char d[11];
        day_plus(3, d);
        assert_int_equal(count_slots(rid, d), cases[i].per_day);
        /* today .. today + window: 15 days of slots. */
        assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM "
                                           "booking_slots WHERE "
                                           "resource_id = ?",
                                           "i", rid),
                         15 * cases[i].per_day);
        assert_int_equal(testlib_query_int("SELECT MAX(start_min + len_min) "
                                           "FROM booking_slots WHERE "
                                           "resource_id = ? AND date = ?",
                                           "is", rid, d),
                         cases[i].last_start + cases[i].len);
        assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM "
                                           "booking_slots WHERE resource_id "
                                           "= ? AND start_min >= 720 AND "
                                           "start_min < 780",
                                           "i", rid),
                         0);
        /* The day view: times and states. */
        json_t *day = NULL;
        struct db_conn *c = testlib_conn();
        assert_int_equal(booking_day(c, rid, d, now_unix(), &day), BOOKING_OK);
        db_release(c);
        assert_int_equal(json_array_size(day), (size_t)cases[i].per_day);
        json_t *first = json_array_get(day, 0);
        assert_string_equal(json_string_value(json_object_get(first, "start")),
                            "09:00");
        assert_int_equal(json_integer_value(json_object_get(first, "left")), 5);
        assert_string_equal(json_string_value(json_object_get(first, "state")),
                            "available");
        json_decref(day);
        /* Running the sync again creates nothing (idempotent). */
        c = testlib_conn();
        assert_int_equal(booking_slots_sync(c, rid, today), 0);
        db_release(c);
    }
    /* Lengths other than 60/30/20/15/10 are refused. */
    struct booking_resource r = {0};
    str_copy(r.kind, "pickup", sizeof r.kind);
    str_copy(r.name, "x", sizeof r.name);
    r.open = 1;
    r.capacity = 5;
    r.window_days = 10;
    r.max_party = 2;
    struct db_conn *c = testlib_conn();
    int bad[] = {0, 5, 45, 90, -10};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        r.slot_minutes = bad[i];
        assert_int_equal(booking_resource_save(c, &staff, &r), BOOKING_EINVAL);
    }
    r.slot_minutes = 30;
    r.max_party = BOOKING_MAX_PARTY + 1;
    assert_int_equal(booking_resource_save(c, &staff, &r), BOOKING_EINVAL);
    r.max_party = 2;
    str_copy(r.name, "", sizeof r.name);
    assert_int_equal(booking_resource_save(c, &staff, &r), BOOKING_EINVAL);
    db_release(c);
}

static void test_intervals_capacity(void **state)
{
    int64_t rid = new_resource("pickup", 30, 5, 14, 0, 4);
    /* Morning with 3 places, afternoon with the default 5; and overlapping
    ** intervals are refused. */
    static const int iv[][3] = {{540, 660, 3}, {780, 900, 0}};
    assert_int_equal(set_daily(rid, iv, 2), BOOKING_OK);
    char d[11];
    day_plus(2, d);
    assert_int_equal(count_slots(rid, d), 8);
    int64_t am = slot_at(rid, d, 540), pm = slot_at(rid, d, 780);
    assert_int_equal(testlib_query_int("SELECT capacity FROM booking_slots "
                                       "WHERE id = ?",
                                       "i", am),
                     3);
    assert_int_equal(testlib_query_int("SELECT capacity FROM booking_slots "
                                       "WHERE id = ?",
                                       "i", pm),
                     5);
    static const int overlap[][3] = {{540, 660, 0}, {600, 700, 0}};
    assert_int_equal(set_daily(rid, overlap, 2), BOOKING_EINVAL);
    static const int backwards[][3] = {{660, 540, 0}};
    assert_int_equal(set_daily(rid, backwards, 1), BOOKING_EINVAL);
    struct booking_hours h[BOOKING_MAX_HOURS];
    size_t n = 0;
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_hours_get(c, rid, h, BOOKING_MAX_HOURS, &n),
                     BOOKING_OK);
    db_release(c);
    assert_int_equal(n, 14);
    assert_int_equal(h[0].weekday, 0);
    assert_int_equal(h[0].capacity, 3);
    assert_int_equal(h[1].start_min, 780);

    /* Raising the default capacity applies to the slots that use it. */
    struct booking_resource r;
    c = testlib_conn();
    assert_int_equal(booking_resource_get(c, rid, &r), BOOKING_OK);
    r.capacity = 8;
    assert_int_equal(booking_resource_save(c, &staff, &r), BOOKING_OK);
    db_release(c);
    assert_int_equal(testlib_query_int("SELECT capacity FROM booking_slots "
                                       "WHERE id = ?",
                                       "i", pm),
                     8);
    assert_int_equal(testlib_query_int("SELECT capacity FROM booking_slots "
                                       "WHERE id = ?",
                                       "i", am),
                     3);
    /* A slot's own capacity (RSV-11) stays when the schedule changes. */
    c = testlib_conn();
    assert_int_equal(booking_slot_capacity_set(c, &staff, pm, 2), BOOKING_OK);
    r.capacity = 6;
    assert_int_equal(booking_resource_save(c, &staff, &r), BOOKING_OK);
    db_release(c);
    assert_int_equal(testlib_query_int("SELECT capacity FROM booking_slots "
                                       "WHERE id = ?",
                                       "i", pm),
                     2);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM audit_log WHERE "
                                       "action = 'booking.slot.capacity'",
                                       ""),
                     1);
}

static void test_exceptions(void **state)
{
    int64_t rid = new_resource("pickup", 30, 4, 21, 0, 4);
    /* Weekdays only, 08:30-17:15. */
    struct booking_hours h[5];
    for (int wd = 1; wd <= 5; wd++)
        h[wd - 1] = (struct booking_hours){wd, 510, 1035, 0};
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_hours_set(c, &staff, rid, h, 5, NULL), BOOKING_OK);
    db_release(c);
    char sun[11], thu[11], mon[11];
    next_weekday(2, 0, sun);
    next_weekday(2, 4, thu);
    next_weekday(2, 1, mon);
    assert_int_equal(count_slots(rid, sun), 0);
    assert_int_equal(count_slots(rid, thu), 17);

    /* A holiday opening on Sunday morning with 2 places. */
    struct booking_exception e = {0};
    str_copy(e.date, sun, sizeof e.date);
    str_copy(e.kind, "open", sizeof e.kind);
    e.start_min = 600;
    e.end_min = 720;
    e.capacity = 2;
    str_copy(e.note, "休日開庁", sizeof e.note);
    c = testlib_conn();
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, NULL),
                     BOOKING_OK);
    db_release(c);
    assert_int_equal(count_slots(rid, sun), 4);
    assert_int_equal(testlib_query_int("SELECT MIN(capacity) FROM "
                                       "booking_slots WHERE resource_id = ? "
                                       "AND date = ?",
                                       "is", rid, sun),
                     2);

    /* A night counter on Thursday: the day's hours plus 17:30-19:00. */
    str_copy(e.date, thu, sizeof e.date);
    e.start_min = 510;
    e.end_min = 1035;
    e.capacity = 0;
    str_copy(e.note, "", sizeof e.note);
    c = testlib_conn();
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, NULL),
                     BOOKING_OK);
    e.start_min = 1050;
    e.end_min = 1140;
    str_copy(e.note, "夜間窓口", sizeof e.note);
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, NULL),
                     BOOKING_OK);
    /* Overlapping another interval of that day: refused. */
    e.start_min = 1000;
    e.end_min = 1100;
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, NULL),
                     BOOKING_EINVAL);
    db_release(c);
    assert_int_equal(count_slots(rid, thu), 17 + 3);
    assert_true(slot_at(rid, thu, 1110) > 0);

    /* A closure removes the day. */
    str_copy(e.date, mon, sizeof e.date);
    str_copy(e.kind, "closed", sizeof e.kind);
    str_copy(e.note, "臨時休業", sizeof e.note);
    c = testlib_conn();
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, NULL),
                     BOOKING_OK);
    db_release(c);
    assert_int_equal(count_slots(rid, mon), 0);

    /* The list, then deleting: the weekly hours come back. */
    json_t *list = NULL;
    c = testlib_conn();
    assert_int_equal(booking_exception_list(c, rid, NULL, NULL, &list),
                     BOOKING_OK);
    assert_int_equal(json_array_size(list), 4);
    json_decref(list);
    assert_int_equal(booking_exception_delete(c, &staff, rid, mon, NULL),
                     BOOKING_OK);
    assert_int_equal(
        booking_exception_delete_one(c, &staff, rid, thu, 1050, NULL),
        BOOKING_OK);
    assert_int_equal(booking_exception_delete(c, &staff, rid, mon, NULL),
                     BOOKING_ENOTFOUND);
    db_release(c);
    assert_int_equal(count_slots(rid, mon), 17);
    assert_int_equal(count_slots(rid, thu), 17);

    /* Exceptions in the past, or malformed, are refused. */
    day_plus(-1, e.date);
    c = testlib_conn();
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, NULL),
                     BOOKING_EINVAL);
    str_copy(e.date, mon, sizeof e.date);
    str_copy(e.kind, "maybe", sizeof e.kind);
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, NULL),
                     BOOKING_EINVAL);
    db_release(c);
    /* Six changes, six audit entries. */
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)rid);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM audit_log WHERE "
                                       "action LIKE 'booking.exception.%' AND "
                                       "target_id = ?",
                                       "s", tid),
                     6);
}

static void test_schedule_conflicts(void **state)
{
    int64_t rid = new_resource("pickup", 30, 3, 14, 0, 4);
    static const int iv[][3] = {{540, 720, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(4, d);
    int64_t s930 = slot_at(rid, d, 570);
    struct booking b;
    assert_int_equal(book(s930, 0, &b, 2, "sc:1", "sc:2"), BOOKING_OK);

    /* Hours that drop 09:30: refused, naming the slot; nothing changes. */
    static const int later[][3] = {{600, 720, 0}};
    struct booking_hours h[7];
    for (int wd = 0; wd < 7; wd++)
        h[wd] = (struct booking_hours){wd, later[0][0], later[0][1], 0};
    struct booking_slot conflict = {0};
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_hours_set(c, &staff, rid, h, 7, &conflict),
                     BOOKING_ECONFLICT);
    db_release(c);
    assert_int_equal(conflict.id, s930);
    assert_string_equal(conflict.date, d);
    assert_int_equal(conflict.start_min, 570);
    assert_int_equal(conflict.booked, 2);
    assert_int_equal(testlib_query_int("SELECT MIN(start_min) FROM "
                                       "booking_hours WHERE resource_id = ?",
                                       "i", rid),
                     540);
    assert_int_equal(count_slots(rid, d), 6);

    /* Closing that day: refused too. */
    struct booking_exception e = {0};
    str_copy(e.date, d, sizeof e.date);
    str_copy(e.kind, "closed", sizeof e.kind);
    memset(&conflict, 0, sizeof conflict);
    c = testlib_conn();
    assert_int_equal(booking_exception_set(c, &staff, rid, &e, &conflict),
                     BOOKING_ECONFLICT);
    assert_int_equal(conflict.id, s930);
    /* Fewer places than booked: refused; 60-minute slots: 09:30 goes. */
    struct booking_resource r;
    assert_int_equal(booking_resource_get(c, rid, &r), BOOKING_OK);
    r.capacity = 1;
    assert_int_equal(booking_resource_save_ex(c, &staff, &r, &conflict),
                     BOOKING_ECONFLICT);
    r.capacity = 3;
    r.slot_minutes = 60;
    assert_int_equal(booking_resource_save_ex(c, &staff, &r, &conflict),
                     BOOKING_ECONFLICT);
    assert_int_equal(booking_resource_get(c, rid, &r), BOOKING_OK);
    assert_int_equal(r.slot_minutes, 30);
    assert_int_equal(r.capacity, 3);
    assert_int_equal(booking_slot_capacity_set(c, &staff, s930, 1),
                     BOOKING_ECONFLICT);
    db_release(c);
    assert_int_equal(booked(s930), 2);

    /* Hours that keep 09:30 but drop the afternoon of other slots: the
    ** unbooked slots that no longer fit are deleted. */
    static const int shorter[][3] = {{540, 630, 0}};
    assert_int_equal(set_daily(rid, shorter, 1), BOOKING_OK);
    assert_int_equal(count_slots(rid, d), 3);
    assert_int_equal(slot_at(rid, d, 570), s930);
    /* Once cancelled, the slot may go. */
    c = testlib_conn();
    assert_int_equal(booking_cancel(c, &citizen, b.id, 0), BOOKING_OK);
    db_release(c);
    for (int wd = 0; wd < 7; wd++)
        h[wd] = (struct booking_hours){wd, 600, 720, 0};
    c = testlib_conn();
    assert_int_equal(booking_hours_set(c, &staff, rid, h, 7, NULL), BOOKING_OK);
    db_release(c);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_slots "
                                       "WHERE id = ?",
                                       "i", s930),
                     0);
    /* The cancelled booking keeps its date and time; its slot is gone. */
    c = testlib_conn();
    struct booking g;
    assert_int_equal(booking_get(c, b.id, &g), BOOKING_OK);
    db_release(c);
    assert_int_equal(g.slot_id, 0);
    assert_string_equal(g.date, d);
    assert_int_equal(g.start_min, 570);
}

/* ---- window, deadline, party ------------------------------------------ */

static void test_window_deadline(void **state)
{
    /* Bookable 10 days ahead, until the end of the 2nd day before. */
    int64_t rid = new_resource("pickup", 60, 5, 10, 2, 4);
    static const int iv[][3] = {{540, 720, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d1[11], d2[11], d10[11], d20[11], dm1[11];
    day_plus(1, d1);
    day_plus(2, d2);
    day_plus(10, d10);
    day_plus(20, d20);
    day_plus(-1, dm1);
    assert_int_equal(count_slots(rid, d20), 0);
    assert_int_equal(book(slot_at(rid, d1, 540), 0, NULL, 1, "wd:1"),
                     BOOKING_ECLOSED);
    /* Staff may book past the deadline. */
    struct booking staffb;
    assert_int_equal(book(slot_at(rid, d1, 540), 1, &staffb, 1, "wd:1"),
                     BOOKING_OK);
    assert_string_equal(staffb.channel, "counter");
    assert_string_equal(staffb.created_by, "tanaka");
    struct booking b;
    assert_int_equal(book(slot_at(rid, d2, 540), 0, &b, 1, "wd:2"), BOOKING_OK);
    assert_int_equal(book(slot_at(rid, d10, 540), 0, NULL, 1, "wd:3"),
                     BOOKING_OK);
    /* Beyond the window (a slot made by hand) and in the past. */
    RUN("INSERT INTO booking_slots (resource_id, date, start_min, len_min, "
        "capacity) VALUES (?, ?, 540, 60, 5), (?, ?, 540, 60, 5)",
        "isis", rid, d20, rid, dm1);
    assert_int_equal(book(slot_at(rid, d20, 540), 1, NULL, 1, "wd:4"),
                     BOOKING_ECLOSED);
    assert_int_equal(book(slot_at(rid, dm1, 540), 1, NULL, 1, "wd:4"),
                     BOOKING_ECLOSED);
    assert_int_equal(book(999999, 0, NULL, 1, "wd:4"), BOOKING_ENOTFOUND);

    /* Citizens cannot cancel or move past the deadline; staff can. */
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_cancel(c, &citizen, staffb.id, 0),
                     BOOKING_ECLOSED);
    assert_int_equal(
        booking_move(c, &citizen, staffb.id, slot_at(rid, d2, 600), 0, NULL),
        BOOKING_ECLOSED);
    assert_int_equal(
        booking_move(c, &citizen, b.id, slot_at(rid, d1, 600), 0, NULL),
        BOOKING_ECLOSED);
    assert_int_equal(booking_cancel(c, &staff, staffb.id, 1), BOOKING_OK);

    /* booking_slot_open and the states. */
    struct booking_resource r;
    struct booking_slot s;
    assert_int_equal(booking_resource_get(c, rid, &r), BOOKING_OK);
    assert_int_equal(booking_slot_get(c, slot_at(rid, d2, 600), &s),
                     BOOKING_OK);
    assert_true(booking_slot_open(&r, &s, now_unix()));
    assert_string_equal(booking_slot_state(&r, &s, now_unix()), "available");
    assert_int_equal(booking_slot_get(c, slot_at(rid, d1, 600), &s),
                     BOOKING_OK);
    assert_false(booking_slot_open(&r, &s, now_unix()));
    assert_string_equal(booking_slot_state(&r, &s, now_unix()), "closed");

    /* A closed resource takes no new bookings. */
    r.open = 0;
    assert_int_equal(booking_resource_save(c, &staff, &r), BOOKING_OK);
    db_release(c);
    assert_int_equal(book(slot_at(rid, d2, 600), 1, NULL, 1, "wd:5"),
                     BOOKING_ECLOSED);
    /* Nor does a bad date or day in the views. */
    json_t *j = NULL;
    c = testlib_conn();
    assert_int_equal(booking_day(c, rid, "2026-02-30", 0, &j), BOOKING_EINVAL);
    assert_int_equal(booking_day(c, 999999, d2, 0, &j), BOOKING_ENOTFOUND);
    db_release(c);
    check_invariants();
}

static void test_party_sizes(void **state)
{
    int64_t rid = new_resource("pickup", 30, 4, 14, 0, 3);
    static const int iv[][3] = {{540, 600, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t s = slot_at(rid, d, 540);
    assert_int_equal(book(s, 0, NULL, 4, "p:1", "p:2", "p:3", "p:4"),
                     BOOKING_EINVAL); /* above max_party 3 */
    assert_int_equal(book(s, 0, NULL, 0), BOOKING_EINVAL);
    assert_int_equal(book(s, 0, NULL, 2, "p:1", "p:1"), BOOKING_EINVAL);
    assert_int_equal(book(s, 0, NULL, 2, "p:1", NULL), BOOKING_EINVAL);
    assert_int_equal(book(s, 0, NULL, 1, "p 1"), BOOKING_EINVAL);
    assert_int_equal(book(s, 0, NULL, 1, ""), BOOKING_EINVAL);
    struct booking_request big = {.slot_id = s, .party = BOOKING_MAX_PARTY + 1};
    struct booking tmp;
    struct db_conn *c0 = testlib_conn();
    assert_int_equal(booking_create(c0, &staff, &big, &tmp), BOOKING_EINVAL);
    db_release(c0);
    struct booking b;
    assert_int_equal(book(s, 0, &b, 3, "p:1", "p:2", "p:3"), BOOKING_OK);
    assert_int_equal(b.party, 3);
    assert_int_equal(b.nmembers, 3);
    assert_string_equal(b.members[2], "p:3");
    assert_int_equal(booked(s), 3);
    /* One place left: a family of two does not fit; one person does. */
    assert_int_equal(book(s, 0, NULL, 2, "p:4", "p:5"), BOOKING_EFULL);
    assert_int_equal(booked(s), 3);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_members "
                                       "WHERE member_key IN ('p:4', 'p:5')",
                                       ""),
                     0);
    assert_int_equal(book(s, 0, NULL, 1, "p:4"), BOOKING_OK);
    /* Read back: members in order, by id, by reference, by member. */
    struct booking g;
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_get(c, b.id, &g), BOOKING_OK);
    assert_int_equal(g.nmembers, 3);
    assert_string_equal(g.members[0], "p:1");
    assert_string_equal(g.status, "active");
    assert_int_equal(booking_find_active(c, "p:2", &g), BOOKING_OK);
    assert_int_equal(g.id, b.id);
    assert_int_equal(booking_find_active(c, "p:9", &g), BOOKING_ENOTFOUND);
    db_release(c);
    check_invariants();
}

static void test_full_and_states(void **state)
{
    int64_t rid = new_resource("pickup", 60, 5, 14, 0, 2);
    static const int iv[][3] = {{540, 600, 0}, {600, 660, 10}};
    assert_int_equal(set_daily(rid, iv, 2), BOOKING_OK);
    char d[11];
    day_plus(5, d);
    int64_t s5 = slot_at(rid, d, 540), s10 = slot_at(rid, d, 600);
    char key[32];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "fs:%d", i);
        assert_int_equal(book(s5, 0, NULL, 1, key), BOOKING_OK);
    }
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "fs:t%d", i);
        assert_int_equal(book(s10, 0, NULL, 1, key), BOOKING_OK);
    }
    /* Capacity 5 with 1 left: few (threshold 1); capacity 10 with 3 left:
    ** available (threshold 2). */
    json_t *day = NULL;
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_day(c, rid, d, now_unix(), &day), BOOKING_OK);
    db_release(c);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(day, 0), "state")),
        "few");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(day, 1), "state")),
        "available");
    json_decref(day);
    assert_int_equal(book(s10, 0, NULL, 1, "fs:t7"), BOOKING_OK);
    assert_int_equal(book(s5, 0, NULL, 1, "fs:4"), BOOKING_OK);
    assert_int_equal(book(s5, 0, NULL, 1, "fs:5"), BOOKING_EFULL);
    assert_int_equal(book(s5, 1, NULL, 1, "fs:5"), BOOKING_EFULL);
    c = testlib_conn();
    assert_int_equal(booking_day(c, rid, d, now_unix(), &day), BOOKING_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(day, 0), "state")),
        "full");
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(day, 0), "left")), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(day, 1), "state")),
        "few");
    json_decref(day);

    /* The month view: that day few (2 of 15 left), the next available,
    ** a day without slots closed. */
    char from[11], to[11];
    day_plus(4, from);
    day_plus(30, to);
    json_t *month = NULL;
    assert_int_equal(booking_month(c, rid, from, to, now_unix(), &month),
                     BOOKING_OK);
    assert_int_equal(json_array_size(month), 27);
    json_t *d0 = json_array_get(month, 1);
    assert_string_equal(json_string_value(json_object_get(d0, "date")), d);
    assert_int_equal(json_integer_value(json_object_get(d0, "places")), 15);
    assert_int_equal(json_integer_value(json_object_get(d0, "left")), 2);
    assert_string_equal(json_string_value(json_object_get(d0, "state")), "few");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(month, 2), "state")),
        "available");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(month, 26), "state")),
        "closed"); /* beyond the 14-day window: no slots */
    json_decref(month);
    assert_int_equal(booking_month(c, rid, to, from, now_unix(), &month),
                     BOOKING_EINVAL);
    /* The staff list of the day. */
    json_t *list = NULL;
    assert_int_equal(booking_list_day(c, rid, d, &list), BOOKING_OK);
    assert_int_equal(json_array_size(list), 13);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "start")),
                        "09:00");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(first, "members"), 0)),
        "fs:0");
    json_decref(list);
    db_release(c);
    check_invariants();
}

static void test_duplicate_member(void **state)
{
    int64_t rid = new_resource("pickup", 30, 5, 14, 0, 4);
    static const int iv[][3] = {{540, 660, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t s1 = slot_at(rid, d, 540), s2 = slot_at(rid, d, 600);
    struct booking b;
    assert_int_equal(book(s1, 0, &b, 1, "notice:100000001"), BOOKING_OK);
    assert_int_equal(book(s2, 0, NULL, 1, "notice:100000001"),
                     BOOKING_EDUPLICATE);
    /* Staff cannot either, and a family including that person fails
    ** whole: no places taken, no rows left behind. */
    int64_t bookings0 = testlib_query_int("SELECT COUNT(*) FROM bookings", "");
    assert_int_equal(book(s2, 1, NULL, 3, "notice:100000002",
                          "notice:100000001", "notice:100000003"),
                     BOOKING_EDUPLICATE);
    assert_int_equal(booked(s2), 0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM bookings", ""),
                     bookings0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_members "
                                       "WHERE member_key = ?",
                                       "s", "notice:100000002"),
                     0);
    /* The references: 8 symbols from the unambiguous alphabet, found in
    ** any case. */
    assert_int_equal(strlen(b.ref), 8);
    assert_int_equal(strspn(b.ref, "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"), 8);
    char lower[16];
    for (int i = 0; i < 9; i++)
        lower[i] = (char)(b.ref[i] >= 'A' && b.ref[i] <= 'Z' ? b.ref[i] + 32
                                                             : b.ref[i]);
    struct booking g;
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_get_by_ref(c, lower, &g), BOOKING_OK);
    assert_int_equal(g.id, b.id);
    assert_int_equal(booking_get_by_ref(c, "ZZZZZZZZ", &g), BOOKING_ENOTFOUND);
    assert_int_equal(booking_get_by_ref(c, "short", &g), BOOKING_ENOTFOUND);
    db_release(c);
    check_invariants();
}

/* ---- move, cancel, mark ----------------------------------------------- */

static void test_move_atomic(void **state)
{
    int64_t rid = new_resource("pickup", 30, 2, 14, 1, 4);
    static const int iv[][3] = {{540, 660, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    int64_t rid2 = new_resource("pickup", 60, 3, 14, 1, 1);
    assert_int_equal(set_daily(rid2, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(4, d);
    int64_t s1 = slot_at(rid, d, 540), s2 = slot_at(rid, d, 570),
            s3 = slot_at(rid, d, 600);
    struct booking b, full;
    assert_int_equal(book(s1, 0, &b, 2, "mv:1", "mv:2"), BOOKING_OK);
    assert_int_equal(book(s3, 0, &full, 2, "mv:3", "mv:4"), BOOKING_OK);

    struct booking m;
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_move(c, &citizen, b.id, s2, 0, &m), BOOKING_OK);
    db_release(c);
    assert_int_equal(m.slot_id, s2);
    assert_int_equal(m.start_min, 570);
    assert_string_equal(m.ref, b.ref);
    assert_int_equal(booked(s1), 0);
    assert_int_equal(booked(s2), 2);

    /* To a full slot, past the deadline, to another resource whose
    ** max_party is 1, to nowhere: refused and nothing moves. */
    c = testlib_conn();
    assert_int_equal(booking_move(c, &citizen, b.id, s3, 0, &m), BOOKING_EFULL);
    assert_int_equal(
        booking_move(c, &citizen, b.id, slot_at(rid, today, 600), 0, &m),
        BOOKING_ECLOSED);
    assert_int_equal(
        booking_move(c, &citizen, b.id, slot_at(rid2, d, 540), 0, &m),
        BOOKING_EINVAL);
    assert_int_equal(booking_move(c, &citizen, b.id, 999999, 0, &m),
                     BOOKING_ENOTFOUND);
    struct booking g;
    assert_int_equal(booking_get(c, b.id, &g), BOOKING_OK);
    db_release(c);
    assert_int_equal(g.slot_id, s2);
    assert_string_equal(g.date, d);
    assert_int_equal(g.start_min, 570);
    assert_int_equal(booked(s2), 2);
    assert_int_equal(booked(s3), 2);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_members "
                                       "WHERE booking_id = ?",
                                       "i", b.id),
                     2);

    /* To another location of the same kind (a party of 1 fits there). */
    struct booking one;
    assert_int_equal(book(s1, 0, &one, 1, "mv:5"), BOOKING_OK);
    c = testlib_conn();
    assert_int_equal(
        booking_move(c, &staff, one.id, slot_at(rid2, d, 600), 0, &m),
        BOOKING_OK);
    assert_int_equal(m.resource_id, rid2);
    /* The same slot again: nothing to do. */
    assert_int_equal(
        booking_move(c, &staff, one.id, slot_at(rid2, d, 600), 0, &m),
        BOOKING_OK);
    json_t *hist = NULL;
    assert_int_equal(booking_history(c, b.id, &hist), BOOKING_OK);
    db_release(c);
    assert_int_equal(json_array_size(hist), 2);
    json_t *h1 = json_array_get(hist, 1);
    assert_string_equal(json_string_value(json_object_get(h1, "action")),
                        "move");
    assert_int_equal(json_integer_value(json_object_get(h1, "from_slot_id")),
                     s1);
    assert_int_equal(json_integer_value(json_object_get(h1, "to_slot_id")), s2);
    json_decref(hist);
    assert_int_equal(audit_count("booking.move", b.id), 1);
    assert_int_equal(audit_count("booking.move", one.id), 1);
    check_invariants();
}

static void test_cancel_frees(void **state)
{
    int64_t rid = new_resource("pickup", 30, 2, 14, 0, 4);
    static const int iv[][3] = {{540, 600, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(6, d);
    int64_t s = slot_at(rid, d, 540);
    struct booking b;
    assert_int_equal(book(s, 0, &b, 2, "cx:1", "cx:2"), BOOKING_OK);
    assert_int_equal(book(s, 0, NULL, 1, "cx:3"), BOOKING_EFULL);
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_cancel(c, &citizen, b.id, 0), BOOKING_OK);
    assert_int_equal(booking_cancel(c, &citizen, b.id, 0), BOOKING_EINVAL);
    assert_int_equal(booking_cancel(c, &citizen, 999999, 0), BOOKING_ENOTFOUND);
    struct booking g;
    assert_int_equal(booking_get(c, b.id, &g), BOOKING_OK);
    assert_string_equal(g.status, "cancelled");
    assert_int_equal(g.nmembers, 2); /* who it was for is kept */
    assert_int_equal(booking_find_active(c, "cx:1", &g), BOOKING_ENOTFOUND);
    /* A cancelled booking cannot be moved or marked. */
    assert_int_equal(booking_move(c, &citizen, b.id, s, 0, NULL),
                     BOOKING_EINVAL);
    assert_int_equal(booking_mark(c, &staff, b.id, "visited"), BOOKING_EINVAL);
    db_release(c);
    assert_int_equal(booked(s), 0);
    /* The places and the person are free again. */
    assert_int_equal(book(s, 0, NULL, 1, "cx:1"), BOOKING_OK);
    assert_int_equal(book(s, 0, NULL, 1, "cx:3"), BOOKING_OK);
    assert_int_equal(audit_count("booking.cancel", b.id), 1);
    check_invariants();
}

static void test_mark(void **state)
{
    int64_t rid = new_resource("pickup", 30, 5, 14, 0, 4);
    static const int iv[][3] = {{540, 600, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    struct booking b;
    assert_int_equal(book(slot_at(rid, d, 540), 0, &b, 2, "mk:1", "mk:2"),
                     BOOKING_OK);
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_mark(c, &staff, b.id, "visited"), BOOKING_ECLOSED);
    assert_int_equal(booking_mark(c, &staff, b.id, "lost"), BOOKING_EINVAL);
    db_release(c);
    /* The day comes (the booking's date moved back by hand). */
    RUN("UPDATE bookings SET date = ? WHERE id = ?", "si", today, b.id);
    c = testlib_conn();
    assert_int_equal(booking_mark(c, &staff, b.id, "visited"), BOOKING_OK);
    struct booking g;
    assert_int_equal(booking_get(c, b.id, &g), BOOKING_OK);
    assert_string_equal(g.status, "visited");
    assert_int_equal(booking_find_active(c, "mk:1", &g), BOOKING_ENOTFOUND);
    db_release(c);
    /* The places stay taken: they were used. */
    assert_int_equal(booked(slot_at(rid, d, 540)), 2);
    assert_int_equal(audit_count("booking.mark", b.id), 1);
}

/* ---- hooks ------------------------------------------------------------ */

static int hook_calls;

static int veto_create(struct db_conn *c, const struct booking *b)
{
    hook_calls++;
    /* The hook's own write is part of the transaction. */
    if (db_run(c, "INSERT INTO hook_log (booking_id, what) VALUES (?, ?)", "is",
               b->id, "create") < 0)
        return BOOKING_EDB;
    return strcmp(b->members[0], "veto:no") == 0 ? BOOKING_ECLOSED : BOOKING_OK;
}

static int veto_move(struct db_conn *c, const struct booking *b)
{
    hook_calls++;
    return b->start_min >= 600 ? -150 : BOOKING_OK; /* a service's code */
}

static int veto_cancel(struct db_conn *c, const struct booking *b)
{
    hook_calls++;
    return strcmp(b->status, "cancelled") == 0 && b->party == 2 ? BOOKING_EINVAL
                                                                : BOOKING_OK;
}

static void test_hooks(void **state)
{
    testlib_exec("CREATE TABLE hook_log (booking_id BIGINT, what TEXT)");
    static const struct booking_hooks hooks = {veto_create, veto_move,
                                               veto_cancel, NULL};
    booking_kind_register("hooktest", &hooks);
    int64_t rid = new_resource("hooktest", 30, 5, 14, 0, 4);
    static const int iv[][3] = {{540, 660, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t s = slot_at(rid, d, 540);
    hook_calls = 0;
    assert_int_equal(book(s, 0, NULL, 1, "veto:no"), BOOKING_ECLOSED);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(booked(s), 0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM hook_log", ""), 0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM bookings WHERE "
                                       "members = 'veto:no'",
                                       ""),
                     0);
    struct booking b, b2;
    assert_int_equal(book(s, 0, &b, 1, "veto:yes"), BOOKING_OK);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM hook_log WHERE "
                                       "booking_id = ?",
                                       "i", b.id),
                     1);
    struct db_conn *c = testlib_conn();
    assert_int_equal(
        booking_move(c, &citizen, b.id, slot_at(rid, d, 600), 0, NULL), -150);
    assert_int_equal(
        booking_move(c, &citizen, b.id, slot_at(rid, d, 570), 0, NULL),
        BOOKING_OK);
    db_release(c);
    assert_int_equal(booked(s), 0);
    assert_int_equal(booked(slot_at(rid, d, 600)), 0);
    assert_int_equal(book(s, 0, &b2, 2, "veto:a", "veto:b"), BOOKING_OK);
    c = testlib_conn();
    assert_int_equal(booking_cancel(c, &citizen, b2.id, 0), BOOKING_EINVAL);
    db_release(c);
    assert_int_equal(booked(s), 2);
    assert_int_equal(audit_count("booking.cancel", b2.id), 0);
    check_invariants();
}

/* Bookings that share a commit (SQLite group commit) stay independent: a
** slow booking holds the commit while others queue up behind it; of the
** next batch, the ones a hook refuses leave nothing behind (not even the
** hook's own write) and the others are all there. */
static int group_create(struct db_conn *c, const struct booking *b)
{
    if (db_run(c, "INSERT INTO group_log (member) VALUES (?)", "s",
               b->members[0]) < 0)
        return BOOKING_EDB;
    if (str_starts(b->members[0], "slow:"))
        usleep(300 * 1000);
    return str_starts(b->members[0], "refuse:") ? BOOKING_ECLOSED : BOOKING_OK;
}

struct grouper {
    struct db *db;
    int64_t slot;
    const char *member;
    int rc;
};

static void *group_booker(void *arg)
{
    struct grouper *g = arg;
    struct booking_request req = {.slot_id = g->slot,
                                  .party = 1,
                                  .members = {g->member},
                                  .channel = "web"};
    struct booking b;
    struct db_conn *c = db_acquire(g->db);
    g->rc = c ? booking_create(c, &citizen, &req, &b) : BOOKING_EDB;
    db_release(c);
    return NULL;
}

static void test_group_isolation(void **state)
{
    testlib_exec("CREATE TABLE group_log (member TEXT NOT NULL)");
    static const struct booking_hooks hooks = {group_create, NULL, NULL, NULL};
    booking_kind_register("grouptest", &hooks);
    int64_t rid = new_resource("grouptest", 30, 10, 14, 0, 4);
    static const int iv[][3] = {{540, 570, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t s = slot_at(rid, d, 540);
    static const char *who[] = {"slow:1",   "g:1", "refuse:1", "g:2",
                                "refuse:2", "g:3", "g:4"};
    enum { N = 7 };
    struct grouper g[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        g[i] = (struct grouper){.slot = s, .member = who[i]};
        char err[256];
        if (db_open(g_app.cfg.db, 1, &g[i].db, err, sizeof err) != 0)
            fail_msg("db_open: %s", err);
    }
    assert_int_equal(pthread_create(&th[0], NULL, group_booker, &g[0]), 0);
    usleep(100 * 1000); /* the slow one leads and holds its commit */
    for (int i = 1; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, group_booker, &g[i]), 0);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        db_close(g[i].db);
        assert_int_equal(g[i].rc, str_starts(who[i], "refuse:")
                                      ? BOOKING_ECLOSED
                                      : BOOKING_OK);
    }
    assert_int_equal(booked(s), 5);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM group_log", ""),
                     5);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM group_log WHERE "
                                       "member LIKE 'refuse:%'",
                                       ""),
                     0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_members "
                                       "WHERE member_key LIKE 'refuse:%'",
                                       ""),
                     0);
    check_invariants();
    char why[128];
    assert_int_equal(audit_verify(g_app.db, why, sizeof why), 0);
}

/* ---- audit ------------------------------------------------------------ */

static void test_audit(void **state)
{
    int64_t rid = new_resource("pickup", 30, 5, 14, 0, 4);
    static const int iv[][3] = {{540, 600, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t s = slot_at(rid, d, 540);
    struct booking b;
    assert_int_equal(book(s, 1, &b, 1, "au:1"), BOOKING_OK);
    assert_int_equal(audit_count("booking.create", b.id), 1);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)b.id);
    char *who = testlib_query_text("SELECT login FROM audit_log WHERE action = "
                                   "'booking.create' AND target_id = ?",
                                   "s", id);
    assert_string_equal(who, "tanaka");
    free(who);
    char *detail = testlib_query_text("SELECT detail FROM audit_log WHERE "
                                      "action = 'booking.create' AND "
                                      "target_id = ?",
                                      "s", id);
    assert_non_null(strstr(detail, b.ref));
    assert_non_null(strstr(detail, "channel=counter"));
    assert_non_null(strstr(detail, "override_deadline=1"));
    free(detail);
    snprintf(id, sizeof id, "%lld", (long long)rid);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM audit_log WHERE "
                                       "action IN ('booking.resource.create', "
                                       "'booking.hours.set') AND "
                                       "target_id = ?",
                                       "s", id),
                     2);

    /* When the audit log cannot be written nothing is booked and an alert
    ** is raised (fail closed). */
    int64_t seq = testlib_query_int("SELECT seq FROM audit_head", "");
    char *hash = testlib_query_text("SELECT hash FROM audit_head", "");
    int64_t alerts0 = testlib_query_int("SELECT COUNT(*) FROM alerts", "");
    testlib_exec("DELETE FROM audit_head");
    assert_int_equal(book(s, 0, NULL, 1, "au:2"), BOOKING_EAUDIT);
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_cancel(c, &citizen, b.id, 0), BOOKING_EAUDIT);
    db_release(c);
    RUN("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)", "is", seq,
        hash);
    free(hash);
    assert_int_equal(booked(s), 1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_members "
                                       "WHERE member_key = 'au:2'",
                                       ""),
                     0);
    assert_true(testlib_query_int("SELECT COUNT(*) FROM alerts", "") >=
                alerts0 + 2);
    c = testlib_conn();
    struct booking g;
    assert_int_equal(booking_get(c, b.id, &g), BOOKING_OK);
    db_release(c);
    assert_string_equal(g.status, "active");
    char why[128];
    assert_int_equal(audit_verify(g_app.db, why, sizeof why), 0);
    check_invariants();
}

/* ---- nested in a caller's transaction ---------------------------------- */

static void test_in_callers_transaction(void **state)
{
    int64_t rid = new_resource("pickup", 30, 5, 14, 0, 4);
    static const int iv[][3] = {{540, 600, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t s = slot_at(rid, d, 540);
    struct booking_request req = {
        .slot_id = s, .party = 1, .members = {"tx:1"}, .channel = "api"};
    struct booking b;
    struct db_conn *c = testlib_conn();
    /* Rolled back by the caller: nothing stays. */
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(booking_create(c, &staff, &req, &b), BOOKING_OK);
    assert_int_equal(db_rollback(c), DB_OK);
    db_release(c);
    assert_int_equal(booked(s), 0);
    c = testlib_conn();
    assert_int_equal(booking_find_active(c, "tx:1", &b), BOOKING_ENOTFOUND);
    /* Committed by the caller: it stays. */
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(booking_create(c, &staff, &req, &b), BOOKING_OK);
    assert_int_equal(db_commit(c), DB_OK);
    db_release(c);
    assert_int_equal(booked(s), 1);
    check_invariants();
}

/* ---- the daily job ---------------------------------------------------- */

static void test_daily_job(void **state)
{
    int64_t rid = new_resource("pickup", 60, 5, 7, 0, 4);
    int64_t closed = new_resource("pickup", 60, 5, 7, 0, 4);
    static const int iv[][3] = {{540, 600, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    assert_int_equal(set_daily(closed, iv, 1), BOOKING_OK);
    struct db_conn *c = testlib_conn();
    struct booking_resource r;
    assert_int_equal(booking_resource_get(c, closed, &r), BOOKING_OK);
    r.open = 0;
    assert_int_equal(booking_resource_save(c, &staff, &r), BOOKING_OK);
    db_release(c);
    RUN("DELETE FROM booking_slots WHERE resource_id IN (?, ?)", "ii", rid,
        closed);
    jobs_clear();
    booking_register();
    /* 00:15 Japan time today. */
    int64_t t = booking_time_of(today, 15);
    assert_int_equal(jobs_tick(&g_app, t), 1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_slots "
                                       "WHERE resource_id = ?",
                                       "i", rid),
                     8);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_slots "
                                       "WHERE resource_id = ?",
                                       "i", closed),
                     0);
    /* Once a day: the second tick runs nothing; before 00:10 not due. */
    assert_int_equal(jobs_tick(&g_app, t + 60), 0);
    char tomorrow[11];
    day_plus(1, tomorrow);
    assert_int_equal(jobs_tick(&g_app, booking_time_of(tomorrow, 5)), 0);
    jobs_clear();
}

/* ---- concurrency (RSV-9) ---------------------------------------------- */

#define THREADS  16
#define ATTEMPTS 200

struct race {
    pthread_barrier_t *start;
    struct db *db; /* a pool of its own: like another server process */
    int64_t slot_ids[4];
    int nslots;
    int same_member; /* every attempt for the same person */
    int *next;       /* shared attempt counter */
    int ok, full, dup, other;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(r->start);
    for (;;) {
        int i = __atomic_fetch_add(r->next, 1, __ATOMIC_SEQ_CST);
        if (i >= ATTEMPTS)
            break;
        char key[32];
        if (r->same_member)
            snprintf(key, sizeof key, "same:1");
        else
            snprintf(key, sizeof key, "race:%d", i);
        struct booking_request req = {0};
        req.slot_id = r->slot_ids[i % r->nslots];
        req.party = 1;
        req.members[0] = key;
        req.channel = "web";
        struct booking b;
        struct db_conn *c = db_acquire(r->db);
        if (!c) {
            r->other++;
            continue;
        }
        int rc = booking_create(c, &citizen, &req, &b);
        db_release(c);
        if (rc == BOOKING_OK)
            r->ok++;
        else if (rc == BOOKING_EFULL)
            r->full++;
        else if (rc == BOOKING_EDUPLICATE)
            r->dup++;
        else
            r->other++;
    }
    return NULL;
}

static void race(const int64_t *slots, int nslots, int same_member,
                 int totals[4])
{
    struct race r[THREADS];
    pthread_t th[THREADS];
    pthread_barrier_t start;
    int next = 0;
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].start = &start;
        r[i].nslots = nslots;
        memcpy(r[i].slot_ids, slots, (size_t)nslots * sizeof *slots);
        r[i].same_member = same_member;
        r[i].next = &next;
        char err[256];
        if (db_open(g_app.cfg.db, 1, &r[i].db, err, sizeof err) != 0)
            fail_msg("db_open: %s", err);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
    memset(totals, 0, 4 * sizeof *totals);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        totals[0] += r[i].ok;
        totals[1] += r[i].full;
        totals[2] += r[i].dup;
        totals[3] += r[i].other;
        db_close(r[i].db);
    }
    pthread_barrier_destroy(&start);
}

static void test_race_one_slot(void **state)
{
    int64_t rid = new_resource("pickup", 30, 5, 14, 0, 4);
    static const int iv[][3] = {{540, 570, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t s = slot_at(rid, d, 540);
    int t[4];
    race(&s, 1, 0, t);
    if (t[0] != 5 || t[1] != ATTEMPTS - 5 || t[3] != 0)
        fail_msg("ok %d full %d dup %d other %d", t[0], t[1], t[2], t[3]);
    assert_int_equal(booked(s), 5);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM bookings WHERE "
                                       "slot_id = ? AND status = 'active'",
                                       "i", s),
                     5);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM booking_members "
                                       "WHERE member_key LIKE 'race:%'",
                                       ""),
                     5);
    check_invariants();
}

static void test_race_same_member(void **state)
{
    int64_t rid = new_resource("pickup", 30, 100, 14, 0, 4);
    static const int iv[][3] = {{540, 660, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    int64_t slots[4] = {slot_at(rid, d, 540), slot_at(rid, d, 570),
                        slot_at(rid, d, 600), slot_at(rid, d, 630)};
    int t[4];
    race(slots, 4, 1, t);
    if (t[0] != 1 || t[2] != ATTEMPTS - 1 || t[3] != 0)
        fail_msg("ok %d full %d dup %d other %d", t[0], t[1], t[2], t[3]);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM bookings WHERE "
                                       "members = 'same:1'",
                                       ""),
                     1);
    assert_int_equal(testlib_query_int("SELECT SUM(booked) FROM booking_slots "
                                       "WHERE resource_id = ?",
                                       "i", rid),
                     1);
    check_invariants();
}

/* Threads create, move and cancel at random among three small slots;
** afterwards every counter matches the bookings and no member row is
** left over. */
struct churn {
    struct db *db;
    int64_t slots[3];
    int id;
    unsigned seed;
};

static void *churner(void *arg)
{
    struct churn *ch = arg;
    int64_t mine[8] = {0};
    for (int i = 0; i < 40; i++) {
        struct db_conn *c = db_acquire(ch->db);
        if (!c)
            continue;
        int k = rand_r(&ch->seed) % 8;
        int64_t slot = ch->slots[rand_r(&ch->seed) % 3];
        if (!mine[k]) {
            char key1[32], key2[32];
            snprintf(key1, sizeof key1, "churn:%d:%d:a", ch->id, k);
            snprintf(key2, sizeof key2, "churn:%d:%d:b", ch->id, k);
            struct booking_request req = {.slot_id = slot,
                                          .party = 1 + rand_r(&ch->seed) % 2,
                                          .members = {key1, key2},
                                          .channel = "web"};
            struct booking b;
            if (booking_create(c, &citizen, &req, &b) == BOOKING_OK)
                mine[k] = b.id;
        } else if (rand_r(&ch->seed) % 2) {
            booking_move(c, &citizen, mine[k], slot, 0, NULL);
        } else if (booking_cancel(c, &citizen, mine[k], 0) == BOOKING_OK) {
            mine[k] = 0;
        }
        db_release(c);
    }
    return NULL;
}

static void test_churn_invariants(void **state)
{
    int64_t rid = new_resource("pickup", 30, 3, 14, 0, 4);
    static const int iv[][3] = {{540, 630, 0}};
    assert_int_equal(set_daily(rid, iv, 1), BOOKING_OK);
    char d[11];
    day_plus(3, d);
    struct churn ch[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        ch[i] = (struct churn){.id = i, .seed = (unsigned)(i * 7919 + 1)};
        ch[i].slots[0] = slot_at(rid, d, 540);
        ch[i].slots[1] = slot_at(rid, d, 570);
        ch[i].slots[2] = slot_at(rid, d, 600);
        char err[256];
        if (db_open(g_app.cfg.db, 1, &ch[i].db, err, sizeof err) != 0)
            fail_msg("db_open: %s", err);
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churner, &ch[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        db_close(ch[i].db);
    }
    check_invariants();
    char why[128];
    assert_int_equal(audit_verify(g_app.db, why, sizeof why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_dates, reset),
        cmocka_unit_test_setup(test_slot_lengths, reset),
        cmocka_unit_test_setup(test_intervals_capacity, reset),
        cmocka_unit_test_setup(test_exceptions, reset),
        cmocka_unit_test_setup(test_schedule_conflicts, reset),
        cmocka_unit_test_setup(test_window_deadline, reset),
        cmocka_unit_test_setup(test_party_sizes, reset),
        cmocka_unit_test_setup(test_full_and_states, reset),
        cmocka_unit_test_setup(test_duplicate_member, reset),
        cmocka_unit_test_setup(test_move_atomic, reset),
        cmocka_unit_test_setup(test_cancel_frees, reset),
        cmocka_unit_test_setup(test_mark, reset),
        cmocka_unit_test_setup(test_hooks, reset),
        cmocka_unit_test_setup(test_group_isolation, reset),
        cmocka_unit_test_setup(test_audit, reset),
        cmocka_unit_test_setup(test_in_callers_transaction, reset),
        cmocka_unit_test_setup(test_daily_job, reset),
        cmocka_unit_test_setup(test_race_one_slot, reset),
        cmocka_unit_test_setup(test_race_same_member, reset),
        cmocka_unit_test_setup(test_churn_invariants, reset),
    };
    const struct testlib_opts opts = {.pool = 4};
    return testlib_run_engines("booking", tests, ARRAY_LEN(tests), &opts,
                               &g_app)
               ? 1
               : 0;
}
