/*
** test_ical.c - iCalendar objects (core/ical.c, RFC 5545; RSV-2 mail
** attachments): the calendar and event properties in order, Japan-time
** DTSTART/DTEND with the Asia/Tokyo VTIMEZONE, UTC DTSTAMP, escaping of
** , ; \ and newlines, folding at 75 octets without splitting a UTF-8
** character (and unfolding giving the value back), REQUEST and CANCEL,
** midnight ends, and refusal of invalid input.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/ical.h"
#include "core/parse.h"
#include "core/util.h"

/* 2026-11-22 04:05:06 UTC */
#define STAMP 1795320306

static struct ical_event sample(void)
{
    struct ical_event ev = {
        .uid = "AB12CD34@cityos",
        .dtstamp = STAMP,
        .date = "2026-11-22",
        .start_min = 9 * 60,
        .end_min = 9 * 60 + 30,
        .sequence = 3,
        .summary = "マイナンバーカードの受取",
        .location = "市役所本庁舎 市民課窓口",
        .description = "予約番号：AB12CD34",
        .organizer = "cityos@example.jp",
        .organizer_name = "シティ市 市民課",
        .attendee = "taro@example.jp",
        .url = "https://city.example.jp/pickup",
    };
    return ev;
}

/* The physical lines of text (CRLF removed); fails on a bare LF or CR. */
static char **split_lines(const char *text, size_t *n)
{
    char **lines = NULL;
    *n = 0;
    const char *p = text;
    while (*p) {
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        for (const char *q = p; q < e; q++)
            assert_true(*q != '\r' && *q != '\n');
        lines = realloc(lines, (*n + 1) * sizeof *lines);
        lines[(*n)++] = xstrndup(p, (size_t)(e - p));
        p = e + 2;
    }
    return lines;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

/* Content lines after unfolding (RFC 5545 3.1). */
static char **unfold(char **phys, size_t n, size_t *out_n)
{
    char **out = NULL;
    *out_n = 0;
    for (size_t i = 0; i < n; i++) {
        if (phys[i][0] == ' ') {
            assert_true(*out_n > 0);
            char *prev = out[*out_n - 1];
            size_t a = strlen(prev), b = strlen(phys[i] + 1);
            prev = realloc(prev, a + b + 1);
            memcpy(prev + a, phys[i] + 1, b + 1);
            out[*out_n - 1] = prev;
        } else {
            out = realloc(out, (*out_n + 1) * sizeof *out);
            out[(*out_n)++] = xstrdup(phys[i]);
        }
    }
    return out;
}

static int has_line(char **lines, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(lines[i], want) == 0)
            return 1;
    return 0;
}

static size_t index_of(char **lines, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(lines[i], want) == 0)
            return i;
    fail_msg("line %s missing", want);
    return 0;
}

static void test_request(void **state)
{
    struct ical_event ev = sample();
    size_t len = 0;
    char *s = ical_build("REQUEST", &ev, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    size_t np, n;
    char **phys = split_lines(s, &np);
    char **l = unfold(phys, np, &n);
    assert_string_equal(l[0], "BEGIN:VCALENDAR");
    assert_string_equal(l[n - 1], "END:VCALENDAR");
    assert_true(has_line(l, n, "VERSION:2.0"));
    assert_true(has_line(l, n, "METHOD:REQUEST"));
    assert_true(has_line(l, n, "CALSCALE:GREGORIAN"));
    /* The time zone comes before the event that uses it. */
    size_t tz = index_of(l, n, "BEGIN:VTIMEZONE");
    size_t evi = index_of(l, n, "BEGIN:VEVENT");
    assert_true(tz < evi);
    assert_true(has_line(l, n, "TZID:Asia/Tokyo"));
    assert_true(has_line(l, n, "TZOFFSETFROM:+0900"));
    assert_true(has_line(l, n, "TZOFFSETTO:+0900"));
    assert_true(has_line(l, n, "UID:AB12CD34@cityos"));
    assert_true(has_line(l, n, "DTSTAMP:20261122T040506Z"));
    assert_true(has_line(l, n, "DTSTART;TZID=Asia/Tokyo:20261122T090000"));
    assert_true(has_line(l, n, "DTEND;TZID=Asia/Tokyo:20261122T093000"));
    assert_true(has_line(l, n, "SEQUENCE:3"));
    assert_true(has_line(l, n, "SUMMARY:マイナンバーカードの受取"));
    assert_true(has_line(l, n, "LOCATION:市役所本庁舎 市民課窓口"));
    assert_true(has_line(l, n, "STATUS:CONFIRMED"));
    assert_true(has_line(l, n, "URL:https://city.example.jp/pickup"));
    assert_true(has_line(
        l, n, "ORGANIZER;CN=\"シティ市 市民課\":mailto:cityos@example.jp"));
    assert_true(has_line(l, n,
                         "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;"
                         "RSVP=FALSE:mailto:taro@example.jp"));
    assert_true(index_of(l, n, "END:VEVENT") < n - 1);
    free_lines(l, n);
    free_lines(phys, np);
    free(s);
}

static void test_cancel(void **state)
{
    struct ical_event ev = sample();
    char *s = ical_build("CANCEL", &ev, NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "\r\nMETHOD:CANCEL\r\n"));
    assert_non_null(strstr(s, "\r\nSTATUS:CANCELLED\r\n"));
    assert_null(strstr(s, "CONFIRMED"));
    free(s);
    s = ical_build("PUBLISH", &ev, NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "\r\nMETHOD:PUBLISH\r\n"));
    free(s);
}

