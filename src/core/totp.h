/*
** totp.h - time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second
** steps, 6 digits) as the second factor of staff sign-in, and the one-time
** recovery codes that replace it when the phone is lost (SEC-3).
**
** The secret is 160 random bits kept as base32 text (RFC 4648, upper
** case, no padding), which is what authenticator apps expect; the caller
** stores it encrypted (field_encrypt, context "users.totp_secret").
**
** Replay: a code is accepted for the current step and one step either
** side (clock drift), but never for a step at or before the last step the
** user already used; the caller stores that step (users.totp_last_step).
**
** Recovery codes ("abcd-efgh-jk") come from an alphabet without look-alike
** characters and are stored only as argon2id hashes.
*/
#ifndef CITYOS_TOTP_H
#define CITYOS_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_BYTES 20 /* 160 bits, RFC 4226's recommendation */
#define TOTP_PERIOD       30
#define TOTP_DIGITS       6
#define TOTP_WINDOW       1 /* steps accepted either side of now */
#define TOTP_ISSUER       "cityos"

/* Results of totp_verify(). */
enum {
    TOTP_OK = 0,
    TOTP_WRONG = -1,   /* no step in the window has this code */
    TOTP_REUSED = -2,  /* the code is right but its step was used already */
    TOTP_INVALID = -3, /* the secret cannot be decoded */
};

/* A fresh secret as base32 text (32 characters); the caller frees it. */
char *totp_secret_new(void);

/* RFC 4648 base32 without padding.  encode: the caller frees the result.
** decode accepts upper or lower case and ignores spaces and '='; returns
** the decoded length, or -1 on a bad character or when out is too small. */
char *base32_encode(const unsigned char *in, size_t n);
long base32_decode(const char *in, unsigned char *out, size_t outcap);

/* The code for time step `step` (unix time / TOTP_PERIOD) of a raw key, with
** `digits` digits (6..8) written to out (digits + 1 bytes).  0 on success.
** Public for tests (RFC 6238 appendix B) and tools. */
int totp_code(const unsigned char *key, size_t keylen, uint64_t step,
              int digits, char *out, size_t outlen);

/* Checks a 6-digit code typed by the user (spaces allowed) at unix time
** now.  last_step: the step of the last code accepted for this user (0 if
** none).  On TOTP_OK *matched_step is set; the caller stores it as the new
** last step in the same transaction that records the sign-in. */
int totp_verify(const char *secret_b32, const char *code, int64_t now,
                int64_t last_step, int64_t *matched_step);

/* "otpauth://totp/cityos:<account>?secret=...&issuer=cityos&algorithm=SHA1
** &digits=6&period=30", the account percent-encoded; the caller frees it.
** Shown as a QR code (qr_svg) and as text for manual entry. */
char *totp_uri(const char *secret_b32, const char *account);

/* ---- recovery codes ---- */

#define TOTP_RECOVERY_COUNT     10
#define TOTP_RECOVERY_CODE_SIZE 13  /* "abcd-efgh-jk" + NUL */
#define TOTP_RECOVERY_HASH_SIZE 128 /* argon2id string */

/* Fills n codes for showing once, and their hashes for storage.  0 on
** success, -1 on failure. */
int totp_recovery_generate(char codes[][TOTP_RECOVERY_CODE_SIZE],
                           char hashes[][TOTP_RECOVERY_HASH_SIZE], size_t n);
/* Index of the hash that matches code (case, spaces and '-' ignored), or -1.
** NULL entries (codes already used) are skipped. */
int totp_recovery_verify(const char *const *hashes, size_t n, const char *code);
/* Like totp_recovery_verify, then frees the matching entry and sets it to
** NULL so that the code cannot be used twice.  The caller persists the
** removal (recovery_codes.used_at) before accepting the sign-in. */
int totp_recovery_consume(char **hashes, size_t n, const char *code);

#endif
