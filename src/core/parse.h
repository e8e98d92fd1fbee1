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
#define PARSE_MAX_NAME   256

/* "a=1&b=%E3%81%82+x": '+' is a space, %XX decoded, names and values copied.
** Values containing NUL after decoding are refused (PARSE_EMALFORMED) since
** nothing in cityos accepts them in a form field.  Invalid UTF-8 is
** refused too.  "a" alone is a with an empty value; empty segments ("&&")
** and segments with no name ("=x") are skipped.  Names over PARSE_MAX_NAME
** bytes (decoded) give PARSE_ETOOLONG, more than PARSE_MAX_FIELDS fields in
** one call PARSE_ETOOMANY.  On any error the entries this call added are
** removed again, so out holds all of the input or none of it. */
int parse_urlencoded(const char *s, size_t len, struct kvlist *out);

/* "a=1; b=2": RFC 6265 cookie-string; values are not decoded; quotes around
** a value are removed.  Malformed pairs are skipped, as browsers do: no
** '=', a name that is not an RFC 9110 token or longer than PARSE_MAX_NAME,
** a value with control characters.  More than PARSE_MAX_FIELDS cookies give
** PARSE_ETOOMANY (and nothing added). */
int parse_cookies(const char *s, size_t len, struct kvlist *out);

struct mp_part {
    char *name;         /* form field name */
    char *filename;     /* NULL when not a file */
    char *content_type; /* NULL when absent */
    const char *data;   /* points into the body passed to parse_multipart */
    size_t len;
};

struct mp_parts {
    struct mp_part *items;
    size_t n;
    size_t cap;
};

/* content_type is the request's Content-Type header (the boundary is read
** from it).  Part data points into body, which must outlive parts.
** parts starts zeroed ({0}); on error the parts this call added are
** removed again.  Line ends must be CRLF (RFC 2046).  Text before the
** first boundary and after the closing one is ignored; a body without the
** closing boundary is PARSE_EMALFORMED (truncated).  Each part needs a
** Content-Disposition: form-data with a name (valid UTF-8, no NUL, at most
** PARSE_MAX_NAME bytes).  filename is reduced to its last path component
** ("C:\x\a.pdf" -> "a.pdf"), is valid UTF-8 without control characters,
** and is "" when a file input was left empty; filename*=UTF-8''... (RFC
** 5987) wins over filename.  Quoted values are taken literally apart from
** \" and \\ (browsers send a quote in a name as %22, not decoded here).
** Part data is raw bytes: callers treating a part as text check it with
** utf8_valid().  At most PARSE_MAX_FIELDS parts, 16 header lines and 8 KiB
** of headers per part. */
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
