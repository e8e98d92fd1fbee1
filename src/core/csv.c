/*
** csv.c - CSV writer and reader (see csv.h): RFC 4180 quoting, formula
** injection guard, UTF-8 with BOM or CP932 output through glibc iconv, and
** a bounded reader for imports that tells staff in Japanese which line of
** their file is wrong.
*/
#include "csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "util.h"

#define CSV_DEFAULT_MAX_FIELDS    256
#define CSV_DEFAULT_MAX_FIELD_LEN (64 * 1024)
#define CSV_DEFAULT_MAX_ROWS      100000

static const char utf8_bom[] = "\xEF\xBB\xBF";

/* ---- writer ---- */

/* A row ends in LF (of CRLF), and no field written by csv_field() ends in
** LF (an LF forces quotes), so this tells whether a comma is due. */
static int at_row_start(const struct buf *out)
{
    return out->len == 0 || out->data[out->len - 1] == '\n';
}

/* Spreadsheets run a cell starting with these as a formula (OWASP CSV
** injection); U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠ are the full-width
** forms Japanese Excel converts when it reads a cell. */
static int looks_like_formula(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] && strchr("=+-@\t\r", u[0]))
        return 1;
    if (u[0] == 0xEF && u[1] == 0xBC &&
        (u[2] == 0x9D || u[2] == 0x8B || u[2] == 0x8D || u[2] == 0xA0))
        return 1;
    return 0;
}

static int is_space_or_tab(char c)
{
    return c == ' ' || c == '\t';
}

void csv_field(struct buf *out, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    int first = at_row_start(out);
    if (!first)
        buf_putc(out, ',');
    if (n == 0) {
        /* An empty first field would leave nothing to tell the row has
        ** begun; "" is the same empty value to every reader. */
        if (first)
            buf_puts(out, "\"\"");
        return;
    }
    int prefix = looks_like_formula(s);
    /* A leading U+FEFF is quoted too: unquoted at the start of a file it
    ** would be taken for the BOM and dropped by readers. */
    int quote = strpbrk(s, ",\"\r\n") != NULL ||
                (!prefix && is_space_or_tab(s[0])) ||
                is_space_or_tab(s[n - 1]) || strncmp(s, utf8_bom, 3) == 0;
    if (quote)
        buf_putc(out, '"');
    if (prefix)
        buf_putc(out, '\'');
    const char *p = s;
    const char *q;
    while ((q = strchr(p, '"')) != NULL) {
        buf_append(out, p, (size_t)(q - p) + 1);
        buf_putc(out, '"');
        p = q + 1;
    }
    buf_puts(out, p);
    if (quote)
        buf_putc(out, '"');
}

void csv_field_int(struct buf *out, long long v)
{
    buf_printf(out, "%s%lld", at_row_start(out) ? "" : ",", v);
}

void csv_row_end(struct buf *out)
{
    buf_append(out, "\r\n", 2);
}

/* Length of the UTF-8 sequence that starts with byte c (input is valid). */
static size_t utf8_seq_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c < 0xE0)
        return 2;
    if (c < 0xF0)
        return 3;
    return 4;
}

/* Converts one piece of valid UTF-8 to CP932, writing '?' for each
** character CP932 lacks; returns -1 on an iconv failure. */
static int cp932_piece(iconv_t cd, const char *s, size_t n, struct buf *out,
                       long *replaced)
{
    char *in = (char *)s;
    size_t inleft = n;
    char chunk[4096];
    while (inleft > 0) {
        char *o = chunk;
        size_t oleft = sizeof(chunk);
        size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        buf_append(out, chunk, (size_t)(o - chunk));
        if (r != (size_t)-1 || errno == E2BIG)
            continue;
        if (errno != EILSEQ) /* EINVAL: cannot happen on valid UTF-8 */
            return -1;
        size_t k = utf8_seq_len((unsigned char)*in);
        if (k > inleft)
            k = inleft;
        in += k;
        inleft -= k;
        buf_putc(out, '?');
        (*replaced)++;
    }
    return 0;
}

