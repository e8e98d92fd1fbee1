/*
** fuzz_multipart.c - libFuzzer target for parse_multipart().  The first
** line of the input is the request's Content-Type header, the rest the
** body.  Checks that each part's data lies inside the body, names are
** valid UTF-8 within PARSE_MAX_NAME, and a failure leaves no parts.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    if (!nl)
        return 0;
    size_t ctlen = (size_t)(nl - s);
    char *ct = malloc(ctlen + 1);
    /* the body in a buffer of its exact size, so ASan sees any overread */
    size_t blen = size - ctlen - 1;
    char *body = malloc(blen ? blen : 1);
    if (!ct || !body)
        abort();
    memcpy(ct, s, ctlen);
    ct[ctlen] = 0;
    memcpy(body, nl + 1, blen);

    struct mp_parts parts;
    memset(&parts, 0, sizeof(parts));
    int rc = parse_multipart(ct, body, blen, &parts);
    if (rc != PARSE_OK && parts.n != 0)
        abort();
    if (parts.n > PARSE_MAX_FIELDS)
        abort();
    for (size_t i = 0; i < parts.n; i++) {
        const struct mp_part *p = &parts.items[i];
        if (p->data < body || p->len > blen ||
            (size_t)(p->data - body) > blen - p->len)
            abort();
        size_t nlen = strlen(p->name);
        if (nlen > PARSE_MAX_NAME || !utf8_valid(p->name, nlen))
            abort();
        if (p->filename &&
            (strchr(p->filename, '/') || strchr(p->filename, '\\') ||
             !utf8_valid(p->filename, strlen(p->filename))))
            abort();
        if (mp_find(&parts, p->name) == NULL)
            abort();
    }
    mp_parts_free(&parts);
    free(ct);
    free(body);
    return 0;
}
