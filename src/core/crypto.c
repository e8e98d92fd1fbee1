/*
** crypto.c - the key file, field encryption, blind indexes, encrypted
** backup files and key rotation (SEC-7).  See crypto.h for the formats.
**
** Everything here is libsodium: XChaCha20-Poly1305 for fields (random
** 192-bit nonces are safe without a counter), HMAC-SHA-256 for blind
** indexes, crypto_secretstream for files (each 64 KiB chunk authenticated
** and ordered, with an explicit FINAL tag so truncation is detected).
** Keys live in sodium_malloc() memory: locked, guarded, kept out of core
** dumps, and read-only once loaded.
*/
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "util.h"

#define KEY_BYTES      32
#define KEY_ID_MAX     16 /* including the NUL */
#define MAX_KEYS       256
#define KEYFILE_MAX    (64 * 1024)
#define FIELD_PREFIX   "enc1:"
#define NONCE_BYTES    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES      crypto_aead_xchacha20poly1305_ietf_ABYTES
#define FILE_MAGIC     "CITYOSB1"
#define FILE_MAGIC_LEN 8
#define FILE_CHUNK     (64 * 1024)
#define FILE_ENC_CHUNK                                                         \
    (FILE_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)
/* crypto_kdf context of the blind-index key: exactly 8 characters. */
#define BLIND_KDF_CTX "cityosbi"
#define BLIND_KDF_ID  1
#define REENC_BATCH   200

_Static_assert(KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "field key size");
_Static_assert(KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "file key size");
_Static_assert(KEY_BYTES == crypto_kdf_KEYBYTES, "kdf key size");
_Static_assert(KEY_BYTES == crypto_auth_hmacsha256_KEYBYTES, "hmac key size");

struct key {
    char id[KEY_ID_MAX];
    unsigned char k[KEY_BYTES];
};

struct keyring {
    size_t n;           /* keys[n - 1] is the current key */
    struct key *keys;   /* sodium_allocarray */
    unsigned char *bik; /* blind-index key, sodium_malloc */
};

/* Columns holding field_encrypt() values, for keys_reencrypt().  The
** context is what the services pass to field_encrypt() for that column.
** Add a line here when a migration adds an encrypted column. */
static const struct enc_column {
    const char *table, *id_col, *col, *context;
} enc_columns[] = {
    {"users", "id", "email", "users.email"},
    {"users", "id", "totp_secret", "users.totp_secret"},
    /* mail.c: queued mail keeps personal data until sent and purged */
    {"mail_queue", "id", "to_addr", "mail_queue.to_addr"},
    {"mail_queue", "id", "subject", "mail_queue.subject"},
    {"mail_queue", "id", "body", "mail_queue.body"},
    /* pickup: the name in kana (staff only) and the citizen's address */
    {"notices", "id", "name_kana", "notices.name_kana"},
    {"notices", "id", "email", "notices.email"},
    {"pickup_import_batches", "id", "data", "pickup_import_batches.data"},
};

