/*
** test_crypto.c - the key file, field encryption, blind indexes, backup
** file encryption and key rotation (SEC-7), on real files under a fresh
** /tmp directory and a real SQLite database.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/db.h"
#include "testlib.h"

struct fixture {
    char dir[64];
    char keys[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (testlib_mkdtemp("crypto", f->dir, sizeof f->dir) != 0)
        return -1;
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    testlib_rm_rf(f->dir);
    free(f);
    return 0;
}

static struct keyring *load(const char *path, int create)
{
    struct keyring *k = NULL;
    char err[256] = "";
    if (keyring_load(path, create, &k, err, sizeof err) != 0)
        fail_msg("keyring_load: %s", err);
    return k;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *d = malloc((size_t)n + 1);
    *len = fread(d, 1, (size_t)n, f);
    d[*len] = 0;
    fclose(f);
    return d;
}

static void spew(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void test_keyfile_create(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = NULL;
    char err[256];
    /* without create, a missing file is an error */
    assert_int_equal(keyring_load(f->keys, 0, &k, err, sizeof err), -1);
    assert_null(k);
    assert_true(strlen(err) > 0);

    k = load(f->keys, 1);
    assert_string_equal(keyring_current_id(k), "k1");
    keyring_free(k);
    struct stat st;
    assert_int_equal(stat(f->keys, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t len;
    char *text = slurp(f->keys, &len);
    /* "k1 " + 43 base64url characters + "\n" */
    assert_int_equal(len, 3 + 43 + 1);
    assert_true(strncmp(text, "k1 ", 3) == 0);
    assert_int_equal(strspn(text + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
                                      "mnopqrstuvwxyz0123456789-_"),
                     43);
    /* loading again with create keeps the same key */
    k = load(f->keys, 1);
    keyring_free(k);
    size_t len2;
    char *text2 = slurp(f->keys, &len2);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
}

static void test_keyfile_refused(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = NULL;
    char err[256];
    static const char *const bad[] = {
        "",                                                  /* no key */
        "k1 c2hvcnQ\n",                                      /* short key */
        "k1\n",                                              /* no key */
        "k/1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", /* bad id */
        "k1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
        "k1 BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n", /* duplicate */
        "k1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!\n", /* not base64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unlink(f->keys);
        spew(f->keys, bad[i], strlen(bad[i]));
        chmod(f->keys, 0600);
        err[0] = 0;
        if (keyring_load(f->keys, 0, &k, err, sizeof err) != -1)
            fail_msg("key file %zu accepted", i);
        assert_true(strlen(err) > 0);
    }
    /* a good file, but readable by everyone */
    static const char good[] =
        "# comment\n\nk1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    unlink(f->keys);
    spew(f->keys, good, strlen(good));
    chmod(f->keys, 0644);
    assert_int_equal(keyring_load(f->keys, 0, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 600"));
    chmod(f->keys, 0600);
    k = load(f->keys, 0);
    assert_string_equal(keyring_current_id(k), "k1");
    keyring_free(k);
}

static void test_field_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = load(f->keys, 1);
    static const char *const values[] = {"taro@example.jp", "",
                                         "山田太郎 〒100-0001", "x"};
    for (size_t i = 0; i < 4; i++) {
        char *e = field_encrypt(k, "users.email", values[i]);
        assert_true(strncmp(e, "enc1:k1:", 8) == 0);
        if (strlen(values[i]) > 3) /* the plain text does not show */
            assert_null(strstr(e, values[i]));
        char *d = field_decrypt(k, "users.email", e);
        assert_non_null(d);
        assert_string_equal(d, values[i]);
        free(d);
        /* random nonce: the same value encrypts differently */
        char *e2 = field_encrypt(k, "users.email", values[i]);
        assert_string_not_equal(e, e2);
        free(e2);
        free(e);
    }
    /* values without the prefix are passed through (migration aid) */
    char *p = field_decrypt(k, "users.email", "plain@example.jp");
    assert_string_equal(p, "plain@example.jp");
    free(p);
    assert_null(field_decrypt(k, "users.email", NULL));
    keyring_free(k);
}

static void test_field_tamper(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = load(f->keys, 1);
    char *e = field_encrypt(k, "users.email", "hanako@example.jp");
    /* moved to another column: the context is associated data */
    assert_null(field_decrypt(k, "users.totp_secret", e));
    assert_null(field_decrypt(k, "", e));
    /* any changed character of the ciphertext */
    size_t n = strlen(e);
    for (size_t i = 8; i < n; i += 5) {
        char *t = strdup(e);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        char *d = field_decrypt(k, "users.email", t);
        if (d)
            fail_msg("tampered value at %zu decrypted to \"%s\"", i, d);
        free(t);
    }
    /* truncated, unknown key, malformed */
    char *t = strdup(e);
    t[n - 4] = 0;
    assert_null(field_decrypt(k, "users.email", t));
    free(t);
    char *other = strdup(e);
    other[6] = '9'; /* enc1:k9:... */
    assert_null(field_decrypt(k, "users.email", other));
    free(other);
    assert_null(field_decrypt(k, "users.email", "enc1:k1:"));
    assert_null(field_decrypt(k, "users.email", "enc1:k1"));
    assert_null(field_decrypt(k, "users.email", "enc1:k1:AAAA"));
    assert_null(field_decrypt(k, "users.email", "enc1:k1:!!!!"));
    free(e);
    keyring_free(k);
}

static void test_blind_index(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = load(f->keys, 1);
    char a[65], b[65], c[65], d[65];
    field_blind_index(k, "users.email", "taro@example.jp", a);
    field_blind_index(k, "users.email", "  Taro@Example.JP\n", b);
    field_blind_index(k, "users.email", "jiro@example.jp", c);
    field_blind_index(k, "users.login", "taro@example.jp", d);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    keyring_free(k);

    /* stable across a rotation: derived from the first key */
    char err[256];
    assert_int_equal(keyring_add_key(f->keys, err, sizeof err), 0);
    k = load(f->keys, 0);
    assert_string_equal(keyring_current_id(k), "k2");
    field_blind_index(k, "users.email", "taro@example.jp", b);
    assert_string_equal(a, b);
    keyring_free(k);

    /* and different for another key file */
    char other[160];
    snprintf(other, sizeof other, "%s/keys-other", f->dir);
    k = load(other, 1);
    field_blind_index(k, "users.email", "taro@example.jp", b);
    assert_string_not_equal(a, b);
    keyring_free(k);
}

static void test_rotation(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct keyring *k = load(f->keys, 1);
    char *old = field_encrypt(k, "users.email", "taro@example.jp");
    keyring_free(k);

    assert_int_equal(keyring_add_key(f->keys, err, sizeof err), 0);
    assert_int_equal(keyring_add_key(f->keys, err, sizeof err), 0);
    size_t len;
    char *text = slurp(f->keys, &len);
    assert_int_equal(lines(text), 3);
    assert_non_null(strstr(text, "\nk3 "));
    free(text);
    struct stat st;
    assert_int_equal(stat(f->keys, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    k = load(f->keys, 0);
    assert_string_equal(keyring_current_id(k), "k3");
    char *d = field_decrypt(k, "users.email", old);
    assert_string_equal(d, "taro@example.jp"); /* old values stay readable */
    free(d);
    char *e = field_encrypt(k, "users.email", "taro@example.jp");
    assert_true(strncmp(e, "enc1:k3:", 8) == 0);
    free(e);
    free(old);
    keyring_free(k);

    /* a missing key file cannot get a key added */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nokeys", f->dir);
    assert_int_equal(keyring_add_key(missing, err, sizeof err), -1);
    assert_false(exists(missing));
}

/* ---- files ---- */

static void file_roundtrip(struct fixture *f, const struct keyring *k, size_t n)
{
    char in[160], enc[160], out[160];
    snprintf(in, sizeof in, "%s/plain", f->dir);
    snprintf(enc, sizeof enc, "%s/plain.enc", f->dir);
    snprintf(out, sizeof out, "%s/plain.out", f->dir);
    unsigned char *data = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 7 + i / 251);
    spew(in, data, n);
    assert_int_equal(file_encrypt(k, in, enc), 0);
    size_t elen;
    char *e = slurp(enc, &elen);
    assert_true(strncmp(e, "CITYOSB1", 8) == 0);
    /* header 8+1+2, stream header 24, 17 bytes per chunk */
    size_t chunks = n / 65536 + 1;
    assert_int_equal(elen, 11 + 24 + n + 17 * chunks);
    free(e);
    struct stat st;
    assert_int_equal(stat(enc, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(file_decrypt(k, enc, out), 0);
    size_t olen;
    char *o = slurp(out, &olen);
    assert_int_equal(olen, n);
    assert_memory_equal(o, data, n);
    free(o);
    free(data);
}

static void test_file_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = load(f->keys, 1);
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        file_roundtrip(f, k, sizes[i]);
    char nope[160], out[160];
    snprintf(nope, sizeof nope, "%s/does-not-exist", f->dir);
    snprintf(out, sizeof out, "%s/x.enc", f->dir);
    assert_int_equal(file_encrypt(k, nope, out), -1);
    assert_false(exists(out));
    keyring_free(k);
}

/* Writes a damaged copy of enc and checks that it is refused and that no
** output file is left behind. */
static void expect_refused(struct fixture *f, const struct keyring *k,
                           const char *data, size_t n, const char *what)
{
    char bad[160], out[160];
    snprintf(bad, sizeof bad, "%s/bad.enc", f->dir);
    snprintf(out, sizeof out, "%s/bad.out", f->dir);
    unlink(out);
    spew(bad, data, n);
    if (file_decrypt(k, bad, out) != -1)
        fail_msg("%s: decrypted", what);
    if (exists(out))
        fail_msg("%s: output left behind", what);
}

static void test_file_damage(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = load(f->keys, 1);
    file_roundtrip(f, k, 200000); /* leaves plain.enc: 4 chunks */
    char enc[160];
    snprintf(enc, sizeof enc, "%s/plain.enc", f->dir);
    size_t n;
    char *e = slurp(enc, &n);
    const size_t hdr = 11 + 24, chunk = 65536 + 17;

    expect_refused(f, k, e, n - 1, "last byte cut");
    expect_refused(f, k, e, n - 200, "last chunk cut");
    expect_refused(f, k, e, hdr + chunk, "cut at a chunk boundary");
    expect_refused(f, k, e, hdr + 3 * chunk, "final chunk missing");
    expect_refused(f, k, e, hdr, "header only");
    expect_refused(f, k, e, 5, "half a magic");
    expect_refused(f, k, e, 0, "empty file");

    char *t = malloc(n + 10);
    static const size_t flips[] = {0, 9, 12, 40, 70000, 150000};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(t, e, n);
        t[flips[i]] ^= 0x01;
        char what[64];
        snprintf(what, sizeof what, "bit flipped at %zu", flips[i]);
        expect_refused(f, k, t, n, what);
    }
    /* chunks swapped */
    memcpy(t, e, n);
    memcpy(t + hdr, e + hdr + chunk, chunk);
    memcpy(t + hdr + chunk, e + hdr, chunk);
    expect_refused(f, k, t, n, "chunks reordered");
    /* data after the final chunk */
    memcpy(t, e, n);
    memcpy(t + n, "trailing!", 9);
    expect_refused(f, k, t, n + 9, "trailing data");
    /* another key id in the header (k9 is unknown) */
    memcpy(t, e, n);
    t[10] = '9';
    expect_refused(f, k, t, n, "unknown key id");
    free(t);
    free(e);
    keyring_free(k);
}

static void test_file_after_rotation(void **state)
{
    struct fixture *f = *state;
    struct keyring *k = load(f->keys, 1);
    file_roundtrip(f, k, 1000); /* plain.enc with k1 */
    keyring_free(k);
    char err[256];
    assert_int_equal(keyring_add_key(f->keys, err, sizeof err), 0);
    k = load(f->keys, 0);
    char enc[160], out[160];
    snprintf(enc, sizeof enc, "%s/plain.enc", f->dir);
    snprintf(out, sizeof out, "%s/plain.out2", f->dir);
    assert_int_equal(file_decrypt(k, enc, out), 0); /* old backup readable */
    file_roundtrip(f, k, 1000);                     /* new one uses k2 */
    size_t n;
    char *e = slurp(enc, &n);
    assert_memory_equal(e + 8, "\x02k2", 3);
    free(e);
    keyring_free(k);
}

/* ---- keys_reencrypt on a real SQLite database ---- */

#define ROWS  450 /* more than one batch */
#define MAILS 3

static void reencrypt_on(struct fixture *f, const char *url)
{
    char err[256];
    struct db *db;
    if (db_open(url, 1, &db, err, sizeof err) != 0)
        fail_msg("db_open: %s", err);
    struct db_conn *c = db_acquire(db);
    assert_non_null(c);
    assert_int_equal(db_exec(c, "CREATE TABLE users (id BIGINT PRIMARY KEY,"
                                " login TEXT, email TEXT, totp_secret TEXT);"
                                "CREATE TABLE mail_queue (id BIGINT PRIMARY "
                                "KEY, to_addr TEXT NOT NULL, subject TEXT NOT "
                                "NULL, body TEXT NOT NULL);"
                                /* the other registered columns, empty */
                                "CREATE TABLE notices (id BIGINT PRIMARY "
                                "KEY, name_kana TEXT, email TEXT);"
                                "CREATE TABLE pickup_import_batches (id "
                                "BIGINT PRIMARY KEY, data TEXT)"),
                     DB_OK);

    struct keyring *k = load(f->keys, 1);
    assert_int_equal(db_begin(c), DB_OK);
    for (int i = 1; i <= ROWS; i++) {
        char login[32], email[64];
        snprintf(login, sizeof login, "user%d", i);
        snprintf(email, sizeof email, "user%d@example.jp", i);
        char *e = field_encrypt(k, "users.email", email);
        char *s = field_encrypt(k, "users.totp_secret", login);
        /* every 7th email still plain text, every 5th secret NULL */
        int64_t r =
            db_run(c, "INSERT INTO users VALUES (?, ?, ?, ?)", "isss",
                   (int64_t)i, login, i % 7 ? e : email, i % 5 ? s : NULL);
        assert_int_equal(r, 1);
        free(e);
        free(s);
    }
    for (int i = 1; i <= MAILS; i++) {
        char *to = field_encrypt(k, "mail_queue.to_addr", "taro@example.jp");
        char *sub = field_encrypt(k, "mail_queue.subject", "件名");
        char *body = field_encrypt(k, "mail_queue.body", "本文");
        assert_int_equal(db_run(c, "INSERT INTO mail_queue VALUES (?, ?, ?, ?)",
                                "isss", (int64_t)i, to, sub, body),
                         1);
        free(to);
        free(sub);
        free(body);
    }
    assert_int_equal(db_commit(c), DB_OK);
    db_release(c);
    keyring_free(k);

    assert_int_equal(keyring_add_key(f->keys, err, sizeof err), 0);
    k = load(f->keys, 0);
    /* every email, the non-NULL secrets, three columns of each mail */
    long want = ROWS + ROWS - ROWS / 5 + 3 * MAILS;
    assert_int_equal(keys_reencrypt(db, k), want);
    assert_int_equal(keys_reencrypt(db, k), 0); /* nothing left */

    c = db_acquire(db);
    struct db_stmt *s = db_queryf(
        c, "SELECT id, login, email, totp_secret FROM users ORDER BY id", "");
    assert_non_null(s);
    int rows = 0;
    while (db_step(s) == DB_ROW) {
        rows++;
        int64_t id = db_col_int(s, 0);
        const char *email = db_col_text(s, 2);
        assert_true(strncmp(email, "enc1:k2:", 8) == 0);
        char *pe = field_decrypt(k, "users.email", email);
        char want_email[64];
        snprintf(want_email, sizeof want_email, "user%lld@example.jp",
                 (long long)id);
        assert_string_equal(pe, want_email);
        free(pe);
        if (id % 5 == 0) {
            assert_true(db_col_is_null(s, 3));
        } else {
            char *ps = field_decrypt(k, "users.totp_secret", db_col_text(s, 3));
            assert_string_equal(ps, db_col_text(s, 1));
            free(ps);
        }
    }
    db_finalize(s);
    assert_int_equal(rows, ROWS);
    s = db_queryf(c, "SELECT to_addr, subject, body FROM mail_queue", "");
    assert_non_null(s);
    rows = 0;
    while (db_step(s) == DB_ROW) {
        rows++;
        char *to = field_decrypt(k, "mail_queue.to_addr", db_col_text(s, 0));
        char *sub = field_decrypt(k, "mail_queue.subject", db_col_text(s, 1));
        assert_true(strncmp(db_col_text(s, 2), "enc1:k2:", 8) == 0);
        assert_string_equal(to, "taro@example.jp");
        assert_string_equal(sub, "件名");
        free(to);
        free(sub);
    }
    db_finalize(s);
    assert_int_equal(rows, MAILS);

    /* A value that cannot be decrypted stops the run; its batch is rolled
    ** back and stays as it was. */
    keyring_free(k);
    assert_int_equal(keyring_add_key(f->keys, err, sizeof err), 0);
    k = load(f->keys, 0);
    assert_int_equal(db_run(c, "UPDATE users SET email = ? WHERE id = 3", "s",
                            "enc1:k2:AAAAbroken"),
                     1);
    db_release(c);
    assert_int_equal(keys_reencrypt(db, k), -1);
    c = db_acquire(db);
    int64_t cur = -1;
    assert_int_equal(db_query_int(c, &cur,
                                  "SELECT COUNT(*) FROM users WHERE email "
                                  "LIKE 'enc1:k3:%'",
                                  ""),
                     DB_ROW);
    assert_int_equal(cur, 0);
    db_release(c);
    keyring_free(k);
    db_close(db);
}

static void test_reencrypt_sqlite(void **state)
{
    struct fixture *f = *state;
    char url[200];
    snprintf(url, sizeof url, "sqlite:%s/test.db", f->dir);
    reencrypt_on(f, url);
}

/* Every registered column exists in the real schema: on a freshly
** migrated database the walk finds nothing to do instead of failing. */
static void test_registry_matches_schema(void **state)
{
    struct fixture *f = *state;
    char url[200], err[256];
    snprintf(url, sizeof url, "sqlite:%s/schema.db", f->dir);
    struct db *db;
    if (db_open(url, 1, &db, err, sizeof err) != 0)
        fail_msg("db_open: %s", err);
    if (db_migrate(db, err, sizeof err) != 0)
        fail_msg("db_migrate: %s", err);
    struct keyring *k = load(f->keys, 1);
    assert_int_equal(keys_reencrypt(db, k), 0);
    keyring_free(k);
    db_close(db);
}

/* Runs against PostgreSQL when CITYOS_TEST_PG names a server (scripts/test
** sets it), in a schema of our own so other tests are untouched. */
static void test_reencrypt_pg(void **state)
{
    struct fixture *f = *state;
    if (!testlib_have_pg()) {
        fprintf(stderr, "test_reencrypt_pg: CITYOS_TEST_PG not set; "
                        "skipped\n");
        skip();
    }
    char url[1024];
    assert_int_equal(testlib_pg_create("crypto", 0, url, sizeof url), 0);
    reencrypt_on(f, url);
    assert_int_equal(testlib_pg_drop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keyfile_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyfile_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blind_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_after_rotation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reencrypt_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reencrypt_pg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_matches_schema, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
