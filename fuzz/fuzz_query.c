/*
** fuzz_query.c - libFuzzer target for query strings: url_decode() in both
** modes, parse_urlencoded() of the input as a query, and the round trip
** url_encode() then url_decode() of whatever decoded.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/kv.h"
#include "core/parse.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encoding then decoding gives back the text up to its first NUL. */
static void check_round_trip(const char *dec, size_t n)
{
    size_t textlen = strnlen(dec, n);
    struct buf enc;
    buf_init(&enc);
    url_encode(&enc, dec);
    if (enc.len < textlen)
        abort();
    char *back = malloc(enc.len + 1);
    if (!back)
        abort();
    long m = url_decode(enc.data ? enc.data : "", enc.len, back, 0);
    if (m < 0 || (size_t)m != textlen || memcmp(back, dec, textlen) != 0)
        abort();
    free(back);
    buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    /* A query is what follows '?' in a URI; the path decodes without '+'. */
    const char *q = memchr(s, '?', size);
    size_t plen = q ? (size_t)(q - s) : size;
    char *out = malloc(size + 1);
    if (!out)
        abort();
    for (int plus = 0; plus <= 1; plus++) {
        long n = url_decode(s, plen, out, plus);
        if (n > (long)plen)
            abort();
        if (n >= 0) {
            if (out[n] != 0)
                abort();
            check_round_trip(out, (size_t)n);
        }
    }
    free(out);

    struct kvlist l;
    kv_init(&l);
    const char *query = q ? q + 1 : s;
    size_t qlen = q ? size - plen - 1 : size;
    int rc = parse_urlencoded(query, qlen, &l);
    if (rc != PARSE_OK && l.n != 0)
        abort();
    for (size_t i = 0; i < l.n; i++)
        if (strlen(l.items[i].val) != l.items[i].val_len)
            abort();
    kv_free(&l);
    return 0;
}
