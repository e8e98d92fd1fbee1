/*
** parse.c - parsers of outside input: query strings and urlencoded forms,
** Cookie headers and multipart/form-data bodies (see parse.h).
**
** Everything here handles bytes an attacker chose, so the rules are: every
** read is checked against len, every loop advances, every limit is a named
** constant, and a parser that fails leaves its output as it found it.  Each
** function has a libFuzzer target under fuzz/ and cmocka tests in
** tests/unit/test_parse.c (SEC-4: malformed input is refused, never fatal).
*/
#define _GNU_SOURCE /* memmem */
#include "parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Part headers are short in practice (a browser sends two); these bound the
** work an attacker can cause before the first byte of data. */
#define MP_MAX_HEADER_BYTES 8192
#define MP_MAX_HEADERS      16
#define MP_MAX_FILENAME     1024
#define MP_MAX_BOUNDARY     70 /* RFC 2046 section 5.1.1 */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long url_decode(const char *in, size_t len, char *out, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (len - i < 3)
                return -1;
            int hi = hexval((unsigned char)in[i + 1]);
            int lo = hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
    return (long)o;
}

void url_encode(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            buf_putc(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(out, esc, 3);
        }
    }
}

/* The well-formed byte sequences of Unicode 15, table 3-7: this refuses
** overlong forms, UTF-16 surrogates and code points above U+10FFFF. */
int utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
        } else if (c == 0xE0) {
            more = 2;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            more = 2;
        } else if (c == 0xED) {
            more = 2;
            hi = 0x9F;
        } else if (c == 0xF0) {
            more = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            more = 3;
        } else if (c == 0xF4) {
            more = 3;
            hi = 0x8F;
        } else {
            return 0;
        }
        if (len - i - 1 < more)
            return 0;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= more; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
        i += more + 1;
    }
    return 1;
}

/* Drops the entries a failed parser added, so callers see all or nothing. */
static void kv_truncate(struct kvlist *l, size_t n)
{
    for (size_t i = n; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].val);
    }
    l->n = n;
}

/* A decoded name or value: NUL would cut it short wherever it is used as a
** C string, and invalid UTF-8 would reach templates and the database. */
static int text_ok(const char *s, size_t n)
{
    return memchr(s, 0, n) == NULL && utf8_valid(s, n);
}

/* One "name=value" segment of a form; "name" alone has an empty value. */
static int form_pair(const char *seg, size_t seglen, char *tmp,
                     struct kvlist *out)
{
    const char *eq = memchr(seg, '=', seglen);
    size_t nlen = eq ? (size_t)(eq - seg) : seglen;
    const char *v = eq ? eq + 1 : seg + seglen;
    size_t vlen = eq ? seglen - nlen - 1 : 0;

    long kn = url_decode(seg, nlen, tmp, 1);
    if (kn < 0)
        return PARSE_EMALFORMED;
    if (kn > PARSE_MAX_NAME)
        return PARSE_ETOOLONG;
    if (!text_ok(tmp, (size_t)kn))
        return PARSE_EMALFORMED;
    char *key = xstrndup(tmp, (size_t)kn);
    long vn = url_decode(v, vlen, tmp, 1);
    if (vn < 0 || !text_ok(tmp, (size_t)vn)) {
        free(key);
        return PARSE_EMALFORMED;
    }
    kv_add(out, key, (size_t)kn, tmp, (size_t)vn);
    free(key);
    return PARSE_OK;
}

int parse_urlencoded(const char *s, size_t len, struct kvlist *out)
{
    if (len == 0)
        return PARSE_OK;
    size_t start_n = out->n, fields = 0, i = 0;
    int rc = PARSE_OK;
    /* Decoding never lengthens, so one buffer of len+1 fits any segment. */
    char *tmp = xmalloc(len + 1);
    while (i < len && rc == PARSE_OK) {
        const char *seg = s + i;
        const char *amp = memchr(seg, '&', len - i);
        size_t seglen = amp ? (size_t)(amp - seg) : len - i;
        i += seglen + 1;
        /* "a=1&&b=2" and "=x" carry no field: skipped, as browsers do. */
        if (seglen == 0 || seg[0] == '=')
            continue;
        if (++fields > PARSE_MAX_FIELDS)
            rc = PARSE_ETOOMANY;
        else
            rc = form_pair(seg, seglen, tmp, out);
    }
    free(tmp);
    if (rc != PARSE_OK)
        kv_truncate(out, start_n);
    return rc;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f)
        return 0;
    return strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

