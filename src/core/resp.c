/*
** resp.c - building responses: headers, cookies, JSON, redirects, pages in
** their layout, and errors answered as the client expects (RFC 9457
** problem+json for APIs, a page in the user's language otherwise).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "embed.h"
#include "http.h"
#include "session.h"
#include "tmpl.h"

void resp_header(struct resp *rs, const char *name, const char *value)
{
    kv_add(&rs->headers, name, strlen(name), value, strlen(value));
}

void resp_json(struct resp *rs, int status, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(obj);
    rs->status = status;
    str_copy(rs->content_type, "application/json", sizeof rs->content_type);
    buf_reset(&rs->body);
    if (s) {
        buf_puts(&rs->body, s);
        free(s);
    }
}

void resp_redirect(struct resp *rs, const char *location)
{
    /* Only our own paths: an open redirect would help phishing. */
    if (location[0] != '/' || location[1] == '/' || location[1] == '\\' ||
        strpbrk(location, "\r\n"))
        location = "/";
    rs->status = 303;
    resp_header(rs, "Location", location);
}

void resp_cookie(struct resp *rs, const char *name, const char *value,
                 int max_age)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax", name,
               value);
    if (max_age >= 0)
        buf_printf(&b, "; Max-Age=%d", max_age);
    resp_header(rs, "Set-Cookie", b.data);
    buf_free(&b);
}

static const char *status_key(int status)
{
    switch (status) {
    case 400:
        return "error.400";
    case 401:
        return "error.401";
    case 403:
        return "error.403";
    case 404:
        return "error.404";
    case 405:
        return "error.405";
    case 409:
        return "error.409";
    case 413:
        return "error.413";
    case 429:
        return "error.429";
    case 503:
        return "error.503";
    default:
        return "error.500";
    }
}

void resp_error(struct req *rq, struct resp *rs, int status,
                const char *title_key, const char *detail)
{
    const char *lang = rq && rq->lang ? rq->lang : "ja";
    const char *title =
        i18n_get(lang, title_key ? title_key : status_key(status));
    if (!rq || rq->is_api) {
        json_t *p = json_object();
        char type[128];
        snprintf(type, sizeof type, "https://cityos.example/problems/%s",
                 title_key ? title_key : status_key(status));
        json_object_set_new(p, "type", json_string(type));
        json_object_set_new(p, "title", json_string(title));
        json_object_set_new(p, "status", json_integer(status));
        if (detail)
            json_object_set_new(p, "detail", json_string(detail));
        if (rq && rq->path)
            json_object_set_new(p, "instance", json_string(rq->path));
        resp_json(rs, status, p);
        str_copy(rs->content_type, "application/problem+json",
                 sizeof rs->content_type);
        return;
    }
    json_t *ctx = json_object();
    json_object_set_new(ctx, "status", json_integer(status));
    json_object_set_new(ctx, "message", json_string(title));
    if (detail)
        json_object_set_new(ctx, "detail", json_string(detail));
    resp_page(rq, rs, status, "error",
              title_key ? title_key : status_key(status), ctx);
}

static void add_static(json_t *st, const char *key, const char *path)
{
    const struct embedded_file *f = embed_find(path);
    char url[256];
    snprintf(url, sizeof url, "/static/%s/%s", f ? f->hash : "0",
             path + strlen("static/"));
    json_object_set_new(st, key, json_string(url));
}

static json_t *static_urls(void)
{
    json_t *st = json_object();
    add_static(st, "css", "static/css/app.css");
    add_static(st, "tokens", "static/css/tokens.css");
    add_static(st, "htmx", "static/js/htmx.min.js");
    add_static(st, "js", "static/js/app.js");
    return st;
}

static json_t *user_json(struct req *rq)
{
    struct session *s = rq->sess;
    json_t *u = json_object();
    json_object_set_new(u, "login", json_string(s->login));
    json_object_set_new(u, "display_name", json_string(s->display_name));
    json_object_set_new(u, "role", json_string(s->role));
    json_object_set_new(u, "role_label", json_string(s->role_label));
    json_object_set_new(u, "full", json_boolean(strcmp(s->stage, "full") == 0));
    return u;
}

static void add_flash(struct req *rq, json_t *ctx)
{
    const char *done = kv_get(&rq->query_params, "done");
    if (!done || strlen(done) > 40)
        return;
    char key[64];
    snprintf(key, sizeof key, "flash.%s", done);
    const char *text = i18n_get(rq->lang, key);
    if (strcmp(text, key) == 0)
        return; /* only messages from our catalog are ever shown */
    json_t *f = json_object();
    json_object_set_new(f, "kind", json_string("success"));
    json_object_set_new(f, "text", json_string(text));
    json_object_set_new(ctx, "flash", f);
}

