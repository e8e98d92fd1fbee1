/*
** backup.c - online backups and restore (OPS-1; see backup.h).
**
** SQLite: the backup API copies the live database from a fresh connection
** in one step, which reads one consistent snapshot while the server keeps
** writing (WAL).  PostgreSQL: pg_dump in its custom format, run with an
** argv array (no shell); the connection settings go to it through the PG*
** environment variables so the password never shows in a process list.
**
** The plain copy is checked (PRAGMA integrity_check / pg_restore --list),
** encrypted with the key file (file_encrypt, SEC-7), decrypted again and
** compared byte for byte with the copy before it is given its final name
** DIR/cityos-YYYYMMDDTHHMMSSZ.<engine>.enc (mode 0600); then the newest
** cfg.backup_keep generations are kept.
**
** Plain copies hold personal data: they live only in a private directory
** (mode 0700, from mkdtemp) that is emptied and removed on every path out.
*/
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "jobs.h"
#include "util.h"

extern char **environ;

#define BACKUP_PREFIX "cityos-"
#define BACKUP_SUFFIX ".enc"
#define DEFAULT_KEEP  7
#define MAX_ENV       512

enum kind { KIND_UNKNOWN, KIND_SQLITE, KIND_PGDUMP };

/* A private temporary directory and the files inside it. */
struct workdir {
    char dir[PATH_MAX - 16]; /* room for the file names below */
    char plain[PATH_MAX];    /* the unencrypted copy */
    char enc[PATH_MAX];      /* the encrypted file before its final name */
    char check[PATH_MAX];    /* decrypted again, for verification */
    char log[PATH_MAX];      /* standard error of pg_dump / pg_restore */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- files and directories ---- */

static void sweep_stale(const char *base);

static int work_open(struct workdir *w, const char *base, char *err,
                     size_t errlen)
{
    memset(w, 0, sizeof *w);
    if ((size_t)snprintf(w->dir, sizeof w->dir, "%s/.cityos-tmp-XXXXXX",
                         base) >= sizeof w->dir) {
        set_err(err, errlen, "path too long: %s", base);
        return -1;
    }
    sweep_stale(base);
    if (!mkdtemp(w->dir)) { /* mode 0700 */
        set_err(err, errlen, "cannot create a temporary directory in %s: %s",
                base, strerror(errno));
        w->dir[0] = 0;
        return -1;
    }
    snprintf(w->plain, sizeof w->plain, "%s/plain", w->dir);
    snprintf(w->enc, sizeof w->enc, "%s/enc", w->dir);
    snprintf(w->check, sizeof w->check, "%s/check", w->dir);
    snprintf(w->log, sizeof w->log, "%s/log", w->dir);
    return 0;
}

/* Removes every file we put in the directory (SQLite journals included),
** then the directory. */
static void work_close(struct workdir *w)
{
    if (!w->dir[0])
        return;
    DIR *d = opendir(w->dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
                continue;
            char p[PATH_MAX];
            if ((size_t)snprintf(p, sizeof p, "%s/%s", w->dir, de->d_name) <
                sizeof p)
                unlink(p);
        }
        closedir(d);
    }
    if (rmdir(w->dir) != 0)
        log_error("backup: cannot remove %s: %s", w->dir, strerror(errno));
    w->dir[0] = 0;
}

/* Work directories left by a crash hold plain copies of personal data:
** remove those in base older than a day (a running backup's is younger). */
static void sweep_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *de;
    int64_t now = now_unix();
    while ((de = readdir(d)) != NULL) {
        if (!str_starts(de->d_name, ".cityos-tmp-"))
            continue;
        struct workdir w;
        memset(&w, 0, sizeof w);
        struct stat st;
        if ((size_t)snprintf(w.dir, sizeof w.dir, "%s/%s", base, de->d_name) >=
                sizeof w.dir ||
            lstat(w.dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            now - (int64_t)st.st_mtime < 86400)
            continue;
        log_warn("backup: removing stale work directory %s", w.dir);
        work_close(&w);
    }
    closedir(d);
}

/* The directory for temporary plain copies when not the backup dir. */
static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    return t && t[0] == '/' ? t : "/tmp";
}

