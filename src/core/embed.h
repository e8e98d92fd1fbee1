/*
** embed.h - files compiled into the binary: templates/, static/,
** messages/, migrations/ and data/.  tools/embed.c generates the table
** at build time.
*/
#ifndef CITYOS_EMBED_H
#define CITYOS_EMBED_H

#include <stddef.h>

struct embedded_file {
    const char *path;          /* e.g. "templates/layout.html" */
    const unsigned char *data; /* NUL-terminated for convenience */
    size_t len;
    const char *hash; /* first 16 hex chars of SHA-256 */
};

extern const struct embedded_file embedded_files[];
extern const size_t embedded_count;

/* NULL when absent. */
const struct embedded_file *embed_find(const char *path);

#endif
