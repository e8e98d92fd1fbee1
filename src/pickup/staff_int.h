/*
** staff_int.h - private to the staff side of the pickup service
** (src/pickup/staff*.c, import.c, export.c, api.c): the helpers their
** pages share.  Everything public is in staff.h.
**
** Catalog keys of these pages start with "pstaff." (messages/
** pickup_staff.*.json) so they never clash with the citizens' pages.
*/
#ifndef CITYOS_PICKUP_STAFF_INT_H
#define CITYOS_PICKUP_STAFF_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "booking/booking.h"
#include "core/http.h"
#include "pickup/pickup.h"
#include "pickup/staff.h"

struct db_conn;

/* Most bookings of one location and day the pages show (live view, pull
** list): far above the places of a day at one counter. */
#define PS_DAY_MAX 2000

/* ---- permissions -------------------------------------------------------- */

/* 1 when the user may work on bookings: booking.staff or
** booking.operator. */
int ps_can_desk(struct req *rq);
/* Answers 403 after recording the refusal in the audit log
** (action "access.denied" or the one given, result "denied"). */
void ps_deny(struct req *rq, struct resp *rs, const char *action,
             const char *target_type, const char *target_id,
             const char *detail);
/* ps_can_desk() or ps_deny(); 1 when allowed. */
int ps_require_desk(struct req *rq, struct resp *rs);

/* Appends an audit entry in a transaction of its own.  0 or -1. */
int ps_audit(struct req *rq, const char *action, const char *target_type,
             const char *target_id, const char *result, const char *detail);

/* ---- dates and times ---------------------------------------------------- */

/* Japan today. */
void ps_today(char out[11]);
/* The date in query or form parameter name, "YYYY-MM-DD" (also YYYYMMDD
** or with '/'); today when absent or empty.  0, or -1 when given but not
** a date (out then holds today). */
int ps_date_param(struct req *rq, const char *name, char out[11]);
/* "2026年11月22日（日）" / "Sun 22 Nov 2026"; with era (ja only):
** "令和8年11月22日（日）". */
void ps_date_label(const char *lang, const char *date, int era, char *out,
                   size_t n);
/* "11月22日（日）" / "Sun 22 Nov". */
void ps_date_short(const char *lang, const char *date, char *out, size_t n);
/* Minutes after midnight as "09:05". */
void ps_hhmm(int minutes, char out[6]);
/* "09:05" (or "9:05") into minutes 0 .. 1440; -1 when not a time. */
int ps_parse_hhmm(const char *s);
/* A decimal integer in lo .. hi; 0 or -1. */
int ps_parse_int(const char *s, int lo, int hi, int *out);

/* ---- locations ---------------------------------------------------------- */

/* The pickup locations as options for a select
** [{value, label, selected}], closed ones marked; *id is the selected one
** and becomes the first open one when 0 or unknown.  NULL on a database
** error. */
json_t *ps_location_options(struct req *rq, int include_closed, int64_t *id);
/* The location named by parameter "location" (or the first open one);
** ENOTFOUND when there is none.  BOOKING_* result. */
int ps_location_param(struct req *rq, struct booking_resource *r);

/* ---- labels ------------------------------------------------------------- */

const char *ps_status_label(const char *lang, const char *status);
/* Badge kind of a card status / of a booking status. */
const char *ps_status_badge(const char *status);
const char *ps_booking_status_label(const char *lang, const char *status);
const char *ps_booking_status_badge(const char *status);
const char *ps_channel_label(const char *lang, const char *channel);
/* "123-456789" from a member key "notice:123456789" (or the key itself). */
void ps_member_label(const char *key, char *out, size_t n);
/* The notice number of a member key, or NULL when it is not a notice. */
const char *ps_member_notice(const char *key);
/* The message of a booking engine or pickup result, for the page. */
const char *ps_result_text(const char *lang, int rc);
/* "この枠には予約が入っているため変更できません: 日時 …" for a
** BOOKING_ECONFLICT naming slot s.  Caller frees. */
char *ps_conflict_text(const char *lang, const struct booking_slot *s);

/* The name in kana of an encrypted notices.name_kana value; "" when
** empty or unreadable.  Caller frees. */
char *ps_name_decrypt(const char *stored);

/* ---- page context ------------------------------------------------------- */

/* A page context with the sub-navigation of the pickup staff pages
** ("subnav": the pages this user may open, current marked). */
json_t *ps_context(struct req *rq, const char *current);
/* A form field object (admin_field) with a type and optional hint key. */
json_t *ps_field(struct req *rq, const char *name, const char *label_key,
                 const char *value, const char *type, int maxlength,
                 int required, const char *hint_key);
/* Sets options on a field object to a select of values with their labels
** (label keys in keys), value selected. */
void ps_field_select(struct req *rq, json_t *field, const char *const *values,
                     const char *const *keys, size_t n, const char *selected);

/* Renders an error page with a text (not a catalog key). */
void ps_error_text(struct req *rq, struct resp *rs, int status,
                   const char *text);

/* ---- registration of each file's routes (staff.c calls them) ------------ */

void ps_live_register(void);
void ps_book_register(void);
void ps_notice_register(void);
void ps_settings_register(void);
void ps_import_register(void);
void ps_export_register(void);
void ps_api_register(void);

#endif
