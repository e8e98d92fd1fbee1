/*
** cli.c - the subcommands (see cli.h).  Commands act as the actor "cli"
** in the audit log, with the operating-system user's name in the detail.
*/
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "booking/booking.h"
#include "audit.h"
#include "backup.h"
#include "cli.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "jobs.h"
#include "mail.h"
#include "password.h"
#include "tmpl.h"
#include "users.h"
#include "pickup/pickup.h"

static struct actor cli_actor(void)
{
    struct actor a = {0, "cli", "cli", "local", ""};
    struct passwd *pw = getpwuid(getuid());
    a.ua = pw ? pw->pw_name : "?";
    return a;
}

static const char *arg_value(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

/* Settings were taken by config_load(); what is left must be one of the
** command's own flags, so a mistyped flag is an error, not ignored. */
static int check_flags(int argc, char **argv, const char *const *allowed)
{
    for (int i = 0; i < argc; i++) {
        if (!str_starts(argv[i], "--"))
            continue;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(argv[i], *a) == 0;
        if (!ok) {
            fprintf(stderr, "cityos: unknown option %s (see cityos help)\n",
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

static const char *const no_flags[] = {NULL};

int cmd_init(struct app *app, int argc, char **argv)
{
    if (check_flags(argc, argv, no_flags) != 0)
        return 2;
    if (app_open(app, 1) != 0)
        return 1;
    printf("cityos: schema version %d on %s; key file %s\n",
           db_schema_version(app->db), db_engine_name(app->db),
           app->cfg.key_file);
    app_close(app);
    return 0;
}

int cmd_serve(struct app *app, int argc, char **argv)
{
    if (check_flags(argc, argv, no_flags) != 0)
        return 2;
    /* The server takes SIGTERM and SIGINT with sigwait(); block them
    ** before any thread starts so that every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (app_open(app, 0) != 0)
        return 1;
    if (app->cfg.test_mode && app->cfg.tls_cert[0]) {
        fprintf(stderr, "cityos: test_mode is refused with TLS\n");
        return 2;
    }
    if (tmpl_init() != 0) {
        fprintf(stderr, "cityos: a template or catalog is malformed\n");
        return 1;
    }
    auth_register();
    admin_register();
    booking_register();
    pickup_register();
    mail_job_register();
    backup_job_register();
    if (app->cfg.jobs && jobs_start(app) != 0)
        return 1;
    int rc = http_serve(app);
    if (app->cfg.jobs)
        jobs_stop();
    app_close(app);
    return rc == 0 ? 0 : 1;
}

/* Reads one line (the password) from standard input, without echo
** concerns: it is meant for pipes and scripts. */
static int read_password(char *out, size_t n)
{
    if (!fgets(out, (int)n, stdin))
        return -1;
    out[strcspn(out, "\r\n")] = 0;
    return out[0] ? 0 : -1;
}

static int report(int rc, int why)
{
    if (rc == USERS_OK)
        return 0;
    if (rc == USERS_EPASSWORD)
        fprintf(stderr, "cityos: %s\n",
                password_problem_en((enum password_problem)why));
    else
        fprintf(stderr, "cityos: %s\n", i18n_get("en", users_error_key(rc)));
    return 1;
}

static int user_list(struct db_conn *c)
{
    struct db_stmt *st = db_queryf(
        c,
        "SELECT u.login, r.name, u.status, u.locked_at, u.totp_enabled, "
        "u.display_name FROM users u JOIN roles r ON r.id = u.role_id "
        "ORDER BY u.login",
        "");
    if (!st)
        return 1;
    printf("%-20s %-16s %-10s %-7s %-5s %s\n", "login", "role", "status",
           "locked", "totp", "name");
    while (db_step(st) == DB_ROW)
        printf("%-20s %-16s %-10s %-7s %-5s %s\n", db_col_text(st, 0),
               db_col_text(st, 1), db_col_text(st, 2),
               db_col_is_null(st, 3) ? "no" : "yes",
               db_col_int(st, 4) ? "yes" : "no", db_col_text(st, 5));
    db_finalize(st);
    struct actor a = cli_actor();
    if (db_begin(c) == DB_OK) {
        if (audit_append(c, &a, "user.list", "user", "*", "ok", a.ua) == 0)
            db_commit(c);
        else
            db_rollback(c);
    }
    return 0;
}

static int user_command(struct db_conn *c, const char *sub, int argc,
                        char **argv)
{
    const char *login = arg_value(argc, argv, "--login");
    if (strcmp(sub, "list") == 0)
        return user_list(c);
    if (!login) {
        fprintf(stderr, "cityos: user %s needs --login NAME\n", sub);
        return 2;
    }
    struct actor a = cli_actor();
    char pw[512];
    int why = 0;
    if (strcmp(sub, "add") == 0) {
        const char *role = arg_value(argc, argv, "--role");
        const char *name = arg_value(argc, argv, "--name");
        struct user_input in = {
            login, name ? name : login, arg_value(argc, argv, "--email"),
            arg_value(argc, argv, "--department"), role ? role : ""};
        if (!role || read_password(pw, sizeof pw) != 0) {
            fprintf(stderr, "cityos: user add needs --role ROLE and the "
                            "password on standard input\n");
            return 2;
        }
        int64_t id;
        int rc = users_create(c, &a, &in, pw, &id, &why);
        return report(rc, why);
    }
    struct user_rec u;
    if (users_get_by_login(c, login, &u) != USERS_OK) {
        fprintf(stderr, "cityos: no user %s\n", login);
        return 1;
    }
    if (strcmp(sub, "disable") == 0)
        return report(users_set_status(c, &a, u.id, "suspended"), 0);
    if (strcmp(sub, "enable") == 0)
        return report(users_set_status(c, &a, u.id, "active"), 0);
    if (strcmp(sub, "delete") == 0)
        return report(users_delete(c, &a, u.id), 0);
    if (strcmp(sub, "unlock") == 0)
        return report(users_unlock(c, &a, u.id), 0);
    if (strcmp(sub, "passwd") == 0) {
        if (read_password(pw, sizeof pw) != 0) {
            fprintf(stderr, "cityos: the password is read from standard "
                            "input\n");
            return 2;
        }
        int must = arg_value(argc, argv, "--keep") == NULL;
        int rc = users_set_password(c, &a, u.id, pw, must, NULL, &why);
        return report(rc, why);
    }
    fprintf(stderr, "cityos: unknown user command %s\n", sub);
    return 2;
}

int cmd_user(struct app *app, int argc, char **argv)
{
    static const char *const flags[] = {"--login", "--role",       "--name",
                                        "--email", "--department", "--keep",
                                        NULL};
    if (check_flags(argc, argv, flags) != 0)
        return 2;
    if (argc < 1) {
        fprintf(stderr, "usage: cityos user add|list|disable|enable|delete|"
                        "passwd|unlock --login NAME [--role ROLE]\n");
        return 2;
    }
    if (app_open(app, 0) != 0)
        return 1;
    struct db_conn *c = db_acquire(app->db);
    int rc = c ? user_command(c, argv[0], argc - 1, argv + 1) : 1;
    db_release(c);
    app_close(app);
    return rc;
}

int cmd_audit(struct app *app, int argc, char **argv)
{
    if (check_flags(argc, argv, no_flags) != 0)
        return 2;
    if (argc < 1 || strcmp(argv[0], "verify") != 0) {
        fprintf(stderr, "usage: cityos audit verify\n");
        return 2;
    }
    if (app_open(app, 0) != 0)
        return 1;
    char why[256] = "";
    int64_t bad = audit_verify(app->db, why, sizeof why);
    app_close(app);
    if (bad == 0) {
        printf("audit log intact\n");
        return 0;
    }
    if (bad < 0) {
        fprintf(stderr, "cityos: audit verify failed: %s\n", why);
        return 2;
    }
    fprintf(stderr, "audit log entry %lld fails: %s\n", (long long)bad, why);
    return 1;
}

int cmd_backup(struct app *app, int argc, char **argv)
{
    static const char *const flags[] = {"--dir", NULL};
    if (check_flags(argc, argv, flags) != 0)
        return 2;
    const char *dir = arg_value(argc, argv, "--dir");
    if (app_open(app, 0) != 0)
        return 1;
    char out[1024], err[512];
    int rc = backup_run(app, dir ? dir : app->cfg.backup_dir, out, sizeof out,
                        err, sizeof err);
    app_close(app);
    if (rc != 0) {
        fprintf(stderr, "cityos: backup failed: %s\n", err);
        return 1;
    }
    printf("%s\n", out);
    return 0;
}

int cmd_restore(struct app *app, int argc, char **argv)
{
    static const char *const flags[] = {"--from", NULL};
    if (check_flags(argc, argv, flags) != 0)
        return 2;
    const char *from = arg_value(argc, argv, "--from");
    if (!from) {
        fprintf(stderr, "usage: cityos restore --from FILE\n");
        return 2;
    }
    if (app_open(app, 0) != 0)
        return 1;
    char err[512];
    int rc = backup_restore(app, from, err, sizeof err);
    app_close(app);
    if (rc != 0) {
        fprintf(stderr, "cityos: restore failed: %s\n", err);
        return 1;
    }
    printf("restored %s\n", from);
    return 0;
}

int cmd_keys(struct app *app, int argc, char **argv)
{
    if (check_flags(argc, argv, no_flags) != 0)
        return 2;
    if (argc < 1 || strcmp(argv[0], "rotate") != 0) {
        fprintf(stderr, "usage: cityos keys rotate\n");
        return 2;
    }
    char err[512];
    if (config_resolve_key_file(&app->cfg) != 0)
        return 1;
    if (keyring_add_key(app->cfg.key_file, err, sizeof err) != 0) {
        fprintf(stderr, "cityos: %s\n", err);
        return 1;
    }
    if (app_open(app, 0) != 0)
        return 1;
    long n = keys_reencrypt(app->db, app->keys);
    printf("new key %s; %ld values re-encrypted\n",
           keyring_current_id(app->keys), n);
    app_close(app);
    return n < 0 ? 1 : 0;
}