static int has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 1;
    }
    return 0;
}

static void trim_ows(const char **s, size_t *n)
{
    while (*n > 0 && is_ows((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_ows((*s)[*n - 1]))
        (*n)--;
}

/* One "name=value" of a Cookie header; returns 0 when it is to be skipped. */
static int cookie_pair(const char *p, size_t n, struct kvlist *out)
{
    trim_ows(&p, &n);
    const char *eq = memchr(p, '=', n);
    if (!eq)
        return 0;
    const char *name = p;
    size_t nlen = (size_t)(eq - p);
    const char *v = eq + 1;
    size_t vlen = n - nlen - 1;
    trim_ows(&name, &nlen);
    trim_ows(&v, &vlen);
    if (nlen == 0 || nlen > PARSE_MAX_NAME)
        return 0;
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)name[i]))
            return 0;
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
        v++;
        vlen -= 2;
    }
    if (has_ctl(v, vlen))
        return 0;
    kv_add(out, name, nlen, v, vlen);
    return 1;
}

int parse_cookies(const char *s, size_t len, struct kvlist *out)
{
    size_t start_n = out->n, fields = 0, i = 0;
    while (i < len) {
        const char *p = s + i;
        const char *semi = memchr(p, ';', len - i);
        size_t n = semi ? (size_t)(semi - p) : len - i;
        i += n + 1;
        if (!cookie_pair(p, n, out))
            continue;
        if (++fields > PARSE_MAX_FIELDS) {
            kv_truncate(out, start_n);
            return PARSE_ETOOMANY;
        }
    }
    return PARSE_OK;
}

/* ---- multipart/form-data (RFC 7578, RFC 2046 section 5.1) ---- */

/* The "; name=value" parameters that follow a media type or a disposition
** type.  A value is a token or a quoted-string; inside quotes only \" and
** \\ are escapes, because old browsers send Windows paths ("C:\dir\f.txt")
** with bare backslashes. */
struct params {
    const char *s;
    size_t len;
    size_t pos;
};

static size_t skip_ows(const char *s, size_t i, size_t len)
{
    while (i < len && is_ows(s[i]))
        i++;
    return i;
}

/* Returns 1 with the next parameter, 0 at the end, -1 on a syntax error. */
static int param_next(struct params *ps, const char **name, size_t *nlen,
                      struct buf *val)
{
    const char *s = ps->s;
    size_t len = ps->len;
    size_t i = skip_ows(s, ps->pos, len);
    if (i == len)
        return 0;
    if (s[i] != ';')
        return -1;
    i = skip_ows(s, i + 1, len);
    if (i == len)
        return 0; /* a trailing ';' is harmless */
    size_t start = i;
    while (i < len && is_tchar((unsigned char)s[i]))
        i++;
    if (i == start)
        return -1;
    *name = s + start;
    *nlen = i - start;
    i = skip_ows(s, i, len);
    if (i == len || s[i] != '=')
        return -1;
    i = skip_ows(s, i + 1, len);
    buf_reset(val);
    buf_append(val, "", 0); /* val->data is never NULL below */
    if (i < len && s[i] == '"') {
        for (i++;; i++) {
            if (i == len)
                return -1; /* unterminated quoted-string */
            if (s[i] == '"')
                break;
            if (s[i] == '\\' && i + 1 < len &&
                (s[i + 1] == '"' || s[i + 1] == '\\'))
                i++;
            buf_putc(val, s[i]);
        }
        i++;
    } else {
        start = i;
        while (i < len && s[i] != ';' && !is_ows(s[i]))
            i++;
        if (i == start)
            return -1;
        buf_append(val, s + start, i - start);
    }
    ps->pos = i;
    return 1;
}

static int name_is(const char *name, size_t nlen, const char *want)
{
    return nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
}