/* glibc's iconv redoes the work from the start of its input after an
** unconvertible character, so one call over a whole export full of emoji
** would take quadratic time; pieces of at most CP932_PIECE bytes (cut on
** character boundaries) keep it linear. */
#define CP932_PIECE 1024

static long utf8_to_cp932(const char *s, size_t n, struct buf *out)
{
    iconv_t cd = iconv_open("CP932", "UTF-8");
    if (cd == (iconv_t)-1) {
        log_error("csv: iconv has no CP932: %s", strerror(errno));
        return -1;
    }
    size_t start_len = out->len, pos = 0;
    long replaced = 0;
    while (pos < n) {
        size_t end = n - pos > CP932_PIECE ? pos + CP932_PIECE : n;
        while (end < n && end > pos && ((unsigned char)s[end] & 0xC0) == 0x80)
            end--;
        if (cp932_piece(cd, s + pos, end - pos, out, &replaced) != 0) {
            out->len = start_len;
            if (out->data)
                out->data[out->len] = 0;
            replaced = -1;
            break;
        }
        pos = end;
    }
    iconv_close(cd);
    return replaced;
}

long csv_finish(const struct buf *utf8, int cp932, struct buf *out)
{
    const char *s = utf8->data ? utf8->data : "";
    if (!utf8_valid(s, utf8->len))
        return -1;
    if (cp932)
        return utf8_to_cp932(s, utf8->len, out);
    buf_append(out, utf8_bom, 3);
    buf_append(out, s, utf8->len);
    return 0;
}

/* ---- reader ---- */

/* Strict CP932 to UTF-8: any byte sequence iconv refuses fails it all. */
static int cp932_to_utf8(const char *s, size_t n, struct buf *out)
{
    iconv_t cd = iconv_open("UTF-8", "CP932");
    if (cd == (iconv_t)-1) {
        log_error("csv: iconv has no CP932: %s", strerror(errno));
        return -1;
    }
    char *in = (char *)s;
    size_t inleft = n;
    char chunk[4096];
    int rc = 0;
    while (inleft > 0 && rc == 0) {
        char *o = chunk;
        size_t oleft = sizeof(chunk);
        size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        buf_append(out, chunk, (size_t)(o - chunk));
        if (r == (size_t)-1 && errno != E2BIG)
            rc = -1;
    }
    iconv_close(cd);
    if (rc == 0 && !utf8_valid(out->data, out->len))
        rc = -1;
    return rc;
}

int csv_decode_input(const char *data, size_t len, struct buf *utf8_out,
                     const char **encoding_out)
{
    if (encoding_out)
        *encoding_out = NULL;
    buf_reset(utf8_out);
    if (len >= 3 && memcmp(data, utf8_bom, 3) == 0) {
        if (!utf8_valid(data + 3, len - 3))
            return CSV_EENCODING;
        buf_append(utf8_out, data + 3, len - 3);
    } else if (utf8_valid(data, len)) {
        buf_append(utf8_out, data, len);
    } else if (cp932_to_utf8(data, len, utf8_out) == 0) {
        if (encoding_out)
            *encoding_out = "CP932";
        return CSV_OK;
    } else {
        buf_reset(utf8_out);
        return CSV_EENCODING;
    }
    if (encoding_out)
        *encoding_out = "UTF-8";
    return CSV_OK;
}

const char *csv_strerror(int code)
{
    switch (code) {
    case CSV_OK:
        return "エラーはありません";
    case CSV_EENCODING:
        return "文字コードを判別できません。UTF-8 または Shift_JIS (CP932) "
               "で保存したファイルを指定してください";
    case CSV_EQUOTE:
        return "引用符 (\") の使い方が正しくありません";
    case CSV_ENUL:
        return "NUL 文字が含まれています";
    case CSV_ETOOMANYFIELDS:
        return "列の数が多すぎます";
    case CSV_ETOOLONG:
        return "値が長すぎます";
    case CSV_ETOOMANYROWS:
        return "行数が多すぎます";
    case CSV_ESTOPPED:
        return "処理を中断しました";
    }
    return "CSV を読み込めません";
}

