/*
** test_parse.c - unit tests of the parsers of outside input (parse.c) and
** the name/value list (kv.c): forms and query strings, cookies, multipart
** bodies, percent coding and UTF-8 checks.  Malformed input must be refused
** with the right code and leave the output list untouched (SEC-4).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kv.h"
#include "core/parse.h"
#include "core/util.h"

static int form(const char *s, struct kvlist *l)
{
    kv_init(l);
    return parse_urlencoded(s, strlen(s), l);
}

/* ---- kv ---- */

static void test_kv_basic(void **state)
{
    struct kvlist l;
    kv_init(&l);
    assert_null(kv_get(&l, "a"));
    kv_add(&l, "a", 1, "1", 1);
    kv_add(&l, "b", 1, "x\0y", 3);
    kv_add(&l, "a", 1, "2", 1);
    for (int i = 0; i < 100; i++)
        kv_add(&l, "n", 1, "v", 1);
    assert_int_equal(l.n, 103);
    assert_string_equal(kv_get(&l, "a"), "1"); /* first match */
    assert_int_equal(kv_count(&l, "a"), 2);
    assert_int_equal(kv_count(&l, "n"), 100);
    assert_int_equal(kv_count(&l, "zz"), 0);
    assert_int_equal(l.items[1].val_len, 3);
    assert_memory_equal(l.items[1].val, "x\0y", 4);
    kv_add(&l, "k", 1, NULL, 0);
    assert_string_equal(kv_get(&l, "k"), "");
    kv_free(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.items);
}

/* ---- url_decode / url_encode / utf8_valid ---- */

