/*
** app.c - configuration (defaults, file, environment, flags) and opening
** the database and keyring for a command.  Every setting is listed once in
** the table below; docs/operations.md describes each.
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "crypto.h"
#include "db.h"
#include "util.h"

struct app *the_app;

enum { T_STR, T_INT };

struct setting {
    const char *name;
    int type;
    size_t off;
    size_t size;
    const char *def;
};

#define S(f, d)                                                                \
    {                                                                          \
#f, T_STR, offsetof(struct config, f),                                 \
            sizeof(((struct config *)0)->f), d                                 \
    }
#define I(f, d)                                                                \
    {                                                                          \
#f, T_INT, offsetof(struct config, f), sizeof(int), d                  \
    }
#define L(f, d)                                                                \
    {                                                                          \
#f, T_INT, offsetof(struct config, f), sizeof(int64_t), d              \
    }

static const struct setting settings[] = {
    S(db, "sqlite:var/cityos.db"),
    S(listen, "127.0.0.1:8080"),
    S(key_file, ""),
    S(tls_cert, ""),
    S(tls_key, ""),
    S(base_url, "http://127.0.0.1:8080"),
    I(trust_proxy, "0"),
    I(threads, "8"),
    I(db_pool, "16"),
    L(max_body, "1048576"),
    L(max_upload, "20971520"),
    I(session_idle, "1800"),
    I(session_absolute, "43200"),
    I(priv_session_idle, "900"),
    I(priv_session_absolute, "14400"),
    I(priv_password_days, "180"),
    I(lockout_threshold, "10"),
    I(ip_fail_limit, "50"),
    S(smtp_url, "smtp://127.0.0.1:25"),
    S(smtp_user, ""),
    S(smtp_password, ""),
    S(mail_from, "cityos@localhost"),
    S(alert_mail, ""),
    S(backup_dir, "var/backups"),
    I(backup_keep, "7"),
    S(backup_window, "02:00-05:00"),
    I(jobs, "1"),
    S(access_log, "-"),
    S(pickup_contact, ""),
    I(test_mode, "0"),
};

static const struct setting *find_setting(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(settings); i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

static int set_value(struct config *cfg, const struct setting *s, const char *v)
{
    char *field = (char *)cfg + s->off;
    if (s->type == T_STR) {
        if (strlen(v) >= s->size) {
            fprintf(stderr, "cityos: %s is too long\n", s->name);
            return -1;
        }
        str_copy(field, v, s->size);
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v || n < 0) {
        fprintf(stderr, "cityos: %s must be a non-negative number\n", s->name);
        return -1;
    }
    if (s->size == sizeof(int) && n > INT_MAX) {
        fprintf(stderr, "cityos: %s is too large\n", s->name);
        return -1;
    }
    if (s->size == sizeof(int))
        *(int *)field = (int)n;
    else
        *(int64_t *)field = n;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static int load_file(struct config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cityos: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            fprintf(stderr, "cityos: %s:%d: expected key = value\n", path,
                    lineno);
            rc = -1;
            break;
        }
        *eq = 0;
        const struct setting *s = find_setting(trim(l));
        if (!s) {
            fprintf(stderr, "cityos: %s:%d: unknown setting %s\n", path, lineno,
                    trim(l));
            rc = -1;
            break;
        }
        rc = set_value(cfg, s, trim(eq + 1));
    }
    fclose(f);
    return rc;
}

static int load_env(struct config *cfg)
{
    for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
        char name[64] = "CITYOS_";
        size_t n = strlen(name);
        for (const char *p = settings[i].name; *p && n < sizeof name - 1; p++)
            name[n++] = (char)toupper((unsigned char)*p);
        name[n] = 0;
        const char *v = getenv(name);
        if (v && set_value(cfg, &settings[i], v) != 0)
            return -1;
    }
    return 0;
}

/* "--key-file" -> "key_file" */
static const struct setting *flag_setting(const char *flag)
{
    char name[64];
    size_t n = 0;
    for (const char *p = flag + 2; *p && n < sizeof name - 1; p++)
        name[n++] = *p == '-' ? '_' : *p;
    name[n] = 0;
    return find_setting(name);
}

int config_load(struct config *cfg, int argc, char **argv, char ***rest,
                int *nrest)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < ARRAY_LEN(settings); i++)
        set_value(cfg, &settings[i], settings[i].def);
    const char *file = getenv("CITYOS_CONFIG");
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0)
            file = argv[i + 1];
    if (file && load_file(cfg, file) != 0)
        return -1;
    if (load_env(cfg) != 0)
        return -1;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (str_starts(argv[i], "--")) {
            const struct setting *s = flag_setting(argv[i]);
            if (!s) {
                argv[n++] = argv[i]; /* a command's own flag */
                if (i + 1 < argc && !str_starts(argv[i + 1], "--"))
                    argv[n++] = argv[++i];
                continue;
            }
            if (i + 1 >= argc) {
                fprintf(stderr, "cityos: %s needs a value\n", argv[i]);
                return -1;
            }
            if (set_value(cfg, s, argv[++i]) != 0)
                return -1;
            continue;
        }
        argv[n++] = argv[i];
    }
    argv[n] = NULL;
    *rest = argv;
    *nrest = n;
    if (cfg->threads < 1)
        cfg->threads = 1;
    if (cfg->db_pool < cfg->threads + 2)
        cfg->db_pool = cfg->threads + 2;
    return 0;
}

int config_resolve_key_file(struct config *cfg)
{
    if (cfg->key_file[0])
        return 0;
    if (!str_starts(cfg->db, "sqlite:")) {
        fprintf(stderr, "cityos: a key file is required with PostgreSQL "
                        "(--key-file or CITYOS_KEY_FILE)\n");
        return -1;
    }
    const char *path = cfg->db + 7;
    if ((size_t)snprintf(cfg->key_file, sizeof cfg->key_file, "%s.keys",
                         path) >= sizeof cfg->key_file)
        return -1;
    return 0;
}

static void make_parent_dir(const char *path)
{
    char dir[1024];
    str_copy(dir, path, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0750);
            *p = '/';
        }
    }
    mkdir(dir, 0750);
}

int app_open(struct app *app, int migrate)
{
    char err[512];
    if (config_resolve_key_file(&app->cfg) != 0)
        return -1;
    if (str_starts(app->cfg.db, "sqlite:"))
        make_parent_dir(app->cfg.db + 7);
    if (keyring_load(app->cfg.key_file, migrate, &app->keys, err, sizeof err) !=
        0) {
        fprintf(stderr, "cityos: key file %s: %s\n", app->cfg.key_file, err);
        if (!migrate)
            fprintf(stderr, "cityos: run `cityos init` first\n");
        return -1;
    }
    if (db_open(app->cfg.db, app->cfg.db_pool, &app->db, err, sizeof err) !=
        0) {
        fprintf(stderr, "cityos: database: %s\n", err);
        return -1;
    }
    if (migrate && db_migrate(app->db, err, sizeof err) != 0) {
        fprintf(stderr, "cityos: migration failed: %s\n", err);
        return -1;
    }
    if (!migrate && db_schema_version(app->db) <= 0) {
        fprintf(stderr,
                "cityos: the database has no schema; run "
                "`cityos init --db %s` first\n",
                app->cfg.db);
        return -1;
    }
    the_app = app;
    return 0;
}

void app_close(struct app *app)
{
    db_close(app->db);
    keyring_free(app->keys);
    app->db = NULL;
    app->keys = NULL;
}
