/*
** http.h - requests, responses and the router.  The server (http.c) runs
** GNU libmicrohttpd in thread-pool + epoll mode, reads each body into a
** bounded buffer, parses it with our own parsers (parse.h), loads the
** session, checks the route's permission on the server, then calls the
** handler.  Handlers build a struct resp; nothing writes to the socket
** directly.
*/
#ifndef CITYOS_HTTP_H
#define CITYOS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "kv.h"
#include "parse.h"
#include "util.h"

struct app;
struct db_conn;
struct session;

/* Who is acting: copied into every audit entry. */
struct actor {
    int64_t user_id;   /* 0 when nobody is signed in */
    const char *login; /* "-" when nobody; "cli" for the command line */
    const char *role;
    const char *ip;
    const char *ua;
};

struct req {
    struct app *app;
    const char *method;
    const char *path;  /* decoded path, without the query */
    const char *query; /* raw query string, "" when none */
    struct kvlist query_params;
    struct kvlist form; /* urlencoded body, or multipart text fields */
    struct kvlist cookies;
    struct mp_parts parts; /* multipart parts, files included */
    const char *body;
    size_t body_len;
    const char *content_type;
    const char *remote_ip;
    const char *user_agent;
    const char *lang; /* "ja" (default) or "en" */
    int is_api;       /* path under /api/: answers are JSON */
    int tls;
    struct db_conn *db;   /* held for the whole request */
    struct session *sess; /* NULL when not signed in */
    struct actor actor;
    const char *params[4]; /* values of :name segments, in order */
    char params_buf[4][256];
    void *conn; /* struct MHD_Connection * */
};

struct resp {
    int status;
    char content_type[96];
    struct buf body;
    struct kvlist headers;
    const unsigned char *static_data; /* when set, sent instead of body */
    size_t static_len;
};

typedef int (*handler_fn)(struct req *rq, struct resp *rs);

enum route_flags {
    ROUTE_PUBLIC = 1,     /* no sign-in needed */
    ROUTE_PENDING_OK = 2, /* allowed while a password change or TOTP
                             step is still owed after sign-in */
};

struct route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/admin/users/:id/edit" */
    handler_fn fn;
    const char *perm; /* permission the user's role must hold, or NULL
                         for "any signed-in user" */
    unsigned flags;
};

/* Each service registers its table once at start-up. */
void router_add(const struct route *routes, size_t n);
/* Finds the route; 0 found, 404 none, 405 path known but not method. */
int router_match(struct req *rq, const struct route **out);

const char *req_header(struct req *rq, const char *name);
/* A form field, else a query parameter; NULL when absent. */
const char *req_param(struct req *rq, const char *name);
/* 1 when the signed-in user's role holds perm. */
int req_can(struct req *rq, const char *perm);

void resp_header(struct resp *rs, const char *name, const char *value);
/* Renders templates/<tmpl>.html into the layout with the common context
** (user, CSRF token, language, navigation, banners).  Takes ctx. */
void resp_page(struct req *rq, struct resp *rs, int status, const char *tmpl,
               const char *title_key, json_t *ctx);
/* Takes obj. */
void resp_json(struct resp *rs, int status, json_t *obj);
void resp_redirect(struct resp *rs, const char *location);
/* An error answered the way the client expects: RFC 9457
** application/problem+json under /api/, a Japanese (or English) page
** elsewhere.  title_key is a catalog key; detail may be NULL. */
void resp_error(struct req *rq, struct resp *rs, int status,
                const char *title_key, const char *detail);
void resp_cookie(struct resp *rs, const char *name, const char *value,
                 int max_age);

/* The services a user may use: shown in the navigation and as cards on
** the home page.  perm NULL = every signed-in user. */
struct nav_item {
    const char *href;
    const char *label_key; /* catalog key */
    const char *desc_key;  /* catalog key of a one-line description */
    const char *perm;
};
void nav_add(const struct nav_item *items, size_t n);
/* JSON array of {href,label,desc,current} for the signed-in user. */
json_t *nav_for(struct req *rq);

/* Starts serving; returns when stop is requested (SIGTERM/SIGINT) after
** requests in flight are finished.  0 on a clean stop. */
int http_serve(struct app *app);

#endif