/* ---- small helpers ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int valid_key_id(const char *id, size_t n)
{
    if (n == 0 || n >= KEY_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

static const struct key *find_key(const struct keyring *k, const char *id,
                                  size_t idlen)
{
    for (size_t i = 0; i < k->n; i++)
        if (strlen(k->keys[i].id) == idlen &&
            memcmp(k->keys[i].id, id, idlen) == 0)
            return &k->keys[i];
    return NULL;
}

static const struct key *current_key(const struct keyring *k)
{
    return &k->keys[k->n - 1];
}

/* fsync of the directory holding path, so a rename survives a crash. */
static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    if (str_copy(dir, path, sizeof dir) >= sizeof dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (!slash)
        str_copy(dir, ".", sizeof dir);
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Opens "<path>.tmp.<pid>" for writing with mode 0600, whatever a stale
** file of that name had. */
static int open_temp(const char *path, char *tmp, size_t tmplen)
{
    if ((size_t)snprintf(tmp, tmplen, "%s.tmp.%d", path, (int)getpid()) >=
        tmplen)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    return fd;
}

/* The key file is replaced whole: temp file, fsync, rename, fsync of the
** directory.  A crash leaves the old or the new file, never half of one. */
static int key_file_write(const char *path, const char *text, size_t n)
{
    char tmp[PATH_MAX];
    int fd = open_temp(path, tmp, sizeof tmp);
    if (fd < 0)
        return -1;
    if (write_all(fd, text, n) != 0 || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return sync_dir_of(path);
}

/* "<id> <base64url key>\n" for a fresh random key. */
static void new_key_line(struct buf *b, const char *id)
{
    unsigned char key[KEY_BYTES];
    randombytes_buf(key, sizeof key);
    char *b64 = b64url_encode(key, sizeof key);
    buf_printf(b, "%s %s\n", id, b64);
    sodium_memzero(key, sizeof key);
    sodium_memzero(b64, strlen(b64));
    free(b64);
}

/* ---- the key file ---- */

static int parse_line(struct keyring *k, char *line, char *err, size_t errlen,
                      int lineno)
{
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        line[--len] = 0;
    if (len == 0 || line[0] == '#')
        return 0;
    char *sp = strchr(line, ' ');
    if (!sp || !valid_key_id(line, (size_t)(sp - line))) {
        set_err(err, errlen, "key file line %d: expected \"<id> <key>\"",
                lineno);
        return -1;
    }
    size_t idlen = (size_t)(sp - line);
    if (find_key(k, line, idlen)) {
        set_err(err, errlen, "key file line %d: duplicate key id", lineno);
        return -1;
    }
    if (k->n == MAX_KEYS) {
        set_err(err, errlen, "key file: more than %d keys", MAX_KEYS);
        return -1;
    }
    unsigned char raw[KEY_BYTES + 8];
    while (*sp == ' ')
        sp++;
    long n = b64url_decode(sp, raw, sizeof raw);
    if (n != KEY_BYTES) {
        sodium_memzero(raw, sizeof raw);
        set_err(err, errlen,
                "key file line %d: key is not 32 bytes of "
                "base64url",
                lineno);
        return -1;
    }
    struct key *dst = &k->keys[k->n++];
    memcpy(dst->id, line, idlen);
    dst->id[idlen] = 0;
    memcpy(dst->k, raw, KEY_BYTES);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

static int parse_key_file(struct keyring *k, char *text, char *err,
                          size_t errlen)
{
    int lineno = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (parse_line(k, line, err, errlen, ++lineno) != 0)
            return -1;
        line = nl ? nl + 1 : NULL;
    }
    if (k->n == 0) {
        set_err(err, errlen, "key file has no key");
        return -1;
    }
    return 0;
}

/* Creates the key file with one key "k1"; fails if it exists already
** (O_EXCL), so two processes starting at once cannot both create one. */
static int create_key_file(const char *path, char *err, size_t errlen)
{
    struct buf b;
    buf_init(&b);
    new_key_line(&b, "k1");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0) {
        rc = (write_all(fd, b.data, b.len) == 0 && fsync(fd) == 0) ? 0 : -1;
        if (close(fd) != 0)
            rc = -1;
        if (rc != 0)
            unlink(path);
        else
            rc = sync_dir_of(path);
    } else if (errno == EEXIST) {
        rc = 0; /* someone else made it first: load theirs */
    }
    if (rc != 0)
        set_err(err, errlen, "cannot create key file %s: %s", path,
                strerror(errno));
    else if (fd >= 0)
        log_info("crypto: created key file %s", path);
    sodium_memzero(b.data, b.len);
    buf_free(&b);
    return rc;
}

/* The key file must not be readable by everyone; group access is allowed
** (a deployment may share it with a backup group) but reported. */
static int check_mode(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        set_err(err, errlen, "key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "key file %s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & 007) {
        set_err(err, errlen,
                "key file %s is accessible by other users (mode %03o); "
                "run chmod 600",
                path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    if (st.st_mode & 070)
        log_warn("crypto: key file %s is accessible by its group (mode %03o)",
                 path, (unsigned)(st.st_mode & 0777));
    return 0;
}

static struct keyring *keyring_new(void)
{
    struct keyring *k = xcalloc(1, sizeof *k);
    k->keys = sodium_allocarray(MAX_KEYS, sizeof *k->keys);
    k->bik = sodium_malloc(KEY_BYTES);
    if (!k->keys || !k->bik) {
        keyring_free(k);
        return NULL;
    }
    return k;
}

int keyring_load(const char *path, int create, struct keyring **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    if (sodium_ready() != 0) {
        set_err(err, errlen, "libsodium cannot be initialised");
        return -1;
    }
    if (create && access(path, F_OK) != 0 && errno == ENOENT &&
        create_key_file(path, err, errlen) != 0)
        return -1;
    if (check_mode(path, err, errlen) != 0)
        return -1;
    size_t len;
    char *text = file_read(path, KEYFILE_MAX, &len);
    if (!text) {
        set_err(err, errlen, "cannot read key file %s: %s", path,
                strerror(errno));
        return -1;
    }
    struct keyring *k = keyring_new();
    int rc = k ? parse_key_file(k, text, err, errlen) : -1;
    if (!k)
        set_err(err, errlen, "cannot allocate locked memory for keys");
    sodium_memzero(text, len);
    free(text);
    if (rc == 0 &&
        crypto_kdf_derive_from_key(k->bik, KEY_BYTES, BLIND_KDF_ID,
                                   BLIND_KDF_CTX, k->keys[0].k) != 0) {
        set_err(err, errlen, "blind-index key derivation failed");
        rc = -1;
    }
    if (rc != 0) {
        keyring_free(k);
        return -1;
    }
    sodium_mprotect_readonly(k->keys);
    sodium_mprotect_readonly(k->bik);
    *out = k;
    return 0;
}

void keyring_free(struct keyring *k)
{
    if (!k)
        return;
    sodium_free(k->keys); /* zeroes the memory first */
    sodium_free(k->bik);
    free(k);
}

const char *keyring_current_id(const struct keyring *k)
{
    return current_key(k)->id;
}

/* The next id "k<N>": one more than the largest such number in use.  -1
** when the numbers have run out (no one rotates a million times). */
static int next_key_id(const struct keyring *k, char out[KEY_ID_MAX])
{
    long max = 0;
    for (size_t i = 0; i < k->n; i++) {
        const char *id = k->keys[i].id;
        if (id[0] != 'k' || !id[1] ||
            strspn(id + 1, "0123456789") != strlen(id + 1))
            continue;
        long v = strtol(id + 1, NULL, 10);
        if (v > max)
            max = v;
    }
    if (max >= 999999)
        return -1;
    snprintf(out, KEY_ID_MAX, "k%d", (int)max + 1);
    return 0;
}

int keyring_add_key(const char *path, char *err, size_t errlen)
{
    struct keyring *k;
    if (keyring_load(path, 0, &k, err, errlen) != 0)
        return -1;
    char id[KEY_ID_MAX];
    int idok = k->n < MAX_KEYS ? next_key_id(k, id) : -1;
    keyring_free(k);
    if (idok != 0) {
        set_err(err, errlen, "key file %s: no key id left", path);
        return -1;
    }
    size_t len;
    char *text = file_read(path, KEYFILE_MAX, &len);
    if (!text) {
        set_err(err, errlen, "cannot read key file %s: %s", path,
                strerror(errno));
        return -1;
    }
    struct buf b;
    buf_init(&b);
    buf_append(&b, text, len);
    if (len > 0 && text[len - 1] != '\n')
        buf_putc(&b, '\n');
    new_key_line(&b, id);
    int rc = key_file_write(path, b.data, b.len);
    if (rc != 0)
        set_err(err, errlen, "cannot write key file %s: %s", path,
                strerror(errno));
    else
        log_info("crypto: added key %s to %s", id, path);
    sodium_memzero(text, len);
    free(text);
    sodium_memzero(b.data, b.len);
    buf_free(&b);
    return rc;
}

/* ---- fields ---- */

char *field_encrypt(const struct keyring *k, const char *context,
                    const char *plaintext)
{
    if (!context)
        context = "";
    if (!plaintext)
        plaintext = "";
    const struct key *key = current_key(k);
    size_t pl = strlen(plaintext);
    unsigned char *blob = xmalloc(NONCE_BYTES + pl + TAG_BYTES);
    unsigned long long clen = 0;
    randombytes_buf(blob, NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        blob + NONCE_BYTES, &clen, (const unsigned char *)plaintext, pl,
        (const unsigned char *)context, strlen(context), NULL, blob, key->k);
    char *b64 = b64url_encode(blob, NONCE_BYTES + (size_t)clen);
    free(blob);
    struct buf b;
    buf_init(&b);
    buf_printf(&b, FIELD_PREFIX "%s:%s", key->id, b64);
    free(b64);
    return buf_steal(&b);
}

char *field_decrypt(const struct keyring *k, const char *context,
                    const char *stored)
{
    if (!stored)
        return NULL;
    if (!str_starts(stored, FIELD_PREFIX))
        return xstrdup(stored);
    if (!context)
        context = "";
    const char *id = stored + strlen(FIELD_PREFIX);
    const char *colon = strchr(id, ':');
    if (!colon)
        return NULL;
    const struct key *key = find_key(k, id, (size_t)(colon - id));
    if (!key)
        return NULL;
    const char *b64 = colon + 1;
    size_t cap = strlen(b64) * 3 / 4 + 3;
    unsigned char *blob = xmalloc(cap);
    long n = b64url_decode(b64, blob, cap);
    if (n < (long)(NONCE_BYTES + TAG_BYTES)) {
        free(blob);
        return NULL;
    }
    size_t clen = (size_t)n - NONCE_BYTES;
    char *plain = xmalloc(clen - TAG_BYTES + 1);
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            (unsigned char *)plain, &mlen, NULL, blob + NONCE_BYTES, clen,
            (const unsigned char *)context, strlen(context), blob,
            key->k) != 0) {
        free(blob);
        free(plain);
        return NULL;
    }
    free(blob);
    plain[mlen] = 0;
    return plain;
}

void field_blind_index(const struct keyring *k, const char *context,
                       const char *value, char out[65])
{
    /* Normalised: ASCII white space trimmed, ASCII letters lower-cased, so
    ** "Taro@Example.JP " finds "taro@example.jp". */
    if (!value)
        value = "";
    if (!context)
        context = "";
    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' ||
                     value[n - 1] == '\r' || value[n - 1] == '\n'))
        n--;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, k->bik, KEY_BYTES);
    /* The context goes first, NUL-terminated, so equal values in two
    ** columns get unrelated indexes. */
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)context,
                                  strlen(context) + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        crypto_auth_hmacsha256_update(&st, &c, 1);
    }
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&st, mac);
    hex_encode(mac, sizeof mac, out);
    sodium_memzero(&st, sizeof st);
}

