/*
** parse.h - parsers of outside input: URL query strings and
** application/x-www-form-urlencoded bodies, Cookie headers, and
** multipart/form-data bodies.  Written here rather than taken from
** libmicrohttpd's PostProcessor, whose CVEs cluster in exactly this code.
** Every parser is bounded, never reads past len, and has a libFuzzer target
** in fuzz/.  All return PARSE_OK or a negative PARSE_E* code.
*/
#ifndef CITYOS_PARSE_H
#define CITYOS_PARSE_H

#include <stddef.h>
#include "kv.h"

enum {
    PARSE_OK = 0,
    PARSE_EMALFORMED = -1, /* syntax error, bad percent escape, bad boundary */
    PARSE_ETOOMANY = -2,   /* more than PARSE_MAX_FIELDS fields */
    PARSE_ETOOLONG = -3,   /* a name or value longer than allowed */
};

#define PARSE_MAX_FIELDS 512
#define PARSE_MAX_NAME 256

/* "a=1&b=%E3%81%82+x": '+' is a space, %XX decoded, names and values copied.
** Values containing NUL after decoding are refused (PARSE_EMALFORMED) since
** nothing in cityos accepts them in a form field.  Invalid UTF-8 is
** refused too. */
int parse_urlencoded(const char *s, size_t len, struct kvlist *out);

/* "a=1; b=2": RFC 6265 cookie-string; values are not decoded; quotes around
** a value are removed.  Malformed pairs are skipped, as browsers do. */
int parse_cookies(const char *s, size_t len, struct kvlist *out);

struct mp_part {
    char *name;          /* form field name */
    char *filename;      /* NULL when not a file */
    char *content_type;  /* NULL when absent */
    const char *data;    /* points into the body passed to parse_multipart */
    size_t len;
};

struct mp_parts {
    struct mp_part *items;
    size_t n;
    size_t cap;
};

/* content_type is the request's Content-Type header (the boundary is read
** from it).  Part data points into body, which must outlive parts. */
int parse_multipart(const char *content_type, const char *body, size_t len,
                    struct mp_parts *parts);
void mp_parts_free(struct mp_parts *parts);
const struct mp_part *mp_find(const struct mp_parts *parts, const char *name);

/* Decodes %XX and (when plus_is_space) '+'; out needs len+1 bytes.
** Returns the decoded length or -1 on a bad escape. */
long url_decode(const char *in, size_t len, char *out, int plus_is_space);
/* Appends a percent-encoded form of s to out (RFC 3986 unreserved kept). */
struct buf;
void url_encode(struct buf *out, const char *s);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t len);

#endif
