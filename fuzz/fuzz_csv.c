/*
** fuzz_csv.c - libFuzzer target for the CSV reader and writer: the input
** is an uploaded file for csv_decode_input() then csv_parse() (with small
** limits, so the limit paths run too).  Every record read is written back
** with csv_field() and parsed again, which must give the same fields (a
** formula-like value comes back with its guarding quote); the whole
** rewritten file then goes through csv_finish() in both encodings.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/parse.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
    struct buf written; /* every record, rewritten */
    const struct csv_row *orig;
};

/* The second parse: fields must equal the original ones. */
static int compare_row(void *ctx, const struct csv_row *row)
{
    const struct csv_row *orig = ctx;
    if (row->index != 1 || row->n != orig->n)
        abort();
    for (size_t i = 0; i < row->n; i++) {
        const char *got = row->fields[i];
        const char *want = orig->fields[i];
        if (strlen(got) != row->lens[i])
            abort();
        if (strcmp(got, want) != 0 &&
            !(got[0] == '\'' && strcmp(got + 1, want) == 0))
            abort();
    }
    return 0;
}

static int rewrite_row(void *ctx, const struct csv_row *row)
{
    struct fuzz_ctx *c = ctx;
    if (row->n == 0)
        abort();
    struct buf one;
    buf_init(&one);
    for (size_t i = 0; i < row->n; i++) {
        if (strlen(row->fields[i]) != row->lens[i] ||
            !utf8_valid(row->fields[i], row->lens[i]))
            abort();
        csv_field(&one, row->fields[i]);
    }
    csv_row_end(&one);
    struct csv_error err;
    if (csv_parse(one.data, one.len, compare_row, (void *)row, NULL, &err) !=
        CSV_OK)
        abort();
    buf_append(&c->written, one.data, one.len);
    buf_free(&one);
    return row->index == 40; /* also exercise CSV_ESTOPPED */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf utf8;
    buf_init(&utf8);
    const char *enc = NULL;
    int rc = csv_decode_input((const char *)data, size, &utf8, &enc);
    if (rc == CSV_OK) {
        if (!enc || !utf8_valid(utf8.data, utf8.len))
            abort();
        struct fuzz_ctx c;
        buf_init(&c.written);
        struct csv_limits lim = {
            .max_fields = 16, .max_field_len = 512, .max_rows = 50};
        struct csv_error err;
        rc = csv_parse(utf8.data, utf8.len, rewrite_row, &c, &lim, &err);
        if (rc != err.code || (rc != CSV_OK && err.message[0] == 0))
            abort();
        if (rc != CSV_OK && strlen(err.message) >= sizeof(err.message))
            abort();
        struct buf out;
        buf_init(&out);
        if (csv_finish(&c.written, 0, &out) != 0)
            abort();
        buf_reset(&out);
        if (csv_finish(&c.written, 1, &out) < 0)
            abort();
        buf_free(&out);
        buf_free(&c.written);
    } else if (enc != NULL) {
        abort();
    }
    buf_free(&utf8);
    return 0;
}
