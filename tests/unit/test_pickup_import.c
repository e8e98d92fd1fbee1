/*
** test_pickup_import.c - the staff side of the pickup service
** (src/pickup/import.c, staff.c): the CSV imports of new notices (RSV-14)
** and of the J-LIS card production data (RSV-16) with their validation
** report (rows accepted; rows refused with line and reason: missing field,
** bad number, duplicate in the file, already on file, impossible date,
** too long, unknown location, no match, a name that does not match) and
** their all-or-nothing commit (one transaction, one audit entry; nothing
** half-imported, also when the data changed between check and commit);
** files in UTF-8 and CP932, in an unknown encoding, malformed, with a
** wrong header; the birthday kept only as its keyed MMDD check; and the
** search-key rules of WIN-8 (operators by notice number only; the keys
** are the roles' data).  Names in kana normalised, dates checked.  On
** SQLite, and on PostgreSQL when CITYOS_TEST_PG is set.
*/
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/csv.h"
#include "core/db.h"
#include "core/http.h"
#include "core/util.h"
#include "pickup/pickup.h"
#include "pickup/staff.h"
#include "testlib.h"

static struct app g_app;
static const struct actor who = {7, "tanaka", "staff_citizen", "127.0.0.1",
                                 "test"};

/* ---- helpers ------------------------------------------------------------ */

static int reset(void **state)
{
    testlib_exec("DELETE FROM notice_status_log");
    testlib_exec("DELETE FROM notices");
    testlib_exec("DELETE FROM booking_resources");
    testlib_exec("UPDATE roles SET search_keys = 'notice_no' "
                 "WHERE name = 'operator'");
    testlib_exec("UPDATE roles SET search_keys = "
                 "'notice_no,name_kana,status' WHERE name = 'staff_citizen'");
    return 0;
}

static void add_location(const char *name)
{
    struct db_conn *c = testlib_conn();
    int64_t n = db_run(c,
                       "INSERT INTO booking_resources (kind, name, "
                       "slot_minutes, capacity, window_days, deadline_days, "
                       "max_party, created_at, updated_at) VALUES ('pickup', "
                       "?, 30, 5, 28, 2, 6, 0, 0)",
                       "s", name);
    db_release(c);
    assert_int_equal(n, 1);
}

static void add_notice(const char *no, const char *birth, const char *kana)
{
    struct db_conn *c = testlib_conn();
    int rc = pickup_notice_add(c, g_app.keys, no, birth, kana, 0, NULL);
    db_release(c);
    assert_int_equal(rc, PICKUP_OK);
}

static void check(int kind, const char *csv, size_t len,
                  struct pickup_import_report *r)
{
    struct db_conn *c = testlib_conn();
    int rc = pickup_import_check(c, kind, csv, len, r);
    db_release(c);
    assert_int_equal(rc, 0);
}

static void check_s(int kind, const char *csv, struct pickup_import_report *r)
{
    check(kind, csv, strlen(csv), r);
}

static int commit(struct pickup_import_report *r, int all, size_t *n)
{
    struct db_conn *c = testlib_conn();
    int rc = pickup_import_commit(c, g_app.keys, &who, r, all, "test.csv", n);
    db_release(c);
    return rc;
}

/* The reason refused on line, or NULL when the line was accepted. */
static const char *reason_of(const struct pickup_import_report *r, size_t line)
{
    for (size_t i = 0; i < r->nbad; i++)
        if (r->bad[i].line == line)
            return r->bad[i].reason;
    return NULL;
}

static const struct pickup_import_row *
ok_row(const struct pickup_import_report *r, size_t line)
{
    for (size_t i = 0; i < r->nok; i++)
        if (r->ok[i].line == line)
            return &r->ok[i];
    return NULL;
}

static int64_t count(const char *sql)
{
    return testlib_query_int(sql, "");
}

/* ---- names and dates ---------------------------------------------------- */