struct csv_reader {
    const char *s;
    size_t len;
    size_t i;
    size_t line; /* physical line of s[i] */
    size_t record_line;
    size_t index; /* number of the record being read */
    struct csv_limits lim;
    struct csv_error *err;
    struct buf fields; /* the record's fields, each followed by NUL */
    size_t n;          /* fields in the record */
    size_t cap;
    size_t *offs;
    size_t *lens;
    const char **ptrs;
};

static int fail(struct csv_reader *r, int code, size_t line, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int fail(struct csv_reader *r, int code, size_t line, const char *fmt,
                ...)
{
    if (!r->err)
        return code;
    r->err->code = code;
    r->err->line = line;
    r->err->row = r->index;
    int k =
        snprintf(r->err->message, sizeof(r->err->message), "%zu行目: ", line);
    if (k < 0 || (size_t)k >= sizeof(r->err->message))
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->message + k, sizeof(r->err->message) - (size_t)k, fmt,
              ap);
    va_end(ap);
    return code;
}

/* Appends text to the field being read, within the length limit. */
static int field_add(struct csv_reader *r, size_t field_start, const char *p,
                     size_t n)
{
    if (r->fields.len - field_start + n > r->lim.max_field_len)
        return fail(r, CSV_ETOOLONG, r->line,
                    "値が長すぎます（上限 %zu バイト）", r->lim.max_field_len);
    buf_append(&r->fields, p, n);
    return CSV_OK;
}

/* Counts the line break at s[i] (CRLF, LF or lone CR) once. */
static int line_break_at(const struct csv_reader *r, size_t i)
{
    if (r->s[i] == '\n')
        return 1;
    return r->s[i] == '\r' && !(i + 1 < r->len && r->s[i + 1] == '\n');
}

static int read_quoted(struct csv_reader *r, size_t field_start)
{
    size_t open_line = r->line;
    r->i++; /* the opening quote */
    for (;;) {
        size_t start = r->i;
        while (r->i < r->len && r->s[r->i] != '"') {
            if (line_break_at(r, r->i))
                r->line++;
            r->i++;
        }
        int rc = field_add(r, field_start, r->s + start, r->i - start);
        if (rc != CSV_OK)
            return rc;
        if (r->i == r->len)
            return fail(r, CSV_EQUOTE, open_line,
                        "引用符 (\") が閉じられていません");
        if (r->i + 1 < r->len && r->s[r->i + 1] == '"') {
            if ((rc = field_add(r, field_start, "\"", 1)) != CSV_OK)
                return rc;
            r->i += 2;
            continue;
        }
        r->i++; /* the closing quote */
        break;
    }
    if (r->i < r->len && r->s[r->i] != ',' && r->s[r->i] != '\r' &&
        r->s[r->i] != '\n')
        return fail(r, CSV_EQUOTE, r->line,
                    "引用符 (\") で囲んだ値の後に余分な文字があります");
    return CSV_OK;
}

static int read_plain(struct csv_reader *r, size_t field_start)
{
    size_t start = r->i;
    while (r->i < r->len && r->s[r->i] != ',' && r->s[r->i] != '\r' &&
           r->s[r->i] != '\n')
        r->i++;
    return field_add(r, field_start, r->s + start, r->i - start);
}

