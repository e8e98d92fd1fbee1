/*
** test_pickup.c - the My Number Card pickup backend (src/pickup): the
** citizens' sign-in check (RSV-1: right, wrong, unknown, malformed,
** lockout after five failures and its end, no enumeration in answers nor
** in timing, the per-address throttle), notices (encrypted name, keyed
** password check bound to the number, duplicates), staff status changes
** (RSV-13: allowed and refused transitions, reasons, log rows, audit),
** the booking hooks (RSV-9: a card issued or held cannot be booked or
** moved, booking sets "booked", cancelling sets "mailed", a no-show frees
** the card), the mail queued with each change with its iCalendar
** attachment (RSV-2), and the day-before reminders sent once only.  On
** SQLite, and on PostgreSQL when CITYOS_TEST_PG is set.
*/
#include <jansson.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/http.h"
#include "core/util.h"
#include "pickup/pickup.h"
#include "testlib.h"

static struct app g_app;
static const struct actor staff = {7, "tanaka", "staff_citizen", "127.0.0.1",
                                   "test"};
static char today[11], tomorrow[11], later[11];
static int64_t g_rid;

#define N1 "123456789"
#define N2 "123456790"
#define N3 "987654321012"

/* ---- helpers ---------------------------------------------------------- */

static struct actor citizen_at(const char *ip)
{
    struct actor a = {0, "-", "citizen", ip, "test"};
    return a;
}

static int auth_from(const char *ip, const char *no, const char *mmdd,
                     struct pickup_notice *n)
{
    struct pickup_notice tmp;
    struct actor a = citizen_at(ip);
    struct db_conn *c = testlib_conn();
    int rc = pickup_authenticate(c, &a, no, mmdd, n ? n : &tmp);
    db_release(c);
    return rc;
}

static int auth(const char *no, const char *mmdd)
{
    return auth_from("192.0.2.1", no, mmdd, NULL);
}

static void add_notice(const char *no, const char *birth, const char *kana)
{
    struct db_conn *c = testlib_conn();
    int64_t id = 0;
    int rc = pickup_notice_add(c, g_app.keys, no, birth, kana, 0, &id);
    db_release(c);
    assert_int_equal(rc, PICKUP_OK);
    assert_true(id > 0);
}

static char *status_of(const char *no)
{
    return testlib_query_text("SELECT status FROM notices WHERE notice_no = ?",
                              "s", no);
}

static void expect_status(const char *no, const char *want)
{
    char *s = status_of(no);
    if (strcmp(s, want) != 0)
        fail_msg("notice %s: status %s, want %s", no, s, want);
    free(s);
}

static int set_status(const char *no, const char *status, const char *reason)
{
    struct db_conn *c = testlib_conn();
    int rc = pickup_set_status(c, &staff, no, status, reason);
    db_release(c);
    return rc;
}

static int64_t slot_on(const char *date, int start_min)
{
    return testlib_query_int("SELECT id FROM booking_slots WHERE "
                             "resource_id = ? AND date = ? AND start_min = ?",
                             "isi", g_rid, date, (int64_t)start_min);
}

static int book(int64_t slot, struct booking *out, int n, ...)
{
    struct booking_request req;
    memset(&req, 0, sizeof req);
    char keys[BOOKING_MAX_PARTY][BOOKING_KEY_MAX];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        pickup_member_key(va_arg(ap, const char *), keys[i], sizeof keys[i]);
        req.members[i] = keys[i];
    }
    va_end(ap);
    req.slot_id = slot;
    req.party = n;
    req.channel = "web";
    struct actor a = citizen_at("192.0.2.9");
    struct booking tmp;
    struct db_conn *c = testlib_conn();
    int rc = booking_create(c, &a, &req, out ? out : &tmp);
    db_release(c);
    return rc;
}

static void set_email(const char *no, const char *addr)
{
    struct db_conn *c = testlib_conn();
    int64_t id = 0;
    assert_int_equal(db_query_int(c, &id,
                                  "SELECT id FROM notices WHERE notice_no = ?",
                                  "s", no),
                     DB_ROW);
    assert_int_equal(pickup_notice_set_email(c, g_app.keys, id, addr),
                     PICKUP_OK);
    db_release(c);
}

static int64_t count(const char *sql, const char *types, const char *arg)
{
    return types[0] ? testlib_query_int(sql, types, arg)
                    : testlib_query_int(sql, "");
}

/* ---- fixture ---------------------------------------------------------- */

