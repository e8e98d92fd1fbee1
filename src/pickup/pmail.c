/*
** pmail.c - the pickup service's mail (RSV-2): on booking, on change, on
** cancellation and the day before, in Japanese, with the details a
** citizen needs at the counter (place and address, date with weekday and
** era, time, reference, what to bring) and an iCalendar attachment
** (core/ical.h: METHOD:REQUEST for a booking or change, METHOD:CANCEL for
** a cancellation).  Mail is queued through the mail queue inside the
** transaction of the change it reports, so it is sent if and only if the
** change was committed.
**
** The reminder job "pickup.reminders" runs once a day in
** PICKUP_REMINDER_WINDOW (Japan time) and reminds the bookings of the
** next day; a pickup_reminders row, written in the transaction that
** queues the mail, keeps any later run (or another server) from sending
** the same reminder twice.  The texts come from the catalog
** (messages/pickup.ja.json, keys "pickup.mail.*"), so a city can word
** them its own way.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/ical.h"
#include "core/jobs.h"
#include "core/jpdate.h"
#include "core/mail.h"
#include "core/tmpl.h"
#include "core/util.h"
#include "pickup/pickup.h"

#define MAX_ADDRS PICKUP_FAMILY_MAX

static const char *T(const char *key)
{
    return i18n_get("ja", key);
}

/* The distinct addresses of the members (compared without case). */
static int member_addresses(struct db_conn *c, const struct booking *b,
                            char addrs[][256], int max)
{
    int n = 0;
    for (int i = 0; i < b->nmembers; i++) {
        if (!str_starts(b->members[i], "notice:"))
            continue;
        struct db_stmt *st =
            db_queryf(c, "SELECT email FROM notices WHERE notice_no = ?", "s",
                      b->members[i] + strlen("notice:"));
        if (!st)
            return -1;
        int rc = db_step(st);
        char *plain = NULL;
        if (rc == DB_ROW && db_col_text(st, 0) && the_app && the_app->keys)
            plain = field_decrypt(the_app->keys, "notices.email",
                                  db_col_text(st, 0));
        db_finalize(st);
        if (rc != DB_ROW && rc != DB_DONE) {
            free(plain);
            return -1;
        }
        if (plain && plain[0] && mail_address_valid(plain)) {
            int dup = 0;
            for (int j = 0; j < n && !dup; j++)
                dup = strcasecmp(addrs[j], plain) == 0;
            if (!dup && n < max)
                str_copy(addrs[n++], plain, 256);
        }
        free(plain);
    }
    return n;
}

/* "cityos@example.jp" from "Name <cityos@example.jp>" or the address. */
static void from_address(char *out, size_t n)
{
    const char *f = the_app ? the_app->cfg.mail_from : "";
    const char *lt = strchr(f, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt && gt > lt + 1)
        snprintf(out, n, "%.*s", (int)(gt - lt - 1), lt + 1);
    else
        str_copy(out, f, n);
}

static void pickup_url(char *out, size_t n)
{
    const char *base = the_app ? the_app->cfg.base_url : "";
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    snprintf(out, n, "%.*s/pickup", (int)len, base);
}

/* The date with era and weekday, and the time range, for the booking. */
static void when_text(const struct booking *b, char *date, size_t dn,
                      char *time, size_t tn)
{
    if (jpdate_format(b->date, 1, date, dn) != 0)
        str_copy(date, b->date, dn);
    if (jpdate_time_range("ja", b->start_min, b->start_min + b->len_min, time,
                          tn) != 0)
        time[0] = 0;
}

/* The last day citizens may change or cancel online, as text. */
static void deadline_text(const struct booking_resource *r,
                          const struct booking *b, char *out, size_t n)
{
    char day[11], text[64];
    if (r->deadline_days <= 0 ||
        booking_date_add(b->date, -r->deadline_days, day) != 0 ||
        jpdate_format(day, 1, text, sizeof text) != 0) {
        str_copy(out, T("pickup.mail.deadline_start"), n);
        return;
    }
    str_copy(out, text, n);
}