static void test_kana_normalize(void **state)
{
    char out[400];
    /* Half-width kana with voiced marks, ASCII space. */
    assert_int_equal(pickup_kana_normalize("ﾔﾏﾀﾞ ﾀﾛｳ", 100, out, sizeof out),
                     0);
    assert_string_equal(out, "ヤマダ　タロウ");
    /* Hiragana, runs of spaces trimmed and collapsed. */
    assert_int_equal(
        pickup_kana_normalize("　やまだ 　 はなこ ", 100, out, sizeof out), 0);
    assert_string_equal(out, "ヤマダ　ハナコ");
    /* Semi-voiced, long vowel, combining marks (macOS NFD). */
    assert_int_equal(pickup_kana_normalize("ﾊﾟｰﾙ", 100, out, sizeof out), 0);
    assert_string_equal(out, "パール");
    assert_int_equal(
        pickup_kana_normalize("カ\xe3\x82\x99ク", 100, out, sizeof out), 0);
    assert_string_equal(out, "ガク");
    /* Not kana, empty, too long, a mark with nothing to combine with. */
    assert_int_equal(pickup_kana_normalize("山田", 100, out, sizeof out), -1);
    assert_int_equal(pickup_kana_normalize("Yamada", 100, out, sizeof out), -1);
    assert_int_equal(pickup_kana_normalize("  ", 100, out, sizeof out), -1);
    assert_int_equal(pickup_kana_normalize("アイウ", 2, out, sizeof out), -1);
    assert_int_equal(pickup_kana_normalize("ﾞア", 100, out, sizeof out), -1);
    assert_int_equal(pickup_kana_normalize("ア\xff", 100, out, sizeof out), -1);
}

static void test_date_parse(void **state)
{
    char d[11];
    assert_int_equal(pickup_date_parse("2000-02-29", d), 0);
    assert_string_equal(d, "2000-02-29");
    assert_int_equal(pickup_date_parse("20000229", d), 0);
    assert_string_equal(d, "2000-02-29");
    assert_int_equal(pickup_date_parse("1980/04/01", d), 0);
    assert_string_equal(d, "1980-04-01");
    assert_int_equal(pickup_date_parse("2001-02-29", d), -1);
    assert_int_equal(pickup_date_parse("2001-13-01", d), -1);
    assert_int_equal(pickup_date_parse("2001-04-31", d), -1);
    assert_int_equal(pickup_date_parse("1800-01-01", d), -1);
    assert_int_equal(pickup_date_parse("2001-4-1", d), -1);
    assert_int_equal(pickup_date_parse("2001/04-01", d), -1);
    assert_int_equal(pickup_date_parse("", d), -1);
}

/* ---- search keys (WIN-8) ------------------------------------------------ */

static void test_search_key_parse(void **state)
{
    assert_int_equal(pickup_search_key_bit("notice_no"), PICKUP_KEY_NOTICE_NO);
    assert_int_equal(pickup_search_key_bit("name_kana"), PICKUP_KEY_NAME_KANA);
    assert_int_equal(pickup_search_key_bit("status"), PICKUP_KEY_STATUS);
    /* The resident code and the individual number are not keys here. */
    assert_int_equal(pickup_search_key_bit("resident_code"), 0);
    assert_int_equal(pickup_search_key_bit("individual_number"), 0);
    assert_int_equal(pickup_search_key_bit(NULL), 0);
    assert_int_equal(pickup_search_keys_parse("notice_no, status,,bogus"),
                     PICKUP_KEY_NOTICE_NO | PICKUP_KEY_STATUS);
    assert_int_equal(pickup_search_keys_parse(""), 0);
    assert_int_equal(pickup_search_keys_parse(NULL), 0);
}

static void test_search_keys_per_role(void **state)
{
    struct db_conn *c = testlib_conn();
    unsigned keys = 99;
    /* As migration 0006 sets them. */
    assert_int_equal(pickup_role_search_keys(c, "operator", &keys), 0);
    assert_int_equal(keys, PICKUP_KEY_NOTICE_NO);
    assert_int_equal(pickup_search_allowed(c, "operator", PICKUP_KEY_NOTICE_NO),
                     1);
    assert_int_equal(pickup_search_allowed(c, "operator", PICKUP_KEY_NAME_KANA),
                     0);
    assert_int_equal(pickup_search_allowed(c, "operator", PICKUP_KEY_STATUS),
                     0);
    assert_int_equal(
        pickup_search_allowed(c, "operator",
                              PICKUP_KEY_NOTICE_NO | PICKUP_KEY_NAME_KANA),
        0);
    assert_int_equal(pickup_search_allowed(c, "staff_citizen",
                                           PICKUP_KEY_NOTICE_NO |
                                               PICKUP_KEY_NAME_KANA |
                                               PICKUP_KEY_STATUS),
                     1);
    assert_int_equal(pickup_search_allowed(c, "sysadmin", PICKUP_KEY_STATUS),
                     1);
    /* Roles without keys, and unknown roles, search by nothing. */
    assert_int_equal(pickup_search_allowed(c, "clinic", PICKUP_KEY_NOTICE_NO),
                     0);
    assert_int_equal(
        pickup_search_allowed(c, "nosuchrole", PICKUP_KEY_NOTICE_NO), 0);
    assert_int_equal(pickup_role_search_keys(c, "nosuchrole", &keys), 0);
    assert_int_equal(keys, 0);
    /* The keys are data: a change applies at once. */
    assert_true(db_run(c,
                       "UPDATE roles SET search_keys = 'notice_no,name_kana' "
                       "WHERE name = 'operator'",
                       "") == 1);
    assert_int_equal(pickup_search_allowed(c, "operator", PICKUP_KEY_NAME_KANA),
                     1);
    assert_int_equal(pickup_search_allowed(c, "operator", PICKUP_KEY_STATUS),
                     0);
    db_release(c);
}