static void test_url_decode(void **state)
{
    char out[64];
    assert_int_equal(url_decode("a%20b+c", 7, out, 1), 5);
    assert_string_equal(out, "a b c");
    assert_int_equal(url_decode("a%20b+c", 7, out, 0), 5);
    assert_string_equal(out, "a b+c");
    assert_int_equal(url_decode("%e3%81%82", 9, out, 1), 3);
    assert_string_equal(out, "\xe3\x81\x82");
    assert_int_equal(url_decode("", 0, out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(url_decode("%00", 3, out, 1), 1);
    assert_int_equal(out[0], 0);
    /* bad escapes */
    assert_int_equal(url_decode("%G1", 3, out, 1), -1);
    assert_int_equal(url_decode("%1G", 3, out, 1), -1);
    assert_int_equal(url_decode("%E3%8", 5, out, 1), -1);
    assert_int_equal(url_decode("abc%", 4, out, 1), -1);
    assert_int_equal(url_decode("%", 1, out, 1), -1);
    /* len is respected: the bytes after it are never read */
    assert_int_equal(url_decode("ab%41", 3, out, 1), -1);
    assert_int_equal(url_decode("abcdef", 2, out, 1), 2);
    assert_string_equal(out, "ab");
}

static void test_url_encode(void **state)
{
    struct buf b;
    buf_init(&b);
    url_encode(&b, "aZ09-._~ /?&=+%\xe3\x81\x82");
    assert_string_equal(b.data, "aZ09-._~%20%2F%3F%26%3D%2B%25%E3%81%82");
    /* round trip */
    char out[64];
    long n = url_decode(b.data, b.len, out, 0);
    assert_int_equal(n, 18);
    assert_string_equal(out, "aZ09-._~ /?&=+%\xe3\x81\x82");
    buf_reset(&b);
    url_encode(&b, "");
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_utf8_valid(void **state)
{
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("abc", 3));
    assert_true(utf8_valid("\xe9\xab\x99\xe6\xa9\x8b", 6)); /* 髙橋 */
    assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));         /* emoji */
    assert_true(utf8_valid("\xf4\x8f\xbf\xbf", 4));         /* U+10FFFF */
    assert_true(utf8_valid("a\0b", 3)); /* NUL is valid UTF-8 */
    assert_false(utf8_valid("\x80", 1));
    assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(utf8_valid("\xc1\xbf", 2));         /* overlong */
    assert_false(utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(utf8_valid("\xf0\x80\x80\xaf", 4)); /* overlong */
    assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(utf8_valid("\xf5\x80\x80\x80", 4));
    assert_false(utf8_valid("\xff", 1));
    assert_false(utf8_valid("\xe3\x81", 2)); /* truncated */
    assert_false(utf8_valid("\xe3\x81\x82", 2));
    assert_false(utf8_valid("\xe3\x41\x82", 3)); /* bad continuation */
}

/* ---- parse_urlencoded ---- */

static void test_form_basic(void **state)
{
    struct kvlist l;
    assert_int_equal(form("a=1&b=%E3%81%82+x&c=&d", &l), PARSE_OK);
    assert_int_equal(l.n, 4);
    assert_string_equal(kv_get(&l, "a"), "1");
    assert_string_equal(kv_get(&l, "b"), "\xe3\x81\x82 x");
    assert_string_equal(kv_get(&l, "c"), "");
    assert_string_equal(kv_get(&l, "d"), "");
    assert_string_equal(l.items[3].key, "d");
    kv_free(&l);
}

static void test_form_empty_and_separators(void **state)
{
    struct kvlist l;
    assert_int_equal(form("", &l), PARSE_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(form("&&&", &l), PARSE_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(form("=x&=&a=1&&", &l), PARSE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(kv_get(&l, "a"), "1");
    kv_free(&l);
    /* '=' in the value is kept; ';' is not a separator */
    assert_int_equal(form("q=a=b;c", &l), PARSE_OK);
    assert_string_equal(kv_get(&l, "q"), "a=b;c");
    kv_free(&l);
    /* NULL with len 0 is an empty input */
    kv_init(&l);
    assert_int_equal(parse_urlencoded(NULL, 0, &l), PARSE_OK);
    assert_int_equal(l.n, 0);
}

static void test_form_plus(void **state)
{
    struct kvlist l;
    assert_int_equal(form("a+b=c+d&e=%2B&f=++", &l), PARSE_OK);
    assert_string_equal(kv_get(&l, "a b"), "c d");
    assert_string_equal(kv_get(&l, "e"), "+");
    assert_string_equal(kv_get(&l, "f"), "  ");
    kv_free(&l);
}

static void test_form_duplicates(void **state)
{
    struct kvlist l;
    assert_int_equal(form("role=a&role=b&x=1&role=c", &l), PARSE_OK);
    assert_int_equal(kv_count(&l, "role"), 3);
    assert_string_equal(kv_get(&l, "role"), "a");
    assert_string_equal(l.items[1].val, "b");
    assert_string_equal(l.items[3].val, "c");
    kv_free(&l);
}

static void test_form_bad_escapes(void **state)
{
    struct kvlist l;
    assert_int_equal(form("a=%G1", &l), PARSE_EMALFORMED);
    assert_int_equal(l.n, 0);
    assert_int_equal(form("a=%E3", &l), PARSE_EMALFORMED); /* bad UTF-8 */
    assert_int_equal(form("a=%E3%81", &l), PARSE_EMALFORMED);
    assert_int_equal(form("a=%E3%8", &l), PARSE_EMALFORMED); /* truncated */
    assert_int_equal(form("a=%", &l), PARSE_EMALFORMED);
    assert_int_equal(form("%ZZ=1", &l), PARSE_EMALFORMED);
    assert_int_equal(form("a=%00", &l), PARSE_EMALFORMED); /* NUL */
    assert_int_equal(form("a%00b=1", &l), PARSE_EMALFORMED);
    assert_int_equal(form("a=%C0%AF", &l), PARSE_EMALFORMED); /* overlong */
    assert_int_equal(form("a=\xff", &l), PARSE_EMALFORMED);   /* raw byte */
    assert_int_equal(l.n, 0);
}

/* A failure part-way leaves what the list held before the call. */
static void test_form_all_or_nothing(void **state)
{
    struct kvlist l;
    kv_init(&l);
    kv_add(&l, "keep", 4, "me", 2);
    const char *s = "a=1&b=2&c=%zz";
    assert_int_equal(parse_urlencoded(s, strlen(s), &l), PARSE_EMALFORMED);
    assert_int_equal(l.n, 1);
    assert_string_equal(kv_get(&l, "keep"), "me");
    assert_null(kv_get(&l, "a"));
    kv_free(&l);
}

static void test_form_limits(void **state)
{
    struct kvlist l;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < PARSE_MAX_FIELDS; i++)
        buf_printf(&b, "f%d=%d&", i, i);
    assert_int_equal(form(b.data, &l), PARSE_OK);
    assert_int_equal(l.n, PARSE_MAX_FIELDS);
    kv_free(&l);
    buf_puts(&b, "one=more");
    assert_int_equal(form(b.data, &l), PARSE_ETOOMANY);
    assert_int_equal(l.n, 0);
    kv_free(&l);

    /* names: PARSE_MAX_NAME bytes after decoding */
    buf_reset(&b);
    for (int i = 0; i < PARSE_MAX_NAME; i++)
        buf_puts(&b, "%41");
    buf_puts(&b, "=v");
    assert_int_equal(form(b.data, &l), PARSE_OK);
    assert_int_equal(strlen(l.items[0].key), PARSE_MAX_NAME);
    kv_free(&l);
    buf_reset(&b);
    for (int i = 0; i <= PARSE_MAX_NAME; i++)
        buf_putc(&b, 'n');
    buf_puts(&b, "=v");
    assert_int_equal(form(b.data, &l), PARSE_ETOOLONG);
    assert_int_equal(l.n, 0);
    /* long values are fine (the body limit bounds them) */
    buf_reset(&b);
    buf_puts(&b, "v=");
    for (int i = 0; i < 100000; i++)
        buf_putc(&b, 'x');
    assert_int_equal(form(b.data, &l), PARSE_OK);
    assert_int_equal(l.items[0].val_len, 100000);
    kv_free(&l);
    buf_free(&b);
}

/* The parser must honour len and not look for a NUL. */
static void test_form_respects_len(void **state)
{
    struct kvlist l;
    kv_init(&l);
    const char *s = "a=1&b=2";
    assert_int_equal(parse_urlencoded(s, 3, &l), PARSE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(kv_get(&l, "a"), "1");
    kv_free(&l);
    char *heap = malloc(5); /* no terminator: ASan catches a read past */
    memcpy(heap, "x=%41", 5);
    assert_int_equal(parse_urlencoded(heap, 5, &l), PARSE_OK);
    assert_string_equal(kv_get(&l, "x"), "A");
    kv_free(&l);
    memcpy(heap, "x=1%4", 5);
    assert_int_equal(parse_urlencoded(heap, 5, &l), PARSE_EMALFORMED);
    free(heap);
}

/* ---- parse_cookies ---- */

static int cookies(const char *s, struct kvlist *l)
{
    kv_init(l);
    return parse_cookies(s, strlen(s), l);
}

static void test_cookies_basic(void **state)
{
    struct kvlist l;
    assert_int_equal(cookies("a=1; b=2;c=3 ;  d = 4 ", &l), PARSE_OK);
    assert_int_equal(l.n, 4);
    assert_string_equal(kv_get(&l, "a"), "1");
    assert_string_equal(kv_get(&l, "b"), "2");
    assert_string_equal(kv_get(&l, "c"), "3");
    assert_string_equal(kv_get(&l, "d"), "4");
    kv_free(&l);
    /* values are not decoded; '=' inside a value is kept */
    assert_int_equal(cookies("__Host-sid=ab%20cd==; x=a+b", &l), PARSE_OK);
    assert_string_equal(kv_get(&l, "__Host-sid"), "ab%20cd==");
    assert_string_equal(kv_get(&l, "x"), "a+b");
    kv_free(&l);
    assert_int_equal(cookies("", &l), PARSE_OK);
    assert_int_equal(l.n, 0);
}

static void test_cookies_quotes(void **state)
{
    struct kvlist l;
    assert_int_equal(cookies("a=\"quoted\"; b=\"\"; c=\"; d=x\"y; e=\"z", &l),
                     PARSE_OK);
    assert_string_equal(kv_get(&l, "a"), "quoted");
    assert_string_equal(kv_get(&l, "b"), "");
    assert_string_equal(kv_get(&l, "c"), "\""); /* a lone quote stays */
    assert_string_equal(kv_get(&l, "d"), "x\"y");
    assert_string_equal(kv_get(&l, "e"), "\"z");
    kv_free(&l);
}

static void test_cookies_malformed_skipped(void **state)
{
    struct kvlist l;
    assert_int_equal(cookies("novalue; =x; a b=1; ok=1; ;; bad\x01=2; "
                             "c=ctl\x01; d=%00; e=\x7f",
                             &l),
                     PARSE_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(kv_get(&l, "ok"), "1");
    assert_string_equal(kv_get(&l, "d"), "%00");
    kv_free(&l);
    /* duplicates are kept in order; the first wins for kv_get */
    assert_int_equal(cookies("s=old; s=new", &l), PARSE_OK);
    assert_int_equal(kv_count(&l, "s"), 2);
    assert_string_equal(kv_get(&l, "s"), "old");
    kv_free(&l);
    /* a NUL in the header is a control character: that pair is skipped */
    kv_init(&l);
    assert_int_equal(parse_cookies("a=1\0x; b=2", 10, &l), PARSE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(kv_get(&l, "b"), "2");
    kv_free(&l);
}

static void test_cookies_limits(void **state)
{
    struct kvlist l;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i <= PARSE_MAX_FIELDS; i++)
        buf_printf(&b, "c%d=%d; ", i, i);
    assert_int_equal(cookies(b.data, &l), PARSE_ETOOMANY);
    assert_int_equal(l.n, 0);
    kv_free(&l);
    buf_reset(&b);
    for (int i = 0; i <= PARSE_MAX_NAME; i++)
        buf_putc(&b, 'n');
    buf_puts(&b, "=1; ok=2");
    assert_int_equal(cookies(b.data, &l), PARSE_OK);
    assert_int_equal(l.n, 1); /* the over-long name is skipped */
    assert_string_equal(kv_get(&l, "ok"), "2");
    kv_free(&l);
    buf_free(&b);
}

/* ---- parse_multipart ---- */

#define CT "multipart/form-data; boundary=XyZ"

static int mp(const char *ct, const char *body, size_t len, struct mp_parts *p)
{
    memset(p, 0, sizeof(*p));
    /* a heap copy of exactly len bytes, so ASan sees any read past it */
    char *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    int rc = parse_multipart(ct, copy, len, p);
    /* parts point into the body: copy the data back before freeing */
    for (size_t i = 0; i < p->n; i++)
        p->items[i].data = body + (p->items[i].data - copy);
    free(copy);
    return rc;
}

static int mps(const char *ct, const char *body, struct mp_parts *p)
{
    return mp(ct, body, strlen(body), p);
}

static void assert_part(const struct mp_part *part, const char *data)
{
    assert_non_null(part);
    assert_int_equal(part->len, strlen(data));
    assert_memory_equal(part->data, data, part->len);
}

static void test_mp_basic(void **state)
{
    struct mp_parts p;
    const char *body = "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"title\"\r\n"
                       "\r\n"
                       "hello world\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"file\"; "
                       "filename=\"a.txt\"\r\n"
                       "Content-Type: text/plain\r\n"
                       "\r\n"
                       "line1\r\nline2\r\n\r\n"
                       "--XyZ\r\n"
                       "content-disposition: FORM-DATA; name=empty\r\n"
                       "\r\n"
                       "\r\n"
                       "--XyZ--\r\n";
    assert_int_equal(mps(CT, body, &p), PARSE_OK);
    assert_int_equal(p.n, 3);
    const struct mp_part *t = mp_find(&p, "title");
    assert_part(t, "hello world");
    assert_null(t->filename);
    assert_null(t->content_type);
    const struct mp_part *f = mp_find(&p, "file");
    assert_part(f, "line1\r\nline2\r\n");
    assert_string_equal(f->filename, "a.txt");
    assert_string_equal(f->content_type, "text/plain");
    assert_part(mp_find(&p, "empty"), "");
    assert_null(mp_find(&p, "nope"));
    mp_parts_free(&p);
    assert_int_equal(p.n, 0);
    assert_null(p.items);
}

static void test_mp_boundary_forms(void **state)
{
    struct mp_parts p;
    const char *body = "--a b'c\r\n"
                       "Content-Disposition: form-data; name=x\r\n\r\n"
                       "1\r\n--a b'c--";
    /* quoted boundary with a space, parameters in any order and case */
    assert_int_equal(
        mps("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b'c\"", body, &p),
        PARSE_OK);
    assert_part(mp_find(&p, "x"), "1");
    mp_parts_free(&p);

    const char *b2 = "--abc\r\nContent-Disposition: form-data; name=x\r\n\r\n"
                     "2\r\n--abc--\r\n";
    assert_int_equal(mps("multipart/form-data;boundary=abc", b2, &p), PARSE_OK);
    assert_part(mp_find(&p, "x"), "2");
    mp_parts_free(&p);
    assert_int_equal(mps("multipart/form-data ; boundary=abc ; x=y", b2, &p),
                     PARSE_OK);
    mp_parts_free(&p);

    /* missing, empty, too long or invalid boundaries; wrong media types */
    assert_int_equal(mps("multipart/form-data", b2, &p), PARSE_EMALFORMED);
    assert_int_equal(mps("multipart/form-data; boundary=", b2, &p),
                     PARSE_EMALFORMED);
    assert_int_equal(mps("multipart/form-data; boundary=\"\"", b2, &p),
                     PARSE_EMALFORMED);
    assert_int_equal(mps("multipart/form-data; boundary=\"abc", b2, &p),
                     PARSE_EMALFORMED);
    assert_int_equal(mps("multipart/form-data; boundary=\"abc \"", b2, &p),
                     PARSE_EMALFORMED);
    assert_int_equal(mps("multipart/form-data; boundary=a\x01", b2, &p),
                     PARSE_EMALFORMED);
    assert_int_equal(mps("multipart/mixed; boundary=abc", b2, &p),
                     PARSE_EMALFORMED);
    assert_int_equal(mps("text/plain; boundary=abc", b2, &p), PARSE_EMALFORMED);
    assert_int_equal(mps("", b2, &p), PARSE_EMALFORMED);
    memset(&p, 0, sizeof(p));
    assert_int_equal(parse_multipart(NULL, b2, strlen(b2), &p),
                     PARSE_EMALFORMED);
    char ct[200];
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(mps(ct, b2, &p), PARSE_EMALFORMED);
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%070d", 0);
    char b3[300];
    snprintf(b3, sizeof(b3),
             "--%070d\r\nContent-Disposition: form-data; name=x\r\n\r\n"
             "3\r\n--%070d--",
             0, 0);
    assert_int_equal(mps(ct, b3, &p), PARSE_OK);
    assert_part(mp_find(&p, "x"), "3");
    mp_parts_free(&p);
}

static void test_mp_preamble_epilogue(void **state)
{
    struct mp_parts p;
    const char *body =
        "This is a preamble.\r\n--XyZ is not a delimiter here\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=a\r\n\r\n"
        "A\r\n"
        "--XyZ--\r\n"
        "epilogue with --XyZ\r\n--XyZ\r\n inside";
    assert_int_equal(mps(CT, body, &p), PARSE_OK);
    assert_int_equal(p.n, 1);
    assert_part(mp_find(&p, "a"), "A");
    mp_parts_free(&p);
    /* transport padding after the boundary is allowed */
    const char *b2 = "--XyZ \t\r\n"
                     "Content-Disposition: form-data; name=a\r\n\r\n"
                     "A\r\n--XyZ--";
    assert_int_equal(mps(CT, b2, &p), PARSE_OK);
    assert_part(mp_find(&p, "a"), "A");
    mp_parts_free(&p);
    /* no parts at all */
    assert_int_equal(mps(CT, "--XyZ--\r\n", &p), PARSE_OK);
    assert_int_equal(p.n, 0);
    mp_parts_free(&p);
}

static void test_mp_truncated(void **state)
{
    struct mp_parts p;
    const char *full = "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
                       "value\r\n"
                       "--XyZ--";
    size_t n = strlen(full);
    /* every proper prefix up to the close delimiter is refused */
    for (size_t k = 0; k < n; k++) {
        int rc = mp(CT, full, k, &p);
        assert_int_not_equal(rc, PARSE_OK);
        assert_int_equal(p.n, 0);
        mp_parts_free(&p);
    }
    assert_int_equal(mp(CT, full, n, &p), PARSE_OK);
    mp_parts_free(&p);
    /* no final boundary after the last part */
    assert_int_equal(mps(CT,
                         "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
                         "\r\nvalue\r\n",
                         &p),
                     PARSE_EMALFORMED);
    /* empty body, body without any delimiter */
    assert_int_equal(mps(CT, "", &p), PARSE_EMALFORMED);
    assert_int_equal(mps(CT, "just text", &p), PARSE_EMALFORMED);
    memset(&p, 0, sizeof(p));
    assert_int_equal(parse_multipart(CT, NULL, 0, &p), PARSE_EMALFORMED);
}

static void test_mp_binary_with_boundary_prefix(void **state)
{
    struct mp_parts p;
    /* file content holding NULs, CRLFs, "--XyZ" without a CRLF before it,
    ** "\r\n--XyZ" followed by other text, and "\r\n--Xy" */
    static const char data[] = "\x00\x01\xff\r\n--Xy\r\n--XyZa\r\n--XyZ-x"
                               "--XyZ\r\n\r\n--\r\n--XyZ_\x00";
    size_t dlen = sizeof(data) - 1;
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
                 "filename=\"bin.dat\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n");
    buf_append(&b, data, dlen);
    buf_puts(&b, "\r\n--XyZ--\r\n");
    assert_int_equal(mp(CT, b.data, b.len, &p), PARSE_OK);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.items[0].len, dlen);
    assert_memory_equal(p.items[0].data, data, dlen);
    assert_string_equal(p.items[0].content_type, "application/octet-stream");
    mp_parts_free(&p);
    buf_free(&b);
}

static void test_mp_filenames(void **state)
{
    struct mp_parts p;
    const char *body =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=a; "
        "filename=\"C:\\Users\\x\\doc.pdf\"\r\n\r\n1\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=b; "
        "filename=\"../../etc/passwd\"\r\n\r\n2\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=c; "
        "filename=\"\xe9\xab\x99\xe6\xa9\x8b \\\"q\\\".txt\"\r\n\r\n3\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=d; filename=\"\"\r\n\r\n\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=e; filename=\"plain.txt\"; "
        "filename*=UTF-8''%E9%AB%99%E6%A9%8B.csv\r\n\r\n5\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=f; "
        "filename*=iso-8859-1'en'%A3.txt; filename=fallback.txt\r\n\r\n6\r\n"
        "--XyZ--\r\n";
    assert_int_equal(mps(CT, body, &p), PARSE_OK);
    assert_int_equal(p.n, 6);
    assert_string_equal(mp_find(&p, "a")->filename, "doc.pdf");
    assert_string_equal(mp_find(&p, "b")->filename, "passwd");
    assert_string_equal(mp_find(&p, "c")->filename,
                        "\xe9\xab\x99\xe6\xa9\x8b \"q\".txt");
    assert_string_equal(mp_find(&p, "d")->filename, ""); /* no file chosen */
    assert_part(mp_find(&p, "d"), "");
    assert_string_equal(mp_find(&p, "e")->filename,
                        "\xe9\xab\x99\xe6\xa9\x8b.csv");
    assert_string_equal(mp_find(&p, "f")->filename, "fallback.txt");
    mp_parts_free(&p);
}

static void test_mp_bad_headers(void **state)
{
    struct mp_parts p;
    static const char *const bad[] = {
        /* no Content-Disposition */
        "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
        /* no headers at all */
        "--XyZ\r\n\r\nx\r\n--XyZ--",
        /* not form-data */
        "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--",
        /* no name */
        "--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n"
        "--XyZ--",
        /* two names, two dispositions */
        "--XyZ\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n"
        "--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
        "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--XyZ--",
        /* unterminated quote, missing '=', junk between parameters */
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n"
        "--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"x\r\n\r\nx\r\n"
        "--XyZ--",
        /* header without a colon, obsolete folding */
        "--XyZ\r\nContent-Disposition form-data; name=a\r\n\r\nx\r\n--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nx\r\n"
        "--XyZ--",
        /* bare LF line ends are not CRLF */
        "--XyZ\nContent-Disposition: form-data; name=a\n\nx\n--XyZ--",
        /* invalid UTF-8 in the name or filename, control chars in it */
        "--XyZ\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nx\r\n"
        "--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=a; filename=\"\xc0\xaf"
        "\"\r\n\r\nx\r\n--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=a; filename=\"a\tb\""
        "\r\n\r\nx\r\n--XyZ--",
        /* bad filename* escape */
        "--XyZ\r\nContent-Disposition: form-data; name=a; "
        "filename*=UTF-8''%G0\r\n\r\nx\r\n--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=a; "
        "filename*=UTF-8%41\r\n\r\nx\r\n--XyZ--",
        /* lone CR inside a header */
        "--XyZ\r\nContent-Disposition: form-data; name=a\rb\r\n\r\nx\r\n"
        "--XyZ--",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = mps(CT, bad[i], &p);
        if (rc != PARSE_EMALFORMED)
            print_error("case %zu: rc %d\n", i, rc);
        assert_int_equal(rc, PARSE_EMALFORMED);
        assert_int_equal(p.n, 0);
        mp_parts_free(&p);
    }
}

static void test_mp_limits(void **state)
{
    struct mp_parts p;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < PARSE_MAX_FIELDS; i++)
        buf_printf(&b,
                   "--XyZ\r\nContent-Disposition: form-data; name=f%d\r\n\r\n"
                   "%d\r\n",
                   i, i);
    buf_puts(&b, "--XyZ--");
    assert_int_equal(mp(CT, b.data, b.len, &p), PARSE_OK);
    assert_int_equal(p.n, PARSE_MAX_FIELDS);
    assert_part(mp_find(&p, "f511"), "511");
    mp_parts_free(&p);
    b.len -= 7;
    buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=x\r\n\r\n"
                 "x\r\n--XyZ--");
    assert_int_equal(mp(CT, b.data, b.len, &p), PARSE_ETOOMANY);
    assert_int_equal(p.n, 0);
    mp_parts_free(&p);

    /* a name longer than PARSE_MAX_NAME */
    buf_reset(&b);
    buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"");
    for (int i = 0; i <= PARSE_MAX_NAME; i++)
        buf_putc(&b, 'n');
    buf_puts(&b, "\"\r\n\r\nx\r\n--XyZ--");
    assert_int_equal(mp(CT, b.data, b.len, &p), PARSE_ETOOLONG);
    mp_parts_free(&p);

    /* an endless header block */
    buf_reset(&b);
    buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n");
    for (int i = 0; i < 1000; i++)
        buf_puts(&b, "X-Junk: 0123456789012345678901234567890123456789\r\n");
    buf_puts(&b, "\r\nx\r\n--XyZ--");
    assert_int_equal(mp(CT, b.data, b.len, &p), PARSE_ETOOLONG);
    mp_parts_free(&p);
    /* one huge header line */
    buf_reset(&b);
    buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=a; x=\"");
    for (int i = 0; i < 20000; i++)
        buf_putc(&b, 'y');
    buf_puts(&b, "\"\r\n\r\nx\r\n--XyZ--");
    assert_int_equal(mp(CT, b.data, b.len, &p), PARSE_ETOOLONG);
    mp_parts_free(&p);
    /* a large file part is fine */
    buf_reset(&b);
    buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=f; "
                 "filename=big.bin\r\n\r\n");
    for (int i = 0; i < 1 << 20; i++)
        buf_putc(&b, (char)(i * 7));
    buf_puts(&b, "\r\n--XyZ--");
    assert_int_equal(mp(CT, b.data, b.len, &p), PARSE_OK);
    assert_int_equal(mp_find(&p, "f")->len, 1 << 20);
    mp_parts_free(&p);
    buf_free(&b);
}

