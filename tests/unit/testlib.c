/*
** testlib.c - shared unit-test fixtures (see testlib.h).
*/
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/crypto.h"
#include "core/db.h"
#include "core/util.h"

extern char **environ;

#define SINK_SCRIPT "tests/tools/smtp_sink.py"

static char dir[256];
static struct app *open_app;
static char pg_name[64]; /* schema or database made by testlib_pg_create */
static int pg_is_database;
static pid_t sink_pid;
static char *saved_tmpdir; /* TMPDIR before a fixture with opts.tmpdir */
static int tmpdir_set;

int testlib_have_pg(void)
{
    const char *u = getenv("CITYOS_TEST_PG");
    return u && *u;
}

const char *testlib_dir(void)
{
    return dir;
}

/* ---- PostgreSQL ------------------------------------------------------- */

static int admin_exec(const char *sql)
{
    const char *base = getenv("CITYOS_TEST_PG");
    struct db *admin = NULL;
    char err[512];
    if (db_open(base, 1, &admin, err, sizeof err) != 0) {
        fprintf(stderr, "testlib: %s\n", err);
        return -1;
    }
    struct db_conn *c = db_acquire(admin);
    int rc = c ? db_exec(c, sql) : DB_ERROR;
    if (rc != DB_OK)
        fprintf(stderr, "testlib: %s: %s\n", sql,
                c ? db_errmsg(c) : "no connection");
    db_release(c);
    db_close(admin);
    return rc == DB_OK ? 0 : -1;
}

/* The CITYOS_TEST_PG URL with its database name replaced by name. */
static void url_with_database(const char *name, char *out, size_t outlen)
{
    const char *base = getenv("CITYOS_TEST_PG");
    const char *auth = strstr(base, "://");
    const char *host = auth ? auth + 3 : base;
    const char *slash = strchr(host, '/');
    const char *query = strchr(host, '?');
    if (!slash || (query && slash > query))
        slash = query ? query : base + strlen(base);
    snprintf(out, outlen, "%.*s/%s%s", (int)(slash - base), base, name,
             query ? query : "");
}

int testlib_pg_create(const char *name, int database, char *url, size_t urllen)
{
    const char *base = getenv("CITYOS_TEST_PG");
    if (!base || !*base) {
        fprintf(stderr, "testlib: CITYOS_TEST_PG is not set\n");
        return -1;
    }
    char id[64], sql[256];
    snprintf(id, sizeof id, "t_%s_%d", name, (int)getpid());
    if (database) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", id);
        if (admin_exec(sql) != 0)
            return -1;
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", id);
        if (admin_exec(sql) != 0)
            return -1;
        url_with_database(id, url, urllen);
    } else {
        snprintf(sql, sizeof sql,
                 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", id, id);
        if (admin_exec(sql) != 0)
            return -1;
        snprintf(url, urllen, "%s%coptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') ? '&' : '?', id);
    }
    /* Only what was made is dropped again. */
    str_copy(pg_name, id, sizeof pg_name);
    pg_is_database = database;
    return 0;
}

int testlib_pg_drop(void)
{
    if (!pg_name[0])
        return 0;
    char sql[128];
    snprintf(sql, sizeof sql,
             pg_is_database ? "DROP DATABASE IF EXISTS %s"
                            : "DROP SCHEMA %s CASCADE",
             pg_name);
    pg_name[0] = 0;
    return admin_exec(sql);
}

/* ---- the fixture ------------------------------------------------------ */

/* TMPDIR pointed at dir/tmp; the old value kept for testlib_close(). */
static int private_tmpdir(void)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    if (mkdir(tmp, 0700) != 0)
        return -1;
    const char *old = getenv("TMPDIR");
    saved_tmpdir = old ? xstrdup(old) : NULL;
    tmpdir_set = 1;
    return setenv("TMPDIR", tmp, 1);
}

