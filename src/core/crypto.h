/*
** crypto.h - keys kept outside the database (the key file), encryption of
** sensitive fields (XChaCha20-Poly1305 via libsodium, the column name as
** associated data so a value cannot be moved to another column), a keyed
** blind index for looking up encrypted values, whole-file encryption for
** backups (libsodium secretstream) and key rotation (SEC-7).
**
** Key file: text, mode 0600, one key a line: "<id> <base64url 32 bytes>";
** the last line is the current key.  Old keys stay until every field has
** been re-encrypted with the current one (keys rotate).
*/
#ifndef CITYOS_CRYPTO_H
#define CITYOS_CRYPTO_H

#include <stddef.h>

struct keyring;
struct db;

/* create: make the file with one fresh key when it does not exist. */
int keyring_load(const char *path, int create, struct keyring **out, char *err,
                 size_t errlen);
void keyring_free(struct keyring *k);
const char *keyring_current_id(const struct keyring *k);
/* Appends a new key to the file and makes it current. */
int keyring_add_key(const char *path, char *err, size_t errlen);

/* "enc1:<keyid>:<base64url(nonce||ciphertext)>"; never NULL. */
char *field_encrypt(const struct keyring *k, const char *context,
                    const char *plaintext);
/* NULL when the value is not ours, was tampered with or moved. A value
** without the "enc1:" prefix is returned as a copy (migration aid). */
char *field_decrypt(const struct keyring *k, const char *context,
                    const char *stored);
/* HMAC-SHA-256 of the normalised value under a key derived from the first
** key in the file, hex; for equality search over encrypted columns. */
void field_blind_index(const struct keyring *k, const char *context,
                       const char *value, char out[65]);

/* Whole files (backups).  0 on success. */
int file_encrypt(const struct keyring *k, const char *in_path,
                 const char *out_path);
int file_decrypt(const struct keyring *k, const char *in_path,
                 const char *out_path);

/* Re-encrypts every registered encrypted column with the current key.
** Returns the number of values rewritten, or -1. */
long keys_reencrypt(struct db *db, const struct keyring *k);

#endif
