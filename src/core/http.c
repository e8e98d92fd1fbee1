/*
** http.c - the HTTP server: GNU libmicrohttpd in thread-pool + epoll mode.
** For each request: the raw URI is kept (our own parsers read the query),
** the body is read into a bounded buffer (413 beyond the limit), the
** session is loaded, the route's permission and the CSRF token are checked
** on the server, and the handler runs.  Security headers go on every
** response.  SIGTERM stops accepting, lets requests in flight finish, then
** returns.
*/
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "audit.h"
#include "db.h"
#include "embed.h"
#include "http.h"
#include "session.h"
#include "tmpl.h"

/* State of one request, from the URI callback to completion. */
struct conn_state {
    char *uri;
    struct buf body;
    int too_large;
    int counted;
};

static atomic_int in_flight;
static FILE *access_log;

const char *req_header(struct req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *req_param(struct req *rq, const char *name)
{
    const char *v = kv_get(&rq->form, name);
    return v ? v : kv_get(&rq->query_params, name);
}

int req_can(struct req *rq, const char *perm)
{
    if (!rq->sess || strcmp(rq->sess->stage, "full") != 0)
        return 0;
    for (int i = 0; i < rq->sess->nperms; i++)
        if (strcmp(rq->sess->perms[i], perm) == 0)
            return 1;
    return 0;
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct conn_state *st = xcalloc(1, sizeof *st);
    st->uri = xstrdup(uri ? uri : "/");
    buf_init(&st->body);
    return st;
}

static void completed_cb(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_state *st = *con_cls;
    if (!st)
        return;
    if (st->counted)
        atomic_fetch_sub(&in_flight, 1);
    free(st->uri);
    buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

static void client_ip(struct MHD_Connection *con, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    str_copy(out, "-", n);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    getnameinfo(sa, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST);
}

static void add_security_headers(struct MHD_Response *r, int tls)
{
    MHD_add_response_header(
        r, "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    MHD_add_response_header(
        r, "Permissions-Policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    if (tls)
        MHD_add_response_header(r, "Strict-Transport-Security",
                                "max-age=63072000; includeSubDomains");
}

static enum MHD_Result send_resp(struct MHD_Connection *con, struct req *rq,
                                 struct resp *rs)
{
    struct MHD_Response *r;
    if (rs->static_data)
        r = MHD_create_response_from_buffer(
            rs->static_len, (void *)rs->static_data, MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(
            rs->body.len, rs->body.data ? rs->body.data : (char *)"",
            MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (rs->content_type[0])
        MHD_add_response_header(r, "Content-Type", rs->content_type);
    int has_cache = 0;
    for (size_t i = 0; i < rs->headers.n; i++) {
        MHD_add_response_header(r, rs->headers.items[i].key,
                                rs->headers.items[i].val);
        if (strcasecmp(rs->headers.items[i].key, "Cache-Control") == 0)
            has_cache = 1;
    }
    if (!has_cache)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    add_security_headers(r, rq ? rq->tls : 0);
    enum MHD_Result ok = MHD_queue_response(con, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ok;
}

static void log_access(struct req *rq, struct resp *rs, int64_t ms)
{
    if (!access_log)
        return;
    char ts[32];
    time_format_iso(now_unix(), ts, sizeof ts);
    size_t bytes = rs->static_data ? rs->static_len : rs->body.len;
    fprintf(access_log, "%s %s \"%s %s\" %d %zu %lldms %s\n", ts, rq->remote_ip,
            rq->method, rq->path, rs->status, bytes, (long long)ms,
            rq->sess ? rq->sess->login : "-");
}

/* Static files: /static/<hash>/<path>.  The hash is the content's, so the
** answer may be cached for a year; a stale hash still gets the file, but
** without long caching. */
static int serve_static(struct req *rq, struct resp *rs)
{
    const char *p = rq->path + strlen("/static/");
    const char *slash = strchr(p, '/');
    if (!slash || strstr(rq->path, ".."))
        return 404;
    char path[512];
    snprintf(path, sizeof path, "static/%s", slash + 1);
    const struct embedded_file *f = embed_find(path);
    if (!f)
        return 404;
    rs->status = 200;
    rs->static_data = f->data;
    rs->static_len = f->len;
    const char *ext = strrchr(path, '.');
    const char *type = "application/octet-stream";
    if (ext && strcmp(ext, ".css") == 0)
        type = "text/css; charset=utf-8";
    else if (ext && strcmp(ext, ".js") == 0)
        type = "text/javascript; charset=utf-8";
    else if (ext && strcmp(ext, ".svg") == 0)
        type = "image/svg+xml";
    else if (ext && strcmp(ext, ".png") == 0)
        type = "image/png";
    else if (ext && strcmp(ext, ".txt") == 0)
        type = "text/plain; charset=utf-8";
    else if (ext && strcmp(ext, ".webmanifest") == 0)
        type = "application/manifest+json";
    str_copy(rs->content_type, type, sizeof rs->content_type);
    size_t hl = strlen(f->hash);
    if ((size_t)(slash - p) == hl && strncmp(p, f->hash, hl) == 0)
        resp_header(rs, "Cache-Control", "public, max-age=31536000, immutable");
    else
        resp_header(rs, "Cache-Control", "no-cache");
    return 0;
}

/* Splits the raw URI; decodes and checks the path. */
static int parse_target(struct req *rq, const char *uri, char **pathp)
{
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    rq->query = q ? q + 1 : "";
    if (plen == 0 || plen > 2048 || uri[0] != '/')
        return 400;
    char *path = xmalloc(plen + 1);
    long n = url_decode(uri, plen, path, 0);
    if (n < 0 || memchr(path, 0, (size_t)n) || !utf8_valid(path, (size_t)n) ||
        strstr(path, "/../") || strstr(path, "/./")) {
        free(path);
        return 400;
    }
    path[n] = 0;
    *pathp = path;
    if (parse_urlencoded(rq->query, strlen(rq->query), &rq->query_params) !=
        PARSE_OK)
        return 400;
    return 0;
}

static int parse_body(struct req *rq)
{
    const char *ct = rq->content_type ? rq->content_type : "";
    if (rq->body_len == 0)
        return 0;
    if (str_starts(ct, "application/x-www-form-urlencoded"))
        return parse_urlencoded(rq->body, rq->body_len, &rq->form) == PARSE_OK
                   ? 0
                   : 400;
    if (str_starts(ct, "multipart/form-data")) {
        if (parse_multipart(ct, rq->body, rq->body_len, &rq->parts) != PARSE_OK)
            return 400;
        for (size_t i = 0; i < rq->parts.n; i++) {
            struct mp_part *p = &rq->parts.items[i];
            if (!p->filename && utf8_valid(p->data, p->len) &&
                !memchr(p->data, 0, p->len))
                kv_add(&rq->form, p->name, strlen(p->name), p->data, p->len);
        }
    }
    return 0;
}

static void pick_lang(struct req *rq, struct resp *rs)
{
    const char *q = kv_get(&rq->query_params, "lang");
    const char *c = kv_get(&rq->cookies, "lang");
    rq->lang = "ja";
    if (q && (strcmp(q, "en") == 0 || strcmp(q, "ja") == 0)) {
        rq->lang = strcmp(q, "en") == 0 ? "en" : "ja";
        struct buf b;
        buf_init(&b);
        buf_printf(&b,
                   "lang=%s; Path=/; Secure; SameSite=Lax; Max-Age=31536000",
                   rq->lang);
        resp_header(rs, "Set-Cookie", b.data);
        buf_free(&b);
    } else if (c && strcmp(c, "en") == 0) {
        rq->lang = "en";
    }
}

/* Unsafe methods must carry the session's CSRF token (form field "csrf" or
** header X-CSRF-Token), and a foreign Origin is refused outright. */
static int csrf_ok(struct req *rq)
{
    if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
        return 1;
    const char *origin = req_header(rq, "Origin");
    const char *host = req_header(rq, "Host");
    if (origin && host) {
        const char *o = strstr(origin, "://");
        if (!o || strcmp(o + 3, host) != 0)
            return 0;
    }
    const char *tok = kv_get(&rq->form, "csrf");
    if (!tok)
        tok = req_header(rq, "X-CSRF-Token");
    const char *want =
        rq->sess ? rq->sess->csrf : kv_get(&rq->cookies, "__Host-csrf");
    return tok && want && want[0] && str_ct_eq(tok, want);
}

static const char *stage_page(const char *stage)
{
    if (strcmp(stage, "password") == 0)
        return "/account/password";
    if (strcmp(stage, "totp_enrol") == 0)
        return "/account/totp/setup";
    if (strcmp(stage, "totp") == 0)
        return "/login/totp";
    return "/";
}

static void deny(struct req *rq, struct resp *rs, const struct route *rt)
{
    if (db_begin(rq->db) == DB_OK) {
        if (audit_append(rq->db, &rq->actor, "access.denied", "route",
                         rt->pattern, "denied", rq->method) == 0)
            db_commit(rq->db);
        else
            db_rollback(rq->db);
    }
    resp_error(rq, rs, 403, NULL, NULL);
}

/* The middleware: session, stage, permission and CSRF, then the handler. */
static void dispatch(struct req *rq, struct resp *rs)
{
    if (str_starts(rq->path, "/static/")) {
        if (serve_static(rq, rs) != 0)
            resp_error(rq, rs, 404, NULL, NULL);
        return;
    }
    const struct route *rt = NULL;
    int m = router_match(rq, &rt);
    if (m) {
        resp_error(rq, rs, m, NULL, NULL);
        return;
    }
    rq->db = db_acquire(rq->app->db);
    if (!rq->db) {
        if (strcmp(rq->path, "/healthz") == 0) {
            rt->fn(rq, rs);
            return;
        }
        resp_error(rq, rs, 503, NULL, NULL);
        return;
    }
    if (session_load(rq) != 0) {
        resp_error(rq, rs, 503, NULL, NULL);
        return;
    }
    if (rq->sess) {
        rq->actor.user_id = rq->sess->user_id;
        rq->actor.login = rq->sess->login;
        rq->actor.role = rq->sess->role;
    }
    if (!(rt->flags & ROUTE_PUBLIC)) {
        if (!rq->sess) {
            if (rq->is_api) {
                resp_error(rq, rs, 401, NULL, NULL);
            } else {
                struct buf b;
                buf_init(&b);
                buf_puts(&b, "/login?next=");
                url_encode(&b, rq->path);
                resp_redirect(rs, b.data);
                buf_free(&b);
            }
            return;
        }
        if (strcmp(rq->sess->stage, "full") != 0 &&
            !(rt->flags & ROUTE_PENDING_OK)) {
            if (rq->is_api)
                resp_error(rq, rs, 403, "error.stage", NULL);
            else
                resp_redirect(rs, stage_page(rq->sess->stage));
            return;
        }
        if (rt->perm && !req_can(rq, rt->perm)) {
            deny(rq, rs, rt);
            return;
        }
    }
    if (!csrf_ok(rq)) {
        resp_error(rq, rs, 403, "error.csrf", NULL);
        return;
    }
    rt->fn(rq, rs);
    if (db_in_transaction(rq->db)) {
        log_error("%s %s left a transaction open; rolled back", rq->method,
                  rq->path);
        db_rollback(rq->db);
    }
}

static enum MHD_Result handle_request(struct app *app,
                                      struct MHD_Connection *con,
                                      const char *method, struct conn_state *st)
{
    int64_t t0 = now_mono_ms();
    struct req rq;
    struct resp rs;
    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    buf_init(&rs.body);
    kv_init(&rs.headers);
    kv_init(&rq.query_params);
    kv_init(&rq.form);
    kv_init(&rq.cookies);
    rq.app = app;
    rq.conn = con;
    rq.method = method;
    rq.lang = "ja";
    rq.tls = app->cfg.tls_cert[0] != 0;
    char ip[64];
    client_ip(con, ip, sizeof ip);
    const char *fwd =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Forwarded-For");
    if (app->cfg.trust_proxy && fwd && strcmp(ip, "127.0.0.1") == 0) {
        /* The proxy appends the real client last. */
        const char *last = strrchr(fwd, ',');
        str_copy(ip, last ? last + 1 : fwd, sizeof ip);
        while (ip[0] == ' ')
            memmove(ip, ip + 1, strlen(ip));
        const char *proto = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
                                                        "X-Forwarded-Proto");
        rq.tls = proto && strcmp(proto, "https") == 0;
    }
    rq.remote_ip = ip;
    const char *ua =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "User-Agent");
    rq.user_agent = ua ? ua : "";
    rq.content_type =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    rq.actor.login = "-";
    rq.actor.role = "";
    rq.actor.ip = rq.remote_ip;
    rq.actor.ua = rq.user_agent;
    rq.body = st->body.data ? st->body.data : "";
    rq.body_len = st->body.len;
    char *path = NULL;
    int bad = parse_target(&rq, st->uri, &path);
    rq.path = path ? path : "/";
    rq.is_api = str_starts(rq.path, "/api/");
    const char *cookie =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie");
    if (cookie)
        parse_cookies(cookie, strlen(cookie), &rq.cookies);
    pick_lang(&rq, &rs);
    if (st->too_large)
        resp_error(&rq, &rs, 413, NULL, NULL);
    else if (bad || parse_body(&rq) != 0)
        resp_error(&rq, &rs, 400, NULL, NULL);
    else
        dispatch(&rq, &rs);
    if (rq.db)
        db_release(rq.db);
    log_access(&rq, &rs, now_mono_ms() - t0);
    enum MHD_Result ok = send_resp(con, &rq, &rs);
    free(rq.sess);
    free(path);
    kv_free(&rq.query_params);
    kv_free(&rq.form);
    kv_free(&rq.cookies);
    mp_parts_free(&rq.parts);
    kv_free(&rs.headers);
    buf_free(&rs.body);
    return ok;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    struct app *app = cls;
    struct conn_state *st = *con_cls;
    if (!st)
        return MHD_NO;
    if (!st->counted) {
        st->counted = 1;
        atomic_fetch_add(&in_flight, 1);
        const char *ct =
            MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
        int64_t limit = ct && str_starts(ct, "multipart/") ? app->cfg.max_upload
                                                           : app->cfg.max_body;
        const char *cl =
            MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoll(cl, NULL, 10) > limit)
            st->too_large = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        const char *ct =
            MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
        int64_t limit = ct && str_starts(ct, "multipart/") ? app->cfg.max_upload
                                                           : app->cfg.max_body;
        if (!st->too_large && (int64_t)(st->body.len + *upload_size) > limit)
            st->too_large = 1;
        if (!st->too_large)
            buf_append(&st->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return handle_request(app, con, method, st);
}

static int listen_addr(const char *listen, struct sockaddr_storage *ss,
                       uint16_t *port)
{
    char host[128];
    str_copy(host, listen, sizeof host);
    char *colon = strrchr(host, ':');
    if (!colon)
        return -1;
    *colon = 0;
    *port = (uint16_t)atoi(colon + 1);
    const char *h = host;
    if (h[0] == '[') {
        h++;
        host[strlen(host) - 1] = 0;
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, h[0] ? h : "0.0.0.0", &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(*port);
        return 0;
    }
    if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(*port);
        return 0;
    }
    return -1;
}

int http_serve(struct app *app)
{
    struct sockaddr_storage ss;
    uint16_t port;
    if (listen_addr(app->cfg.listen, &ss, &port) != 0) {
        log_error("bad listen address %s (use HOST:PORT)", app->cfg.listen);
        return -1;
    }
    if (strcmp(app->cfg.access_log, "-") == 0)
        access_log = stderr;
    else if (app->cfg.access_log[0])
        access_log = fopen(app->cfg.access_log, "a");
    if (access_log)
        setvbuf(access_log, NULL, _IOLBF, 0);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    char *cert = NULL, *key = NULL;
    if (app->cfg.tls_cert[0]) {
        cert = file_read(app->cfg.tls_cert, 1 << 20, NULL);
        key = file_read(app->cfg.tls_key, 1 << 20, NULL);
        if (!cert || !key) {
            log_error("cannot read TLS certificate or key");
            free(cert);
            free(key);
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, port, NULL, NULL, access_cb, app, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)app->cfg.threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, NULL, MHD_OPTION_NOTIFY_COMPLETED,
        completed_cb, NULL, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!d) {
        log_error("cannot listen on %s", app->cfg.listen);
        free(cert);
        free(key);
        return -1;
    }
    log_info("cityos %s serving on %s://%s (%s, %d threads)", CITYOS_VERSION,
             cert ? "https" : "http", app->cfg.listen, db_engine_name(app->db),
             app->cfg.threads);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    app->stopping = 1;
    log_info("signal %d: finishing requests in flight", sig);
    MHD_quiesce_daemon(d);
    for (int i = 0; i < 300 && atomic_load(&in_flight) > 0; i++)
        usleep(100000);
    MHD_stop_daemon(d);
    free(cert);
    free(key);
    if (access_log && access_log != stderr)
        fclose(access_log);
    log_info("stopped");
    return 0;
}