/* Ends the field that began at field_start: checks it, then records it. */
static int field_end(struct csv_reader *r, size_t field_start)
{
    const char *f = r->fields.data + field_start;
    size_t n = r->fields.len - field_start;
    if (memchr(f, 0, n))
        return fail(r, CSV_ENUL, r->line, "NUL 文字が含まれています");
    if (!utf8_valid(f, n))
        return fail(r, CSV_EENCODING, r->line,
                    "UTF-8 として正しくない文字があります");
    if (r->n == r->lim.max_fields)
        return fail(r, CSV_ETOOMANYFIELDS, r->line,
                    "列の数が多すぎます（上限 %zu 列）", r->lim.max_fields);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->offs = xrealloc(r->offs, r->cap * sizeof(*r->offs));
        r->lens = xrealloc(r->lens, r->cap * sizeof(*r->lens));
        r->ptrs = xrealloc(r->ptrs, r->cap * sizeof(*r->ptrs));
    }
    r->offs[r->n] = field_start;
    r->lens[r->n] = n;
    r->n++;
    buf_putc(&r->fields, 0);
    return CSV_OK;
}

/* Reads one record starting at r->i (not at a line break) and its ending
** line break. */
static int read_record(struct csv_reader *r)
{
    buf_reset(&r->fields);
    buf_append(&r->fields, "", 0);
    r->n = 0;
    for (;;) {
        size_t field_start = r->fields.len;
        int rc = (r->i < r->len && r->s[r->i] == '"')
                     ? read_quoted(r, field_start)
                     : read_plain(r, field_start);
        if (rc == CSV_OK)
            rc = field_end(r, field_start);
        if (rc != CSV_OK)
            return rc;
        if (r->i < r->len && r->s[r->i] == ',') {
            r->i++;
            continue;
        }
        break;
    }
    if (r->i < r->len) { /* a line break */
        r->line++;
        if (r->s[r->i] == '\r' && r->i + 1 < r->len && r->s[r->i + 1] == '\n')
            r->i++;
        r->i++;
    }
    return CSV_OK;
}

static int deliver(struct csv_reader *r, csv_row_fn cb, void *ctx)
{
    for (size_t k = 0; k < r->n; k++)
        r->ptrs[k] = r->fields.data + r->offs[k];
    struct csv_row row = {r->record_line, r->index, r->n, r->ptrs, r->lens};
    if (cb(ctx, &row) != 0)
        return fail(r, CSV_ESTOPPED, r->record_line, "処理を中断しました");
    return CSV_OK;
}

static int parse_all(struct csv_reader *r, csv_row_fn cb, void *ctx)
{
    while (r->i < r->len) {
        char c = r->s[r->i];
        if (c == '\r' || c == '\n') { /* an empty line: skipped */
            r->line++;
            if (c == '\r' && r->i + 1 < r->len && r->s[r->i + 1] == '\n')
                r->i++;
            r->i++;
            continue;
        }
        r->index++;
        r->record_line = r->line;
        if (r->index > r->lim.max_rows)
            return fail(r, CSV_ETOOMANYROWS, r->line,
                        "行数が多すぎます（上限 %zu 行）", r->lim.max_rows);
        int rc = read_record(r);
        if (rc == CSV_OK)
            rc = deliver(r, cb, ctx);
        if (rc != CSV_OK)
            return rc;
    }
    return CSV_OK;
}

int csv_parse(const char *utf8, size_t len, csv_row_fn cb, void *ctx,
              const struct csv_limits *lim, struct csv_error *err)
{
    struct csv_reader r;
    memset(&r, 0, sizeof(r));
    r.s = utf8;
    r.len = len;
    r.line = 1;
    r.err = err;
    if (lim)
        r.lim = *lim;
    if (!r.lim.max_fields)
        r.lim.max_fields = CSV_DEFAULT_MAX_FIELDS;
    if (!r.lim.max_field_len)
        r.lim.max_field_len = CSV_DEFAULT_MAX_FIELD_LEN;
    if (!r.lim.max_rows)
        r.lim.max_rows = CSV_DEFAULT_MAX_ROWS;
    if (err)
        memset(err, 0, sizeof(*err));
    buf_init(&r.fields);
    if (len >= 3 && memcmp(utf8, utf8_bom, 3) == 0)
        r.i = 3;
    int rc = parse_all(&r, cb, ctx);
    buf_free(&r.fields);
    free(r.offs);
    free(r.lens);
    free(r.ptrs);
    return rc;
}
