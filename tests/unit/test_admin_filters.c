/*
** test_admin_filters.c - the input handling of the administration pages
** (SEC-8, WIN-3, SEC-2): dates typed in Japan time turned into the unix
** seconds the audit search uses, the audit filter (bounds, errors, the
** inclusive end day, the paging anchor), its query string, bounded and
** trimmed text fields, catalog messages with placeholders, pagination
** links, and the permission catalog of the role editor.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin/admin.h"
#include "core/kv.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "core/util.h"

static void kv_set(struct kvlist *l, const char *k, const char *v)
{
    kv_add(l, k, strlen(k), v, strlen(v));
}

/* ---- dates in Japan time ------------------------------------------------ */

static void expect_date(const char *s, int64_t want)
{
    int64_t got = -1;
    if (admin_date_jst(s, &got) != 0)
        fail_msg("%s refused", s);
    if (got != want)
        fail_msg("%s: got %lld want %lld", s, (long long)got, (long long)want);
}

static void expect_bad_date(const char *s)
{
    int64_t got = 12345;
    if (admin_date_jst(s, &got) == 0)
        fail_msg("%s accepted as %lld", s, (long long)got);
    assert_int_equal(got, 12345); /* untouched */
}

static void test_date_jst(void **state)
{
    /* Midnight in Japan is 15:00 UTC the day before. */
    expect_date("2026-11-22", 1795273200);
    expect_date("2026/11/22", 1795273200); /* typed with slashes */
    expect_date("2026-11-23", 1795273200 + 86400);
    expect_date("2024-02-29", 1709132400); /* leap year */
    expect_date("2000-01-01", 946652400);
    expect_date("2199-12-31", 7257999600);
    expect_date("2026-12-31", 1798642800);

    expect_bad_date("2026-02-29"); /* not a leap year */
    expect_bad_date("2100-02-29"); /* century, not leap */
    expect_bad_date("2026-04-31");
    expect_bad_date("2026-13-01");
    expect_bad_date("2026-00-10");
    expect_bad_date("2026-01-00");
    expect_bad_date("2026-1-01");
    expect_bad_date("2026-11/22"); /* mixed separators */
    expect_bad_date("2026.11.22");
    expect_bad_date("1999-12-31");
    expect_bad_date("2200-01-01");
    expect_bad_date("2026-11-22x");
    expect_bad_date("２０２６-11-22"); /* full-width digits */
    expect_bad_date("abcd-ef-gh");
    expect_bad_date("");
    expect_bad_date(NULL);
}

/* ---- the audit filter --------------------------------------------------- */

static void test_filter_dates(void **state)
{
    struct kvlist p;
    kv_init(&p);
    kv_set(&p, "from", "2026-11-01");
    kv_set(&p, "to", "2026-11-22");
    struct audit_filter f;
    assert_int_equal(audit_filter_parse(&p, &f), 0);
    assert_int_equal(f.nerr, 0);
    int64_t nov1 = 0;
    assert_int_equal(admin_date_jst("2026-11-01", &nov1), 0);
    assert_int_equal(f.q.from, nov1);
    /* "to" is inclusive: everything before midnight after the 22nd. */
    assert_int_equal(f.q.to, 1795273200 + 86400);
    assert_null(f.q.login);
    assert_null(f.q.action);
    assert_null(f.q.target);
    assert_null(f.q.result);
    assert_int_equal(f.page, 1);
    assert_int_equal(f.q.offset, 0);
    assert_true(f.q.limit > 0);
    kv_free(&p);

    /* One day: from and to the same date. */
    kv_init(&p);
    kv_set(&p, "from", "2026-11-22");
    kv_set(&p, "to", "2026-11-22");
    assert_int_equal(audit_filter_parse(&p, &f), 0);
    assert_int_equal(f.q.to - f.q.from, 86400);
    kv_free(&p);

    /* Open ends. */
    kv_init(&p);
    assert_int_equal(audit_filter_parse(&p, &f), 0);
    assert_int_equal(f.q.from, 0);
    assert_int_equal(f.q.to, 0);
    kv_free(&p);
}

