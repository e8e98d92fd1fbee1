/*
** staff.c - what the staff and call-center pages of the pickup service
** share (staff_int.h): permissions and refusals, the search-key rules of
** WIN-8, names in kana, dates with weekday and era, the location select,
** labels, and pickup_staff_register() with the navigation entries.
**
** WIN-8: the keys a role may search notices by are data (roles.
** search_keys, migration 0006): operators search by the notice number
** only, exact match; citizen-services staff also by name in kana and
** status.  A search by any other key is refused with 403 and recorded,
** also when the request was made by hand, because the check is here on
** the server and not in the form.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/jpdate.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

/* ---- search keys (WIN-8) ------------------------------------------------ */

static const struct {
    const char *name;
    unsigned bit;
} search_keys[] = {
    {"notice_no", PICKUP_KEY_NOTICE_NO},
    {"name_kana", PICKUP_KEY_NAME_KANA},
    {"status", PICKUP_KEY_STATUS},
};

unsigned pickup_search_key_bit(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_LEN(search_keys); i++)
        if (strcmp(search_keys[i].name, name) == 0)
            return search_keys[i].bit;
    return 0;
}

unsigned pickup_search_keys_parse(const char *list)
{
    unsigned bits = 0;
    char word[32];
    while (list && *list) {
        while (*list == ',' || *list == ' ')
            list++;
        size_t n = strcspn(list, ", ");
        if (n > 0 && n < sizeof word) {
            memcpy(word, list, n);
            word[n] = 0;
            bits |= pickup_search_key_bit(word);
        }
        list += n;
    }
    return bits;
}

int pickup_role_search_keys(struct db_conn *c, const char *role, unsigned *keys)
{
    *keys = 0;
    if (!role || !*role)
        return 0;
    struct db_stmt *st =
        db_queryf(c, "SELECT search_keys FROM roles WHERE name = ?", "s", role);
    if (!st)
        return -1;
    int rc = db_step(st);
    if (rc == DB_ROW)
        *keys = pickup_search_keys_parse(db_col_text(st, 0));
    db_finalize(st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int pickup_search_allowed(struct db_conn *c, const char *role, unsigned used)
{
    unsigned keys;
    if (pickup_role_search_keys(c, role, &keys) != 0)
        return -1;
    return (used & ~keys) == 0;
}

/* ---- names in kana ------------------------------------------------------ */

/* Half-width katakana U+FF66 .. U+FF9D as full-width. */
static const unsigned short halfwidth_kana[] = {
    0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5,
    0x30E7, 0x30C3, 0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA,
    0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9,
    0x30BB, 0x30BD, 0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA,
    0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8,
    0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6,
    0x30E8, 0x30E9, 0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3,
};

/* Decodes one code point of valid UTF-8 at s; returns its length. */
static size_t utf8_next(const unsigned char *s, unsigned *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        *cp = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
        return 2;
    }
    if ((s[0] & 0xf0) == 0xe0) {
        *cp = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) |
              (s[2] & 0x3f);
        return 3;
    }
    *cp = ((unsigned)(s[0] & 0x07) << 18) | ((unsigned)(s[1] & 0x3f) << 12) |
          ((unsigned)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
    return 4;
}

/* The voiced (mark 1) or semi-voiced (mark 2) form of katakana k, or 0. */
static unsigned kana_voiced(unsigned k, int mark)
{
    if (k >= 0x30CF && k <= 0x30DB && (k - 0x30CF) % 3 == 0)
        return k + (unsigned)mark; /* ハヒフヘホ -> バ.. / パ.. */
    if (mark != 1)
        return 0;
    if ((k >= 0x30AB && k <= 0x30C1 && (k - 0x30AB) % 2 == 0) || k == 0x30C4 ||
        k == 0x30C6 || k == 0x30C8)
        return k + 1; /* カ..チ, ツ, テ, ト */
    if (k == 0x30A6)
        return 0x30F4; /* ウ -> ヴ */
    if (k == 0x30FD)
        return 0x30FE; /* ヽ -> ヾ */
    return 0;
}

static int kana_ok(unsigned k)
{
    return (k >= 0x30A1 && k <= 0x30FA) || k == 0x30FB || k == 0x30FC ||
           k == 0x30FD || k == 0x30FE;
}

static void utf8_put(struct buf *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xc0 | (cp >> 6)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_putc(b, (char)(0xe0 | (cp >> 12)));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

int pickup_kana_normalize(const char *s, size_t max_chars, char *out,
                          size_t outlen)
{
    out[0] = 0;
    if (!s || !utf8_valid(s, strlen(s)))
        return -1;
    unsigned cps[512];
    size_t n = 0;
    int space = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        p += utf8_next(p, &cp);
        if (cp == ' ' || cp == '\t' || cp == 0x3000) {
            space = n > 0;
            continue;
        }
        int mark = cp == 0xFF9E || cp == 0x3099 || cp == 0x309B   ? 1
                   : cp == 0xFF9F || cp == 0x309A || cp == 0x309C ? 2
                                                                  : 0;
        if (mark) { /* combines with the kana before it */
            unsigned v = n > 0 && !space ? kana_voiced(cps[n - 1], mark) : 0;
            if (!v)
                return -1;
            cps[n - 1] = v;
            continue;
        }
        if (cp >= 0x3041 && cp <= 0x3096)
            cp += 0x60; /* hiragana -> katakana */
        else if (cp >= 0xFF66 && cp <= 0xFF9D)
            cp = halfwidth_kana[cp - 0xFF66];
        else if (cp == 0xFF65)
            cp = 0x30FB;
        if (!kana_ok(cp))
            return -1;
        if (n + 2 >= ARRAY_LEN(cps))
            return -1;
        if (space)
            cps[n++] = 0x3000;
        space = 0;
        cps[n++] = cp;
    }
    if (n == 0 || n > max_chars)
        return -1;
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++)
        utf8_put(&b, cps[i]);
    int rc = b.len < outlen ? 0 : -1;
    if (rc == 0)
        memcpy(out, b.data, b.len + 1);
    buf_free(&b);
    return rc;
}