/* ---- files ----
** Layout: "CITYOSB1", one byte n, n bytes of key id, the 24-byte
** secretstream header, then chunks of up to 64 KiB plaintext + 17 bytes,
** the last tagged FINAL.  The bytes before the stream header are the
** associated data of every chunk, so they cannot be altered either. */

struct file_pair {
    FILE *in;
    FILE *out;
    int outfd;
    char tmp[PATH_MAX];
};

static int pair_open(struct file_pair *p, const char *in_path,
                     const char *out_path)
{
    p->out = NULL;
    p->in = fopen(in_path, "rb");
    if (!p->in)
        return -1;
    p->outfd = open_temp(out_path, p->tmp, sizeof p->tmp);
    if (p->outfd < 0) {
        fclose(p->in);
        return -1;
    }
    p->out = fdopen(p->outfd, "wb");
    if (!p->out) {
        close(p->outfd);
        unlink(p->tmp);
        fclose(p->in);
        return -1;
    }
    return 0;
}

/* ok: keep the output (flush, fsync, rename) or throw it away. */
static int pair_close(struct file_pair *p, const char *out_path, int ok)
{
    fclose(p->in);
    if (ok && (fflush(p->out) != 0 || fsync(p->outfd) != 0))
        ok = 0;
    if (fclose(p->out) != 0)
        ok = 0;
    if (ok && rename(p->tmp, out_path) == 0)
        return 0;
    unlink(p->tmp);
    return -1;
}