static int has_error(const struct audit_filter *f, const char *field,
                     const char *key)
{
    for (int i = 0; i < f->nerr; i++)
        if (strcmp(f->err[i].field, field) == 0 &&
            strcmp(f->err[i].key, key) == 0)
            return 1;
    return 0;
}

static void test_filter_errors(void **state)
{
    struct kvlist p;
    kv_init(&p);
    kv_set(&p, "from", "2026-11-22");
    kv_set(&p, "to", "2026-11-21"); /* before from */
    char longlogin[80];
    memset(longlogin, 'a', 65);
    longlogin[65] = 0;
    kv_set(&p, "login", longlogin);
    kv_set(&p, "result", "OK;DROP");
    struct audit_filter f;
    assert_int_equal(audit_filter_parse(&p, &f), -1);
    assert_true(has_error(&f, "to", "admin.err.date_range"));
    assert_true(has_error(&f, "login", "admin.err.too_long64"));
    assert_true(has_error(&f, "result", "admin.err.result"));
    assert_int_equal(f.nerr, 3);
    /* The form can be shown again with what was typed. */
    assert_string_equal(f.from, "2026-11-22");
    assert_string_equal(f.to, "2026-11-21");
    kv_free(&p);

    kv_init(&p);
    kv_set(&p, "from", "2026-02-30");
    kv_set(&p, "to", "tomorrow");
    char longtarget[200];
    memset(longtarget, 'x', 130);
    longtarget[130] = 0;
    kv_set(&p, "target", longtarget);
    assert_int_equal(audit_filter_parse(&p, &f), -1);
    assert_true(has_error(&f, "from", "admin.err.date"));
    assert_true(has_error(&f, "to", "admin.err.date"));
    assert_true(has_error(&f, "target", "admin.err.too_long129"));
    assert_int_equal(f.q.from, 0); /* a bad date never filters */
    kv_free(&p);

    /* 64 characters of Japanese is within the bound (characters, not
    ** bytes); 65 is not. */
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 64; i++)
        buf_puts(&b, "あ");
    kv_init(&p);
    kv_set(&p, "action", b.data);
    assert_int_equal(audit_filter_parse(&p, &f), 0);
    assert_string_equal(f.q.action, b.data);
    kv_free(&p);
    buf_puts(&b, "あ");
    kv_init(&p);
    kv_set(&p, "action", b.data);
    assert_int_equal(audit_filter_parse(&p, &f), -1);
    assert_true(has_error(&f, "action", "admin.err.too_long64"));
    kv_free(&p);
    buf_free(&b);
}

static void test_filter_fields_and_paging(void **state)
{
    struct kvlist p;
    kv_init(&p);
    kv_set(&p, "login", "　tanaka "); /* ideographic and ASCII spaces */
    kv_set(&p, "action", "user.");
    kv_set(&p, "target", "user:12");
    kv_set(&p, "result", "denied");
    kv_set(&p, "page", "3");
    kv_set(&p, "to", "2026-11-22");
    kv_set(&p, "asof", "1795273300"); /* earlier than the end of "to" */
    kv_set(&p, "n", "120");
    struct audit_filter f;
    assert_int_equal(audit_filter_parse(&p, &f), 0);
    assert_string_equal(f.q.login, "tanaka");
    assert_string_equal(f.q.action, "user.");
    assert_string_equal(f.q.target, "user:12");
    assert_string_equal(f.q.result, "denied");
    assert_int_equal(f.page, 3);
    assert_int_equal(f.q.offset, 2 * f.q.limit);
    assert_int_equal(f.asof, 1795273300);
    assert_int_equal(f.q.to, 1795273300); /* asof bounds the search */
    assert_int_equal(f.n0, 120);
    kv_free(&p);

    /* Bad page numbers fall back to 1; n without asof is ignored. */
    const char *bad_pages[] = {"0",   "-1",     "abc",
                               "1e3", "100001", "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_LEN(bad_pages); i++) {
        kv_init(&p);
        kv_set(&p, "page", bad_pages[i]);
        kv_set(&p, "n", "5");
        assert_int_equal(audit_filter_parse(&p, &f), 0);
        assert_int_equal(f.page, 1);
        assert_int_equal(f.n0, 0);
        kv_free(&p);
    }
}