/* ---- dates -------------------------------------------------------------- */

int pickup_date_parse(const char *s, char out[11])
{
    char d[11];
    size_t n = s ? strlen(s) : 0;
    if (n == 8) {
        for (size_t i = 0; i < 8; i++)
            if (s[i] < '0' || s[i] > '9')
                return -1;
        snprintf(d, sizeof d, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
    } else if (n == 10 && (s[4] == '-' || s[4] == '/') && s[7] == s[4]) {
        snprintf(d, sizeof d, "%.4s-%.2s-%.2s", s, s + 5, s + 8);
    } else {
        return -1;
    }
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
            return -1;
    /* booking_weekday() refuses dates that do not exist (2025-02-29);
    ** the year is bounded so that ages make sense. */
    int y = atoi(d);
    if (y < 1900 || y > 2199 || booking_weekday(d) < 0)
        return -1;
    memcpy(out, d, 11);
    return 0;
}

void ps_today(char out[11])
{
    booking_date_of(now_unix(), out);
}

int ps_date_param(struct req *rq, const char *name, char out[11])
{
    const char *s = req_param(rq, name);
    ps_today(out);
    if (!s || !*s)
        return 0;
    char d[11];
    if (pickup_date_parse(s, d) != 0)
        return -1;
    memcpy(out, d, 11);
    return 0;
}

void ps_date_label(const char *lang, const char *date, int era, char *out,
                   size_t n)
{
    int en = lang && strcmp(lang, "en") == 0;
    /* The era is customary in Japanese only (jpdate.h). */
    if (jpdate_format_lang(lang, date ? date : "", era && !en, out, n) != 0)
        str_copy(out, date ? date : "", n);
}

void ps_date_short(const char *lang, const char *date, char *out, size_t n)
{
    static const char *const mon_en[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    int y, m, d;
    int w = jpdate_weekday(date ? date : "");
    if (w < 0 || jpdate_parse(date, &y, &m, &d) != 0) {
        str_copy(out, date ? date : "", n);
        return;
    }
    if (lang && strcmp(lang, "en") == 0)
        snprintf(out, n, "%s %d %s", jpdate_weekday_en(w), d, mon_en[m - 1]);
    else
        snprintf(out, n, "%d月%d日（%s）", m, d, jpdate_weekday_ja(w));
}

void ps_hhmm(int minutes, char out[6])
{
    if (minutes < 0 || minutes > 1440)
        minutes = 0;
    snprintf(out, 6, "%02d:%02d", minutes / 60 % 100, minutes % 60);
}

int ps_parse_hhmm(const char *s)
{
    if (!s)
        return -1;
    size_t n = strlen(s);
    /* "9:05", "09:05", and "09:05:00" as some browsers send it. */
    if (n == 8 && strcmp(s + 5, ":00") == 0)
        n = 5;
    if ((n != 4 && n != 5) || s[n - 3] != ':')
        return -1;
    int h = 0;
    for (size_t i = 0; i < n - 3; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        h = h * 10 + (s[i] - '0');
    }
    if (s[n - 2] < '0' || s[n - 2] > '5' || s[n - 1] < '0' || s[n - 1] > '9')
        return -1;
    int m = (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
    int t = h * 60 + m;
    return h <= 24 && t <= 1440 ? t : -1;
}

int ps_parse_int(const char *s, int lo, int hi, int *out)
{
    if (!s || !*s || strlen(s) > 9)
        return -1;
    int v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* ---- permissions and audit ---------------------------------------------- */

int ps_can_desk(struct req *rq)
{
    return req_can(rq, "booking.staff") || req_can(rq, "booking.operator");
}

int ps_audit(struct req *rq, const char *action, const char *target_type,
             const char *target_id, const char *result, const char *detail)
{
    if (db_begin(rq->db) != DB_OK)
        return -1;
    if (audit_append(rq->db, &rq->actor, action, target_type, target_id, result,
                     detail) != 0) {
        db_rollback(rq->db);
        audit_alert(rq->app->db, "audit.write_failed", action);
        return -1;
    }
    if (db_commit(rq->db) != DB_OK) {
        db_rollback(rq->db);
        return -1;
    }
    return 0;
}

void ps_deny(struct req *rq, struct resp *rs, const char *action,
             const char *target_type, const char *target_id, const char *detail)
{
    ps_audit(rq, action ? action : "access.denied",
             target_type ? target_type : "route",
             target_id ? target_id : rq->path, "denied",
             detail ? detail : rq->method);
    resp_error(rq, rs, 403, NULL, NULL);
}

int ps_require_desk(struct req *rq, struct resp *rs)
{
    if (ps_can_desk(rq))
        return 1;
    ps_deny(rq, rs, NULL, NULL, NULL, NULL);
    return 0;
}

/* ---- locations ---------------------------------------------------------- */

json_t *ps_location_options(struct req *rq, int include_closed, int64_t *id)
{
    struct db_stmt *st = db_queryf(
        rq->db,
        include_closed
            ? "SELECT id, name, is_open FROM booking_resources WHERE kind = "
              "'pickup' ORDER BY is_open DESC, id"
            : "SELECT id, name, is_open FROM booking_resources WHERE kind = "
              "'pickup' AND is_open = 1 ORDER BY id",
        "");
    if (!st)
        return NULL;
    json_t *a = json_array();
    int64_t first = 0, found = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        int64_t rid = db_col_int(st, 0);
        const char *name = db_col_text(st, 1);
        int open = (int)db_col_int(st, 2);
        json_t *o = json_object();
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)rid);
        json_object_set_new(o, "value", json_string(v));
        struct buf l;
        buf_init(&l);
        buf_puts(&l, name ? name : "");
        if (!open)
            buf_printf(&l, " (%s)", i18n_get(rq->lang, "pstaff.loc.closed"));
        json_object_set_new(o, "label", json_string(l.data));
        buf_free(&l);
        if (!first)
            first = rid;
        if (rid == *id)
            found = rid;
        json_array_append_new(a, o);
    }
    db_finalize(st);
    if (rc != DB_DONE) {
        json_decref(a);
        return NULL;
    }
    *id = found ? found : first;
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o)
    {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)*id);
        if (strcmp(json_string_value(json_object_get(o, "value")), v) == 0)
            json_object_set_new(o, "selected", json_true());
    }
    return a;
}