static int opened(struct app *app)
{
    pickup_hooks_register();
    booking_date_of(now_unix(), today);
    booking_date_add(today, 1, tomorrow);
    booking_date_add(today, 3, later);
    struct booking_resource r;
    memset(&r, 0, sizeof r);
    str_copy(r.kind, "pickup", sizeof r.kind);
    str_copy(r.name, "市役所本庁舎 市民課窓口", sizeof r.name);
    str_copy(r.address, "シティ市中央一丁目1番1号", sizeof r.address);
    r.open = 1;
    r.slot_minutes = 30;
    r.capacity = 3;
    r.window_days = 14;
    r.deadline_days = 0;
    r.max_party = 6;
    struct db_conn *c = db_acquire(app->db);
    int rc = booking_resource_save(c, &staff, &r);
    struct booking_hours h[7];
    for (int wd = 0; wd < 7; wd++)
        h[wd] = (struct booking_hours){wd, 9 * 60, 17 * 60, 0};
    if (rc == BOOKING_OK)
        rc = booking_hours_set(c, &staff, r.id, h, 7, NULL);
    if (rc == BOOKING_OK && booking_slots_sync(c, r.id, today) < 0)
        rc = -1;
    db_release(c);
    g_rid = r.id;
    return rc == BOOKING_OK ? 0 : -1;
}

static int reset(void **state)
{
    testlib_exec("DELETE FROM pickup_reminders");
    testlib_exec("DELETE FROM booking_members");
    testlib_exec("DELETE FROM booking_history");
    testlib_exec("DELETE FROM bookings");
    testlib_exec("UPDATE booking_slots SET booked = 0");
    testlib_exec("DELETE FROM notice_status_log");
    testlib_exec("DELETE FROM notices");
    testlib_exec("DELETE FROM pickup_auth_throttle");
    testlib_exec("DELETE FROM pickup_sessions");
    testlib_exec("DELETE FROM mail_queue");
    add_notice(N1, "1985-03-05", "アオバ　ハルト");
    add_notice(N2, "0229", "アオバ　ユイ");
    add_notice(N3, "2001-12-24", "");
    return 0;
}

/* ---- text helpers ------------------------------------------------------- */

static void test_text(void **state)
{
    char no[PICKUP_NOTICE_MAX], md[5], disp[24];
    assert_int_equal(pickup_notice_no_clean("123-456789", no), 0);
    assert_string_equal(no, N1);
    assert_int_equal(pickup_notice_no_clean(" 123 456 789 ", no), 0);
    assert_string_equal(no, N1);
    /* Full-width digits and a full-width hyphen, as phones type them. */
    assert_int_equal(pickup_notice_no_clean("１２３－４５６７８９", no), 0);
    assert_string_equal(no, N1);
    assert_int_equal(pickup_notice_no_clean("12345678", no), -1);
    assert_int_equal(pickup_notice_no_clean("1234567890123", no), -1);
    assert_int_equal(pickup_notice_no_clean("123-45678x", no), -1);
    assert_int_equal(pickup_notice_no_clean("", no), -1);
    assert_int_equal(pickup_notice_no_clean(NULL, no), -1);
    assert_int_equal(pickup_mmdd_clean("0305", md), 0);
    assert_string_equal(md, "0305");
    assert_int_equal(pickup_mmdd_clean("０２２９", md), 0);
    assert_string_equal(md, "0229");
    assert_int_equal(pickup_mmdd_clean("0230", md), -1);
    assert_int_equal(pickup_mmdd_clean("1301", md), -1);
    assert_int_equal(pickup_mmdd_clean("0001", md), -1);
    assert_int_equal(pickup_mmdd_clean("305", md), -1);
    assert_int_equal(pickup_mmdd_clean("03051", md), -1);
    pickup_notice_no_format(N1, disp, sizeof disp);
    assert_string_equal(disp, "123-456789");
    pickup_member_key(N1, disp, sizeof disp);
    assert_string_equal(disp, "notice:123456789");
    /* The number to call after the deadline: the catalog's, or the
    ** city's own from the setting pickup_contact. */
    assert_non_null(strstr(pickup_contact_text("ja"), "電話"));
    str_copy(the_app->cfg.pickup_contact, "市民課 0598-00-0000",
             sizeof the_app->cfg.pickup_contact);
    assert_string_equal(pickup_contact_text("ja"), "市民課 0598-00-0000");
    the_app->cfg.pickup_contact[0] = 0;
    assert_non_null(strstr(pickup_contact_text("en"), "call"));
}

/* ---- notices ------------------------------------------------------------ */

