/*
** test_password.c - argon2id hashing and the password policy (SEC-3,
** WIN-9): every refusal reason, the boundaries of the length rules, the
** embedded common-password list, and rehash detection.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "core/password.h"

static void expect_problem(const char *pw, const char *login,
                           enum password_problem want)
{
    enum password_problem got = password_check(pw, login);
    if (got != want)
        fail_msg("password_check(\"%s\", \"%s\") = %s, want %s", pw,
                 login ? login : "(null)", password_problem_code(got),
                 password_problem_code(want));
}

/* WIN-9: long passwords; length counts characters, not bytes. */
static void test_length(void **state)
{
    (void)state;
    expect_problem("", NULL, PASSWORD_TOO_SHORT);
    expect_problem(NULL, NULL, PASSWORD_TOO_SHORT);
    expect_problem("Vk8#pq2!Lm4", NULL, PASSWORD_TOO_SHORT); /* 11 */
    expect_problem("Vk8#pq2!Lm4z", NULL, PASSWORD_OK);       /* 12 */
    /* 11 kana are 33 bytes but still 11 characters. */
    expect_problem("ねこがすきなさかなやさ", NULL, PASSWORD_TOO_SHORT);
    expect_problem("ねこがすきなさかなやさん", NULL, PASSWORD_OK);

    char pw[300];
    memset(pw, 0, sizeof pw);
    for (int i = 0; i < PASSWORD_MAX_BYTES; i++)
        pw[i] = "q7Zx!m2Kp9"[i % 10] + (char)(i % 3);
    pw[PASSWORD_MAX_BYTES] = 0;
    assert_int_equal(password_check(pw, NULL), PASSWORD_OK);
    pw[PASSWORD_MAX_BYTES] = 'x';
    pw[PASSWORD_MAX_BYTES + 1] = 0;
    assert_int_equal(password_check(pw, NULL), PASSWORD_TOO_LONG);
}

static void test_utf8(void **state)
{
    (void)state;
    /* overlong '/', lone surrogate, truncated sequence, bare continuation,
    ** beyond U+10FFFF, invalid lead byte */
    expect_problem("abcdefghxyz\xc0\xaf", NULL, PASSWORD_BAD_UTF8);
    expect_problem("vkqmtrbzwyp\xed\xa0\x80", NULL, PASSWORD_BAD_UTF8);
    expect_problem("vkqmtrbzwyp\xe3\x81", NULL, PASSWORD_BAD_UTF8);
    expect_problem("vkqmtrbz\x80wypq", NULL, PASSWORD_BAD_UTF8);
    expect_problem("vkqmtrbzwypq\xf4\x90\x80\x80", NULL, PASSWORD_BAD_UTF8);
    expect_problem("vkqmtrbzwypq\xff", NULL, PASSWORD_BAD_UTF8);
    /* four-byte characters are fine */
    expect_problem("vkqmtrbzwyp\xf0\x9f\x90\x88", NULL, PASSWORD_OK);
}

static void test_common(void **state)
{
    (void)state;
    /* Entries of data/common-passwords.txt of 12 characters or more. */
    expect_problem("01telemike01", NULL, PASSWORD_COMMON);
    expect_problem("01TeleMike01", NULL, PASSWORD_COMMON);
    expect_problem("123123QWEqwe", NULL, PASSWORD_COMMON);
    /* Short common passwords padded to length with a weak affix. */
    expect_problem("password2024", NULL, PASSWORD_COMMON);
    expect_problem("Password1234", NULL, PASSWORD_COMMON);
    expect_problem("iloveyou!!!!", NULL, PASSWORD_COMMON);
    expect_problem("2024sunshine", NULL, PASSWORD_COMMON);
    expect_problem("dragon123456", NULL, PASSWORD_COMMON);
    expect_problem("monkey1234!!", NULL, PASSWORD_COMMON);
    /* A common unit repeated. */
    expect_problem("dragondragon", NULL, PASSWORD_COMMON);
    /* But real entropy after a common word is accepted. */
    expect_problem("dragon83%61k94q", NULL, PASSWORD_OK);

    assert_true(password_is_common("password"));
    assert_true(password_is_common("PassWord"));
    assert_true(password_is_common("123456"));
    assert_false(password_is_common("correct horse battery staple"));
    assert_false(password_is_common("ねこがすきなさかなやさん"));
}

static void test_login(void **state)
{
    (void)state;
    expect_problem("my-TANAKA-garden-77", "tanaka", PASSWORD_CONTAINS_LOGIN);
    expect_problem("my-tanaka-garden-77", "Tanaka", PASSWORD_CONTAINS_LOGIN);
    /* a mail address as login: its local part counts */
    expect_problem("suzuki-likes-tea-9", "suzuki@city.example.jp",
                   PASSWORD_CONTAINS_LOGIN);
    /* very short logins are ignored */
    expect_problem("my-tanaka-garden-77", "ta", PASSWORD_OK);
    expect_problem("my-garden-grows-77", "tanaka", PASSWORD_OK);
}

