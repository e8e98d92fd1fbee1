/*
** ical.c - iCalendar objects (RFC 5545) for mail attachments; see ical.h.
**
** Japan has had no daylight saving time since 1951, so the VTIMEZONE of
** Asia/Tokyo is one STANDARD observance at +0900.  Times are written as
** local times with TZID (what calendar programs show as the counter's
** time), DTSTAMP in UTC as RFC 5545 requires.
*/
#include "ical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jpdate.h"
#include "parse.h"
#include "util.h"

#define FOLD_AT 75 /* octets per line, CRLF excluded (RFC 5545 3.1) */

/* Appends the bytes of one unfolded line, folding before any character
** that would take the line past FOLD_AT octets.  A continuation line
** starts with one space, which counts towards its 75 octets. */
static void fold_append(struct buf *out, const char *line)
{
    size_t col = 0;
    const unsigned char *p = (const unsigned char *)line;
    while (*p) {
        size_t clen = 1;
        if (*p >= 0xF0)
            clen = 4;
        else if (*p >= 0xE0)
            clen = 3;
        else if (*p >= 0xC0)
            clen = 2;
        if (col + clen > FOLD_AT) {
            buf_puts(out, "\r\n ");
            col = 1;
        }
        buf_append(out, p, clen);
        col += clen;
        p += clen;
    }
    buf_puts(out, "\r\n");
}

void ical_line(struct buf *out, const char *name, const char *value)
{
    struct buf line;
    buf_init(&line);
    buf_puts(&line, name);
    buf_putc(&line, ':');
    buf_puts(&line, value ? value : "");
    fold_append(out, line.data);
    buf_free(&line);
}

void ical_escape(struct buf *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '\\':
            buf_puts(out, "\\\\");
            break;
        case ';':
            buf_puts(out, "\\;");
            break;
        case ',':
            buf_puts(out, "\\,");
            break;
        case '\r':
            if (s[1] == '\n')
                s++;
            buf_puts(out, "\\n");
            break;
        case '\n':
            buf_puts(out, "\\n");
            break;
        default:
            buf_putc(out, *s);
        }
    }
}

/* Text for a TEXT property: valid UTF-8, no control characters but
** newlines (and CR before them). */
static int text_ok(const char *s, int newlines)
{
    if (!s)
        return 1;
    size_t n = strlen(s);
    if (!utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(newlines && (c == '\n' || c == '\r'))) || c == 0x7f)
            return 0;
    }
    return 1;
}

static void text_line(struct buf *out, const char *name, const char *value)
{
    struct buf v;
    buf_init(&v);
    ical_escape(&v, value);
    ical_line(out, name, v.data ? v.data : "");
    buf_free(&v);
}

/* "20261122T090000" for a Japan date and minutes (1440 = the next day's
** midnight). */
static int local_stamp(const char *date, int minutes, char out[16])
{
    int y, m, d;
    if (jpdate_parse(date, &y, &m, &d) != 0 || minutes < 0 || minutes > 1440)
        return -1;
    if (minutes == 1440) {
        jpdate_from_days(jpdate_days(y, m, d) + 1, &y, &m, &d);
        minutes = 0;
    }
    snprintf(out, 16, "%04d%02d%02dT%02d%02d00", y, m, d, minutes / 60,
             minutes % 60);
    return 0;
}