int ps_location_param(struct req *rq, struct booking_resource *r)
{
    int64_t id = 0;
    const char *s = req_param(rq, "location");
    if (s && *s && admin_parse_id(s, &id) == 0 &&
        booking_resource_get(rq->db, id, r) == BOOKING_OK &&
        strcmp(r->kind, "pickup") == 0)
        return BOOKING_OK;
    int64_t first = 0;
    int rc = db_query_int(rq->db, &first,
                          "SELECT id FROM booking_resources WHERE kind = "
                          "'pickup' ORDER BY is_open DESC, id LIMIT 1",
                          "");
    if (rc == DB_DONE)
        return BOOKING_ENOTFOUND;
    if (rc != DB_ROW)
        return BOOKING_EDB;
    return booking_resource_get(rq->db, first, r);
}

/* ---- labels ------------------------------------------------------------- */

const char *ps_status_label(const char *lang, const char *status)
{
    char key[48];
    snprintf(key, sizeof key, "pstaff.status.%s", status ? status : "");
    const char *t = i18n_get(lang, key);
    return strcmp(t, key) == 0 ? (status ? status : "") : t;
}

const char *ps_status_badge(const char *status)
{
    if (!status)
        return "neutral";
    if (strcmp(status, "booked") == 0)
        return "info";
    if (strcmp(status, "issued") == 0 || strcmp(status, "visited") == 0)
        return "success";
    if (strcmp(status, "held") == 0 || strcmp(status, "returned") == 0)
        return "warning";
    if (strcmp(status, "discarded") == 0)
        return "error";
    return "neutral";
}