static void test_filter_query(void **state)
{
    struct kvlist p;
    kv_init(&p);
    kv_set(&p, "from", "2026-11-01");
    kv_set(&p, "login", "山田 & co");
    kv_set(&p, "action", "user.");
    kv_set(&p, "page", "2");
    struct audit_filter f;
    assert_int_equal(audit_filter_parse(&p, &f), 0);
    struct buf q;
    buf_init(&q);
    audit_filter_query(&f, &q);
    assert_string_equal(q.data, "from=2026-11-01&login=%E5%B1%B1%E7%94%B0%20"
                                "%26%20co&action=user.");
    /* It parses back to the same filter. */
    struct kvlist back;
    kv_init(&back);
    assert_int_equal(parse_urlencoded(q.data, q.len, &back), PARSE_OK);
    struct audit_filter g;
    assert_int_equal(audit_filter_parse(&back, &g), 0);
    assert_string_equal(g.login, "山田 & co");
    assert_int_equal(g.q.from, f.q.from);
    buf_free(&q);
    kv_free(&back);
    kv_free(&p);

    /* Nothing set: nothing written. */
    kv_init(&p);
    assert_int_equal(audit_filter_parse(&p, &f), 0);
    buf_init(&q);
    audit_filter_query(&f, &q);
    assert_true(q.len == 0);
    buf_free(&q);
    kv_free(&p);
}

/* ---- shared helpers ----------------------------------------------------- */