/* bcharsnospace of RFC 2046; a space is allowed but not as the last char. */
static int boundary_ok(const char *b, size_t n)
{
    if (n == 0 || n > MP_MAX_BOUNDARY || b[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z');
        if (!alnum && !strchr("'()+_,-./:=? ", c))
            return 0;
    }
    return 1;
}

/* Reads the boundary from "multipart/form-data; boundary=..." into bnd. */
static int mp_boundary(const char *ct, char *bnd, size_t cap, size_t *blen)
{
    static const char want[] = "multipart/form-data";
    if (!ct)
        return PARSE_EMALFORMED;
    size_t len = strlen(ct);
    size_t i = skip_ows(ct, 0, len);
    size_t start = i;
    while (i < len && ct[i] != ';' && !is_ows(ct[i]))
        i++;
    if (!name_is(ct + start, i - start, want))
        return PARSE_EMALFORMED;
    struct params ps = {ct, len, i};
    struct buf val;
    buf_init(&val);
    const char *name;
    size_t nlen;
    int found = 0;
    while (!found && param_next(&ps, &name, &nlen, &val) == 1) {
        if (!name_is(name, nlen, "boundary"))
            continue;
        if (!boundary_ok(val.data, val.len) || val.len >= cap)
            break;
        memcpy(bnd, val.data, val.len);
        bnd[val.len] = 0;
        *blen = val.len;
        found = 1;
    }
    buf_free(&val);
    return found ? PARSE_OK : PARSE_EMALFORMED;
}

/* After the boundary: "--" (the close delimiter) or optional linear white
** space and CRLF.  Anything else means the match was part of the data. */
static int delim_tail(const char *body, size_t len, size_t i, size_t *next,
                      int *close)
{
    if (len - i >= 2 && body[i] == '-' && body[i + 1] == '-') {
        *close = 1;
        *next = i + 2;
        return 1;
    }
    i = skip_ows(body, i, len);
    if (len - i >= 2 && body[i] == '\r' && body[i + 1] == '\n') {
        *close = 0;
        *next = i + 2;
        return 1;
    }
    return 0;
}

/* Finds the next delimiter ("\r\n--" boundary) at or after from: *at is
** where its CRLF starts, *next the first byte after its line. */
static int find_delim(const char *body, size_t len, size_t from,
                      const char *delim, size_t dlen, size_t *at, size_t *next,
                      int *close)
{
    while (from < len && len - from >= dlen) {
        const char *m = memmem(body + from, len - from, delim, dlen);
        if (!m)
            return 0;
        size_t i = (size_t)(m - body);
        if (delim_tail(body, len, i + dlen, next, close)) {
            *at = i;
            return 1;
        }
        from = i + 1;
    }
    return 0;
}

static int valid_text_field(const char *s, size_t n, size_t max)
{
    if (n > max)
        return PARSE_ETOOLONG;
    if (!text_ok(s, n))
        return PARSE_EMALFORMED;
    return PARSE_OK;
}

/* A filename is reduced to its last path component, so "C:\x\a.pdf" and
** "../../a.pdf" both become "a.pdf"; control characters are refused. */
static int set_filename(struct mp_part *part, const char *fn, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        if (fn[i - 1] == '/' || fn[i - 1] == '\\') {
            fn += i;
            n -= i;
            break;
        }
    }
    int rc = valid_text_field(fn, n, MP_MAX_FILENAME);
    if (rc != PARSE_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)fn[i] < 0x20 || fn[i] == 0x7f)
            return PARSE_EMALFORMED;
    part->filename = xstrndup(fn, n);
    return PARSE_OK;
}

/* RFC 5987 ext-value: UTF-8'lang'percent-encoded.  Other charsets are
** ignored (returns 0) and the plain filename parameter is used. */
static int decode_ext_value(struct buf *val, struct buf *out)
{
    const char *q1 = memchr(val->data, '\'', val->len);
    if (!q1)
        return -1;
    const char *rest = q1 + 1;
    size_t restlen = val->len - (size_t)(rest - val->data);
    const char *q2 = memchr(rest, '\'', restlen);
    if (!q2)
        return -1;
    if (!name_is(val->data, (size_t)(q1 - val->data), "utf-8"))
        return 0;
    const char *enc = q2 + 1;
    size_t enclen = val->len - (size_t)(enc - val->data);
    char *tmp = xmalloc(enclen + 1);
    long n = url_decode(enc, enclen, tmp, 0);
    if (n >= 0) {
        buf_reset(out);
        buf_append(out, tmp, (size_t)n);
    }
    free(tmp);
    return n < 0 ? -1 : 1;
}