static int encrypt_stream(const struct key *key, FILE *in, FILE *out)
{
    unsigned char ad[FILE_MAGIC_LEN + 1 + KEY_ID_MAX];
    size_t idlen = strlen(key->id);
    memcpy(ad, FILE_MAGIC, FILE_MAGIC_LEN);
    ad[FILE_MAGIC_LEN] = (unsigned char)idlen;
    memcpy(ad + FILE_MAGIC_LEN + 1, key->id, idlen);
    size_t adlen = FILE_MAGIC_LEN + 1 + idlen;
    crypto_secretstream_xchacha20poly1305_state st;
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_init_push(&st, header, key->k);
    if (fwrite(ad, 1, adlen, out) != adlen ||
        fwrite(header, 1, sizeof header, out) != sizeof header)
        return -1;
    unsigned char *pin = xmalloc(FILE_CHUNK);
    unsigned char *cout = xmalloc(FILE_ENC_CHUNK);
    int rc = 0, eof = 0;
    while (!eof && rc == 0) {
        size_t r = fread(pin, 1, FILE_CHUNK, in);
        if (ferror(in)) {
            rc = -1;
            break;
        }
        eof = feof(in);
        unsigned char tag =
            eof ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
        unsigned long long clen = 0;
        crypto_secretstream_xchacha20poly1305_push(&st, cout, &clen, pin, r, ad,
                                                   adlen, tag);
        if (fwrite(cout, 1, (size_t)clen, out) != clen)
            rc = -1;
    }
    sodium_memzero(&st, sizeof st);
    sodium_memzero(pin, FILE_CHUNK);
    free(pin);
    free(cout);
    return rc;
}

