/*
** router.c - the route table.  Services register their routes at start-up
** (before the server starts, so the table is read-only while serving).
** Patterns are literal segments and ":name" segments; the values of the
** latter are copied into rq->params in order.
*/
#include <string.h>

#include "http.h"
#include "util.h"

#define MAX_ROUTES 512

static const struct route *routes[MAX_ROUTES];
static size_t nroutes;

void router_add(const struct route *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (nroutes == MAX_ROUTES) {
            log_error("router: too many routes");
            return;
        }
        routes[nroutes++] = &r[i];
    }
}

/* 1 when path matches pattern; fills params. */
static int match(const char *pattern, const char *path, struct req *rq)
{
    int np = 0;
    /* A route that matched only part of the path leaves nothing behind. */
    for (int i = 0; i < 4; i++)
        rq->params[i] = NULL;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == ':') {
            const char *end = strchr(s, '/');
            size_t n = end ? (size_t)(end - s) : strlen(s);
            if (n == 0 || n >= sizeof rq->params_buf[0] || np >= 4)
                return 0;
            memcpy(rq->params_buf[np], s, n);
            rq->params_buf[np][n] = 0;
            rq->params[np] = rq->params_buf[np];
            np++;
            s += n;
            while (*p && *p != '/')
                p++;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *p == 0 && *s == 0;
}

int router_match(struct req *rq, const struct route **out)
{
    int path_known = 0;
    for (size_t i = 0; i < nroutes; i++) {
        if (!match(routes[i]->pattern, rq->path, rq))
            continue;
        if (strcmp(routes[i]->method, rq->method) == 0 ||
            (strcmp(rq->method, "HEAD") == 0 &&
             strcmp(routes[i]->method, "GET") == 0)) {
            *out = routes[i];
            return 0;
        }
        path_known = 1;
    }
    return path_known ? 405 : 404;
}