static void test_notice_stored(void **state)
{
    /* The name is encrypted, the password check keyed and bound to the
    ** number: two notices with the same birthday differ. */
    char *name = testlib_query_text(
        "SELECT name_kana FROM notices WHERE notice_no = ?", "s", N1);
    assert_true(str_starts(name, "enc1:"));
    assert_null(strstr(name, "アオバ"));
    free(name);
    add_notice("555000111", "1985-03-05", "");
    char *a = testlib_query_text(
        "SELECT birth_check FROM notices WHERE notice_no = ?", "s", N1);
    char *b = testlib_query_text(
        "SELECT birth_check FROM notices WHERE notice_no = ?", "s",
        "555000111");
    assert_int_equal(strlen(a), 64);
    assert_string_not_equal(a, b);
    char want[65];
    pickup_birth_check(g_app.keys, N1, "0305", want);
    assert_string_equal(a, want);
    free(a);
    free(b);
    char idx[65];
    pickup_name_index(g_app.keys, "アオバ　ハルト", idx);
    assert_int_equal(
        count("SELECT COUNT(*) FROM notices WHERE name_index = ?", "s", idx),
        1);

    struct pickup_notice n;
    struct db_conn *c = testlib_conn();
    assert_int_equal(pickup_notice_get(c, N1, &n), PICKUP_OK);
    assert_string_equal(n.name_kana, "アオバ　ハルト");
    assert_string_equal(n.status, "mailed");
    assert_int_equal(n.booking_id, 0);
    assert_int_equal(pickup_notice_get(c, "111111111", &n), PICKUP_ENOTFOUND);
    /* Duplicates and bad input change nothing. */
    assert_int_equal(pickup_notice_add(c, g_app.keys, N1, "0101", "", 0, NULL),
                     PICKUP_EEXISTS);
    assert_int_equal(
        pickup_notice_add(c, g_app.keys, "12345", "0101", "", 0, NULL),
        PICKUP_EINVAL);
    assert_int_equal(pickup_notice_add(c, g_app.keys, "222333444", "1985-02-30",
                                       "", 0, NULL),
                     PICKUP_EINVAL);
    /* Inside a transaction on PostgreSQL a duplicate must not spoil it. */
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(pickup_notice_add(c, g_app.keys, N1, "0101", "", 0, NULL),
                     PICKUP_EEXISTS);
    assert_int_equal(
        pickup_notice_add(c, g_app.keys, "222333444", "0101", "", 0, NULL),
        PICKUP_OK);
    assert_int_equal(db_commit(c), DB_OK);
    db_release(c);
    assert_int_equal(count("SELECT COUNT(*) FROM notices", "", NULL), 5);
}

/* ---- sign-in ------------------------------------------------------------ */

static void test_auth_right(void **state)
{
    struct pickup_notice n;
    assert_int_equal(auth_from("192.0.2.1", "123-456789", "0305", &n),
                     PICKUP_OK);
    assert_string_equal(n.notice_no, N1);
    assert_int_equal(
        auth_from("192.0.2.1", "１２３４５６７９０", "０２２９", &n),
        PICKUP_OK);
    assert_string_equal(n.notice_no, N2);
    assert_int_equal(auth(N3, "1224"), PICKUP_OK);
    assert_true(count("SELECT COUNT(*) FROM audit_log WHERE action = "
                      "'pickup.login' AND target_id = ? AND result = 'ok'",
                      "s", N1) >= 1);
}

static void test_auth_wrong(void **state)
{
    assert_int_equal(auth(N1, "0306"), PICKUP_EAUTH);
    assert_int_equal(auth(N1, "0503"), PICKUP_EAUTH);
    /* Another notice's password is no use. */
    assert_int_equal(auth(N1, "1224"), PICKUP_EAUTH);
    assert_int_equal(auth("111222333", "0305"), PICKUP_EAUTH);
    assert_int_equal(auth("12", "0305"), PICKUP_EAUTH);
    assert_int_equal(auth(N1, "13xx"), PICKUP_EAUTH);
    assert_int_equal(count("SELECT failed_count FROM notices WHERE "
                           "notice_no = ?",
                           "s", N1),
                     4);
    assert_true(count("SELECT COUNT(*) FROM audit_log WHERE action = "
                      "'pickup.login' AND target_id = ? AND result = "
                      "'failed'",
                      "s", N1) >= 4);
    /* A success clears the count. */
    assert_int_equal(auth(N1, "0305"), PICKUP_OK);
    assert_int_equal(count("SELECT failed_count FROM notices WHERE "
                           "notice_no = ?",
                           "s", N1),
                     0);
}

