/*
** test_csv.c - unit tests of csv.c: RFC 4180 quoting and the formula
** injection guard of the writer, UTF-8 BOM and CP932 output (the audit log
** export of SEC-8 and WIN-3), encoding detection and the bounded reader used
** by imports, with its Japanese error messages and line numbers.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/util.h"

/* 髙 (U+9AD9, an IBM extension of CP932 at 0xFBFC) and 橋 */
#define TAKAHASHI       "\xe9\xab\x99\xe6\xa9\x8b"
#define TAKAHASHI_CP932 "\xfb\xfc\x8b\xb4"

/* One field alone in a row, as the writer emits it without the CRLF. */
static char *field(const char *s)
{
    struct buf b;
    buf_init(&b);
    csv_field(&b, s);
    return buf_steal(&b);
}

static void assert_field(const char *in, const char *want)
{
    char *got = field(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_field_quoting(void **state)
{
    assert_field("abc", "abc");
    assert_field(TAKAHASHI, TAKAHASHI);
    assert_field("a,b", "\"a,b\"");
    assert_field("say \"hi\"", "\"say \"\"hi\"\"\"");
    assert_field("\"", "\"\"\"\"");
    assert_field("line1\nline2", "\"line1\nline2\"");
    assert_field("a\r\nb", "\"a\r\nb\"");
    assert_field("x\r", "\"x\r\"");
    assert_field(" lead", "\" lead\"");
    assert_field("trail ", "\"trail \"");
    assert_field("trail\t", "\"trail\t\"");
    assert_field("in side", "in side");
    assert_field("it's", "it's");
    assert_field("", "\"\""); /* an empty first field */
    assert_field(NULL, "\"\"");
    assert_field("\xef\xbb\xbfx", "\"\xef\xbb\xbfx\""); /* U+FEFF, not a BOM */
}

static void test_field_formula_injection(void **state)
{
    assert_field("=1+2", "'=1+2");
    assert_field("=HYPERLINK(\"http://x\",\"y\")",
                 "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    assert_field("+81-3-1234", "'+81-3-1234");
    assert_field("-5", "'-5");
    assert_field("@SUM(A1)", "'@SUM(A1)");
    assert_field("\tx", "'\tx");
    assert_field("\rx", "\"'\rx\"");
    assert_field("=a,b", "\"'=a,b\"");
    assert_field("=x ", "\"'=x \"");
    assert_field("\xef\xbc\x9d"
                 "1",
                 "'\xef\xbc\x9d"
                 "1"); /* ＝1 */
    assert_field("\xef\xbc\x8b"
                 "1",
                 "'\xef\xbc\x8b"
                 "1"); /* ＋1 */
    assert_field("\xef\xbc\x8d"
                 "1",
                 "'\xef\xbc\x8d"
                 "1"); /* －1 */
    assert_field("\xef\xbc\xa0"
                 "a",
                 "'\xef\xbc\xa0"
                 "a");                            /* ＠a */
    assert_field("\xef\xbc\xa1", "\xef\xbc\xa1"); /* Ａ: no */
    assert_field("a=1", "a=1");
    assert_field("1-2", "1-2");
    assert_field(" =1", "\" =1\""); /* not a formula, but quoted */
}

static void test_rows(void **state)
{
    struct buf b;
    buf_init(&b);
    csv_field(&b, "id");
    csv_field(&b, "name");
    csv_field(&b, "note");
    csv_row_end(&b);
    csv_field_int(&b, -5);
    csv_field(&b, TAKAHASHI);
    csv_field(&b, "");
    csv_row_end(&b);
    csv_field(&b, "");
    csv_field(&b, "");
    csv_field_int(&b, 42);
    csv_row_end(&b);
    csv_field(&b, "a\nb");
    csv_field(&b, NULL);
    csv_row_end(&b);
    csv_field_int(&b, 0);
    csv_row_end(&b);
    assert_string_equal(b.data, "id,name,note\r\n"
                                "-5," TAKAHASHI ",\r\n"
                                "\"\",,42\r\n"
                                "\"a\nb\",\r\n"
                                "0\r\n");
    buf_free(&b);
}

static void test_finish_utf8_bom(void **state)
{
    struct buf in, out;
    buf_init(&in);
    buf_init(&out);
    buf_puts(&in, "a," TAKAHASHI "\r\n");
    assert_int_equal(csv_finish(&in, 0, &out), 0);
    assert_int_equal(out.len, 3 + in.len);
    assert_memory_equal(out.data,
                        "\xef\xbb\xbf"
                        "a," TAKAHASHI "\r\n",
                        out.len);
    /* invalid UTF-8 is refused and out is left as it was */
    buf_reset(&out);
    buf_puts(&out, "keep");
    buf_reset(&in);
    buf_puts(&in, "a,\xe9\xab\r\n");
    assert_int_equal(csv_finish(&in, 0, &out), -1);
    assert_int_equal(csv_finish(&in, 1, &out), -1);
    assert_string_equal(out.data, "keep");
    /* an empty file is a BOM alone */
    struct buf empty;
    buf_init(&empty);
    buf_reset(&out);
    assert_int_equal(csv_finish(&empty, 0, &out), 0);
    assert_int_equal(out.len, 3);
    buf_reset(&out);
    assert_int_equal(csv_finish(&empty, 1, &out), 0);
    assert_int_equal(out.len, 0);
    buf_free(&in);
    buf_free(&out);
}

static void test_finish_cp932(void **state)
{
    struct buf in, out;
    buf_init(&in);
    buf_init(&out);
    /* 髙橋 (IBM extension), 〜 WAVE DASH mapped to 0x8160, ① (NEC row 13),
    ** half-width ｱ, and ASCII */
    buf_puts(&in, TAKAHASHI ",\xe3\x80\x9c,\xe2\x91\xa0,\xef\xbd\xb1,A\r\n");
    assert_int_equal(csv_finish(&in, 1, &out), 0);
    const char want[] = TAKAHASHI_CP932 ",\x81\x60,\x87\x40,\xb1,A\r\n";
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(out.data, want, out.len);
    assert_false(out.len >= 3 && memcmp(out.data, "\xef\xbb\xbf", 3) == 0);

    /* what CP932 cannot hold becomes '?', counted per character */
    buf_reset(&in);
    buf_reset(&out);
    /* 😀 (4 bytes), 𠮷 (4 bytes), é (2 bytes), 한 (3 bytes) */
    buf_puts(&in, "\xf0\x9f\x98\x80,\xf0\xa0\xae\xb7\xe9\x87\x8e,"
                  "caf\xc3\xa9,\xed\x95\x9c\r\n");
    assert_int_equal(csv_finish(&in, 1, &out), 4);
    assert_string_equal(out.data, "?,?\x96\xec,caf?,?\r\n");

    /* a large export converts in several iconv chunks */
    buf_reset(&in);
    buf_reset(&out);
    for (int i = 0; i < 5000; i++)
        buf_puts(&in, TAKAHASHI "\xf0\x9f\x98\x80");
    assert_int_equal(csv_finish(&in, 1, &out), 5000);
    assert_int_equal(out.len, 5000 * 5);
    assert_memory_equal(out.data + 4995 * 5, TAKAHASHI_CP932 "?", 5);
    buf_free(&in);
    buf_free(&out);
}

static void test_cp932_round_trip(void **state)
{
    const char *text = "\xe6\xb0\x8f\xe5\x90\x8d," TAKAHASHI
                       ",\xef\xa8\x91,\xe2\x91\xa0,\xef\xbd\xb1\xef\xbd\xb2,"
                       "\xe3\x88\xb1,abc\r\n"; /* 氏名,髙橋,﨑,①,ｱｲ,㈱,abc */
    struct buf in, sjis, back;
    buf_init(&in);
    buf_init(&sjis);
    buf_init(&back);
    buf_puts(&in, text);
    assert_int_equal(csv_finish(&in, 1, &sjis), 0);
    const char *enc = "unset";
    assert_int_equal(csv_decode_input(sjis.data, sjis.len, &back, &enc),
                     CSV_OK);
    assert_string_equal(enc, "CP932");
    assert_string_equal(back.data, text);
    buf_free(&in);
    buf_free(&sjis);
    buf_free(&back);
}

static void test_decode_input(void **state)
{
    struct buf out;
    buf_init(&out);
    const char *enc = NULL;

    assert_int_equal(csv_decode_input("\xef\xbb\xbf"
                                      "a," TAKAHASHI,
                                      11, &out, &enc),
                     CSV_OK);
    assert_string_equal(enc, "UTF-8");
    assert_string_equal(out.data, "a," TAKAHASHI);

    assert_int_equal(csv_decode_input("a,b\r\n", 5, &out, &enc), CSV_OK);
    assert_string_equal(enc, "UTF-8");
    assert_string_equal(out.data, "a,b\r\n");

    assert_int_equal(csv_decode_input(TAKAHASHI, 6, &out, NULL), CSV_OK);
    assert_string_equal(out.data, TAKAHASHI);

    assert_int_equal(csv_decode_input(TAKAHASHI_CP932 ",x", 6, &out, &enc),
                     CSV_OK);
    assert_string_equal(enc, "CP932");
    assert_string_equal(out.data, TAKAHASHI ",x");

    assert_int_equal(csv_decode_input("", 0, &out, &enc), CSV_OK);
    assert_string_equal(enc, "UTF-8");
    assert_int_equal(out.len, 0);
    assert_int_equal(csv_decode_input(NULL, 0, &out, &enc), CSV_OK);

    /* neither UTF-8 nor CP932 */
    static const char *const bad[] = {
        "\x81\x20",         /* lead byte, bad trail */
        "abc\x82",          /* truncated double byte */
        "\xff\xfe\x61\x00", /* UTF-16LE BOM, "a" */
        "\x80 and \xa0",    /* unassigned in CP932 */
        "\xef\xbb\xbf\x82", /* BOM then invalid UTF-8 (valid CP932 after) */
    };
    static const size_t badlen[] = {2, 4, 4, 7, 4};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        buf_reset(&out);
        buf_puts(&out, "stale");
        enc = "unset";
        assert_int_equal(csv_decode_input(bad[i], badlen[i], &out, &enc),
                         CSV_EENCODING);
        assert_null(enc);
        assert_int_equal(out.len, 0);
    }
    assert_non_null(strstr(csv_strerror(CSV_EENCODING), "文字コード"));
    buf_free(&out);
}

/* ---- reader ---- */

/* Collects records as "line:index:f1|f2|..." lines. */
struct collect {
    struct buf out;
    size_t stop_at; /* record index that makes the callback stop; 0: none */
};

static int collect_row(void *ctx, const struct csv_row *row)
{
    struct collect *c = ctx;
    if (row->index == c->stop_at)
        return 1;
    buf_printf(&c->out, "%zu:%zu:", row->line, row->index);
    for (size_t i = 0; i < row->n; i++) {
        assert_int_equal(strlen(row->fields[i]), row->lens[i]);
        buf_printf(&c->out, "%s%s", i ? "|" : "", row->fields[i]);
    }
    buf_putc(&c->out, '\n');
    return 0;
}

/* Parses s with lim and returns the collected text (caller frees). */
static char *parse_lim(const char *s, size_t len, const struct csv_limits *lim,
                       int *rc, struct csv_error *err)
{
    struct collect c;
    memset(&c, 0, sizeof(c));
    buf_init(&c.out);
    buf_append(&c.out, "", 0);
    /* a heap copy of exactly len bytes, so ASan sees a read past the end */
    char *copy = malloc(len ? len : 1);
    memcpy(copy, s, len);
    *rc = csv_parse(copy, len, collect_row, &c, lim, err);
    free(copy);
    return buf_steal(&c.out);
}

static void assert_parse(const char *s, const char *want)
{
    int rc;
    struct csv_error err;
    char *got = parse_lim(s, strlen(s), NULL, &rc, &err);
    if (rc != CSV_OK)
        print_error("%s\n", err.message);
    assert_int_equal(rc, CSV_OK);
    assert_int_equal(err.code, CSV_OK);
    assert_string_equal(got, want);
    free(got);
}

static void assert_parse_error(const char *s, const struct csv_limits *lim,
                               int code, size_t line, const char *msg_part)
{
    int rc;
    struct csv_error err;
    char *got = parse_lim(s, strlen(s), lim, &rc, &err);
    free(got);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_int_equal(err.line, line);
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "%zu行目: ", line);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
        !strstr(err.message, msg_part))
        print_error("message: %s\n", err.message);
    assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(err.message, msg_part));
}