static void restore_tmpdir(void)
{
    if (!tmpdir_set)
        return;
    if (saved_tmpdir)
        setenv("TMPDIR", saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(saved_tmpdir);
    saved_tmpdir = NULL;
    tmpdir_set = 0;
}

int testlib_open(const char *engine, const char *name, struct app *app)
{
    return testlib_open_opts(engine, name, NULL, app);
}

int testlib_open_opts(const char *engine, const char *name,
                      const struct testlib_opts *opts, struct app *app)
{
    memset(app, 0, sizeof *app);
    open_app = app;
    char **rest;
    int nrest;
    char *argv[] = {NULL};
    if (config_load(&app->cfg, 0, argv, &rest, &nrest) != 0)
        return -1;
    if (opts && opts->pool > 0)
        app->cfg.db_pool = opts->pool;
    if (testlib_mkdtemp(name, dir, sizeof dir) != 0)
        return -1;
    snprintf(app->cfg.key_file, sizeof app->cfg.key_file, "%s/keys", dir);
    if (opts && opts->tmpdir && private_tmpdir() != 0) {
        testlib_close(app);
        return -1;
    }
    int rc = 0;
    if (strcmp(engine, "pg") == 0)
        rc = testlib_pg_create(name, opts && opts->pg_database, app->cfg.db,
                               sizeof app->cfg.db);
    else
        snprintf(app->cfg.db, sizeof app->cfg.db, "sqlite:%s/t.db", dir);
    if (rc == 0)
        rc = app_open(app, 1);
    /* cmocka runs no group teardown after a failed setup. */
    if (rc != 0)
        testlib_close(app);
    return rc;
}

void testlib_close(struct app *app)
{
    app_close(app);
    testlib_pg_drop();
    restore_tmpdir();
    if (dir[0])
        testlib_rm_rf(dir);
    dir[0] = 0;
    open_app = NULL;
    the_app = NULL;
}

/* ---- groups ----------------------------------------------------------- */

/* What the running group's setup and teardown open and close. */
static struct {
    const char *engine;
    const char *name;
    const struct testlib_opts *opts;
    struct app *app;
} group;

static int group_setup(void **state)
{
    if (testlib_open_opts(group.engine, group.name, group.opts, group.app) != 0)
        return -1;
    if (group.opts && group.opts->opened &&
        group.opts->opened(group.app) != 0) {
        testlib_close(group.app);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    if (group.opts && group.opts->closing)
        group.opts->closing(group.app);
    testlib_close(group.app);
    return 0;
}

int testlib_run_group(const char *engine, const char *name,
                      const struct CMUnitTest *tests, size_t n,
                      const struct testlib_opts *opts, struct app *app)
{
    group.engine = engine;
    group.name = name;
    group.opts = opts;
    group.app = app;
    char title[128];
    snprintf(title, sizeof title, "%s (%s)", name,
             strcmp(engine, "pg") == 0 ? "postgresql" : "sqlite");
    return _cmocka_run_group_tests(title, tests, n, group_setup,
                                   group_teardown);
}

int testlib_run_engines(const char *name, const struct CMUnitTest *tests,
                        size_t n, const struct testlib_opts *opts,
                        struct app *app)
{
    int failed = testlib_run_group("sqlite", name, tests, n, opts, app);
    if (testlib_have_pg())
        failed += testlib_run_group("pg", name, tests, n, opts, app);
    return failed;
}

/* ---- files ------------------------------------------------------------ */

int testlib_mkdtemp(const char *name, char *out, size_t outlen)
{
    if ((size_t)snprintf(out, outlen, "/tmp/cityos-%s-XXXXXX", name) >= outlen)
        return -1;
    if (!mkdtemp(out)) {
        fprintf(stderr, "testlib: mkdtemp %s: %s\n", out, strerror(errno));
        return -1;
    }
    return 0;
}

static int is_dot_or_dotdot(const char *n)
{
    return str_eq(n, ".") || str_eq(n, "..");
}

void testlib_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (is_dot_or_dotdot(de->d_name))
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        testlib_rm_rf(p);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

int testlib_count_files(const char *d, const char *part)
{
    DIR *dh = opendir(d);
    if (!dh)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL)
        if (de->d_name[0] != '.' && strstr(de->d_name, part))
            n++;
    closedir(dh);
    return n;
}

int testlib_wait_files(const char *d, const char *part, int want,
                       int timeout_ms)
{
    int64_t t0 = now_mono_ms();
    while (testlib_count_files(d, part) < want &&
           now_mono_ms() - t0 < timeout_ms)
        usleep(20000);
    return testlib_count_files(d, part);
}

/* ---- SQL -------------------------------------------------------------- */

struct db_conn *testlib_conn(void)
{
    assert_non_null(open_app);
    struct db_conn *c = db_acquire(open_app->db);
    assert_non_null(c);
    return c;
}

void testlib_exec(const char *sql)
{
    struct db_conn *c = testlib_conn();
    if (db_exec(c, sql) != DB_OK)
        fail_msg("%s: %s", sql, db_errmsg(c));
    db_release(c);
}

/* Binds arguments by a db_run() type string. */
static void bind_args(struct db_stmt *s, const char *types, va_list ap)
{
    for (int i = 0; types[i]; i++) {
        if (types[i] == 's')
            db_bind_text(s, i + 1, va_arg(ap, const char *));
        else if (types[i] == 'i')
            db_bind_int(s, i + 1, va_arg(ap, int64_t));
        else
            db_bind_null(s, i + 1);
    }
}

/* Prepares, binds and steps to the first row; fails the test when there
** is none. */
static struct db_stmt *first_row(struct db_conn *c, const char *sql,
                                 const char *types, va_list ap)
{
    struct db_stmt *s = db_prepare(c, sql);
    if (!s)
        fail_msg("%s: %s", sql, db_errmsg(c));
    bind_args(s, types, ap);
    int rc = db_step(s);
    if (rc != DB_ROW)
        fail_msg("%s: %d %s", sql, rc, db_errmsg(c));
    return s;
}

int64_t testlib_query_int(const char *sql, const char *types, ...)
{
    struct db_conn *c = testlib_conn();
    va_list ap;
    va_start(ap, types);
    struct db_stmt *s = first_row(c, sql, types, ap);
    va_end(ap);
    int64_t v = db_col_int(s, 0);
    db_finalize(s);
    db_release(c);
    return v;
}

char *testlib_query_text(const char *sql, const char *types, ...)
{
    struct db_conn *c = testlib_conn();
    va_list ap;
    va_start(ap, types);
    struct db_stmt *s = first_row(c, sql, types, ap);
    va_end(ap);
    const char *t = db_col_text(s, 0);
    char *r = xstrdup(t ? t : "(null)");
    db_finalize(s);
    db_release(c);
    return r;
}

/* ---- the SMTP sink ---------------------------------------------------- */

static const char *python(void)
{
    /* Debian's python3 has python3-aiosmtpd; another one on PATH may not. */
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                 : "python3";
}

/* Reads the sink's first line ("ready PORT"). */
static void read_line(int fd, char *line, size_t n)
{
    size_t len = 0;
    while (len < n - 1) {
        ssize_t r = read(fd, line + len, 1);
        if (r <= 0 || line[len] == '\n')
            break;
        len++;
    }
    line[len] = 0;
}

int testlib_sink_start(const char *d, int reject)
{
    assert_int_equal(sink_pid, 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char rej[16];
    snprintf(rej, sizeof rej, "%d", reject);
    char *argv[] = {(char *)python(), SINK_SCRIPT, "--port", "0", "--dir",
                    (char *)d,        "--reject",  rej,      NULL};
    int rc = posix_spawnp(&sink_pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        sink_pid = 0;
        close(fds[0]);
        fail_msg("cannot start %s: %s", SINK_SCRIPT, strerror(rc));
    }
    char line[64];
    read_line(fds[0], line, sizeof line);
    close(fds[0]);
    int port = 0;
    if (sscanf(line, "ready %d", &port) != 1)
        fail_msg("smtp sink did not start (\"%s\"); is python3-aiosmtpd "
                 "installed and the test run from the source root?",
                 line);
    return port;
}

void testlib_sink_stop(void)
{
    if (sink_pid <= 0)
        return;
    kill(sink_pid, SIGTERM);
    int st;
    while (waitpid(sink_pid, &st, 0) < 0 && errno == EINTR)
        ;
    sink_pid = 0;
}
