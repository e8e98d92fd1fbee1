/*
** util.h - small shared helpers: growable buffers, checked allocation,
** bounded string copies and time.  Everything else in cityos builds on these.
*/
#ifndef CITYOS_UTIL_H
#define CITYOS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define CITYOS_VERSION "0.1.0"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is not recoverable in a server that must not corrupt
** data half-way; like git's xmalloc we stop at once with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A growable byte buffer, always NUL-terminated after its length. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Gives the caller the data (never NULL) and leaves b empty. */
char *buf_steal(struct buf *b);

/* strlcpy semantics: returns strlen(src); dst always terminated. */
size_t str_copy(char *dst, const char *src, size_t dstlen);
int str_eq(const char *a, const char *b);
int str_starts(const char *s, const char *prefix);
/* Compares in time independent of where the first difference is. */
int str_ct_eq(const char *a, const char *b);

/* Hex and base64url (no padding) encodings. */
void hex_encode(const unsigned char *in, size_t n, char *out); /* out: 2n+1 */
char *b64url_encode(const unsigned char *in, size_t n);
/* Returns decoded length or -1 on bad input; out needs n*3/4+3 bytes. */
long b64url_decode(const char *in, unsigned char *out, size_t outcap);

/* Seconds since the epoch (UTC). */
int64_t now_unix(void);
/* Milliseconds from a monotonic clock, for durations. */
int64_t now_mono_ms(void);
/* "2026-11-22 13:05:00" in Japan time (UTC+9, no DST) for display. */
void time_format_jst(int64_t t, char *out, size_t outlen);
/* ISO 8601 UTC: "2026-11-22T04:05:00Z". */
void time_format_iso(int64_t t, char *out, size_t outlen);

/* Initialises libsodium once (thread-safe); 0 when ready.  Every module
** using libsodium calls it first. */
int sodium_ready(void);

/* Cryptographically random token: nbytes of entropy, base64url text. */
char *random_token(size_t nbytes);

/* SHA-256 of data as 64 hex chars + NUL. */
void sha256_hex(const void *data, size_t n, char out[65]);

/* Reads a whole file (bounded by maxlen); NULL on error. */
char *file_read(const char *path, size_t maxlen, size_t *lenp);
/* Writes via a temporary file and rename, so a crash never leaves half a file.
 */
int file_write_atomic(const char *path, const void *data, size_t n, int mode);

/* Logging to stderr with a level prefix. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
