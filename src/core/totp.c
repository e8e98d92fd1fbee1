/*
** totp.c - RFC 6238 one-time passwords, base32 and recovery codes (SEC-3).
** See totp.h.  HMAC-SHA1 comes from OpenSSL; randomness and the argon2id
** hashes of recovery codes from libsodium.
*/
#include "totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* No 0/o, 1/i/l: a code read off paper must not be ambiguous. */
static const char recovery_alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
#define RECOVERY_CHARS 10

/* Recovery codes carry 10 * log2(31) = 49 bits of entropy, unlike
** passwords, so a light argon2id (1 MiB, 2 passes) already puts an offline
** search of one code at centuries while verifying all ten at sign-in
** stays in the tens of milliseconds. */
#define RECOVERY_OPSLIMIT 2
#define RECOVERY_MEMLIMIT ((size_t)1024 * 1024)

_Static_assert(TOTP_RECOVERY_HASH_SIZE == crypto_pwhash_STRBYTES,
               "TOTP_RECOVERY_HASH_SIZE must match libsodium");

/* ---- base32 ---- */

char *base32_encode(const unsigned char *in, size_t n)
{
    char *out = xmalloc((n * 8 + 4) / 5 + 1);
    size_t k = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[k++] = b32_alphabet[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[k++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[k] = 0;
    return out;
}

static int b32_value(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    const char *p = strchr(b32_alphabet, c);
    return (c && p) ? (int)(p - b32_alphabet) : -1;
}

long base32_decode(const char *in, unsigned char *out, size_t outcap)
{
    size_t k = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '=')
            continue;
        int v = b32_value(*p);
        if (v < 0)
            return -1;
        acc = ((acc << 5) | (unsigned int)v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            if (k == outcap)
                return -1;
            out[k++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return (long)k;
}

/* ---- codes ---- */

char *totp_secret_new(void)
{
    unsigned char key[TOTP_SECRET_BYTES];
    if (sodium_ready() != 0)
        return NULL;
    randombytes_buf(key, sizeof key);
    char *s = base32_encode(key, sizeof key);
    sodium_memzero(key, sizeof key);
    return s;
}

int totp_code(const unsigned char *key, size_t keylen, uint64_t step,
              int digits, char *out, size_t outlen)
{
    static const uint32_t pow10[] = {1,      10,      100,      1000,     10000,
                                     100000, 1000000, 10000000, 100000000};
    if (digits < 6 || digits > 8 || outlen < (size_t)digits + 1)
        return -1;
    unsigned char msg[8];
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(step & 0xff);
        step >>= 8;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, mac, &maclen) ||
        maclen != 20)
        return -1;
    /* RFC 4226 section 5.3: dynamic truncation. */
    int off = mac[19] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
                   ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    snprintf(out, outlen, "%0*u", digits, (unsigned)(bin % pow10[digits]));
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

/* Copies the digits of a typed code, dropping spaces; -1 unless exactly
** TOTP_DIGITS digits remain. */
static int normalise_code(const char *code, char out[TOTP_DIGITS + 1])
{
    size_t k = 0;
    for (const char *p = code; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p < '0' || *p > '9' || k == TOTP_DIGITS)
            return -1;
        out[k++] = *p;
    }
    out[k] = 0;
    return k == TOTP_DIGITS ? 0 : -1;
}

int totp_verify(const char *secret_b32, const char *code, int64_t now,
                int64_t last_step, int64_t *matched_step)
{
    unsigned char key[64];
    long keylen = secret_b32 ? base32_decode(secret_b32, key, sizeof key) : -1;
    if (keylen < 10)
        return TOTP_INVALID;
    char typed[TOTP_DIGITS + 1];
    if (!code || normalise_code(code, typed) != 0 || now < 0) {
        sodium_memzero(key, sizeof key);
        return TOTP_WRONG;
    }
    int64_t step = now / TOTP_PERIOD;
    int result = TOTP_WRONG;
    /* Every step of the window is computed so that the time taken does not
    ** tell which one matched. */
    for (int64_t s = step - TOTP_WINDOW; s <= step + TOTP_WINDOW; s++) {
        char expect[TOTP_DIGITS + 1];
        if (s < 0 || totp_code(key, (size_t)keylen, (uint64_t)s, TOTP_DIGITS,
                               expect, sizeof expect) != 0)
            continue;
        if (CRYPTO_memcmp(expect, typed, TOTP_DIGITS) != 0)
            continue;
        if (s > last_step && result != TOTP_OK) {
            result = TOTP_OK;
            if (matched_step)
                *matched_step = s;
        } else if (result == TOTP_WRONG) {
            result = TOTP_REUSED;
        }
    }
    sodium_memzero(key, sizeof key);
    return result;
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static void put_pct(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            buf_putc(b, (char)*p);
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[*p >> 4]);
            buf_putc(b, hex[*p & 15]);
        }
    }
}