static void members_text(struct buf *t, const struct booking *b)
{
    buf_printf(t, "%s%d%s", T("pickup.mail.party"), b->party,
               T("pickup.mail.people"));
    for (int i = 0; i < b->nmembers; i++) {
        const char *no = str_starts(b->members[i], "notice:")
                             ? b->members[i] + strlen("notice:")
                             : b->members[i];
        size_t len = strlen(no);
        /* Only the last four digits: the number is half of a sign-in. */
        buf_printf(t, "%s%s", i ? "、" : T("pickup.mail.notice_tail"),
                   len > 4 ? no + len - 4 : no);
    }
    buf_puts(t, b->nmembers ? "）\n" : "\n");
}

static char *body_text(const char *kind, const struct booking *b,
                       const struct booking_resource *r)
{
    char date[64], time[48], deadline[96], url[600], key[64];
    when_text(b, date, sizeof date, time, sizeof time);
    deadline_text(r, b, deadline, sizeof deadline);
    pickup_url(url, sizeof url);
    struct buf t;
    buf_init(&t);
    snprintf(key, sizeof key, "pickup.mail.%s.intro", kind);
    buf_printf(&t, "%s\n\n", T(key));
    buf_printf(&t, "%s%s\n", T("pickup.mail.ref"), b->ref);
    buf_printf(&t, "%s%s %s\n", T("pickup.mail.when"), date, time);
    buf_printf(&t, "%s%s\n", T("pickup.mail.where"), r->name);
    if (r->address[0])
        buf_printf(&t, "%s%s\n", T("pickup.mail.address"), r->address);
    members_text(&t, b);
    if (strcmp(kind, "cancel") == 0) {
        buf_printf(&t, "\n%s\n%s\n", T("pickup.mail.rebook"), url);
    } else {
        buf_printf(&t, "\n%s\n", T("pickup.mail.bring"));
        buf_printf(&t, "%s\n", T("pickup.mail.bring.list"));
        buf_printf(&t, "\n%s%s%s\n%s\n", T("pickup.mail.change1"), deadline,
                   T("pickup.mail.change2"), url);
        buf_printf(&t, "%s\n%s\n", T("pickup.mail.after_deadline"),
                   pickup_contact_text("ja"));
    }
    buf_printf(&t, "\n%s\n%s\n", T("pickup.mail.footer"),
               T("pickup.mail.sender"));
    return buf_steal(&t);
}

static char *ical_for(const char *kind, const struct booking *b,
                      const struct booking_resource *r, const char *to,
                      size_t *len)
{
    char uid[64], from[256], url[600], where[400], desc[256];
    snprintf(uid, sizeof uid, "%s@cityos", b->ref);
    from_address(from, sizeof from);
    pickup_url(url, sizeof url);
    if (r->address[0])
        snprintf(where, sizeof where, "%s %s", r->name, r->address);
    else
        str_copy(where, r->name, sizeof where);
    snprintf(desc, sizeof desc, "%s%s\n%s\n%s", T("pickup.mail.ref"), b->ref,
             T("pickup.mail.bring"), T("pickup.mail.bring.short"));
    int64_t now = now_unix();
    /* A later change must carry a higher SEQUENCE: seconds since the
    ** booking was made only grow. */
    int64_t seq = now - b->created_at;
    struct ical_event ev = {
        .uid = uid,
        .dtstamp = now,
        .date = b->date,
        .start_min = b->start_min,
        .end_min = b->start_min + b->len_min,
        .sequence = seq < 0            ? 0
                    : seq > 2000000000 ? 2000000000
                                       : (int)seq,
        .summary = T("pickup.mail.ical.summary"),
        .location = where,
        .description = desc,
        .organizer = mail_address_valid(from) ? from : NULL,
        .organizer_name = T("pickup.mail.sender"),
        .attendee = mail_address_valid(to) ? to : NULL,
        .url = url,
    };
    return ical_build(strcmp(kind, "cancel") == 0 ? "CANCEL" : "REQUEST", &ev,
                      len);
}