const char *ps_booking_status_label(const char *lang, const char *status)
{
    char key[48];
    snprintf(key, sizeof key, "pstaff.bstatus.%s", status ? status : "");
    const char *t = i18n_get(lang, key);
    return strcmp(t, key) == 0 ? (status ? status : "") : t;
}

const char *ps_booking_status_badge(const char *status)
{
    if (!status)
        return "neutral";
    if (strcmp(status, "active") == 0)
        return "info";
    if (strcmp(status, "visited") == 0)
        return "success";
    if (strcmp(status, "noshow") == 0)
        return "warning";
    return "neutral";
}

const char *ps_channel_label(const char *lang, const char *channel)
{
    char key[48];
    snprintf(key, sizeof key, "pstaff.channel.%s", channel ? channel : "");
    const char *t = i18n_get(lang, key);
    return strcmp(t, key) == 0 ? (channel ? channel : "") : t;
}

const char *ps_member_notice(const char *key)
{
    return key && str_starts(key, "notice:") ? key + 7 : NULL;
}

void ps_member_label(const char *key, char *out, size_t n)
{
    const char *no = ps_member_notice(key);
    if (no)
        pickup_notice_no_format(no, out, n);
    else
        str_copy(out, key ? key : "", n);
}

const char *ps_result_text(const char *lang, int rc)
{
    const char *key;
    switch (rc) {
    case BOOKING_ENOTFOUND:
        key = "pstaff.err.notfound";
        break;
    case BOOKING_EFULL:
        key = "pstaff.err.full";
        break;
    case BOOKING_EDUPLICATE:
        key = "pstaff.err.duplicate";
        break;
    case BOOKING_ECLOSED:
        key = "pstaff.err.closed";
        break;
    case BOOKING_EINVAL:
        key = "pstaff.err.invalid";
        break;
    case BOOKING_EAUDIT:
    case PICKUP_EAUDIT:
        key = "error.audit";
        break;
    case BOOKING_EBUSY:
        key = "pstaff.err.busy";
        break;
    case BOOKING_ECONFLICT:
        key = "pstaff.err.conflict";
        break;
    case PICKUP_ENOTFOUND:
        key = "pstaff.err.notice_unknown";
        break;
    case PICKUP_ESTATUS:
        key = "pstaff.err.status_change";
        break;
    case PICKUP_EINVAL:
        key = "pstaff.err.invalid";
        break;
    default:
        key = "pstaff.err.system";
        break;
    }
    return i18n_get(lang, key);
}

char *ps_conflict_text(const char *lang, const struct booking_slot *s)
{
    char day[64], a[6], b[6], n[16], when[96];
    ps_date_label(lang, s->date, 0, day, sizeof day);
    ps_hhmm(s->start_min, a);
    ps_hhmm(s->start_min + s->len_min, b);
    snprintf(n, sizeof n, "%d", s->booked);
    snprintf(when, sizeof when, "%s %s〜%s", day, a, b);
    const char *names[] = {"when", "booked"};
    const char *values[] = {when, n};
    return admin_msg(lang, "pstaff.err.conflict_slot", names, values, 2);
}