static void test_lockout(void **state)
{
    for (int i = 0; i < PICKUP_LOCK_AFTER - 1; i++)
        assert_int_equal(auth(N1, "0101"), PICKUP_EAUTH);
    assert_int_equal(auth(N1, "0101"), PICKUP_ELOCKED);
    /* Locked: even the right password is refused, and not counted. */
    assert_int_equal(auth(N1, "0305"), PICKUP_ELOCKED);
    assert_int_equal(auth(N1, "0101"), PICKUP_ELOCKED);
    int64_t until = count("SELECT locked_until FROM notices WHERE "
                          "notice_no = ?",
                          "s", N1);
    assert_true(until > now_unix() + PICKUP_LOCK_SECONDS - 60);
    assert_true(until <= now_unix() + PICKUP_LOCK_SECONDS);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'pickup.lockout' AND target_id = ?",
                           "s", N1),
                     1);
    /* Other notices are not affected. */
    assert_int_equal(auth(N2, "0229"), PICKUP_OK);
    /* Fifteen minutes later the notice opens again. */
    struct db_conn *c = testlib_conn();
    assert_int_equal(db_run(c,
                            "UPDATE notices SET locked_until = ? WHERE "
                            "notice_no = ?",
                            "is", now_unix() - 1, N1),
                     1);
    /* Staff can also unlock at once. */
    assert_int_equal(pickup_notice_unlock(c, &staff, N2), PICKUP_OK);
    assert_int_equal(pickup_notice_unlock(c, &staff, "111111111"),
                     PICKUP_ENOTFOUND);
    db_release(c);
    assert_int_equal(auth(N1, "0305"), PICKUP_OK);
}

/* An unknown number answers, step by step, exactly like a known one with
** wrong passwords, so the answers never tell whether a number exists. */
static void test_no_enumeration(void **state)
{
    const char *unknown = "444555666";
    for (int i = 0; i < PICKUP_LOCK_AFTER + 2; i++) {
        int known = auth(N3, "0101");
        int unk = auth(unknown, "0101");
        assert_int_equal(known, unk);
        assert_int_equal(known, i < PICKUP_LOCK_AFTER - 1 ? PICKUP_EAUTH
                                                          : PICKUP_ELOCKED);
    }
    /* The unknown number's throttle row does not hold the number. */
    assert_int_equal(count("SELECT COUNT(*) FROM pickup_auth_throttle WHERE "
                           "throttle_key LIKE ?",
                           "s", "%444555666%"),
                     0);
}

/* The time of an answer does not tell either: the same work on both
** paths.  Generous bounds: only a gross difference (a missing hash or a
** missing write) fails. */
static void test_no_enumeration_timing(void **state)
{
    enum { ROUNDS = 3, EACH = 8 };
    char no[40];
    for (int i = 0; i < EACH; i++) {
        snprintf(no, sizeof no, "7000000%02d", i);
        add_notice(no, "0101", "");
    }
    int64_t best_known = INT64_MAX, best_unknown = INT64_MAX;
    for (int r = 0; r < ROUNDS; r++) {
        int64_t t0 = now_mono_ms();
        for (int i = 0; i < EACH; i++) {
            snprintf(no, sizeof no, "7000000%02d", i);
            assert_int_equal(auth_from("198.51.100.1", no, "0202", NULL),
                             PICKUP_EAUTH);
        }
        int64_t t1 = now_mono_ms();
        for (int i = 0; i < EACH; i++) {
            snprintf(no, sizeof no, "8000%01d000%02d", r, i);
            assert_int_equal(auth_from("198.51.100.2", no, "0202", NULL),
                             PICKUP_EAUTH);
        }
        int64_t t2 = now_mono_ms();
        if (t1 - t0 < best_known)
            best_known = t1 - t0;
        if (t2 - t1 < best_unknown)
            best_unknown = t2 - t1;
    }
    if (best_known > 4 * best_unknown + 20 ||
        best_unknown > 4 * best_known + 20)
        fail_msg("known %lld ms, unknown %lld ms", (long long)best_known,
                 (long long)best_unknown);
}

static void test_ip_throttle(void **state)
{
    int saved = g_app.cfg.ip_fail_limit;
    g_app.cfg.ip_fail_limit = 3;
    assert_int_equal(auth_from("203.0.113.5", "900000001", "0101", NULL),
                     PICKUP_EAUTH);
    assert_int_equal(auth_from("203.0.113.5", "900000002", "0101", NULL),
                     PICKUP_EAUTH);
    assert_int_equal(auth_from("203.0.113.5", "900000003", "0101", NULL),
                     PICKUP_EAUTH);
    /* The address is throttled: even a right answer is refused. */
    assert_int_equal(auth_from("203.0.113.5", N1, "0305", NULL),
                     PICKUP_ETHROTTLED);
    /* Another address is not. */
    assert_int_equal(auth_from("203.0.113.6", N1, "0305", NULL), PICKUP_OK);
    g_app.cfg.ip_fail_limit = saved;
}

