/*
** ical.h - iCalendar (RFC 5545) objects for mail attachments: one
** VCALENDAR with one VEVENT in Japan time (TZID=Asia/Tokyo with its
** VTIMEZONE), for bookings, events and consultations.  Scheduling methods
** follow iTIP (RFC 5546): REQUEST for a new or changed appointment,
** CANCEL (with STATUS:CANCELLED) when it was cancelled, PUBLISH for a
** plain announcement.
**
** Text values are escaped (\\ \; \, and newlines as \n) and every content
** line is folded at 75 octets (CRLF + one space) without splitting a
** UTF-8 character.  Lines end with CRLF.
*/
#ifndef CITYOS_ICAL_H
#define CITYOS_ICAL_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct ical_event {
    const char *uid;            /* globally unique, e.g. "AB12CD34@cityos" */
    int64_t dtstamp;            /* unix time the object was made (UTC) */
    const char *date;           /* Japan date "YYYY-MM-DD" */
    int start_min;              /* minutes after midnight, Japan time */
    int end_min;                /* > start_min, at most 1440 (midnight) */
    int sequence;               /* revision, >= 0: higher for each change */
    const char *summary;        /* UTF-8 text */
    const char *location;       /* may be NULL */
    const char *description;    /* may be NULL; newlines allowed */
    const char *organizer;      /* an e-mail address or NULL; REQUEST and
                                   CANCEL need one (RFC 5546) */
    const char *organizer_name; /* may be NULL */
    const char *attendee;       /* the recipient's address or NULL */
    const char *url;            /* may be NULL */
};

/* The whole object; method "REQUEST", "CANCEL" or "PUBLISH".  Returns a
** NUL-terminated string (caller frees) with its length in *len (may be
** NULL), or NULL when an argument is invalid (unknown method, bad date or
** times, missing uid or summary, control characters in a text other than
** newlines, invalid UTF-8). */
char *ical_build(const char *method, const struct ical_event *ev, size_t *len);

/* Appends one content line "name:value" (value already escaped or not a
** text value) folded at 75 octets, with its CRLF. */
void ical_line(struct buf *out, const char *name, const char *value);
/* Appends s escaped as a TEXT value (RFC 5545 3.3.11). */
void ical_escape(struct buf *out, const char *s);

#endif