char *ps_name_decrypt(const char *stored)
{
    if (!stored || !*stored || !the_app || !the_app->keys)
        return xstrdup("");
    char *p = field_decrypt(the_app->keys, "notices.name_kana", stored);
    return p ? p : xstrdup("");
}

/* ---- page context ------------------------------------------------------- */

static const struct {
    const char *href;
    const char *key;
    const char *perm; /* NULL: booking.staff or booking.operator */
} subnav[] = {
    {"/staff/pickup", "pstaff.nav.live", NULL},
    {"/staff/pickup/book", "pstaff.nav.book", NULL},
    {"/staff/pickup/notices", "pstaff.nav.notices", NULL},
    {"/staff/pickup/pull-list", "pstaff.nav.pull", "booking.staff"},
    {"/staff/pickup/export", "pstaff.nav.export", "pickup.export"},
    {"/staff/pickup/import", "pstaff.nav.import", "pickup.import"},
    {"/staff/pickup/jlis", "pstaff.nav.jlis", "pickup.import"},
    {"/staff/pickup/settings", "pstaff.nav.settings", "booking.settings"},
};

json_t *ps_context(struct req *rq, const char *current)
{
    json_t *ctx = json_object();
    json_t *a = json_array();
    for (size_t i = 0; i < ARRAY_LEN(subnav); i++) {
        if (subnav[i].perm ? !req_can(rq, subnav[i].perm) : !ps_can_desk(rq))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "href", json_string(subnav[i].href));
        json_object_set_new(o, "label",
                            json_string(i18n_get(rq->lang, subnav[i].key)));
        if (current && strcmp(current, subnav[i].href) == 0)
            json_object_set_new(o, "current", json_true());
        json_array_append_new(a, o);
    }
    json_object_set_new(ctx, "subnav", a);
    return ctx;
}

json_t *ps_field(struct req *rq, const char *name, const char *label_key,
                 const char *value, const char *type, int maxlength,
                 int required, const char *hint_key)
{
    json_t *f = admin_field(rq, name, label_key, value, maxlength, required);
    if (type)
        json_object_set_new(f, "type", json_string(type));
    if (hint_key)
        json_object_set_new(f, "hint",
                            json_string(i18n_get(rq->lang, hint_key)));
    return f;
}

void ps_field_select(struct req *rq, json_t *field, const char *const *values,
                     const char *const *keys, size_t n, const char *selected)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "value", json_string(values[i]));
        json_object_set_new(o, "label",
                            json_string(i18n_get(rq->lang, keys[i])));
        if (selected && strcmp(selected, values[i]) == 0)
            json_object_set_new(o, "selected", json_true());
        json_array_append_new(a, o);
    }
    json_object_set_new(field, "select", json_true());
    json_object_set_new(field, "options", a);
}

void ps_error_text(struct req *rq, struct resp *rs, int status,
                   const char *text)
{
    resp_error(rq, rs, status, NULL, text);
}

/* ---- registration ------------------------------------------------------- */

static const struct nav_item staff_nav[] = {
    {"/staff/pickup", "pstaff.nav.home", "pstaff.nav.home_desc",
     "booking.staff"},
    {"/staff/pickup/notices", "pstaff.nav.operator", "pstaff.nav.operator_desc",
     "booking.operator"},
    {"/staff/pickup/settings", "pstaff.nav.settings",
     "pstaff.nav.settings_desc", "booking.settings"},
    {"/staff/pickup/import", "pstaff.nav.import", "pstaff.nav.import_desc",
     "pickup.import"},
    {"/staff/pickup/export", "pstaff.nav.export", "pstaff.nav.export_desc",
     "pickup.export"},
};

void pickup_staff_register(void)
{
    ps_live_register();
    ps_book_register();
    ps_notice_register();
    ps_settings_register();
    ps_import_register();
    ps_export_register();
    ps_api_register();
    nav_add(staff_nav, ARRAY_LEN(staff_nav));
}
