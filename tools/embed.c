/*
** embed.c - build tool: turns the files named on the command line into a C
** table (struct embedded_file, see src/core/embed.h) on standard output, so
** templates, static files, messages and migrations travel inside the one
** cityos binary.  Each entry carries a short SHA-256 used for cache-busting
** static URLs.
*/
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *d = malloc(cap);
    size_t r;
    while (d && (r = fread(d + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            d = realloc(d, cap);
        }
    }
    fclose(f);
    *len = n;
    return d;
}

int main(int argc, char **argv)
{
    printf("#include \"core/embed.h\"\n#include <string.h>\n");
    for (int i = 1; i < argc; i++) {
        size_t len;
        unsigned char *d = slurp(argv[i], &len);
        if (!d) {
            fprintf(stderr, "embed: cannot read %s\n", argv[i]);
            return 1;
        }
        printf("static const unsigned char f%d[] = {", i);
        for (size_t j = 0; j < len; j++)
            printf("%s%u,", j % 24 ? "" : "\n", d[j]);
        printf("0};\n");
        free(d);
    }
    printf("const struct embedded_file embedded_files[] = {\n");
    for (int i = 1; i < argc; i++) {
        size_t len;
        unsigned char *d = slurp(argv[i], &len);
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256(d, len, md);
        char hex[17];
        for (int j = 0; j < 8; j++)
            sprintf(hex + 2 * j, "%02x", md[j]);
        printf("  {\"%s\", f%d, %zu, \"%s\"},\n", argv[i], i, len, hex);
        free(d);
    }
    printf("  {0, 0, 0, 0}\n};\n");
    printf("const size_t embedded_count = %d;\n", argc - 1);
    printf("const struct embedded_file *embed_find(const char *path)\n{\n"
           "    for (size_t i = 0; i < embedded_count; i++)\n"
           "        if (strcmp(embedded_files[i].path, path) == 0)\n"
           "            return &embedded_files[i];\n"
           "    return 0;\n}\n");
    return 0;
}