static void test_parse_basic(void **state)
{
    assert_parse("a,b,c\r\n1,2,3\r\n", "1:1:a|b|c\n2:2:1|2|3\n");
    assert_parse("a,b\n1,2", "1:1:a|b\n2:2:1|2\n");         /* LF, no final */
    assert_parse("a,b\r1,2\r", "1:1:a|b\n2:2:1|2\n");       /* old Mac CR */
    assert_parse("a\r\n\r\n\n\r\nb\r\n", "1:1:a\n5:2:b\n"); /* empty lines */
    assert_parse("", "");
    assert_parse("\r\n\n", "");
    assert_parse(",,\r\n", "1:1:||\n");
    assert_parse("a,\r\n", "1:1:a|\n");
    assert_parse(" a , b ", "1:1: a | b \n"); /* spaces are kept */
    assert_parse("\xef\xbb\xbf"
                 "id,name\r\n",
                 "1:1:id|name\n");
    assert_parse(TAKAHASHI "," TAKAHASHI, "1:1:" TAKAHASHI "|" TAKAHASHI "\n");
    assert_parse("\"\"", "1:1:\n");
}

static void test_parse_quoted(void **state)
{
    assert_parse("\"a,b\",\"say \"\"hi\"\"\",\"\"\r\n",
                 "1:1:a,b|say \"hi\"|\n");
    /* line breaks inside quotes are kept, and line numbers go on counting */
    assert_parse("\"line1\r\nline2\nline3\",x\r\nnext,y\r\n",
                 "1:1:line1\r\nline2\nline3|x\n4:2:next|y\n");
    assert_parse("\"a\rb\"\rc", "1:1:a\rb\n3:2:c\n");
    /* a quote inside an unquoted field is a character, as in Excel */
    assert_parse("5\" disk,a\"b\"\n", "1:1:5\" disk|a\"b\"\n");
    assert_parse("\"\"\"\"", "1:1:\"\n");
}

