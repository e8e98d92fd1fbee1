/*
** test_jpdate.c - Japanese date formatting (jpdate.c): era boundaries
** (昭和64年 / 平成元年, 平成31年 / 令和元年, the older eras), weekdays,
** English forms, times, strict parsing and the day-number arithmetic the
** booking engine relies on.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/jpdate.h"
#include "core/util.h"

static void expect_ja(const char *ymd, int era, const char *want)
{
    char out[64];
    assert_int_equal(jpdate_format(ymd, era, out, sizeof out), 0);
    if (strcmp(out, want) != 0)
        fail_msg("%s era=%d: got %s, want %s", ymd, era, out, want);
}

static void test_era_boundaries(void **state)
{
    expect_ja("1989-01-07", 1, "昭和64年1月7日（土）");
    expect_ja("1989-01-08", 1, "平成元年1月8日（日）");
    expect_ja("2019-04-30", 1, "平成31年4月30日（火）");
    expect_ja("2019-05-01", 1, "令和元年5月1日（水）");
    expect_ja("2020-01-01", 1, "令和2年1月1日（水）");
    expect_ja("2026-11-22", 1, "令和8年11月22日（日）");
    expect_ja("1926-12-24", 1, "大正15年12月24日（金）");
    expect_ja("1926-12-25", 1, "昭和元年12月25日（土）");
    expect_ja("1912-07-29", 1, "明治45年7月29日（月）");
    expect_ja("1912-07-30", 1, "大正元年7月30日（火）");
    expect_ja("1868-10-23", 1, "明治元年10月23日（金）");
    /* Before 明治: the Gregorian year. */
    expect_ja("1868-10-22", 1, "1868年10月22日（木）");

    const char *name, *en;
    int y;
    assert_int_equal(jpdate_era("2019-04-30", &name, &en, &y), 0);
    assert_string_equal(name, "平成");
    assert_string_equal(en, "Heisei");
    assert_int_equal(y, 31);
    assert_int_equal(jpdate_era("2019-05-01", &name, &en, &y), 0);
    assert_string_equal(name, "令和");
    assert_int_equal(y, 1);
    assert_int_equal(jpdate_era("1868-10-22", &name, &en, &y), -1);
    assert_int_equal(jpdate_era("2019-02-29", &name, &en, &y), -1);
}

static void test_gregorian_and_english(void **state)
{
    expect_ja("2026-11-22", 0, "2026年11月22日（日）");
    expect_ja("2028-02-29", 0, "2028年2月29日（火）");
    char out[64];
    assert_int_equal(jpdate_format_en("2026-11-22", 0, out, sizeof out), 0);
    assert_string_equal(out, "Sun 22 Nov 2026");
    assert_int_equal(jpdate_format_en("2019-05-01", 1, out, sizeof out), 0);
    assert_string_equal(out, "Wed 1 May 2019 (Reiwa 1)");
    assert_int_equal(jpdate_format_lang("ja", "2026-11-22", 1, out, sizeof out),
                     0);
    assert_string_equal(out, "令和8年11月22日（日）");
    assert_int_equal(jpdate_format_lang("en", "2026-11-22", 0, out, sizeof out),
                     0);
    assert_string_equal(out, "Sun 22 Nov 2026");
    assert_string_equal(jpdate_weekday_ja(0), "日");
    assert_string_equal(jpdate_weekday_en(6), "Sat");
    assert_null(jpdate_weekday_ja(7));
    /* Too small a buffer fails instead of cutting a character. */
    char tiny[10];
    assert_int_equal(jpdate_format("2026-11-22", 1, tiny, sizeof tiny), -1);
    assert_string_equal(tiny, "");
}

static void test_parse_strict(void **state)
{
    const char *bad[] = {"",           "2026-1-22",   "2026-11-2",
                         "2026/11/22", "2026-13-01",  "2026-00-10",
                         "2026-02-29", "2100-02-29",  "2026-04-31",
                         "0999-01-01", "2026-11-22x", "２０２６-11-22",
                         "20a6-11-22", NULL};
    char out[64];
    int y, m, d;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (jpdate_parse(bad[i], &y, &m, &d) != -1)
            fail_msg("accepted %s", bad[i] ? bad[i] : "NULL");
        assert_int_equal(jpdate_format(bad[i], 1, out, sizeof out), -1);
        assert_int_equal(jpdate_weekday(bad[i]), -1);
    }
    assert_int_equal(jpdate_parse("2000-02-29", &y, &m, &d), 0);
    assert_int_equal(y * 10000 + m * 100 + d, 20000229);
}

static void test_days_roundtrip(void **state)
{
    assert_int_equal(jpdate_days(1970, 1, 1), 0);
    assert_int_equal(jpdate_days(1969, 12, 31), -1);
    assert_int_equal(jpdate_days(2000, 3, 1) - jpdate_days(2000, 2, 28), 2);
    assert_int_equal(jpdate_days(2100, 3, 1) - jpdate_days(2100, 2, 28), 1);
    char ymd[11];
    /* Every day from 1868 to 2200 goes round and has the next weekday. */
    int prev_wd = -1;
    for (int64_t n = jpdate_days(1868, 1, 1); n <= jpdate_days(2200, 1, 1);
         n++) {
        int y, m, d;
        assert_int_equal(jpdate_ymd(n, ymd), 0);
        assert_int_equal(jpdate_parse(ymd, &y, &m, &d), 0);
        assert_int_equal(jpdate_days(y, m, d), n);
        int wd = jpdate_weekday(ymd);
        if (prev_wd >= 0)
            assert_int_equal(wd, (prev_wd + 1) % 7);
        prev_wd = wd;
    }
    assert_int_equal(jpdate_ymd(jpdate_days(10000, 1, 1), ymd), -1);
}

static void test_times(void **state)
{
    char out[16];
    assert_int_equal(jpdate_time(13 * 60 + 30, out, sizeof out), 0);
    assert_string_equal(out, "13:30");
    assert_int_equal(jpdate_time(9 * 60, out, sizeof out), 0);
    assert_string_equal(out, "09:00");
    assert_int_equal(jpdate_time(1440, out, sizeof out), 0);
    assert_string_equal(out, "24:00");
    assert_int_equal(jpdate_time(1441, out, sizeof out), -1);
    assert_int_equal(jpdate_time(-1, out, sizeof out), -1);
    char range[32];
    assert_int_equal(jpdate_time_range("ja", 540, 570, range, sizeof range), 0);
    assert_string_equal(range, "9:00～9:30");
    assert_int_equal(jpdate_time_range("en", 1035, 1140, range, sizeof range),
                     0);
    assert_string_equal(range, "17:15-19:00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_era_boundaries),
        cmocka_unit_test(test_gregorian_and_english),
        cmocka_unit_test(test_parse_strict),
        cmocka_unit_test(test_days_roundtrip),
        cmocka_unit_test(test_times),
    };
    return cmocka_run_group_tests_name("jpdate", tests, NULL, NULL) ? 1 : 0;
}