/* ---- statuses ------------------------------------------------------------ */

static void test_status_rules(void **state)
{
    assert_true(pickup_status_change_ok("mailed", "issued"));
    assert_true(pickup_status_change_ok("booked", "visited"));
    assert_true(pickup_status_change_ok("visited", "issued"));
    assert_true(pickup_status_change_ok("returned", "mailed"));
    assert_true(pickup_status_change_ok("held", "mailed"));
    assert_false(pickup_status_change_ok("mailed", "booked"));
    assert_false(pickup_status_change_ok("booked", "mailed"));
    assert_false(pickup_status_change_ok("issued", "mailed"));
    assert_false(pickup_status_change_ok("discarded", "mailed"));
    assert_false(pickup_status_change_ok("mailed", "mailed"));
    assert_false(pickup_status_change_ok("mailed", "nonsense"));
    assert_true(pickup_status_needs_reason("held"));
    assert_true(pickup_status_needs_reason("returned"));
    assert_true(pickup_status_needs_reason("discarded"));
    assert_false(pickup_status_needs_reason("issued"));
    for (int i = 0; PICKUP_STATUSES[i]; i++)
        assert_true(pickup_status_valid(PICKUP_STATUSES[i]));
    assert_false(pickup_status_valid("lost"));
    assert_string_equal(pickup_status_key("issued"), "pickup.status.issued");
}

static void test_status_changes(void **state)
{
    assert_int_equal(set_status(N1, "held", NULL), PICKUP_EINVAL);
    assert_int_equal(set_status(N1, "held", "   "), PICKUP_EINVAL);
    assert_int_equal(set_status(N1, "lost", "x"), PICKUP_EINVAL);
    assert_int_equal(set_status("111111111", "issued", NULL), PICKUP_ENOTFOUND);
    assert_int_equal(set_status(N1, "booked", NULL), PICKUP_ESTATUS);
    expect_status(N1, "mailed");
    assert_int_equal(count("SELECT COUNT(*) FROM notice_status_log", "", NULL),
                     0);

    assert_int_equal(set_status(N1, "held", "本人確認書類の確認待ち"),
                     PICKUP_OK);
    expect_status(N1, "held");
    assert_int_equal(set_status(N1, "issued", NULL), PICKUP_OK);
    expect_status(N1, "issued");
    /* Final. */
    assert_int_equal(set_status(N1, "mailed", "誤り"), PICKUP_ESTATUS);
    expect_status(N1, "issued");
    char *log = testlib_query_text(
        "SELECT from_status || '>' || to_status || ':' || reason || ':' || "
        "login FROM notice_status_log ORDER BY id LIMIT 1",
        "");
    assert_string_equal(log, "mailed>held:本人確認書類の確認待ち:tanaka");
    free(log);
    assert_int_equal(count("SELECT COUNT(*) FROM notice_status_log", "", NULL),
                     2);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'pickup.status' AND target_id = ?",
                           "s", N1),
                     2);
    char *detail = testlib_query_text(
        "SELECT detail FROM audit_log WHERE action = 'pickup.status' AND "
        "target_id = ? ORDER BY id DESC LIMIT 1",
        "s", N1);
    assert_non_null(strstr(detail, "held->issued"));
    free(detail);

    /* In the caller's transaction: rolled back with it. */
    struct db_conn *c = testlib_conn();
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(pickup_set_status(c, &staff, N2, "returned", "宛先不明"),
                     PICKUP_OK);
    assert_int_equal(db_rollback(c), DB_OK);
    db_release(c);
    expect_status(N2, "mailed");
}

/* ---- booking hooks --------------------------------------------------------
 */

static void test_hooks_book_and_cancel(void **state)
{
    int64_t slot = slot_on(later, 10 * 60);
    struct booking b;
    assert_int_equal(book(slot, &b, 2, N1, N2), BOOKING_OK);
    expect_status(N1, "booked");
    expect_status(N2, "booked");
    struct pickup_notice n;
    struct db_conn *c = testlib_conn();
    assert_int_equal(pickup_notice_get(c, N1, &n), PICKUP_OK);
    assert_int_equal(n.booking_id, b.id);
    db_release(c);
    /* The same person twice: the engine's key refuses it. */
    assert_int_equal(book(slot_on(later, 11 * 60), NULL, 1, N1),
                     BOOKING_EDUPLICATE);
    /* Staff cannot set "mailed" by hand from "booked". */
    assert_int_equal(set_status(N1, "mailed", "x"), PICKUP_ESTATUS);

    c = testlib_conn();
    struct actor a = citizen_at("192.0.2.9");
    assert_int_equal(booking_cancel(c, &a, b.id, 0), BOOKING_OK);
    db_release(c);
    expect_status(N1, "mailed");
    expect_status(N2, "mailed");
    assert_int_equal(count("SELECT COUNT(*) FROM notice_status_log WHERE "
                           "login = ?",
                           "s", "booking"),
                     4);
    /* Booked again after cancelling. */
    assert_int_equal(book(slot, NULL, 1, N1), BOOKING_OK);
}

