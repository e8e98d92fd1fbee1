/*
** kv.h - an ordered list of name/value pairs, the result of every parser of
** outside input (query strings, forms, cookies, multipart headers).
** Values may hold NUL bytes (val_len); lookups return the first match.
*/
#ifndef CITYOS_KV_H
#define CITYOS_KV_H

#include <stddef.h>

struct kv {
    char *key;
    char *val;
    size_t val_len;
};

struct kvlist {
    struct kv *items;
    size_t n;
    size_t cap;
};

void kv_init(struct kvlist *l);
void kv_free(struct kvlist *l);
/* Copies key and value. */
void kv_add(struct kvlist *l, const char *key, size_t klen, const char *val,
            size_t vlen);
const char *kv_get(const struct kvlist *l, const char *key);
/* Number of entries named key. */
size_t kv_count(const struct kvlist *l, const char *key);

#endif