static int mkdir_p(const char *dir)
{
    char p[PATH_MAX];
    if (str_copy(p, dir, sizeof p) >= sizeof p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* 0 when the two files have the same bytes. */
static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        char ba[16384], bb[16384];
        size_t na = fread(ba, 1, sizeof ba, fa);
        size_t nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0)
            same = 0;
        if (na == 0 || !same)
            break;
    }
    if (same && (ferror(fa) || ferror(fb)))
        same = 0;
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same ? 0 : -1;
}

/* What a plain (decrypted) backup holds, from its first bytes. */
static enum kind file_kind(const char *path)
{
    unsigned char head[16] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return KIND_UNKNOWN;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == 16 && memcmp(head, "SQLite format 3", 16) == 0)
        return KIND_SQLITE;
    if (n >= 5 && memcmp(head, "PGDMP", 5) == 0)
        return KIND_PGDUMP;
    return KIND_UNKNOWN;
}

/* ---- SQLite ---- */

/* Copies database src into dst with the backup API.  Retries while the
** destination or source is locked by a writer. */
static int sqlite_copy(sqlite3 *src, sqlite3 *dst, char *err, size_t errlen)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        set_err(err, errlen, "sqlite backup: %s", sqlite3_errmsg(dst));
        return -1;
    }
    int rc;
    int64_t give_up = now_mono_ms() + 60000;
    for (;;) {
        /* -1: every page in one step, so the copy is one snapshot. */
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_DONE)
            break;
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
            now_mono_ms() > give_up)
            break;
        sqlite3_sleep(100);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        set_err(err, errlen, "sqlite backup: %s", sqlite3_errstr(rc));
        return -1;
    }
    if (sqlite3_errcode(dst) != SQLITE_OK) {
        set_err(err, errlen, "sqlite backup: %s", sqlite3_errmsg(dst));
        return -1;
    }
    return 0;
}

static int sqlite_open(const char *path, int flags, sqlite3 **out, char *err,
                       size_t errlen)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(path, &h, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "sqlite %s: %s", path,
                h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 30000);
    *out = h;
    return 0;
}

/* PRAGMA integrity_check must answer exactly one row, "ok". */
static int sqlite_check_handle(sqlite3 *h, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) !=
        SQLITE_OK) {
        set_err(err, errlen, "integrity check: %s", sqlite3_errmsg(h));
        return -1;
    }
    int rc = sqlite3_step(st);
    const char *r =
        rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int ok = r && str_eq(r, "ok") && sqlite3_step(st) == SQLITE_DONE;
    if (!ok)
        set_err(err, errlen, "integrity check failed: %s",
                r ? r : sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

static int sqlite_check_file(const char *path, char *err, size_t errlen)
{
    sqlite3 *h;
    if (sqlite_open(path, SQLITE_OPEN_READONLY, &h, err, errlen) != 0)
        return -1;
    int rc = sqlite_check_handle(h, err, errlen);
    sqlite3_close(h);
    return rc;
}

/* The live database -> w->plain, a self-contained checked file. */
static int sqlite_dump(struct app *app, struct workdir *w, char *err,
                       size_t errlen)
{
    const char *live = db_sqlite_path(app->db);
    sqlite3 *src = NULL, *dst = NULL;
    int fd = open(w->plain, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        set_err(err, errlen, "%s: %s", w->plain, strerror(errno));
        return -1;
    }
    close(fd);
    int rc = -1;
    if (sqlite_open(live, SQLITE_OPEN_READONLY, &src, err, errlen) != 0 ||
        sqlite_open(w->plain, SQLITE_OPEN_READWRITE, &dst, err, errlen) != 0)
        goto out;
    if (sqlite_copy(src, dst, err, errlen) != 0)
        goto out;
    /* The copy carries the WAL flag of the original; a backup must be one
    ** file, so switch it to a rollback journal. */
    char *msg = NULL;
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &msg) !=
        SQLITE_OK) {
        set_err(err, errlen, "journal mode: %s", msg ? msg : "?");
        sqlite3_free(msg);
        goto out;
    }
    rc = sqlite_check_handle(dst, err, errlen);
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