int file_encrypt(const struct keyring *k, const char *in_path,
                 const char *out_path)
{
    struct file_pair p;
    if (pair_open(&p, in_path, out_path) != 0)
        return -1;
    int rc = encrypt_stream(current_key(k), p.in, p.out);
    return pair_close(&p, out_path, rc == 0);
}

/* Reads and checks the file header; returns the key it names. */
static const struct key *read_file_header(const struct keyring *k, FILE *in,
                                          unsigned char *ad, size_t *adlen)
{
    if (fread(ad, 1, FILE_MAGIC_LEN + 1, in) != FILE_MAGIC_LEN + 1 ||
        memcmp(ad, FILE_MAGIC, FILE_MAGIC_LEN) != 0)
        return NULL;
    size_t idlen = ad[FILE_MAGIC_LEN];
    if (idlen == 0 || idlen >= KEY_ID_MAX ||
        fread(ad + FILE_MAGIC_LEN + 1, 1, idlen, in) != idlen)
        return NULL;
    *adlen = FILE_MAGIC_LEN + 1 + idlen;
    return find_key(k, (const char *)ad + FILE_MAGIC_LEN + 1, idlen);
}

static int decrypt_stream(const struct keyring *k, FILE *in, FILE *out)
{
    unsigned char ad[FILE_MAGIC_LEN + 1 + KEY_ID_MAX];
    size_t adlen = 0;
    const struct key *key = read_file_header(k, in, ad, &adlen);
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_state st;
    if (!key || fread(header, 1, sizeof header, in) != sizeof header ||
        crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key->k) !=
            0)
        return -1;
    unsigned char *cin = xmalloc(FILE_ENC_CHUNK);
    unsigned char *pout = xmalloc(FILE_CHUNK);
    int rc = -1;
    for (;;) {
        size_t r = fread(cin, 1, FILE_ENC_CHUNK, in);
        if (ferror(in) || r == 0)
            break; /* read error, or the stream ended without FINAL */
        unsigned long long mlen = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(&st, pout, &mlen, &tag,
                                                       cin, r, ad, adlen) != 0)
            break; /* tampered, reordered or wrong key */
        if (fwrite(pout, 1, (size_t)mlen, out) != mlen)
            break;
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            /* Anything after the final chunk was not written by us. */
            rc = fgetc(in) == EOF && !ferror(in) ? 0 : -1;
            break;
        }
    }
    sodium_memzero(&st, sizeof st);
    sodium_memzero(pout, FILE_CHUNK);
    free(cin);
    free(pout);
    return rc;
}

int file_decrypt(const struct keyring *k, const char *in_path,
                 const char *out_path)
{
    struct file_pair p;
    if (pair_open(&p, in_path, out_path) != 0)
        return -1;
    int rc = decrypt_stream(k, p.in, p.out);
    return pair_close(&p, out_path, rc == 0);
}

/* ---- key rotation ---- */

struct reenc_row {
    int64_t id;
    char *value;
};

