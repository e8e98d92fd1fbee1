/*
** admin.c - what the administration pages share (see admin.h) and their
** registration: the routes of users_admin.c, roles_admin.c and
** audit_admin.c, and the services shown in the navigation.
**
** Reads of personal data are recorded before anything is shown, and
** refused when the record cannot be written (SEC-8, fail closed):
** admin_audit_read() is the one place that does it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/cli.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"

/* Raises the alert and answers 503: the audit log could not be written. */
static void refuse_unaudited(struct req *rq, struct resp *rs,
                             const char *action)
{
    audit_alert(rq->app->db, "audit.write_failed", action);
    resp_error(rq, rs, 503, "error.audit", NULL);
}

int admin_audit_read(struct req *rq, struct resp *rs, const char *action,
                     const char *target_type, const char *target_id,
                     const char *detail)
{
    if (db_begin(rq->db) != DB_OK) {
        refuse_unaudited(rq, rs, action);
        return -1;
    }
    return admin_audit_commit(rq, rs, action, target_type, target_id, detail);
}

int admin_audit_commit(struct req *rq, struct resp *rs, const char *action,
                       const char *target_type, const char *target_id,
                       const char *detail)
{
    if (audit_append(rq->db, &rq->actor, action, target_type, target_id, "ok",
                     detail) != 0) {
        db_rollback(rq->db);
        refuse_unaudited(rq, rs, action);
        return -1;
    }
    if (db_commit(rq->db) != DB_OK) {
        db_rollback(rq->db);
        refuse_unaudited(rq, rs, action);
        return -1;
    }
    return 0;
}

int admin_parse_id(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 18)
        return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

size_t admin_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Length of the white space at p: ASCII space/tab/CR/LF or U+3000. */
static size_t space_at(const char *p)
{
    if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        return 1;
    if ((unsigned char)p[0] == 0xe3 && (unsigned char)p[1] == 0x80 &&
        (unsigned char)p[2] == 0x80)
        return 3;
    return 0;
}

int admin_text(const char *s, size_t max_chars, char *out, size_t outlen)
{
    out[0] = 0;
    if (!s)
        return 0;
    size_t k;
    while ((k = space_at(s)) > 0)
        s += k;
    size_t len = strlen(s);
    /* Trim from the end: step back over trailing spaces. */
    for (;;) {
        if (len >= 1 && space_at(s + len - 1) == 1)
            len--;
        else if (len >= 3 && space_at(s + len - 3) == 3)
            len -= 3;
        else
            break;
    }
    if (len >= outlen)
        return -1;
    memcpy(out, s, len);
    out[len] = 0;
    if (admin_utf8_chars(out) > max_chars) {
        out[0] = 0;
        return -1;
    }
    return 0;
}

char *admin_msg(const char *lang, const char *key, const char *const *names,
                const char *const *values, size_t n)
{
    const char *t = i18n_get(lang, key);
    struct buf b;
    buf_init(&b);
    while (*t) {
        if (*t == '{') {
            size_t i;
            for (i = 0; i < n; i++) {
                size_t nl = strlen(names[i]);
                if (strncmp(t + 1, names[i], nl) == 0 && t[1 + nl] == '}') {
                    buf_puts(&b, values[i]);
                    t += nl + 2;
                    break;
                }
            }
            if (i < n)
                continue;
        }
        buf_putc(&b, *t++);
    }
    return buf_steal(&b);
}

json_t *admin_field(struct req *rq, const char *name, const char *label_key,
                    const char *value, int maxlength, int required)
{
    json_t *f = json_object();
    json_object_set_new(f, "id", json_string(name));
    json_object_set_new(f, "name", json_string(name));
    json_object_set_new(f, "label", json_string(i18n_get(rq->lang, label_key)));
    json_object_set_new(f, "value", json_string(value ? value : ""));
    if (maxlength > 0)
        json_object_set_new(f, "maxlength", json_integer(maxlength));
    if (required)
        json_object_set_new(f, "required", json_true());
    return f;
}

void admin_field_error_text(json_t *form, json_t *errors, const char *name,
                            const char *text)
{
    json_t *f = json_object_get(form, name);
    if (f && !json_object_get(f, "error"))
        json_object_set_new(f, "error", json_string(text));
    json_t *e = json_object();
    json_object_set_new(e, "id", json_string(name));
    json_object_set_new(e, "text", json_string(text));
    json_array_append_new(errors, e);
}

void admin_field_error(struct req *rq, json_t *form, json_t *errors,
                       const char *name, const char *error_key)
{
    admin_field_error_text(form, errors, name, i18n_get(rq->lang, error_key));
}

int64_t admin_page_param(const char *s)
{
    int64_t p;
    if (admin_parse_id(s, &p) != 0 || p > 100000)
        return 1;
    return p;
}

static char *page_href(const char *base, int64_t page)
{
    struct buf b;
    buf_init(&b);
    buf_puts(&b, base);
    buf_printf(&b, "%spage=%lld", strchr(base, '?') ? "&" : "?",
               (long long)page);
    return buf_steal(&b);
}

json_t *admin_pagination(struct req *rq, const char *base, int64_t page,
                         int64_t per_page, int64_t total)
{
    int64_t last = total > 0 ? (total + per_page - 1) / per_page : 1;
    json_t *p = json_object();
    char a[24], b[24], c[24];
    snprintf(a, sizeof a, "%lld", (long long)total);
    snprintf(b, sizeof b, "%lld",
             (long long)(total > 0 ? (page - 1) * per_page + 1 : 0));
    int64_t upto = page * per_page < total ? page * per_page : total;
    snprintf(c, sizeof c, "%lld", (long long)upto);
    const char *names[] = {"total", "from", "to"};
    const char *values[] = {a, b, c};
    char *summary = admin_msg(rq->lang, "admin.page_summary", names, values, 3);
    json_object_set_new(p, "summary", json_string(summary));
    free(summary);
    char *h;
    if (page > 1 && page <= last) {
        h = page_href(base, page - 1);
        json_object_set_new(p, "prev", json_string(h));
        free(h);
    }
    if (page < last) {
        h = page_href(base, page + 1);
        json_object_set_new(p, "next", json_string(h));
        free(h);
    }
    json_t *pages = json_array();
    int64_t lo = page - 3 < 1 ? 1 : page - 3;
    int64_t hi = page + 3 > last ? last : page + 3;
    for (int64_t i = lo; i <= hi && last > 1; i++) {
        json_t *o = json_object();
        h = page_href(base, i);
        json_object_set_new(o, "href", json_string(h));
        free(h);
        json_object_set_new(o, "number", json_integer(i));
        if (i == page)
            json_object_set_new(o, "current", json_true());
        json_array_append_new(pages, o);
    }
    json_object_set_new(p, "pages", pages);
    return p;
}

/* The services of this module on the home page and in the navigation. */
static const struct nav_item admin_nav[] = {
    {"/admin/users", "nav.admin_users", "nav.admin_users_desc", "users.read"},
    {"/admin/roles", "nav.admin_roles", "nav.admin_roles_desc", "roles.write"},
    {"/admin/audit", "nav.admin_audit", "nav.admin_audit_desc", "audit.read"},
    {"/admin/alerts", "nav.admin_alerts", "nav.admin_alerts_desc",
     "alerts.read"},
};

void admin_register(void)
{
    users_admin_register();
    roles_admin_register();
    audit_admin_register();
    nav_add(admin_nav, ARRAY_LEN(admin_nav));
}
