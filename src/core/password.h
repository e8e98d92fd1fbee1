/*
** password.h - password hashing (argon2id via libsodium) and the password
** policy of cityos (SEC-3, WIN-9).
**
** Hashing uses OWASP's recommended argon2id parameters: 19 MiB of memory,
** 2 passes, 1 lane (libsodium always uses one lane).  That is about 50 ms
** on one core, slow enough to make offline guessing expensive and cheap
** enough that a server can verify a handful of sign-ins a second per core
** without exhausting memory.  The parameters are stored in every hash
** string, so raising them later only needs password_needs_rehash() at the
** next successful sign-in.
**
** The policy follows NIST SP 800-63B: long (PASSWORD_MIN_CHARS characters
** or more), any Unicode allowed, no composition rules, and a refusal of
** common or breached passwords, of the login name and of trivial
** patterns (repeats, sequences such as abcd, 1234 or qwerty).
*/
#ifndef CITYOS_PASSWORD_H
#define CITYOS_PASSWORD_H

#include <stddef.h>

/* Minimum length in characters (Unicode code points), maximum in bytes. */
#define PASSWORD_MIN_CHARS 12
#define PASSWORD_MAX_BYTES 256

/* argon2id cost (OWASP Password Storage Cheat Sheet): m=19 MiB, t=2, p=1. */
#define PASSWORD_MEMLIMIT ((size_t)19 * 1024 * 1024)
#define PASSWORD_OPSLIMIT 2

/* Size of a hash string buffer (libsodium's crypto_pwhash_STRBYTES). */
#define PASSWORD_HASH_SIZE 128

/* Why a password is refused; PASSWORD_OK when it is acceptable. */
enum password_problem {
    PASSWORD_OK = 0,
    PASSWORD_TOO_SHORT,      /* fewer than PASSWORD_MIN_CHARS characters */
    PASSWORD_TOO_LONG,       /* more than PASSWORD_MAX_BYTES bytes */
    PASSWORD_BAD_UTF8,       /* not valid UTF-8 */
    PASSWORD_CONTAINS_LOGIN, /* the login name appears in it */
    PASSWORD_COMMON,         /* in the list of common/breached passwords */
    PASSWORD_REPEATED,       /* one character or a short unit repeated */
    PASSWORD_SEQUENCE,       /* abcd..., 1234..., qwerty..., or two such */
};

/* Checks a new password against the policy.  login may be NULL.  The
** comparison with the common list and with the login ignores ASCII case. */
enum password_problem password_check(const char *password, const char *login);
/* Messages for the user, never NULL. */
const char *password_problem_ja(enum password_problem p);
const char *password_problem_en(enum password_problem p);
/* Stable machine name ("too_short", ...) for logs and JSON APIs. */
const char *password_problem_code(enum password_problem p);

/* 1 when the password (ASCII case ignored) is in the common list. */
int password_is_common(const char *password);

/* Hashes into out (an argon2id string "$argon2id$v=19$m=19456,t=2,p=1$...").
** 0 on success, -1 when memory could not be had. */
int password_hash(const char *password, char out[PASSWORD_HASH_SIZE]);
/* 0 when password matches hash, -1 otherwise (also for a malformed hash). */
int password_verify(const char *hash, const char *password);
/* Does the work of one verification against a fixed hash and returns
** nothing: call it when the login is unknown so that the answer takes the
** same time as for a known login (no account enumeration by timing). */
void password_verify_dummy(const char *password);
/* 1 when hash was made with other parameters or another algorithm and
** should be replaced after the next successful verification, else 0. */
int password_needs_rehash(const char *hash);

#endif