static void test_parse_errors(void **state)
{
    assert_parse_error("a,b\r\nc,\"open\r\n\r\nmore", NULL, CSV_EQUOTE, 2,
                       "閉じられていません");
    assert_parse_error("\"", NULL, CSV_EQUOTE, 1, "閉じられていません");
    assert_parse_error("ok\n\"ab\"c,d\n", NULL, CSV_EQUOTE, 2, "余分な文字");
    assert_parse_error("ok\n\"ab\" ,d\n", NULL, CSV_EQUOTE, 2, "余分な文字");
    assert_parse_error("a\nb\n\xe9\xab\n", NULL, CSV_EENCODING, 3, "UTF-8");
    assert_parse_error("a\nb\n\"x\n\xff\"\n", NULL, CSV_EENCODING, 4, "UTF-8");

    int rc;
    struct csv_error err;
    char *got = parse_lim("a\nb,c\0d\n", 8, NULL, &rc, &err);
    assert_int_equal(rc, CSV_ENUL);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.row, 2);
    assert_string_equal(got, "1:1:a\n"); /* records before still came */
    assert_non_null(strstr(err.message, "NUL"));
    free(got);
    /* err may be NULL */
    struct collect c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(csv_parse("\"x", 2, collect_row, &c, NULL, NULL),
                     CSV_EQUOTE);
    buf_free(&c.out);
}