/* Administrators see unacknowledged alerts on every page (SEC-8: "an
** alert when logs cannot be stored"). */
static void add_alert_banner(struct req *rq, json_t *ctx)
{
    int64_t n = 0;
    if (!rq->db || !req_can(rq, "alerts.read") ||
        db_query_int(rq->db, &n,
                     "SELECT COUNT(*) FROM alerts WHERE acknowledged_at IS "
                     "NULL",
                     "") != DB_ROW ||
        n == 0)
        return;
    char text[256];
    snprintf(text, sizeof text, "%s: %lld", i18n_get(rq->lang, "alerts.banner"),
             (long long)n);
    json_t *b = json_object();
    json_object_set_new(b, "kind", json_string("error"));
    json_object_set_new(b, "text", json_string(text));
    json_object_set_new(b, "href", json_string("/admin/alerts"));
    json_object_set_new(b, "link",
                        json_string(i18n_get(rq->lang, "alerts.banner_link")));
    json_t *list = json_object_get(ctx, "banners");
    if (!list) {
        list = json_array();
        json_object_set_new(ctx, "banners", list);
    }
    json_array_append_new(list, b);
}

void resp_page(struct req *rq, struct resp *rs, int status, const char *tmpl,
               const char *title_key, json_t *ctx)
{
    if (!json_object_get(ctx, "lang"))
        json_object_set_new(ctx, "lang", json_string(rq->lang));
    json_object_set_new(ctx, "title",
                        json_string(i18n_get(rq->lang, title_key)));
    json_object_set_new(ctx, "static", static_urls());
    json_object_set_new(ctx, "path", json_string(rq->path));
    if (rq->sess) {
        json_object_set_new(ctx, "csrf", json_string(rq->sess->csrf));
        json_object_set_new(ctx, "user", user_json(rq));
        if (strcmp(rq->sess->stage, "full") == 0)
            json_object_set_new(ctx, "nav", nav_for(rq));
        add_alert_banner(rq, ctx);
    } else if (!json_object_get(ctx, "csrf")) {
        const char *pre = kv_get(&rq->cookies, "__Host-csrf");
        if (pre)
            json_object_set_new(ctx, "csrf", json_string(pre));
    }
    add_flash(rq, ctx);
    struct buf body;
    buf_init(&body);
    int rc = tmpl_render(tmpl, ctx, rq->lang, &body);
    buf_reset(&rs->body);
    if (rc == 0 && req_header(rq, "HX-Request") &&
        !req_header(rq, "HX-Boosted")) {
        /* htmx asks for the fragment only. */
        buf_append(&rs->body, body.data ? body.data : "", body.len);
    } else if (rc == 0) {
        /* A page with its own heading asks the layout not to add one. */
        if (body.data && strstr(body.data, "<h1"))
            json_object_set_new(ctx, "hide_title", json_true());
        json_object_set_new(ctx, "body",
                            json_string(body.data ? body.data : ""));
        rc = tmpl_render("layout", ctx, rq->lang, &rs->body);
    }
    buf_free(&body);
    json_decref(ctx);
    if (rc != 0) {
        rs->status = 500;
        buf_reset(&rs->body);
        buf_puts(&rs->body, "<!doctype html><meta charset=utf-8><title>500"
                            "</title><p>内部エラーが発生しました。</p>");
    } else {
        rs->status = status;
    }
    str_copy(rs->content_type, "text/html; charset=utf-8",
             sizeof rs->content_type);
}

#define MAX_NAV 64
static const struct nav_item *navs[MAX_NAV];
static size_t nnav;

void nav_add(const struct nav_item *items, size_t n)
{
    for (size_t i = 0; i < n && nnav < MAX_NAV; i++)
        navs[nnav++] = &items[i];
}

json_t *nav_for(struct req *rq)
{
    json_t *a = json_array();
    for (size_t i = 0; i < nnav; i++) {
        if (navs[i]->perm && !req_can(rq, navs[i]->perm))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "href", json_string(navs[i]->href));
        json_object_set_new(
            o, "label", json_string(i18n_get(rq->lang, navs[i]->label_key)));
        json_object_set_new(o, "desc",
                            json_string(i18n_get(rq->lang, navs[i]->desc_key)));
        json_object_set_new(o, "current",
                            json_boolean(str_starts(rq->path, navs[i]->href) &&
                                         strcmp(navs[i]->href, "/") != 0));
        json_array_append_new(a, o);
    }
    return a;
}