char *totp_uri(const char *secret_b32, const char *account)
{
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "otpauth://totp/");
    put_pct(&b, TOTP_ISSUER);
    buf_putc(&b, ':');
    put_pct(&b, account ? account : "login");
    buf_puts(&b, "?secret=");
    put_pct(&b, secret_b32);
    buf_puts(&b, "&issuer=");
    put_pct(&b, TOTP_ISSUER);
    buf_printf(&b, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS,
               TOTP_PERIOD);
    return buf_steal(&b);
}

/* ---- recovery codes ---- */

/* Lower-cases and drops '-' and spaces; -1 unless exactly RECOVERY_CHARS
** characters of the alphabet remain. */
static int normalise_recovery(const char *code, char out[RECOVERY_CHARS + 1])
{
    size_t k = 0;
    for (const char *p = code; *p; p++) {
        char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!strchr(recovery_alphabet, c) || k == RECOVERY_CHARS)
            return -1;
        out[k++] = c;
    }
    out[k] = 0;
    return k == RECOVERY_CHARS ? 0 : -1;
}

int totp_recovery_generate(char codes[][TOTP_RECOVERY_CODE_SIZE],
                           char hashes[][TOTP_RECOVERY_HASH_SIZE], size_t n)
{
    if (sodium_ready() != 0)
        return -1;
    const uint32_t nalpha = (uint32_t)strlen(recovery_alphabet);
    for (size_t i = 0; i < n; i++) {
        char raw[RECOVERY_CHARS + 1];
        for (int j = 0; j < RECOVERY_CHARS; j++)
            raw[j] = recovery_alphabet[randombytes_uniform(nalpha)];
        raw[RECOVERY_CHARS] = 0;
        /* Shown as abcd-efgh-jk: groups of four are easier to copy. */
        snprintf(codes[i], TOTP_RECOVERY_CODE_SIZE, "%.4s-%.4s-%.2s", raw,
                 raw + 4, raw + 8);
        if (crypto_pwhash_str_alg(hashes[i], raw, RECOVERY_CHARS,
                                  RECOVERY_OPSLIMIT, RECOVERY_MEMLIMIT,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
            sodium_memzero(raw, sizeof raw);
            return -1;
        }
        sodium_memzero(raw, sizeof raw);
    }
    return 0;
}

int totp_recovery_verify(const char *const *hashes, size_t n, const char *code)
{
    char norm[RECOVERY_CHARS + 1];
    if (!code || normalise_recovery(code, norm) != 0 || sodium_ready() != 0)
        return -1;
    int found = -1;
    for (size_t i = 0; i < n && found < 0; i++) {
        if (hashes[i] &&
            crypto_pwhash_str_verify(hashes[i], norm, RECOVERY_CHARS) == 0)
            found = (int)i;
    }
    sodium_memzero(norm, sizeof norm);
    return found;
}

int totp_recovery_consume(char **hashes, size_t n, const char *code)
{
    int i = totp_recovery_verify((const char *const *)hashes, n, code);
    if (i >= 0) {
        free(hashes[i]);
        hashes[i] = NULL;
    }
    return i;
}