static void test_parse_limits(void **state)
{
    struct csv_limits lim = {
        .max_fields = 3, .max_field_len = 5, .max_rows = 2};
    int rc;
    const char *ok = "a,b,c\n12345,\"1\"\"34\"\n";
    char *got = parse_lim(ok, strlen(ok), &lim, &rc, NULL);
    assert_int_equal(rc, CSV_OK);
    assert_string_equal(got, "1:1:a|b|c\n2:2:12345|1\"34\n");
    free(got);
    assert_parse_error("a,b,c\n1,2,3,4\n", &lim, CSV_ETOOMANYFIELDS, 2,
                       "上限 3 列");
    assert_parse_error("a\n123456\n", &lim, CSV_ETOOLONG, 2, "上限 5 バイト");
    assert_parse_error("a\n\"12\n3456\"\n", &lim, CSV_ETOOLONG, 3,
                       "上限 5 バイト");
    assert_parse_error("a\n\"123\"\"\"\"\"\"\"\n", &lim, CSV_ETOOLONG, 2,
                       "値が長すぎます");
    assert_parse_error("a\nb\n\nc\n", &lim, CSV_ETOOMANYROWS, 4, "上限 2 行");

    /* defaults: 256 fields */
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 256; i++)
        buf_puts(&b, i ? ",x" : "x");
    got = parse_lim(b.data, b.len, NULL, &rc, NULL);
    assert_int_equal(rc, CSV_OK);
    free(got);
    buf_puts(&b, ",x");
    got = parse_lim(b.data, b.len, NULL, &rc, NULL);
    assert_int_equal(rc, CSV_ETOOMANYFIELDS);
    free(got);
    buf_free(&b);
}