static void test_hooks_refuse_issued(void **state)
{
    int64_t slot = slot_on(later, 10 * 60);
    assert_int_equal(set_status(N1, "issued", NULL), PICKUP_OK);
    assert_int_equal(book(slot, NULL, 1, N1), PICKUP_EREFUSED);
    /* Nothing half done: no booking, no place taken, no key held, the
    ** family member's status untouched. */
    assert_int_equal(book(slot, NULL, 2, N2, N1), PICKUP_EREFUSED);
    expect_status(N2, "mailed");
    assert_int_equal(count("SELECT COUNT(*) FROM bookings", "", NULL), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM booking_members", "", NULL),
                     0);
    assert_int_equal(
        testlib_query_int("SELECT booked FROM booking_slots WHERE id = ?", "i",
                          slot),
        0);
    /* Held and discarded cards too; an unknown notice as well. */
    assert_int_equal(set_status(N2, "held", "住所確認中"), PICKUP_OK);
    assert_int_equal(book(slot, NULL, 1, N2), PICKUP_EREFUSED);
    assert_int_equal(book(slot, NULL, 1, "999999999"), PICKUP_EREFUSED);
    assert_string_equal(pickup_booking_error_key(PICKUP_EREFUSED),
                        "pickup.err.refused");
    assert_string_equal(pickup_booking_error_key(BOOKING_EFULL),
                        "pickup.err.full");
}

static void test_hooks_move_after_issue(void **state)
{
    struct booking b, moved;
    assert_int_equal(book(slot_on(later, 10 * 60), &b, 1, N1), BOOKING_OK);
    struct db_conn *c = testlib_conn();
    struct actor a = citizen_at("192.0.2.9");
    /* A move keeps the card booked. */
    assert_int_equal(
        booking_move(c, &a, b.id, slot_on(later, 11 * 60), 0, &moved),
        BOOKING_OK);
    db_release(c);
    expect_status(N1, "booked");
    /* Handed over at another counter meanwhile: no more moves. */
    assert_int_equal(set_status(N1, "issued", NULL), PICKUP_OK);
    c = testlib_conn();
    assert_int_equal(
        booking_move(c, &a, b.id, slot_on(later, 12 * 60), 0, &moved),
        PICKUP_EREFUSED);
    assert_int_equal(booking_get(c, b.id, &moved), BOOKING_OK);
    assert_int_equal(moved.start_min, 11 * 60);
    /* Cancelling leaves an issued card issued. */
    assert_int_equal(booking_cancel(c, &staff, b.id, 1), BOOKING_OK);
    db_release(c);
    expect_status(N1, "issued");
}

static void test_hooks_mark(void **state)
{
    /* Marks need the slot's day: a booking today. */
    struct booking b1, b2;
    int64_t slot = slot_on(today, 16 * 60 + 30);
    /* Late in the day the slot may be past; make one that is not. */
    testlib_exec("UPDATE booking_slots SET booked = 0");
    struct db_conn *c = testlib_conn();
    struct booking_request req;
    memset(&req, 0, sizeof req);
    char k1[BOOKING_KEY_MAX], k2[BOOKING_KEY_MAX];
    pickup_member_key(N1, k1, sizeof k1);
    pickup_member_key(N2, k2, sizeof k2);
    req.slot_id = slot;
    req.party = 1;
    req.members[0] = k1;
    req.channel = "counter";
    req.override_deadline = 1;
    int rc = booking_create(c, &staff, &req, &b1);
    if (rc == BOOKING_ECLOSED) {
        db_release(c);
        skip(); /* the last slot of today has passed */
    }
    assert_int_equal(rc, BOOKING_OK);
    req.members[0] = k2;
    assert_int_equal(booking_create(c, &staff, &req, &b2), BOOKING_OK);
    assert_int_equal(booking_mark(c, &staff, b1.id, "visited"), BOOKING_OK);
    assert_int_equal(booking_mark(c, &staff, b2.id, "noshow"), BOOKING_OK);
    db_release(c);
    expect_status(N1, "visited");
    expect_status(N2, "mailed");
    (void)b2;
}

/* ---- mail ---------------------------------------------------------------- */