/* form-data; name="field"; filename="a.txt" (filename* preferred). */
static int mp_disposition(const char *v, size_t vlen, struct mp_part *part)
{
    size_t i = 0;
    while (i < vlen && is_tchar((unsigned char)v[i]))
        i++;
    if (!name_is(v, i, "form-data"))
        return PARSE_EMALFORMED;
    struct params ps = {v, vlen, i};
    struct buf val, fn, fnext;
    buf_init(&val);
    buf_init(&fn);
    buf_init(&fnext);
    int have_fn = 0, have_ext = 0, rc = PARSE_OK, r = 0;
    const char *name;
    size_t nlen;
    while (rc == PARSE_OK && (r = param_next(&ps, &name, &nlen, &val)) == 1) {
        if (name_is(name, nlen, "name")) {
            if (part->name)
                rc = PARSE_EMALFORMED;
            else if ((rc = valid_text_field(val.data, val.len,
                                            PARSE_MAX_NAME)) == PARSE_OK)
                part->name = xstrndup(val.data, val.len);
        } else if (name_is(name, nlen, "filename") && !have_fn) {
            buf_append(&fn, val.data, val.len);
            have_fn = 1;
        } else if (name_is(name, nlen, "filename*") && !have_ext) {
            int d = decode_ext_value(&val, &fnext);
            if (d < 0)
                rc = PARSE_EMALFORMED;
            have_ext = d > 0;
        }
    }
    if (rc == PARSE_OK && r < 0)
        rc = PARSE_EMALFORMED;
    if (rc == PARSE_OK && !part->name)
        rc = PARSE_EMALFORMED;
    if (rc == PARSE_OK && have_ext)
        rc = set_filename(part, fnext.data, fnext.len);
    else if (rc == PARSE_OK && have_fn)
        rc = set_filename(part, fn.data ? fn.data : "", fn.len);
    buf_free(&val);
    buf_free(&fn);
    buf_free(&fnext);
    return rc;
}

/* One "Name: value" line of a part's header (no CRLF). */
static int mp_header_line(const char *line, size_t n, struct mp_part *part,
                          int *have_cd)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)line[i]))
        i++;
    /* This also refuses obsolete line folding (a leading space). */
    if (i == 0 || i == n || line[i] != ':')
        return PARSE_EMALFORMED;
    const char *hname = line;
    size_t hlen = i;
    const char *v = line + i + 1;
    size_t vlen = n - i - 1;
    trim_ows(&v, &vlen);
    if (memchr(v, 0, vlen) || memchr(v, '\r', vlen) || memchr(v, '\n', vlen))
        return PARSE_EMALFORMED;
    if (name_is(hname, hlen, "content-disposition")) {
        if (*have_cd)
            return PARSE_EMALFORMED;
        *have_cd = 1;
        return mp_disposition(v, vlen, part);
    }
    if (name_is(hname, hlen, "content-type")) {
        if (part->content_type)
            return PARSE_EMALFORMED;
        if (vlen > PARSE_MAX_NAME)
            return PARSE_ETOOLONG;
        for (size_t k = 0; k < vlen; k++)
            if ((unsigned char)v[k] < 0x20 || (unsigned char)v[k] > 0x7e)
                return PARSE_EMALFORMED;
        part->content_type = xstrndup(v, vlen);
    }
    return PARSE_OK; /* other headers are not used by form-data */
}