static void test_parse_stop(void **state)
{
    struct collect c;
    memset(&c, 0, sizeof(c));
    buf_init(&c.out);
    c.stop_at = 2;
    struct csv_error err;
    const char *s = "h1,h2\n\"multi\nline\",x\nlast,y\n";
    assert_int_equal(csv_parse(s, strlen(s), collect_row, &c, NULL, &err),
                     CSV_ESTOPPED);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.row, 2);
    assert_string_equal(c.out.data, "1:1:h1|h2\n");
    assert_non_null(strstr(err.message, "2行目"));
    buf_free(&c.out);
}

/* What the writer makes, the reader reads back as it was. */
static void test_write_read_round_trip(void **state)
{
    static const char *const values[] = {
        "plain",         "",         "a,b",      "q\"uote",
        "multi\r\nline", "lf\nonly", " spaced ", TAKAHASHI,
        "\"\"",          ",",        "x"};
    struct buf b;
    buf_init(&b);
    for (int row = 0; row < 3; row++) {
        for (size_t i = 0; i < ARRAY_LEN(values); i++)
            csv_field(&b, values[(i + (size_t)row) % ARRAY_LEN(values)]);
        csv_row_end(&b);
    }
    struct buf want;
    buf_init(&want);
    size_t line = 1;
    for (int row = 0; row < 3; row++) {
        buf_printf(&want, "%zu:%d:", line, row + 1);
        for (size_t i = 0; i < ARRAY_LEN(values); i++) {
            const char *v = values[(i + (size_t)row) % ARRAY_LEN(values)];
            buf_printf(&want, "%s%s", i ? "|" : "", v);
            for (const char *p = v; *p; p++)
                if (*p == '\n')
                    line++;
        }
        buf_putc(&want, '\n');
        line++;
    }
    int rc;
    char *got = parse_lim(b.data, b.len, NULL, &rc, NULL);
    assert_int_equal(rc, CSV_OK);
    assert_string_equal(got, want.data);
    free(got);
    buf_free(&b);
    buf_free(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_quoting),
        cmocka_unit_test(test_field_formula_injection),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_finish_utf8_bom),
        cmocka_unit_test(test_finish_cp932),
        cmocka_unit_test(test_cp932_round_trip),
        cmocka_unit_test(test_decode_input),
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_quoted),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_stop),
        cmocka_unit_test(test_write_read_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