static void test_patterns(void **state)
{
    (void)state;
    expect_problem("zzzzzzzzzzzz", NULL, PASSWORD_REPEATED);
    expect_problem("ああああああああああああ", NULL, PASSWORD_REPEATED);
    expect_problem("xqxqxqxqxqxqxq", NULL, PASSWORD_REPEATED);
    expect_problem("k9!k9!k9!k9!", NULL, PASSWORD_REPEATED);
    expect_problem("ttttttt#######", NULL, PASSWORD_REPEATED);
    expect_problem("bcdefghijklmn", NULL, PASSWORD_SEQUENCE);
    expect_problem("zyxwvutsrqpon", NULL, PASSWORD_SEQUENCE);
    expect_problem("567890123456", NULL, PASSWORD_SEQUENCE);  /* wraps */
    expect_problem("rtyuiopasdfgh", NULL, PASSWORD_SEQUENCE); /* keyboard */
    expect_problem("bcdefg345678", NULL, PASSWORD_SEQUENCE);  /* two runs */
    expect_problem("lmnopqrst!!!!", NULL, PASSWORD_SEQUENCE);
    /* ordinary passphrases pass */
    expect_problem("correct horse battery staple", NULL, PASSWORD_OK);
    expect_problem("夏の富士山に登りたい2025", NULL, PASSWORD_OK);
    expect_problem("Tr0ub4dor&3-harbour", NULL, PASSWORD_OK);
}

static void test_messages(void **state)
{
    (void)state;
    assert_string_equal(password_problem_ja(PASSWORD_TOO_SHORT),
                        "パスワードは12文字以上にしてください");
    assert_string_equal(password_problem_en(PASSWORD_TOO_SHORT),
                        "Use at least 12 characters.");
    for (int p = PASSWORD_OK; p <= PASSWORD_SEQUENCE; p++) {
        assert_non_null(password_problem_ja(p));
        assert_true(strlen(password_problem_ja(p)) > 10);
        assert_true(strlen(password_problem_en(p)) > 10);
        assert_string_not_equal(password_problem_code(p), "unknown");
        for (int q = PASSWORD_OK; q < p; q++)
            assert_string_not_equal(password_problem_ja(p),
                                    password_problem_ja(q));
    }
}

static void test_hash_verify(void **state)
{
    (void)state;
    char h1[PASSWORD_HASH_SIZE], h2[PASSWORD_HASH_SIZE];
    assert_int_equal(password_hash("correct horse battery staple", h1), 0);
    assert_int_equal(password_hash("correct horse battery staple", h2), 0);
    /* OWASP parameters, recorded in the string: 19 MiB = 19456 KiB. */
    assert_true(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    assert_string_not_equal(h1, h2); /* random salt */
    assert_int_equal(password_verify(h1, "correct horse battery staple"), 0);
    assert_int_equal(password_verify(h2, "correct horse battery staple"), 0);
    assert_int_equal(password_verify(h1, "correct horse battery stapl"), -1);
    assert_int_equal(password_verify(h1, "Correct horse battery staple"), -1);
    assert_int_equal(password_verify(h1, ""), -1);
    assert_int_equal(password_verify("not a hash", "x"), -1);
    assert_int_equal(password_verify(NULL, "x"), -1);

    char jp[PASSWORD_HASH_SIZE];
    assert_int_equal(password_hash("ねこがすきなさかなやさん", jp), 0);
    assert_int_equal(password_verify(jp, "ねこがすきなさかなやさん"), 0);
    assert_int_equal(password_verify(jp, "ねこがすきなさかなやさ"), -1);

    password_verify_dummy("whatever");
    password_verify_dummy(NULL);
}

static void test_needs_rehash(void **state)
{
    (void)state;
    char cur[PASSWORD_HASH_SIZE];
    assert_int_equal(password_hash("a long enough password", cur), 0);
    assert_int_equal(password_needs_rehash(cur), 0);

    /* Weaker argon2id parameters, and argon2i: both to be replaced. */
    char weak[crypto_pwhash_STRBYTES], old[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str_alg(weak, "pw", 2, 1, 8 * 1024 * 1024,
                                           crypto_pwhash_ALG_ARGON2ID13),
                     0);
    assert_int_equal(password_needs_rehash(weak), 1);
    assert_int_equal(password_verify(weak, "pw"), 0); /* still accepted */
    assert_int_equal(crypto_pwhash_str_alg(old, "pw", 2, 3, PASSWORD_MEMLIMIT,
                                           crypto_pwhash_ALG_ARGON2I13),
                     0);
    assert_int_equal(password_needs_rehash(old), 1);
    assert_int_equal(password_verify(old, "pw"), 0);
    assert_int_equal(password_needs_rehash("$2y$10$bcrypthashxxxxxxxx"), 1);
    assert_int_equal(password_needs_rehash(NULL), 1);
}

/* The list is loaded on first use by whichever thread comes first. */
static void *check_thread(void *arg)
{
    (void)arg;
    long bad = 0;
    for (int i = 0; i < 200; i++) {
        bad += password_check("01telemike01", NULL) != PASSWORD_COMMON;
        bad += password_check("correct horse battery", NULL) != PASSWORD_OK;
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, check_thread, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_int_equal((long)r, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first, so that the list is loaded by racing threads */
        cmocka_unit_test(test_threads),      cmocka_unit_test(test_length),
        cmocka_unit_test(test_utf8),         cmocka_unit_test(test_common),
        cmocka_unit_test(test_login),        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_messages),     cmocka_unit_test(test_hash_verify),
        cmocka_unit_test(test_needs_rehash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