/* 1 when stored is already encrypted with the current key. */
static int is_current(const struct keyring *k, const char *stored)
{
    const char *id = keyring_current_id(k);
    size_t pl = strlen(FIELD_PREFIX), il = strlen(id);
    return str_starts(stored, FIELD_PREFIX) &&
           strncmp(stored + pl, id, il) == 0 && stored[pl + il] == ':';
}

/* Reads up to REENC_BATCH rows with id > after into rows; returns the
** count or -1. */
static int reenc_fetch(struct db_conn *c, const struct enc_column *ec,
                       int64_t after, struct reenc_row *rows)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT %s, %s FROM %s WHERE %s IS NOT NULL AND %s > ? "
             "ORDER BY %s LIMIT %d",
             ec->id_col, ec->col, ec->table, ec->col, ec->id_col, ec->id_col,
             REENC_BATCH);
    struct db_stmt *s = db_queryf(c, sql, "i", after);
    if (!s)
        return -1;
    int n = 0, rc = DB_DONE;
    while (n < REENC_BATCH && (rc = db_step(s)) == DB_ROW) {
        rows[n].id = db_col_int(s, 0);
        rows[n].value = xstrdup(db_col_text(s, 1));
        n++;
    }
    if (n < REENC_BATCH && rc != DB_DONE)
        n = -1;
    db_finalize(s);
    return n;
}

/* Re-encrypts one row; 1 when rewritten, 0 when it changed meanwhile or
** is current, -1 on error. */
static int reenc_row(struct db_conn *c, const struct keyring *k,
                     const struct enc_column *ec, const struct reenc_row *row)
{
    if (is_current(k, row->value))
        return 0;
    char *plain = field_decrypt(k, ec->context, row->value);
    if (!plain) {
        log_error("crypto: %s.%s of %s %lld cannot be decrypted with the "
                  "key file (key missing or value damaged)",
                  ec->table, ec->col, ec->id_col, (long long)row->id);
        return -1;
    }
    char *enc = field_encrypt(k, ec->context, plain);
    sodium_memzero(plain, strlen(plain));
    free(plain);
    char sql[256];
    /* "AND col = ?": a value rewritten by the application meanwhile is
    ** left alone (it already uses the current key). */
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?",
             ec->table, ec->col, ec->id_col, ec->col);
    int64_t r = db_run(c, sql, "sis", enc, row->id, row->value);
    free(enc);
    if (r < 0) {
        log_error("crypto: re-encrypting %s.%s: %s", ec->table, ec->col,
                  db_errmsg(c));
        return -1;
    }
    return r > 0 ? 1 : 0;
}

/* One batch in one transaction; returns rows rewritten or -1, and sets
** *more when a full batch was read. */
static long reenc_batch(struct db_conn *c, const struct keyring *k,
                        const struct enc_column *ec, int64_t *after, int *more)
{
    static const size_t cap = REENC_BATCH;
    struct reenc_row *rows = xcalloc(cap, sizeof *rows);
    long done = 0;
    *more = 0;
    if (db_begin(c) != DB_OK) {
        free(rows);
        return -1;
    }
    int n = reenc_fetch(c, ec, *after, rows);
    for (int i = 0; i < n && done >= 0; i++) {
        int r = reenc_row(c, k, ec, &rows[i]);
        done = r < 0 ? -1 : done + r;
        *after = rows[i].id;
    }
    if (n < 0)
        done = -1;
    if (done >= 0 && db_commit(c) != DB_OK)
        done = -1;
    if (done < 0)
        db_rollback(c);
    *more = n == REENC_BATCH;
    for (int i = 0; i < n; i++)
        free(rows[i].value);
    free(rows);
    return done;
}

long keys_reencrypt(struct db *db, const struct keyring *k)
{
    struct db_conn *c = db_acquire(db);
    if (!c)
        return -1;
    long total = 0;
    for (size_t i = 0; i < ARRAY_LEN(enc_columns) && total >= 0; i++) {
        const struct enc_column *ec = &enc_columns[i];
        int64_t after = INT64_MIN;
        int more = 1;
        while (more && total >= 0) {
            long r = reenc_batch(c, k, ec, &after, &more);
            total = r < 0 ? -1 : total + r;
        }
    }
    db_release(c);
    return total;
}