/* Copies the checked plain backup into the live database file.  The
** backup API writes it in one transaction, so connections the server
** keeps open see either the old or the restored contents. */
static int sqlite_restore(struct app *app, const char *plain, char *err,
                          size_t errlen)
{
    sqlite3 *src = NULL, *dst = NULL;
    int rc = -1;
    if (sqlite_open(plain, SQLITE_OPEN_READONLY, &src, err, errlen) != 0 ||
        sqlite_open(db_sqlite_path(app->db), SQLITE_OPEN_READWRITE, &dst, err,
                    errlen) != 0)
        goto out;
    if (sqlite_copy(src, dst, err, errlen) != 0)
        goto out;
    rc = sqlite_check_handle(dst, err, errlen);
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

/* ---- PostgreSQL tools ---- */

/* The environment for pg_dump / pg_restore: ours plus the connection
** settings of url as PG* variables.  Settings without a variable go into
** dbinfo, a conninfo string for --dbname (never empty).  Caller frees
** with env_free(). */
struct pgenv {
    char *env[MAX_ENV];
    int n;
    struct buf dbinfo;
};

static void env_free(struct pgenv *e)
{
    for (int i = 0; i < e->n; i++)
        free(e->env[i]);
    buf_free(&e->dbinfo);
}

static int env_build(const char *url, struct pgenv *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    buf_init(&e->dbinfo);
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        set_err(err, errlen, "database URL: %s", perr ? perr : "invalid");
        PQfreemem(perr);
        return -1;
    }
    int rc = 0;
    for (PQconninfoOption *o = opts; o->keyword && rc == 0; o++) {
        if (!o->val || !o->val[0])
            continue;
        if (!o->envvar) {
            buf_printf(&e->dbinfo, "%s%s='", e->dbinfo.len ? " " : "",
                       o->keyword);
            for (const char *v = o->val; *v; v++) {
                if (*v == '\'' || *v == '\\')
                    buf_putc(&e->dbinfo, '\\');
                buf_putc(&e->dbinfo, *v);
            }
            buf_putc(&e->dbinfo, '\'');
            continue;
        }
        if (e->n >= MAX_ENV - 1) {
            rc = -1;
            break;
        }
        struct buf b;
        buf_init(&b);
        buf_printf(&b, "%s=%s", o->envvar, o->val);
        e->env[e->n++] = buf_steal(&b);
    }
    PQconninfoFree(opts);
    /* pg_restore connects only when given --dbname; a conninfo naming
    ** just the application leaves everything else to the variables. */
    if (!e->dbinfo.len)
        buf_puts(&e->dbinfo, "application_name='cityos-backup'");
    /* Then the inherited environment, minus what the URL sets. */
    int ours = e->n;
    for (char **v = environ; *v && rc == 0; v++) {
        int dup = 0;
        for (int i = 0; i < ours && !dup; i++) {
            size_t k = strcspn(e->env[i], "=");
            dup = strncmp(*v, e->env[i], k + 1) == 0;
        }
        if (dup)
            continue;
        if (e->n >= MAX_ENV - 1) {
            rc = -1;
            break;
        }
        e->env[e->n++] = xstrdup(*v);
    }
    e->env[e->n] = NULL;
    if (rc != 0)
        set_err(err, errlen, "environment too large");
    return rc;
}