/* A failure leaves earlier parts from a previous call alone. */
static void test_mp_all_or_nothing(void **state)
{
    struct mp_parts p;
    const char *good = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
                       "\r\n1\r\n--XyZ--";
    assert_int_equal(mps(CT, good, &p), PARSE_OK);
    const char *bad = "--XyZ\r\nContent-Disposition: form-data; name=b\r\n"
                      "\r\n2\r\n--XyZ\r\n\r\n";
    assert_int_equal(parse_multipart(CT, bad, strlen(bad), &p),
                     PARSE_EMALFORMED);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.items[0].name, "a");
    mp_parts_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_basic),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_url_encode),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_form_basic),
        cmocka_unit_test(test_form_empty_and_separators),
        cmocka_unit_test(test_form_plus),
        cmocka_unit_test(test_form_duplicates),
        cmocka_unit_test(test_form_bad_escapes),
        cmocka_unit_test(test_form_all_or_nothing),
        cmocka_unit_test(test_form_limits),
        cmocka_unit_test(test_form_respects_len),
        cmocka_unit_test(test_cookies_basic),
        cmocka_unit_test(test_cookies_quotes),
        cmocka_unit_test(test_cookies_malformed_skipped),
        cmocka_unit_test(test_cookies_limits),
        cmocka_unit_test(test_mp_basic),
        cmocka_unit_test(test_mp_boundary_forms),
        cmocka_unit_test(test_mp_preamble_epilogue),
        cmocka_unit_test(test_mp_truncated),
        cmocka_unit_test(test_mp_binary_with_boundary_prefix),
        cmocka_unit_test(test_mp_filenames),
        cmocka_unit_test(test_mp_bad_headers),
        cmocka_unit_test(test_mp_limits),
        cmocka_unit_test(test_mp_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