static void utc_stamp(int64_t t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static void vtimezone(struct buf *out)
{
    ical_line(out, "BEGIN", "VTIMEZONE");
    ical_line(out, "TZID", "Asia/Tokyo");
    ical_line(out, "BEGIN", "STANDARD");
    ical_line(out, "DTSTART", "19700101T000000");
    ical_line(out, "TZOFFSETFROM", "+0900");
    ical_line(out, "TZOFFSETTO", "+0900");
    ical_line(out, "TZNAME", "JST");
    ical_line(out, "END", "STANDARD");
    ical_line(out, "END", "VTIMEZONE");
}

static int address_ok(const char *a)
{
    if (!a || !a[0] || strlen(a) > 254 || !strchr(a, '@'))
        return 0;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == ':' || *p == ';' || *p == ',' ||
            *p == '"' || *p == '<' || *p == '>' || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

static int event_ok(const char *method, const struct ical_event *ev)
{
    char a[16], b[16];
    if (strcmp(method, "REQUEST") != 0 && strcmp(method, "CANCEL") != 0 &&
        strcmp(method, "PUBLISH") != 0)
        return 0;
    if (!ev->uid || !ev->uid[0] || strlen(ev->uid) > 200 ||
        !text_ok(ev->uid, 0) || !ev->summary || !ev->summary[0] ||
        ev->sequence < 0 || ev->start_min >= ev->end_min ||
        local_stamp(ev->date, ev->start_min, a) != 0 ||
        local_stamp(ev->date, ev->end_min, b) != 0)
        return 0;
    if (!text_ok(ev->summary, 0) || !text_ok(ev->location, 1) ||
        !text_ok(ev->description, 1) || !text_ok(ev->organizer_name, 0) ||
        !text_ok(ev->url, 0))
        return 0;
    if (ev->url && strpbrk(ev->url, " \"<>\\"))
        return 0;
    if (ev->organizer && !address_ok(ev->organizer))
        return 0;
    if (ev->attendee && !address_ok(ev->attendee))
        return 0;
    return 1;
}

static void organizer_line(struct buf *out, const struct ical_event *ev)
{
    struct buf name;
    buf_init(&name);
    buf_puts(&name, "ORGANIZER");
    if (ev->organizer_name && ev->organizer_name[0]) {
        /* A parameter value may not hold '"'; text_ok refused controls. */
        buf_puts(&name, ";CN=\"");
        for (const char *p = ev->organizer_name; *p; p++)
            if (*p != '"')
                buf_putc(&name, *p);
        buf_putc(&name, '"');
    }
    struct buf v;
    buf_init(&v);
    buf_printf(&v, "mailto:%s", ev->organizer);
    ical_line(out, name.data, v.data);
    buf_free(&v);
    buf_free(&name);
}

char *ical_build(const char *method, const struct ical_event *ev, size_t *len)
{
    if (!method || !ev || !event_ok(method, ev))
        return NULL;
    int cancel = strcmp(method, "CANCEL") == 0;
    char start[16], end[16], stamp[17], seq[16];
    local_stamp(ev->date, ev->start_min, start);
    local_stamp(ev->date, ev->end_min, end);
    utc_stamp(ev->dtstamp, stamp);
    snprintf(seq, sizeof seq, "%d", ev->sequence);

    struct buf out;
    buf_init(&out);
    ical_line(&out, "BEGIN", "VCALENDAR");
    ical_line(&out, "VERSION", "2.0");
    ical_line(&out, "PRODID", "-//cityos//cityos " CITYOS_VERSION "//JA");
    ical_line(&out, "CALSCALE", "GREGORIAN");
    ical_line(&out, "METHOD", method);
    vtimezone(&out);
    ical_line(&out, "BEGIN", "VEVENT");
    text_line(&out, "UID", ev->uid);
    ical_line(&out, "DTSTAMP", stamp);
    ical_line(&out, "DTSTART;TZID=Asia/Tokyo", start);
    ical_line(&out, "DTEND;TZID=Asia/Tokyo", end);
    ical_line(&out, "SEQUENCE", seq);
    text_line(&out, "SUMMARY", ev->summary);
    if (ev->location && ev->location[0])
        text_line(&out, "LOCATION", ev->location);
    if (ev->description && ev->description[0])
        text_line(&out, "DESCRIPTION", ev->description);
    if (ev->url && ev->url[0])
        ical_line(&out, "URL", ev->url);
    if (ev->organizer)
        organizer_line(&out, ev);
    if (ev->attendee) {
        /* The recipient, already agreed: no reply is wanted. */
        struct buf v;
        buf_init(&v);
        buf_printf(&v, "mailto:%s", ev->attendee);
        ical_line(&out,
                  "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE",
                  v.data);
        buf_free(&v);
    }
    ical_line(&out, "STATUS", cancel ? "CANCELLED" : "CONFIRMED");
    ical_line(&out, "TRANSP", "OPAQUE");
    ical_line(&out, "END", "VEVENT");
    ical_line(&out, "END", "VCALENDAR");
    if (len)
        *len = out.len;
    return buf_steal(&out);
}