/* Runs argv (no shell) with the environment envp, standard error into
** logpath.  0 when it exits with status 0; else -1 with its message. */
static int run_tool(char *const argv[], char *const envp[], const char *logpath,
                    char *err, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, logpath,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        set_err(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            set_err(err, errlen, "%s: waitpid: %s", argv[0], strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    size_t n = 0;
    char *msg = file_read(logpath, 64 * 1024, &n);
    char first[400] = "";
    if (msg) {
        str_copy(first, msg, sizeof first);
        first[strcspn(first, "\n")] = 0;
        free(msg);
    }
    set_err(err, errlen, "%s failed (status %d): %s", argv[0],
            WIFEXITED(status) ? WEXITSTATUS(status) : -1, first);
    return -1;
}

/* Runs a PostgreSQL tool: args, then "--dbname=<settings that have no
** PG* variable>". */
static int pg_tool(const char *const *args, struct app *app,
                   const char *logpath, char *err, size_t errlen)
{
    struct pgenv pe;
    if (env_build(db_url(app->db), &pe, err, errlen) != 0) {
        env_free(&pe);
        return -1;
    }
    char *argv[16];
    int n = 0;
    for (; args[n] && n < 13; n++)
        argv[n] = (char *)args[n];
    struct buf dbarg;
    buf_init(&dbarg);
    buf_printf(&dbarg, "--dbname=%s", pe.dbinfo.data);
    argv[n++] = dbarg.data;
    argv[n] = NULL;
    int rc = run_tool(argv, pe.env, logpath, err, errlen);
    buf_free(&dbarg);
    env_free(&pe);
    return rc;
}

static int pg_dump(struct app *app, struct workdir *w, char *err, size_t errlen)
{
    char file[PATH_MAX + 8];
    snprintf(file, sizeof file, "--file=%s", w->plain);
    const char *args[] = {"pg_dump", "--format=custom", "--no-owner", file,
                          NULL};
    return pg_tool(args, app, w->log, err, errlen);
}

/* pg_restore --list reads the whole table of contents: a truncated or
** foreign file fails. */
static int pg_check_file(const char *plain, const char *logpath, char *err,
                         size_t errlen)
{
    const char *args[] = {"pg_restore", "--list", plain, NULL};
    return run_tool((char *const *)args, environ, logpath, err, errlen);
}

static int pg_restore(struct app *app, struct workdir *w, char *err,
                      size_t errlen)
{
    const char *args[] = {
        "pg_restore",           "--clean",         "--if-exists", "--no-owner",
        "--single-transaction", "--exit-on-error", w->plain,      NULL};
    return pg_tool(args, app, w->log, err, errlen);
}

/* ---- backup ---- */

static int engine_is_sqlite(struct app *app)
{
    return db_engine(app->db) == DB_SQLITE;
}

/* DIR/cityos-YYYYMMDDTHHMMSSZ.<engine>.enc that does not exist yet; waits
** for the next second when a backup was taken this second already. */
static int backup_name(struct app *app, const char *dir, char *out,
                       size_t outlen)
{
    for (int tries = 0; tries < 3; tries++) {
        time_t t = (time_t)now_unix();
        struct tm tm;
        gmtime_r(&t, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        if ((size_t)snprintf(out, outlen,
                             "%s/" BACKUP_PREFIX "%s.%s" BACKUP_SUFFIX, dir,
                             stamp, db_engine_name(app->db)) >= outlen)
            return -1;
        struct stat st;
        if (stat(out, &st) != 0 && errno == ENOENT)
            return 0;
        sleep(1);
    }
    return -1;
}

/* Decrypts enc into w->check and checks it is the same as w->plain and a
** usable database or dump. */
static int verify_copy(struct app *app, struct workdir *w, const char *enc,
                       char *err, size_t errlen)
{
    if (file_decrypt(app->keys, enc, w->check) != 0) {
        set_err(err, errlen, "verification: cannot decrypt the new backup");
        return -1;
    }
    if (files_equal(w->plain, w->check) != 0) {
        set_err(err, errlen, "verification: decrypted copy differs");
        return -1;
    }
    if (engine_is_sqlite(app))
        return sqlite_check_file(w->check, err, errlen);
    return pg_check_file(w->check, w->log, err, errlen);
}

int backup_run(struct app *app, const char *dir, char *out, size_t outlen,
               char *err, size_t errlen)
{
    if (out && outlen)
        out[0] = 0;
    if (!app->keys) {
        set_err(err, errlen, "no key file loaded");
        return -1;
    }
    if (!dir || !dir[0] || mkdir_p(dir) != 0) {
        set_err(err, errlen, "backup directory %s: %s", dir ? dir : "",
                strerror(errno));
        return -1;
    }
    char final[PATH_MAX];
    if (backup_name(app, dir, final, sizeof final) != 0) {
        set_err(err, errlen, "cannot name the backup in %s", dir);
        return -1;
    }
    /* The work directory sits beside the backups: same file system, so
    ** the finished file is linked into place atomically. */
    struct workdir w;
    if (work_open(&w, dir, err, errlen) != 0)
        return -1;
    int rc = engine_is_sqlite(app) ? sqlite_dump(app, &w, err, errlen)
                                   : pg_dump(app, &w, err, errlen);
    if (rc == 0 && file_encrypt(app->keys, w.plain, w.enc) != 0) {
        set_err(err, errlen, "cannot encrypt the backup");
        rc = -1;
    }
    if (rc == 0)
        rc = verify_copy(app, &w, w.enc, err, errlen);
    if (rc == 0 && chmod(w.enc, 0600) != 0) {
        set_err(err, errlen, "chmod: %s", strerror(errno));
        rc = -1;
    }
    /* link() never replaces an existing file, unlike rename(). */
    if (rc == 0 && link(w.enc, final) != 0) {
        set_err(err, errlen, "%s: %s", final, strerror(errno));
        rc = -1;
    }
    work_close(&w);
    if (rc != 0)
        return -1;
    if (fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0)
        log_warn("backup: fsync %s: %s", dir, strerror(errno));
    int keep = app->cfg.backup_keep > 0 ? app->cfg.backup_keep : DEFAULT_KEEP;
    if (backup_prune(dir, keep) < 0)
        log_warn("backup: cannot prune %s", dir);
    if (out)
        str_copy(out, final, outlen);
    return 0;
}

/* Decrypts file into w->plain and checks it belongs to this engine. */
static int open_backup(struct app *app, const char *file, struct workdir *w,
                       char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    if (!app->keys) {
        set_err(err, errlen, "no key file loaded");
        return -1;
    }
    if (access(file, R_OK) != 0) {
        set_err(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    if (work_open(w, tmp_base(), err, errlen) != 0)
        return -1;
    if (file_decrypt(app->keys, file, w->plain) != 0) {
        set_err(err, errlen,
                "%s: cannot decrypt (not a cityos backup, wrong key, or "
                "damaged or altered)",
                file);
        return -1;
    }
    enum kind k = file_kind(w->plain);
    enum kind want = engine_is_sqlite(app) ? KIND_SQLITE : KIND_PGDUMP;
    if (k != want) {
        set_err(err, errlen, "%s is not a %s backup", file,
                db_engine_name(app->db));
        return -1;
    }
    if (k == KIND_SQLITE)
        return sqlite_check_file(w->plain, err, errlen);
    return pg_check_file(w->plain, w->log, err, errlen);
}

int backup_verify(struct app *app, const char *file, char *err, size_t errlen)
{
    struct workdir w;
    int rc = open_backup(app, file, &w, err, errlen);
    work_close(&w);
    return rc;
}

int backup_restore(struct app *app, const char *file, char *err, size_t errlen)
{
    struct workdir w;
    int rc = open_backup(app, file, &w, err, errlen);
    if (rc == 0)
        rc = engine_is_sqlite(app) ? sqlite_restore(app, w.plain, err, errlen)
                                   : pg_restore(app, &w, err, errlen);
    work_close(&w);
    if (rc == 0)
        log_info("backup: restored %s", file);
    return rc;
}

/* ---- generations ---- */

/* cityos-YYYYMMDDTHHMMSSZ.<engine>.enc */
static int is_backup_name(const char *n)
{
    const char *p = n;
    if (!str_starts(p, BACKUP_PREFIX))
        return 0;
    p += strlen(BACKUP_PREFIX);
    for (int i = 0; i < 16; i++, p++) {
        int want_digit = i != 8 && i != 15;
        if (want_digit ? !(*p >= '0' && *p <= '9') : *p != (i == 8 ? 'T' : 'Z'))
            return 0;
    }
    return str_eq(p, ".sqlite" BACKUP_SUFFIX) ||
           str_eq(p, ".postgresql" BACKUP_SUFFIX);
}

static int only_backups(const struct dirent *de)
{
    return is_backup_name(de->d_name);
}

int backup_prune(const char *dir, int keep)
{
    if (keep < 1)
        keep = 1;
    struct dirent **list = NULL;
    /* The time stamp leads the name: alphabetical order is time order. */
    int n = scandir(dir, &list, only_backups, alphasort);
    if (n < 0)
        return -1;
    int deleted = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (i < n - keep) {
            char p[PATH_MAX];
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, list[i]->d_name) <
                    sizeof p &&
                unlink(p) == 0) {
                deleted++;
                log_info("backup: pruned %s", p);
            } else {
                failed = 1;
            }
        }
        free(list[i]);
    }
    free(list);
    return failed ? -1 : deleted;
}

/* ---- the daily job ---- */

static int backup_due(struct app *app, int64_t now, char *slot, size_t slotlen)
{
    if (!app->cfg.backup_dir[0])
        return -1;
    return job_due_daily_window(app->cfg.backup_window, now, "backup", slot,
                                slotlen);
}

static int backup_job(struct app *app)
{
    char out[PATH_MAX], err[512];
    if (backup_run(app, app->cfg.backup_dir, out, sizeof out, err,
                   sizeof err) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "daily backup failed: %s", err);
        audit_alert(app->db, "backup_failed", msg);
        return -1;
    }
    log_info("backup: wrote %s", out);
    return 0;
}

void backup_job_register(void)
{
    static const struct job job = {"backup", backup_due, backup_job};
    jobs_register(&job);
}
