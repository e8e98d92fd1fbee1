/*
** fuzz_cookie.c - libFuzzer target for parse_cookies(), the parser of the
** Cookie request header.  Checks that every cookie kept has a token name
** within PARSE_MAX_NAME and a value without control characters.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/kv.h"
#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int bad_char(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kvlist l;
    kv_init(&l);
    int rc = parse_cookies((const char *)data, size, &l);
    if (rc != PARSE_OK && rc != PARSE_ETOOMANY)
        abort();
    if (rc != PARSE_OK && l.n != 0)
        abort();
    for (size_t i = 0; i < l.n; i++) {
        const struct kv *e = &l.items[i];
        size_t klen = strlen(e->key);
        if (klen == 0 || klen > PARSE_MAX_NAME)
            abort();
        for (size_t k = 0; k < klen; k++) {
            unsigned char c = (unsigned char)e->key[k];
            if (c <= 0x20 || c >= 0x7f || strchr(";=,\"", c))
                abort();
        }
        if (strlen(e->val) != e->val_len)
            abort();
        for (size_t k = 0; k < e->val_len; k++)
            if (bad_char((unsigned char)e->val[k]) || e->val[k] == ';')
                abort();
    }
    kv_free(&l);
    return 0;
}