/* ---- notices: the check ------------------------------------------------- */

static void test_notices_report(void **state)
{
    add_location("本庁舎");
    add_notice("111111111", "1970-01-01", "スデニ　アル");
    char longname[400] = "";
    for (int i = 0; i < 101; i++)
        strcat(longname, "ア");
    char csv[4096];
    snprintf(csv, sizeof csv,
             "通知書番号,氏名カナ,生年月日,交付場所\r\n"           /* 1 */
             "123456789012,マツサカ　タロウ,1980-04-01,本庁舎\r\n" /* 2 */
             "123-456-789,ﾏﾂｻｶ ﾊﾅｺ,19820915,\r\n"                  /* 3 */
             "123456789012,マツサカ　ジロウ,1990-01-01,\r\n"       /* 4 dup */
             "12AB,マツサカ,1990-01-01,\r\n"                       /* 5 */
             "222222222,マツサカ,2001-02-30,\r\n"                  /* 6 */
             "333333333,,1990-01-01,\r\n"                          /* 7 */
             "444444444,%s,1990-01-01,\r\n"                        /* 8 */
             "555555555,山田太郎,1990-01-01,\r\n"                  /* 9 */
             "666666666,マツサカ,1990-01-01,出張所\r\n"            /* 10 */
             "111111111,スデニ　アル,1970-01-01,\r\n"              /* 11 */
             ",,,\r\n"                                             /* 12 */
             "777777777,マツサカ,2999-01-01,\r\n"                  /* 13 */
             "888888888,マツサカ\r\n",                             /* 14 */
             longname);
    struct pickup_import_report r;
    check_s(PICKUP_IMPORT_NOTICES, csv, &r);
    assert_null(r.fatal);
    assert_string_equal(r.encoding, "UTF-8");
    assert_int_equal(r.rows, 12); /* the blank line 12 is not a row */
    assert_int_equal(r.nok, 2);
    const struct pickup_import_row *a = ok_row(&r, 2), *b = ok_row(&r, 3);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->notice_no, "123456789012");
    assert_string_equal(a->birth, "1980-04-01");
    assert_true(a->resource_id > 0);
    assert_string_equal(b->notice_no, "123456789");
    assert_string_equal(b->name_kana, "マツサカ　ハナコ");
    assert_string_equal(b->birth, "1982-09-15");
    assert_int_equal(b->resource_id, 0);
    assert_int_equal(r.nbad, 10);
    assert_string_equal(reason_of(&r, 4), "pstaff.imp.r.dup_file");
    assert_string_equal(reason_of(&r, 5), "pstaff.imp.r.bad_number");
    assert_string_equal(reason_of(&r, 6), "pstaff.imp.r.bad_date");
    assert_string_equal(reason_of(&r, 7), "pstaff.imp.r.missing");
    assert_string_equal(reason_of(&r, 8), "pstaff.imp.r.too_long");
    assert_string_equal(reason_of(&r, 9), "pstaff.imp.r.bad_kana");
    assert_string_equal(reason_of(&r, 10), "pstaff.imp.r.unknown_location");
    assert_string_equal(reason_of(&r, 11), "pstaff.imp.r.exists");
    assert_string_equal(reason_of(&r, 13), "pstaff.imp.r.bad_date");
    assert_string_equal(reason_of(&r, 14), "pstaff.imp.r.missing");
    /* The refused rows come in line order, with the duplicate's origin. */
    for (size_t i = 1; i < r.nbad; i++)
        assert_true(r.bad[i - 1].line < r.bad[i].line);
    for (size_t i = 0; i < r.nbad; i++)
        if (r.bad[i].line == 4)
            assert_string_equal(r.bad[i].detail, "2行目");
    /* Checking changed nothing. */
    assert_int_equal(count("SELECT COUNT(*) FROM notices"), 1);
    pickup_import_report_free(&r);
}