/* The decoded body of the MIME part with this content type, or NULL. */
static char *mime_part(const char *msg, const char *type)
{
    const char *h = strstr(msg, type);
    if (!h)
        return NULL;
    const char *body = strstr(h, "\r\n\r\n");
    if (!body)
        return NULL;
    body += 4;
    const char *end = strstr(body, "\r\n--");
    size_t n = end ? (size_t)(end - body) : strlen(body);
    unsigned char *out = xmalloc(n + 1);
    size_t len = 0;
    if (sodium_base642bin(out, n, body, n, "\r\n", &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(out);
        return NULL;
    }
    out[len] = 0;
    return (char *)out;
}

/* The n-th queued message (oldest first), decrypted. */
static char *queued(int n, char **subject)
{
    char *body = testlib_query_text(
        "SELECT body FROM mail_queue ORDER BY id LIMIT 1 OFFSET ?", "i",
        (int64_t)n);
    char *plain = field_decrypt(g_app.keys, "mail_queue.body", body);
    free(body);
    if (subject) {
        char *s = testlib_query_text(
            "SELECT subject FROM mail_queue ORDER BY id LIMIT 1 OFFSET ?", "i",
            (int64_t)n);
        *subject = field_decrypt(g_app.keys, "mail_queue.subject", s);
        free(s);
    }
    assert_non_null(plain);
    return plain;
}

static void test_mail_with_changes(void **state)
{
    set_email(N1, "taro@example.jp");
    set_email(N2, "Taro@Example.jp"); /* the same address: one mail */
    struct booking b, moved;
    assert_int_equal(book(slot_on(later, 10 * 60), &b, 2, N1, N2), BOOKING_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM mail_queue", "", NULL), 1);
    char *subject = NULL;
    char *msg = queued(0, &subject);
    assert_non_null(strstr(subject, "受取予約を受け付けました"));
    assert_non_null(strstr(subject, b.ref));
    char *text = mime_part(msg, "Content-Type: text/plain");
    assert_non_null(text);
    assert_non_null(strstr(text, b.ref));
    assert_non_null(strstr(text, "令和"));
    assert_non_null(strstr(text, "市役所本庁舎 市民課窓口"));
    assert_non_null(strstr(text, "シティ市中央一丁目1番1号"));
    assert_non_null(strstr(text, "10:00～10:30"));
    assert_non_null(strstr(text, "交付通知書（はがき）"));
    assert_non_null(strstr(text, "本人確認書類"));
    assert_non_null(strstr(text, "住民基本台帳カード"));
    /* Only the last four digits of the notice numbers. */
    assert_null(strstr(text, N1));
    assert_non_null(strstr(text, "6789"));
    char *ics = mime_part(msg, "Content-Type: text/calendar");
    assert_non_null(ics);
    assert_non_null(strstr(ics, "METHOD:REQUEST\r\n"));
    char uid[64];
    snprintf(uid, sizeof uid, "UID:%s@cityos\r\n", b.ref);
    assert_non_null(strstr(ics, uid));
    char start[64];
    snprintf(start, sizeof start, "DTSTART;TZID=Asia/Tokyo:%.4s%.2s%.2sT100000",
             later, later + 5, later + 8);
    assert_non_null(strstr(ics, start));
    assert_non_null(strstr(ics, "BEGIN:VTIMEZONE"));
    free(text);
    free(ics);
    free(msg);
    free(subject);

    struct db_conn *c = testlib_conn();
    struct actor a = citizen_at("192.0.2.9");
    assert_int_equal(
        booking_move(c, &a, b.id, slot_on(later, 14 * 60), 0, &moved),
        BOOKING_OK);
    assert_int_equal(booking_cancel(c, &a, b.id, 0), BOOKING_OK);
    db_release(c);
    assert_int_equal(count("SELECT COUNT(*) FROM mail_queue", "", NULL), 3);
    msg = queued(1, &subject);
    assert_non_null(strstr(subject, "変更しました"));
    text = mime_part(msg, "Content-Type: text/plain");
    assert_non_null(strstr(text, "14:00～14:30"));
    free(text);
    free(msg);
    free(subject);
    msg = queued(2, &subject);
    assert_non_null(strstr(subject, "取り消しました"));
    ics = mime_part(msg, "Content-Type: text/calendar");
    assert_non_null(strstr(ics, "METHOD:CANCEL\r\n"));
    assert_non_null(strstr(ics, "STATUS:CANCELLED\r\n"));
    assert_non_null(strstr(ics, uid));
    free(ics);
    free(msg);
    free(subject);
    /* Without an address nothing is queued. */
    assert_int_equal(book(slot_on(later, 10 * 60), NULL, 1, N3), BOOKING_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM mail_queue", "", NULL), 3);
}

static void test_email_rules(void **state)
{
    struct db_conn *c = testlib_conn();
    int64_t id = 0;
    db_query_int(c, &id, "SELECT id FROM notices WHERE notice_no = ?", "s", N1);
    assert_int_equal(pickup_notice_set_email(c, g_app.keys, id, "not-an-addr"),
                     PICKUP_EINVAL);
    assert_int_equal(
        pickup_notice_set_email(c, g_app.keys, id, "a@b.jp\r\nBcc: x@y"),
        PICKUP_EINVAL);
    assert_int_equal(pickup_notice_set_email(c, g_app.keys, 999999, "a@b.jp"),
                     PICKUP_ENOTFOUND);
    assert_int_equal(pickup_notice_set_email(c, g_app.keys, id, "a@b.jp"),
                     PICKUP_OK);
    db_release(c);
    char *stored =
        testlib_query_text("SELECT email FROM notices WHERE id = ?", "i", id);
    assert_true(str_starts(stored, "enc1:"));
    free(stored);
    c = testlib_conn();
    assert_int_equal(pickup_notice_set_email(c, g_app.keys, id, ""), PICKUP_OK);
    db_release(c);
    assert_int_equal(
        count("SELECT COUNT(*) FROM notices WHERE email IS NULL", "", NULL), 3);
}

/* ---- reminders ------------------------------------------------------------
 */

static void test_reminders_once(void **state)
{
    set_email(N1, "taro@example.jp");
    set_email(N3, "hanako@example.jp");
    struct booking b1, b2, b3;
    assert_int_equal(book(slot_on(tomorrow, 9 * 60), &b1, 1, N1), BOOKING_OK);
    assert_int_equal(book(slot_on(tomorrow, 9 * 60), &b2, 1, N2),
                     BOOKING_OK); /* no address */
    assert_int_equal(book(slot_on(later, 9 * 60), &b3, 1, N3),
                     BOOKING_OK); /* not tomorrow */
    int64_t queued0 = count("SELECT COUNT(*) FROM mail_queue", "", NULL);
    assert_int_equal(queued0, 2);
    assert_int_equal(pickup_reminders_run(&g_app, now_unix()), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM mail_queue", "", NULL), 3);
    char *subject = NULL;
    char *msg = queued(2, &subject);
    assert_non_null(strstr(subject, "明日は受取の予約日です"));
    assert_non_null(strstr(subject, b1.ref));
    free(msg);
    free(subject);
    /* A second run (or a second server) sends nothing more. */
    assert_int_equal(pickup_reminders_run(&g_app, now_unix()), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM mail_queue", "", NULL), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM pickup_reminders", "", NULL),
                     1);
    /* An address given later is still reminded by a later run. */
    set_email(N2, "jiro@example.jp");
    assert_int_equal(pickup_reminders_run(&g_app, now_unix()), 1);
    assert_int_equal(pickup_reminders_run(&g_app, now_unix()), 0);
    /* Cancelled bookings are not reminded. */
    struct db_conn *c = testlib_conn();
    assert_int_equal(booking_cancel(c, &staff, b3.id, 0), BOOKING_OK);
    db_release(c);
    int64_t two_days_before = now_unix() - 2 * 86400;
    assert_int_equal(pickup_reminders_run(&g_app, two_days_before), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_text, reset),
        cmocka_unit_test_setup(test_notice_stored, reset),
        cmocka_unit_test_setup(test_auth_right, reset),
        cmocka_unit_test_setup(test_auth_wrong, reset),
        cmocka_unit_test_setup(test_lockout, reset),
        cmocka_unit_test_setup(test_no_enumeration, reset),
        cmocka_unit_test_setup(test_no_enumeration_timing, reset),
        cmocka_unit_test_setup(test_ip_throttle, reset),
        cmocka_unit_test_setup(test_status_rules, reset),
        cmocka_unit_test_setup(test_status_changes, reset),
        cmocka_unit_test_setup(test_hooks_book_and_cancel, reset),
        cmocka_unit_test_setup(test_hooks_refuse_issued, reset),
        cmocka_unit_test_setup(test_hooks_move_after_issue, reset),
        cmocka_unit_test_setup(test_hooks_mark, reset),
        cmocka_unit_test_setup(test_mail_with_changes, reset),
        cmocka_unit_test_setup(test_email_rules, reset),
        cmocka_unit_test_setup(test_reminders_once, reset),
    };
    const struct testlib_opts opts = {.pool = 4, .opened = opened};
    return testlib_run_engines("pickup", tests, ARRAY_LEN(tests), &opts, &g_app)
               ? 1
               : 0;
}
