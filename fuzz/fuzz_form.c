/*
** fuzz_form.c - libFuzzer target for parse_urlencoded(), the parser of
** application/x-www-form-urlencoded request bodies.  Besides ASan/UBSan
** findings it checks what callers rely on: every name and value accepted
** is NUL-free valid UTF-8, names are within PARSE_MAX_NAME, and a failed
** parse leaves the list empty.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/kv.h"
#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kvlist l;
    kv_init(&l);
    int rc = parse_urlencoded((const char *)data, size, &l);
    if (rc != PARSE_OK && rc != PARSE_EMALFORMED && rc != PARSE_ETOOMANY &&
        rc != PARSE_ETOOLONG)
        abort();
    if (rc != PARSE_OK && l.n != 0)
        abort();
    if (l.n > PARSE_MAX_FIELDS)
        abort();
    for (size_t i = 0; i < l.n; i++) {
        const struct kv *e = &l.items[i];
        size_t klen = strlen(e->key);
        if (klen == 0 || klen > PARSE_MAX_NAME || !utf8_valid(e->key, klen))
            abort();
        if (strlen(e->val) != e->val_len || !utf8_valid(e->val, e->val_len))
            abort();
        if (kv_get(&l, e->key) == NULL || kv_count(&l, e->key) == 0)
            abort();
    }
    kv_free(&l);
    return 0;
}