static void test_notices_cp932(void **state)
{
    struct buf utf8, sjis;
    buf_init(&utf8);
    buf_init(&sjis);
    buf_puts(&utf8, "生年月日,通知書番号,氏名カナ\r\n"
                    "1975-12-31,900000001,サイトウ　ケイコ\r\n");
    assert_int_equal(csv_finish(&utf8, 1, &sjis), 0);
    assert_true(sjis.len < utf8.len); /* two bytes a character, no BOM */
    struct pickup_import_report r;
    check(PICKUP_IMPORT_NOTICES, sjis.data, sjis.len, &r);
    assert_null(r.fatal);
    assert_string_equal(r.encoding, "CP932");
    assert_int_equal(r.nok, 1);
    assert_string_equal(r.ok[0].name_kana, "サイトウ　ケイコ");
    assert_string_equal(r.ok[0].birth, "1975-12-31");
    pickup_import_report_free(&r);
    buf_free(&utf8);
    buf_free(&sjis);
}

static void test_notices_whole_file_refused(void **state)
{
    struct pickup_import_report r;
    /* Neither UTF-8 nor CP932. */
    const char bad[] = "\x82\xa0\xff\xfe\x80,\x81\r\n";
    check(PICKUP_IMPORT_NOTICES, bad, sizeof bad - 1, &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.encoding");
    assert_int_equal(r.nok + r.nbad, 0);
    pickup_import_report_free(&r);
    /* A quote never closed: nothing of the file, not even line 2. */
    check_s(PICKUP_IMPORT_NOTICES,
            "通知書番号,氏名カナ,生年月日\r\n"
            "123456789,マツサカ,1990-01-01\r\n"
            "\"123456780,マツサカ,1990-01-01\r\n",
            &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.csv");
    assert_non_null(strstr(r.fatal_msg, "3行目"));
    assert_int_equal(r.nok + r.nbad, 0);
    pickup_import_report_free(&r);
    /* A required column missing. */
    check_s(PICKUP_IMPORT_NOTICES, "通知書番号,氏名カナ\r\n123456789,ア\r\n",
            &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.header");
    assert_non_null(strstr(r.fatal_msg, "生年月日"));
    pickup_import_report_free(&r);
    /* A column of individual numbers is never read. */
    check_s(PICKUP_IMPORT_NOTICES,
            "通知書番号,氏名カナ,生年月日,個人番号\r\n"
            "123456789,ア,1990-01-01,123456789012\r\n",
            &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.mynumber");
    pickup_import_report_free(&r);
    /* An unknown column, a header only, an empty file. */
    check_s(PICKUP_IMPORT_NOTICES, "通知書番号,氏名カナ,生年月日,備考\r\n", &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.header");
    pickup_import_report_free(&r);
    check_s(PICKUP_IMPORT_NOTICES, "通知書番号,氏名カナ,生年月日\r\n", &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.no_rows");
    pickup_import_report_free(&r);
    check(PICKUP_IMPORT_NOTICES, "", 0, &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.empty");
    pickup_import_report_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM notices"), 0);
}

/* ---- notices: the commit ------------------------------------------------ */

static const char three_rows[] = "通知書番号,氏名カナ,生年月日\r\n"
                                 "500000001,イチ,1980-04-01\r\n"
                                 "500000002,ニ,1981-05-02\r\n"
                                 "500000003,サン,1982-06-03\r\n"
                                 "bad,ヨン,1982-06-03\r\n";

static void test_notices_commit(void **state)
{
    struct pickup_import_report r;
    check_s(PICKUP_IMPORT_NOTICES, three_rows, &r);
    assert_int_equal(r.nok, 3);
    assert_int_equal(r.nbad, 1);
    size_t n = 99;
    /* "Refuse everything when any row is rejected". */
    assert_int_equal(commit(&r, 1, &n), PICKUP_IMPORT_EREJECTED);
    assert_int_equal(n, 0);
    assert_int_equal(count("SELECT COUNT(*) FROM notices"), 0);
    int64_t audits = count("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'pickup.import.notices'");
    /* The accepted rows, all in one transaction. */
    assert_int_equal(commit(&r, 0, &n), PICKUP_IMPORT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(count("SELECT COUNT(*) FROM notices WHERE status = "
                           "'mailed'"),
                     3);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'pickup.import.notices'"),
                     audits + 1);
    char *detail = testlib_query_text(
        "SELECT detail FROM audit_log WHERE action = 'pickup.import.notices' "
        "ORDER BY id DESC LIMIT 1",
        "");
    json_t *d = json_loads(detail, 0, NULL);
    assert_non_null(d);
    assert_int_equal(json_integer_value(json_object_get(d, "imported")), 3);
    assert_int_equal(json_integer_value(json_object_get(d, "rejected")), 1);
    assert_string_equal(json_string_value(json_object_get(d, "file")),
                        "test.csv");
    json_decref(d);
    free(detail);
    /* The birthday is kept only as the keyed check of its MMDD, bound to
    ** the number; the sign-in works with it, the name is encrypted. */
    char expect[65];
    pickup_birth_check(g_app.keys, "500000002", "0502", expect);
    char *got = testlib_query_text(
        "SELECT birth_check FROM notices WHERE notice_no = '500000002'", "");
    assert_string_equal(got, expect);
    free(got);
    assert_int_equal(count("SELECT COUNT(*) FROM notices WHERE birth_check "
                           "LIKE '%1981-05%' OR name_kana LIKE '%ニ%'"),
                     0);
    struct db_conn *c = testlib_conn();
    struct pickup_notice pn;
    struct actor citizen = {0, "-", "citizen", "192.0.2.9", "test"};
    assert_int_equal(pickup_authenticate(c, &citizen, "500000002", "0502", &pn),
                     PICKUP_OK);
    assert_string_equal(pn.name_kana, "ニ");
    db_release(c);
    /* The same file again: every row is now "already on file". */
    pickup_import_report_free(&r);
    check_s(PICKUP_IMPORT_NOTICES, three_rows, &r);
    assert_int_equal(r.nok, 0);
    assert_string_equal(reason_of(&r, 2), "pstaff.imp.r.exists");
    assert_int_equal(commit(&r, 0, &n), PICKUP_IMPORT_EREJECTED);
    pickup_import_report_free(&r);
}

static void test_notices_changed_meanwhile(void **state)
{
    struct pickup_import_report r;
    check_s(PICKUP_IMPORT_NOTICES, three_rows, &r);
    assert_int_equal(r.nok, 3);
    /* Someone imports one of them between the check and the commit. */
    add_notice("500000003", "1982-06-03", "サン");
    size_t n = 99;
    assert_int_equal(commit(&r, 0, &n), PICKUP_IMPORT_ECHANGED);
    assert_int_equal(n, 0);
    /* Nothing half-imported: the two others are not there. */
    assert_int_equal(count("SELECT COUNT(*) FROM notices"), 1);
    pickup_import_report_free(&r);
}

/* ---- J-LIS card production data ----------------------------------------- */

static void test_jlis(void **state)
{
    add_notice("600000001", "1980-01-01", "カード　イチ");
    add_notice("600000002", "1980-01-02", "カード　ニ");
    add_notice("600000003", "1980-01-03", "カード　サン");
    add_notice("600000004", "1980-01-04", "カード　ヨン");
    testlib_exec("UPDATE notices SET card_no = 'CARD00000002' "
                 "WHERE notice_no = '600000002'");
    testlib_exec("UPDATE notices SET card_no = 'CARD00000004' "
                 "WHERE notice_no = '600000004'");
    const char csv[] =
        "通知書番号,カード番号,氏名カナ,作成日,保管箱\r\n"
        "600000001,AB1234567890,カードイチ,2024-11-02,B-014\r\n" /* 2 */
        ",CARD00000002,ｶｰﾄﾞ ﾆ,20241102,B-001\r\n"                /* 3 */
        "699999999,,ダレ,2024-11-02,B-001\r\n"                   /* 4 */
        ",ZZ99999999,ダレ,2024-11-02,B-001\r\n"                  /* 5 */
        "600000003,,ベツジン,2024-11-02,B-001\r\n"               /* 6 */
        "600000001,,カード　イチ,2024-11-02,B-002\r\n"           /* 7 */
        "600000003,CARD00000004,カード　サン,2024-11-02,B-1\r\n" /* 8 */
        "600000004,XX00000000,カード　ヨン,2024-11-02,B-1\r\n"   /* 9 */
        "600000003,,カード　サン,2024-02-30,B-1\r\n"             /* 10 */
        "600000003,12,カード　サン,2024-11-02,B-1\r\n"           /* 11 */
        "600000003,,カード　サン,2024-11-02,\r\n";               /* 12 */
    struct pickup_import_report r;
    check_s(PICKUP_IMPORT_JLIS, csv, &r);
    assert_null(r.fatal);
    assert_int_equal(r.nok, 2);
    const struct pickup_import_row *a = ok_row(&r, 2), *b = ok_row(&r, 3);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a->notice_id > 0);
    assert_string_equal(b->notice_no, "600000002"); /* found by its card */
    assert_string_equal(b->card_no, "CARD00000002");
    assert_string_equal(reason_of(&r, 4), "pstaff.imp.r.unmatched_notice");
    assert_string_equal(reason_of(&r, 5), "pstaff.imp.r.unmatched_card");
    assert_string_equal(reason_of(&r, 6), "pstaff.imp.r.name_mismatch");
    assert_string_equal(reason_of(&r, 7), "pstaff.imp.r.dup_file");
    assert_string_equal(reason_of(&r, 8), "pstaff.imp.r.dup_file");
    assert_string_equal(reason_of(&r, 9), "pstaff.imp.r.card_conflict");
    assert_string_equal(reason_of(&r, 10), "pstaff.imp.r.dup_file");
    size_t n = 0;
    assert_int_equal(commit(&r, 0, &n), PICKUP_IMPORT_OK);
    assert_int_equal(n, 2);
    char *box = testlib_query_text(
        "SELECT storage_box FROM notices WHERE notice_no = '600000001'", "");
    assert_string_equal(box, "B-014");
    free(box);
    char *card = testlib_query_text(
        "SELECT card_no FROM notices WHERE notice_no = '600000001'", "");
    assert_string_equal(card, "AB1234567890");
    free(card);
    char *prod = testlib_query_text(
        "SELECT production_date FROM notices WHERE notice_no = '600000002'",
        "");
    assert_string_equal(prod, "2024-11-02");
    free(prod);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'pickup.import.jlis'"),
                     1);
    pickup_import_report_free(&r);

    /* Rows refused for their own reasons. */
    add_notice("600000005", "1980-01-05", "カード　ゴ");
    check_s(PICKUP_IMPORT_JLIS,
            "通知書番号,カード番号,氏名カナ,作成日,保管箱\r\n"
            "600000003,,カード　サン,2024-02-30,B-1\r\n"
            ",12,カード　サン,2024-11-02,B-1\r\n"
            "600000004,,カード　ヨン,2024-11-02,\r\n"
            "600000005,AB1234567890,カード　ゴ,2024-11-02,B-1\r\n",
            &r);
    assert_int_equal(r.nok, 0);
    assert_string_equal(reason_of(&r, 2), "pstaff.imp.r.bad_date");
    assert_string_equal(reason_of(&r, 3), "pstaff.imp.r.bad_card");
    assert_string_equal(reason_of(&r, 4), "pstaff.imp.r.missing");
    assert_string_equal(reason_of(&r, 5), "pstaff.imp.r.card_taken");
    pickup_import_report_free(&r);
    /* The header of a notices file is not a J-LIS header. */
    check_s(PICKUP_IMPORT_JLIS,
            "通知書番号,氏名カナ,生年月日\r\n600000003,カード　サン,"
            "1980-01-03\r\n",
            &r);
    assert_string_equal(r.fatal, "pstaff.imp.err.header");
    pickup_import_report_free(&r);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_kana_normalize),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_search_key_parse),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_search_keys_per_role, reset),
        cmocka_unit_test_setup(test_notices_report, reset),
        cmocka_unit_test_setup(test_notices_cp932, reset),
        cmocka_unit_test_setup(test_notices_whole_file_refused, reset),
        cmocka_unit_test_setup(test_notices_commit, reset),
        cmocka_unit_test_setup(test_notices_changed_meanwhile, reset),
        cmocka_unit_test_setup(test_jlis, reset),
    };
    int failed =
        cmocka_run_group_tests_name("pickup import (pure)", pure, NULL, NULL);
    failed += testlib_run_engines("pickup_import", tests, ARRAY_LEN(tests),
                                  NULL, &g_app);
    return failed ? 1 : 0;
}