int pickup_mail_booking(struct db_conn *c, const char *kind,
                        const struct booking *b)
{
    char addrs[MAX_ADDRS][256];
    int n = member_addresses(c, b, addrs, MAX_ADDRS);
    if (n <= 0)
        return n;
    struct booking_resource r;
    if (booking_resource_get(c, b->resource_id, &r) != BOOKING_OK)
        return -1;
    char key[64], subject[256];
    snprintf(key, sizeof key, "pickup.mail.%s.subject", kind);
    snprintf(subject, sizeof subject, "%s（%s %s）", T(key),
             T("pickup.mail.ref_short"), b->ref);
    char *text = body_text(kind, b, &r);
    int cancel = strcmp(kind, "cancel") == 0;
    int sent = 0;
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        char *ics = ical_for(kind, b, &r, addrs[i], &len);
        struct mail m = {
            .to = addrs[i],
            .subject = subject,
            .text = text,
            .attach_name = ics ? "booking.ics" : NULL,
            .attach_type = cancel ? "text/calendar; charset=UTF-8; "
                                    "method=CANCEL"
                                  : "text/calendar; charset=UTF-8; "
                                    "method=REQUEST",
            .attach_data = ics,
            .attach_len = len,
        };
        int rc = mail_enqueue(c, &m);
        free(ics);
        if (rc != 0) {
            free(text);
            return -1;
        }
        sent++;
    }
    free(text);
    return sent;
}

/* ---- reminders -------------------------------------------------------- */

/* Reminds one booking in a transaction of its own: 1 reminded, 0 nothing
** to do (no address, already reminded), -1 on error. */
static int remind_one(struct db_conn *c, int64_t booking_id, const char *day)
{
    struct booking b;
    if (booking_get(c, booking_id, &b) != BOOKING_OK)
        return -1;
    if (strcmp(b.status, "active") != 0 || strcmp(b.date, day) != 0)
        return 0;
    if (db_begin(c) != DB_OK)
        return -1;
    int64_t rc = db_run(c,
                        "INSERT INTO pickup_reminders (booking_id, date, "
                        "sent_at) VALUES (?, ?, ?) ON CONFLICT (booking_id, "
                        "date) DO NOTHING",
                        "isi", booking_id, day, now_unix());
    if (rc == 0) { /* reminded already, by an earlier run or a server */
        db_rollback(c);
        return 0;
    }
    int n = rc == 1 ? pickup_mail_booking(c, "remind", &b) : -1;
    if (n <= 0) {
        /* Nothing sent: no row either, so an address given later today
        ** is still reminded by a later run. */
        db_rollback(c);
        return n;
    }
    return db_commit(c) == DB_OK ? 1 : -1;
}

static int remind_resource(struct db_conn *c, int64_t resource_id,
                           const char *day)
{
    json_t *list = NULL;
    if (booking_list_day(c, resource_id, day, &list) != BOOKING_OK)
        return -1;
    int count = 0;
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        const char *status = json_string_value(json_object_get(it, "status"));
        if (!status || strcmp(status, "active") != 0)
            continue;
        int r =
            remind_one(c, json_integer_value(json_object_get(it, "id")), day);
        if (r < 0) {
            log_error("pickup.reminders: booking %lld failed",
                      (long long)json_integer_value(json_object_get(it, "id")));
            continue;
        }
        count += r;
    }
    json_decref(list);
    return count;
}

int pickup_reminders_run(struct app *app, int64_t now)
{
    char today[11], tomorrow[11];
    booking_date_of(now, today);
    if (booking_date_add(today, 1, tomorrow) != 0)
        return -1;
    struct db_conn *c = db_acquire(app->db);
    if (!c)
        return -1;
    json_t *resources = NULL;
    int count = 0;
    if (booking_resource_list(c, "pickup", 1, &resources) != BOOKING_OK) {
        db_release(c);
        return -1;
    }
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r)
    {
        int n = remind_resource(c, json_integer_value(json_object_get(r, "id")),
                                tomorrow);
        if (n < 0) {
            count = -1;
            break;
        }
        count += n;
    }
    json_decref(resources);
    db_release(c);
    return count;
}

static int reminders_due(struct app *app, int64_t now, char *slot, size_t n)
{
    return job_due_daily_window(PICKUP_REMINDER_WINDOW, now, "pickup.reminders",
                                slot, n);
}

static int reminders_job(struct app *app)
{
    int n = pickup_reminders_run(app, now_unix());
    if (n < 0)
        return -1;
    log_info("pickup.reminders: %d bookings reminded", n);
    return 0;
}

void pickup_reminder_job_register(void)
{
    static const struct job job = {"pickup.reminders", reminders_due,
                                   reminders_job};
    jobs_register(&job);
}
