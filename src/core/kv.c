/*
** kv.c - the ordered name/value list that every parser of outside input
** fills (see kv.h).  Keys and values are copied and NUL-terminated; values
** also keep their length because a value may hold NUL bytes.
*/
#include "kv.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void kv_init(struct kvlist *l)
{
    l->items = NULL;
    l->n = 0;
    l->cap = 0;
}

void kv_free(struct kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].val);
    }
    free(l->items);
    kv_init(l);
}

void kv_add(struct kvlist *l, const char *key, size_t klen, const char *val,
            size_t vlen)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        l->items = xrealloc(l->items, cap * sizeof(*l->items));
        l->cap = cap;
    }
    struct kv *e = &l->items[l->n++];
    e->key = xstrndup(key ? key : "", key ? klen : 0);
    /* Copied by length (a value may hold NUL) and tolerant of val == NULL
    ** when vlen is 0, which memcpy is not. */
    e->val = xmalloc(vlen + 1);
    if (vlen)
        memcpy(e->val, val, vlen);
    e->val[vlen] = 0;
    e->val_len = vlen;
}

const char *kv_get(const struct kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return l->items[i].val;
    return NULL;
}

size_t kv_count(const struct kvlist *l, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            n++;
    return n;
}