static void test_escaping(void **state)
{
    struct buf b;
    buf_init(&b);
    ical_escape(&b, "a,b;c\\d\ne\r\nf");
    assert_string_equal(b.data, "a\\,b\\;c\\\\d\\ne\\nf");
    buf_free(&b);

    struct ical_event ev = sample();
    ev.location = "北部地域振興局, 北町5番地; 1階\n窓口";
    char *s = ical_build("REQUEST", &ev, NULL);
    assert_non_null(s);
    size_t np, n;
    char **phys = split_lines(s, &np);
    char **l = unfold(phys, np, &n);
    assert_true(
        has_line(l, n, "LOCATION:北部地域振興局\\, 北町5番地\\; 1階\\n窓口"));
    free_lines(l, n);
    free_lines(phys, np);
    free(s);
}

static void test_folding(void **state)
{
    /* 100 three-byte characters: 300 octets, folded several times. */
    struct buf loc;
    buf_init(&loc);
    for (int i = 0; i < 100; i++)
        buf_puts(&loc, i % 2 ? "庁" : "あ");
    struct ical_event ev = sample();
    ev.location = loc.data;
    ev.description = "A long ASCII description that certainly runs past the "
                     "seventy-five octet limit of one content line twice "
                     "over so that it folds more than once.";
    char *s = ical_build("REQUEST", &ev, NULL);
    assert_non_null(s);
    size_t np, n;
    char **phys = split_lines(s, &np);
    int continuations = 0;
    for (size_t i = 0; i < np; i++) {
        assert_true(strlen(phys[i]) <= 75);
        /* Never a character cut in two. */
        assert_true(utf8_valid(phys[i], strlen(phys[i])));
        continuations += phys[i][0] == ' ';
    }
    assert_true(continuations >= 5);
    char **l = unfold(phys, np, &n);
    struct buf want;
    buf_init(&want);
    buf_printf(&want, "LOCATION:%s", loc.data);
    assert_true(has_line(l, n, want.data));
    buf_reset(&want);
    buf_printf(&want, "DESCRIPTION:%s", ev.description);
    assert_true(has_line(l, n, want.data));
    buf_free(&want);
    free_lines(l, n);
    free_lines(phys, np);
    free(s);
    buf_free(&loc);
}

static void test_midnight_and_dates(void **state)
{
    struct ical_event ev = sample();
    ev.date = "2026-12-31";
    ev.start_min = 23 * 60 + 30;
    ev.end_min = 1440;
    char *s = ical_build("REQUEST", &ev, NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "DTSTART;TZID=Asia/Tokyo:20261231T233000\r\n"));
    assert_non_null(strstr(s, "DTEND;TZID=Asia/Tokyo:20270101T000000\r\n"));
    free(s);
    ev.date = "2028-02-29";
    ev.start_min = 19 * 60;
    ev.end_min = 19 * 60 + 30;
    s = ical_build("REQUEST", &ev, NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "DTSTART;TZID=Asia/Tokyo:20280229T190000\r\n"));
    free(s);
}

static void test_invalid(void **state)
{
    struct ical_event ev = sample();
    assert_null(ical_build("PUBLISHED", &ev, NULL));
    assert_null(ical_build(NULL, &ev, NULL));
    ev.date = "2026-02-30";
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.start_min = 600;
    ev.end_min = 600;
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.end_min = 1441;
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.summary = "line\nbreak"; /* not allowed in a summary */
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.location = "bad \x01 control";
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.description = "bad \xff utf-8";
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.organizer = "not an address";
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.attendee = "a@b\r\nX-INJECT:1";
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.uid = "";
    assert_null(ical_build("REQUEST", &ev, NULL));
    ev = sample();
    ev.sequence = -1;
    assert_null(ical_build("REQUEST", &ev, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_midnight_and_dates),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests_name("ical", tests, NULL, NULL);
}