static void test_text(void **state)
{
    char out[64];
    assert_int_equal(admin_text("  abc \t", 10, out, sizeof out), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(admin_text("　市民課　", 10, out, sizeof out), 0);
    assert_string_equal(out, "市民課");
    assert_int_equal(admin_text("a b", 10, out, sizeof out), 0);
    assert_string_equal(out, "a b"); /* inner spaces stay */
    assert_int_equal(admin_text(NULL, 10, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(admin_text("　 　", 10, out, sizeof out), 0);
    assert_string_equal(out, "");
    /* Bounds in characters and in bytes. */
    assert_int_equal(admin_text("あいう", 3, out, sizeof out), 0);
    assert_int_equal(admin_text("あいうえ", 3, out, sizeof out), -1);
    assert_string_equal(out, "");
    char small[4];
    assert_int_equal(admin_text("abcd", 10, small, sizeof small), -1);
    assert_int_equal(admin_text("abc", 10, small, sizeof small), 0);
    assert_int_equal(admin_utf8_chars("aあ𠮷"), 3);
}

static void test_parse_id(void **state)
{
    int64_t id = 0;
    assert_int_equal(admin_parse_id("42", &id), 0);
    assert_int_equal(id, 42);
    assert_int_equal(admin_parse_id("999999999999999999", &id), 0);
    const char *bad[] = {"0",   "", "-3", "4x", " 4", "1234567890123456789",
                         "0x10"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (admin_parse_id(bad[i], &id) == 0)
            fail_msg("accepted %s", bad[i]);
    assert_int_equal(admin_parse_id(NULL, &id), -1);
    assert_int_equal(admin_page_param(NULL), 1);
    assert_int_equal(admin_page_param("7"), 7);
    assert_int_equal(admin_page_param("100000"), 100000);
    assert_int_equal(admin_page_param("100001"), 1);
}

static void test_msg_and_pagination(void **state)
{
    const char *names[] = {"total", "from", "to"};
    const char *values[] = {"120", "21", "40"};
    char *s = admin_msg("ja", "admin.page_summary", names, values, 3);
    assert_string_equal(s, "全120件中 21〜40件を表示");
    free(s);
    s = admin_msg("en", "admin.page_summary", names, values, 3);
    assert_string_equal(s, "21–40 of 120");
    free(s);
    /* An unknown placeholder and a lone brace are kept as they are. */
    const char *n1[] = {"n"};
    const char *v1[] = {"{total}"};
    s = admin_msg("ja", "alerts.open", n1, v1, 1);
    assert_string_equal(s, "未確認のアラートが{total}件あります。");
    free(s);

    struct req rq;
    memset(&rq, 0, sizeof rq);
    rq.lang = "ja";
    json_t *p = admin_pagination(&rq, "/admin/users?q=a", 2, 20, 45);
    assert_string_equal(json_string_value(json_object_get(p, "summary")),
                        "全45件中 21〜40件を表示");
    assert_string_equal(json_string_value(json_object_get(p, "prev")),
                        "/admin/users?q=a&page=1");
    assert_string_equal(json_string_value(json_object_get(p, "next")),
                        "/admin/users?q=a&page=3");
    json_t *pages = json_object_get(p, "pages");
    assert_int_equal(json_array_size(pages), 3);
    assert_true(
        json_is_true(json_object_get(json_array_get(pages, 1), "current")));
    json_decref(p);

    p = admin_pagination(&rq, "/admin/alerts", 1, 50, 0);
    assert_string_equal(json_string_value(json_object_get(p, "summary")),
                        "全0件中 0〜0件を表示");
    assert_null(json_object_get(p, "prev"));
    assert_null(json_object_get(p, "next"));
    assert_int_equal(json_array_size(json_object_get(p, "pages")), 0);
    json_decref(p);

    /* Last page: no next; window of at most 7 numbers. */
    p = admin_pagination(&rq, "/admin/audit", 40, 50, 2000);
    assert_null(json_object_get(p, "next"));
    assert_string_equal(json_string_value(json_object_get(p, "prev")),
                        "/admin/audit?page=39");
    assert_int_equal(json_array_size(json_object_get(p, "pages")), 4);
    json_decref(p);
}

/* ---- the permission catalog --------------------------------------------- */

static void test_perm_catalog(void **state)
{
    const char *required[] = {
        "users.read",       "users.write",      "roles.write",
        "audit.read",       "audit.export",     "alerts.read",
        "alerts.receive",   "system.admin",     "booking.staff",
        "booking.operator", "booking.settings", "print.run",
        "print.schedule",   "health.clinic",    "health.staff",
        "child.staff",      "itops.staff",
    };
    for (size_t i = 0; i < ARRAY_LEN(required); i++)
        if (!admin_perm_find(required[i]))
            fail_msg("%s missing from the catalog", required[i]);
    assert_null(admin_perm_find("users"));
    assert_null(admin_perm_find(""));
    assert_true(admin_nperms <= ROLE_MAX_PERMS);
    for (size_t i = 0; i < admin_nperms; i++) {
        const struct perm_def *d = &admin_perms[i];
        /* Unique, fits the session's table, labelled in both languages
        ** and grouped under a heading both catalogs have. */
        assert_ptr_equal(admin_perm_find(d->name), d);
        assert_true(strlen(d->name) < 48);
        assert_true(d->label_ja[0] && d->label_en[0]);
        if (strcmp(i18n_get("ja", d->group), d->group) == 0 ||
            strcmp(i18n_get("en", d->group), i18n_get("ja", d->group)) == 0)
            fail_msg("group %s of %s not translated", d->group, d->name);
        /* Groups are contiguous, so each gets one fieldset. */
        for (size_t j = i + 1; j < admin_nperms; j++)
            if (strcmp(admin_perms[j].group, d->group) == 0 &&
                strcmp(admin_perms[j - 1].group, d->group) != 0)
                fail_msg("group %s split", d->group);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_jst),
        cmocka_unit_test(test_filter_dates),
        cmocka_unit_test(test_filter_errors),
        cmocka_unit_test(test_filter_fields_and_paging),
        cmocka_unit_test(test_filter_query),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_msg_and_pagination),
        cmocka_unit_test(test_perm_catalog),
    };
    return cmocka_run_group_tests_name("admin-filters", tests, NULL, NULL);
}