/* Reads a part's header block starting at pos, up to and including the
** empty line; *data_start is the first byte of the part's content. */
static int mp_headers(const char *body, size_t len, size_t pos,
                      struct mp_part *part, size_t *data_start)
{
    size_t start = pos;
    int nheaders = 0, have_cd = 0;
    for (;;) {
        size_t used = pos - start;
        size_t window = len - pos;
        if (window > MP_MAX_HEADER_BYTES + 2 - used)
            window = MP_MAX_HEADER_BYTES + 2 - used;
        const char *eol = memmem(body + pos, window, "\r\n", 2);
        if (!eol)
            return window < len - pos ? PARSE_ETOOLONG : PARSE_EMALFORMED;
        size_t n = (size_t)(eol - (body + pos));
        if (n == 0) {
            *data_start = pos + 2;
            break;
        }
        if (++nheaders > MP_MAX_HEADERS)
            return PARSE_ETOOLONG;
        int rc = mp_header_line(body + pos, n, part, &have_cd);
        if (rc != PARSE_OK)
            return rc;
        pos += n + 2;
    }
    return have_cd ? PARSE_OK : PARSE_EMALFORMED;
}

static void mp_part_clear(struct mp_part *p)
{
    free(p->name);
    free(p->filename);
    free(p->content_type);
    memset(p, 0, sizeof(*p));
}

static void mp_push(struct mp_parts *parts, const struct mp_part *p)
{
    if (parts->n == parts->cap) {
        size_t cap = parts->cap ? parts->cap * 2 : 8;
        parts->items = xrealloc(parts->items, cap * sizeof(*parts->items));
        parts->cap = cap;
    }
    parts->items[parts->n++] = *p;
}

/* The first delimiter may open the body or follow a preamble. */
static int mp_first_delim(const char *body, size_t len, const char *delim,
                          size_t dlen, size_t *next, int *close)
{
    size_t at;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0 &&
        delim_tail(body, len, dlen - 2, next, close))
        return 1;
    return find_delim(body, len, 0, delim, dlen, &at, next, close);
}

static int mp_body(const char *body, size_t len, const char *delim, size_t dlen,
                   struct mp_parts *parts)
{
    size_t next, at, fields = 0;
    int close;
    if (!mp_first_delim(body, len, delim, dlen, &next, &close))
        return PARSE_EMALFORMED;
    while (!close) {
        struct mp_part part;
        memset(&part, 0, sizeof(part));
        size_t data_start = 0;
        int rc = mp_headers(body, len, next, &part, &data_start);
        if (rc == PARSE_OK && ++fields > PARSE_MAX_FIELDS)
            rc = PARSE_ETOOMANY;
        /* No delimiter after the data: the body was cut short. */
        if (rc == PARSE_OK &&
            !find_delim(body, len, data_start, delim, dlen, &at, &next, &close))
            rc = PARSE_EMALFORMED;
        if (rc != PARSE_OK) {
            mp_part_clear(&part);
            return rc;
        }
        part.data = body + data_start;
        part.len = at - data_start;
        mp_push(parts, &part);
    }
    return PARSE_OK;
}

int parse_multipart(const char *content_type, const char *body, size_t len,
                    struct mp_parts *parts)
{
    char bnd[MP_MAX_BOUNDARY + 1];
    size_t blen;
    int rc = mp_boundary(content_type, bnd, sizeof(bnd), &blen);
    if (rc != PARSE_OK)
        return rc;
    if (!body)
        return PARSE_EMALFORMED;
    char delim[MP_MAX_BOUNDARY + 5];
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, bnd, blen);
    size_t start_n = parts->n;
    rc = mp_body(body, len, delim, blen + 4, parts);
    if (rc != PARSE_OK) {
        for (size_t i = start_n; i < parts->n; i++)
            mp_part_clear(&parts->items[i]);
        parts->n = start_n;
    }
    return rc;
}

void mp_parts_free(struct mp_parts *parts)
{
    for (size_t i = 0; i < parts->n; i++)
        mp_part_clear(&parts->items[i]);
    free(parts->items);
    parts->items = NULL;
    parts->n = 0;
    parts->cap = 0;
}

const struct mp_part *mp_find(const struct mp_parts *parts, const char *name)
{
    for (size_t i = 0; i < parts->n; i++)
        if (strcmp(parts->items[i].name, name) == 0)
            return &parts->items[i];
    return NULL;
}
