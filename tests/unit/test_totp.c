/*
** test_totp.c - TOTP against the RFC 6238 appendix B and RFC 4226
** appendix D vectors, base32 against RFC 4648 section 10, the replay and
** drift rules of totp_verify(), the otpauth URI and recovery codes (SEC-3).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/totp.h"

static const unsigned char rfc_key[] = "12345678901234567890";
/* base32 of rfc_key */
static const char rfc_b32[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/* RFC 6238 appendix B, SHA-1 rows: 8 digits, 30-second steps. */
static void test_rfc6238_vectors(void **state)
{
    (void)state;
    static const struct {
        uint64_t t;
        const char *code;
    } v[] = {
        {59, "94287082"},         {1111111109, "07081804"},
        {1111111111, "14050471"}, {1234567890, "89005924"},
        {2000000000, "69279037"}, {20000000000ULL, "65353130"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[9];
        assert_int_equal(
            totp_code(rfc_key, 20, v[i].t / 30, 8, out, sizeof out), 0);
        assert_string_equal(out, v[i].code);
    }
}

/* RFC 4226 appendix D: HOTP is TOTP with the counter as the step. */
static void test_rfc4226_vectors(void **state)
{
    (void)state;
    static const char *const v[] = {"755224", "287082", "359152", "969429",
                                    "338314", "254676", "287922", "162583",
                                    "399871", "520489"};
    for (uint64_t c = 0; c < 10; c++) {
        char out[7];
        assert_int_equal(totp_code(rfc_key, 20, c, 6, out, sizeof out), 0);
        assert_string_equal(out, v[c]);
    }
    char small[6];
    assert_int_equal(totp_code(rfc_key, 20, 1, 6, small, sizeof small), -1);
    char out[12];
    assert_int_equal(totp_code(rfc_key, 20, 1, 9, out, sizeof out), -1);
    assert_int_equal(totp_code(rfc_key, 20, 1, 5, out, sizeof out), -1);
}

static void test_base32(void **state)
{
    (void)state;
    static const char *const v[][2] = {
        {"", ""},
        {"f", "MY"},
        {"fo", "MZXQ"},
        {"foo", "MZXW6"},
        {"foob", "MZXW6YQ"},
        {"fooba", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *e =
            base32_encode((const unsigned char *)v[i][0], strlen(v[i][0]));
        assert_string_equal(e, v[i][1]);
        free(e);
        unsigned char out[16];
        long n = base32_decode(v[i][1], out, sizeof out);
        assert_int_equal(n, (long)strlen(v[i][0]));
        assert_memory_equal(out, v[i][0], (size_t)n);
    }
    /* padding, lower case and spaces are accepted on input */
    unsigned char out[16];
    assert_int_equal(base32_decode("mzxw 6yq=", out, sizeof out), 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(base32_decode("MZXW1", out, sizeof out), -1);
    assert_int_equal(base32_decode("MZXW6YTBOI", out, 3), -1);

    char *e = base32_encode(rfc_key, 20);
    assert_string_equal(e, rfc_b32);
    free(e);
}

static void test_secret_new(void **state)
{
    (void)state;
    char *a = totp_secret_new(), *b = totp_secret_new();
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    unsigned char raw[64];
    assert_int_equal(base32_decode(a, raw, sizeof raw), TOTP_SECRET_BYTES);
    free(a);
    free(b);
}

static void code_at(int64_t step, char out[7])
{
    assert_int_equal(totp_code(rfc_key, 20, (uint64_t)step, 6, out, 7), 0);
}

static void test_verify_window(void **state)
{
    (void)state;
    const int64_t now = 1700000015; /* middle of a step */
    const int64_t step = now / 30;
    char c[7];
    int64_t m = -1;

    code_at(step, c);
    assert_int_equal(totp_verify(rfc_b32, c, now, 0, &m), TOTP_OK);
    assert_int_equal(m, step);
    /* one step of drift either way */
    code_at(step - 1, c);
    assert_int_equal(totp_verify(rfc_b32, c, now, 0, &m), TOTP_OK);
    assert_int_equal(m, step - 1);
    code_at(step + 1, c);
    assert_int_equal(totp_verify(rfc_b32, c, now, 0, &m), TOTP_OK);
    assert_int_equal(m, step + 1);
    /* but not two */
    code_at(step - 2, c);
    assert_int_equal(totp_verify(rfc_b32, c, now, 0, &m), TOTP_WRONG);
    code_at(step + 2, c);
    assert_int_equal(totp_verify(rfc_b32, c, now, 0, &m), TOTP_WRONG);

    /* spaces as typed from "123 456" */
    code_at(step, c);
    char spaced[9];
    memcpy(spaced, c, 3);
    spaced[3] = ' ';
    memcpy(spaced + 4, c + 3, 4);
    assert_int_equal(totp_verify(rfc_b32, spaced, now, 0, &m), TOTP_OK);
    /* lower-case secret works too */
    assert_int_equal(
        totp_verify("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", c, now, 0, &m),
        TOTP_OK);

    /* malformed codes */
    assert_int_equal(totp_verify(rfc_b32, "12345", now, 0, &m), TOTP_WRONG);
    assert_int_equal(totp_verify(rfc_b32, "1234567", now, 0, &m), TOTP_WRONG);
    assert_int_equal(totp_verify(rfc_b32, "12a456", now, 0, &m), TOTP_WRONG);
    assert_int_equal(totp_verify(rfc_b32, "", now, 0, &m), TOTP_WRONG);
    assert_int_equal(totp_verify(rfc_b32, NULL, now, 0, &m), TOTP_WRONG);
    /* unusable secrets */
    assert_int_equal(totp_verify("!!!", c, now, 0, &m), TOTP_INVALID);
    assert_int_equal(totp_verify("MZXW6", c, now, 0, &m), TOTP_INVALID);
    assert_int_equal(totp_verify(NULL, c, now, 0, &m), TOTP_INVALID);
}

/* A code cannot be used twice, nor an older one after a newer one. */
static void test_verify_replay(void **state)
{
    (void)state;
    const int64_t now = 1700000015;
    const int64_t step = now / 30;
    char c[7];
    int64_t m = -1;

    code_at(step, c);
    assert_int_equal(totp_verify(rfc_b32, c, now, 0, &m), TOTP_OK);
    int64_t last = m;
    assert_int_equal(totp_verify(rfc_b32, c, now, last, &m), TOTP_REUSED);
    assert_int_equal(totp_verify(rfc_b32, c, now + 20, last, &m), TOTP_REUSED);
    code_at(step - 1, c);
    assert_int_equal(totp_verify(rfc_b32, c, now, last, &m), TOTP_REUSED);
    /* the next step's code is still fine */
    code_at(step + 1, c);
    m = -1;
    assert_int_equal(totp_verify(rfc_b32, c, now + 30, last, &m), TOTP_OK);
    assert_int_equal(m, step + 1);
}

static void test_uri(void **state)
{
    (void)state;
    char *u = totp_uri(rfc_b32, "yamada taro/山田");
    assert_string_equal(u, "otpauth://totp/cityos:yamada%20taro%2F%E5%B1%B1"
                           "%E7%94%B0?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                           "&issuer=cityos&algorithm=SHA1&digits=6&period=30");
    free(u);
    u = totp_uri(rfc_b32, NULL);
    assert_true(strncmp(u, "otpauth://totp/cityos:login?secret=", 35) == 0);
    free(u);
}

static int in_alphabet(char c)
{
    return c && strchr("abcdefghjkmnpqrstuvwxyz23456789", c) != NULL;
}

static void test_recovery(void **state)
{
    (void)state;
    char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_CODE_SIZE];
    char hashes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_HASH_SIZE];
    assert_int_equal(totp_recovery_generate(codes, hashes, TOTP_RECOVERY_COUNT),
                     0);

    char *stored[TOTP_RECOVERY_COUNT];
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++) {
        const char *c = codes[i];
        /* "abcd-efgh-jk" */
        assert_int_equal(strlen(c), 12);
        assert_int_equal(c[4], '-');
        assert_int_equal(c[9], '-');
        for (int j = 0; j < 12; j++)
            if (j != 4 && j != 9)
                assert_true(in_alphabet(c[j]));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(codes[i], codes[j]);
        /* only a salted argon2id hash is stored, never the code */
        assert_true(strncmp(hashes[i], "$argon2id$", 10) == 0);
        assert_null(strstr(hashes[i], c));
        stored[i] = strdup(hashes[i]);
    }

    const char *const *cs = (const char *const *)stored;
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++)
        assert_int_equal(
            totp_recovery_verify(cs, TOTP_RECOVERY_COUNT, codes[i]), i);
    /* case, dashes and spaces do not matter */
    char typed[32];
    const char *c3 = codes[3];
    snprintf(typed, sizeof typed, " %c%c%c%c %c%c%c%c%c%c ",
             toupper((unsigned char)c3[0]), c3[1], c3[2], c3[3], c3[5], c3[6],
             c3[7], c3[8], c3[10], c3[11]);
    assert_int_equal(totp_recovery_verify(cs, TOTP_RECOVERY_COUNT, typed), 3);

    /* wrong, malformed */
    assert_int_equal(
        totp_recovery_verify(cs, TOTP_RECOVERY_COUNT, "aaaa-aaaa-aa"), -1);
    assert_int_equal(
        totp_recovery_verify(cs, TOTP_RECOVERY_COUNT, "abcd-efgh-j0"), -1);
    assert_int_equal(totp_recovery_verify(cs, TOTP_RECOVERY_COUNT, "abcd-efgh"),
                     -1);
    assert_int_equal(totp_recovery_verify(cs, TOTP_RECOVERY_COUNT, NULL), -1);

    /* consume: once only */
    assert_int_equal(
        totp_recovery_consume(stored, TOTP_RECOVERY_COUNT, codes[5]), 5);
    assert_null(stored[5]);
    assert_int_equal(
        totp_recovery_consume(stored, TOTP_RECOVERY_COUNT, codes[5]), -1);
    assert_int_equal(
        totp_recovery_consume(stored, TOTP_RECOVERY_COUNT, codes[6]), 6);
    assert_int_equal(totp_recovery_verify(cs, TOTP_RECOVERY_COUNT, codes[7]),
                     7);
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++)
        free(stored[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_rfc4226_vectors),
        cmocka_unit_test(test_base32),
        cmocka_unit_test(test_secret_new),
        cmocka_unit_test(test_verify_window),
        cmocka_unit_test(test_verify_replay),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
