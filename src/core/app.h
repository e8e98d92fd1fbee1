/*
** app.h - the configuration and the process-wide state shared by every
** request: the database pool, the keyring and the stop flag.
**
** Settings come, lowest precedence first, from built-in defaults, a
** configuration file (--config FILE or CITYOS_CONFIG; "key = value" lines),
** environment variables (CITYOS_<KEY> upper-cased) and command-line flags
** (--key value, with '_' written as '-').
*/
#ifndef CITYOS_APP_H
#define CITYOS_APP_H

#include <signal.h>
#include <stdint.h>

struct db;
struct keyring;

struct config {
    char db[1024];       /* sqlite:var/cityos.db | postgresql://... */
    char listen[128];    /* 127.0.0.1:8080 */
    char key_file[1024]; /* field and backup keys; outside the DB */
    char tls_cert[1024]; /* PEM; when set with tls_key, serve HTTPS */
    char tls_key[1024];
    char base_url[512]; /* public URL, for mail links */
    int trust_proxy;    /* take X-Forwarded-For/-Proto from 127.0.0.1 */
    int threads;        /* libmicrohttpd thread pool size */
    int db_pool;        /* database connections */
    int64_t max_body;   /* bytes; larger bodies get 413 */
    int64_t max_upload; /* bytes for multipart bodies */
    int session_idle;   /* seconds */
    int session_absolute;
    int priv_session_idle; /* privileged roles: shorter limits */
    int priv_session_absolute;
    int priv_password_days; /* privileged passwords expire (SEC-9) */
    int lockout_threshold;  /* failures before an account locks */
    int ip_fail_limit;      /* failures per address per 15 minutes */
    char smtp_url[512];     /* smtp://127.0.0.1:25 */
    char smtp_user[128];
    char smtp_password[256];
    char mail_from[256];
    char alert_mail[512]; /* comma-separated; also every admin's mail */
    char backup_dir[1024];
    int backup_keep;          /* generations */
    char backup_window[32];   /* "02:00-05:00" Japan time */
    int jobs;                 /* 1: run the scheduler and mail queue */
    char access_log[1024];    /* "-" for stderr, "" for none */
    char pickup_contact[512]; /* who citizens call after the deadline */
    int test_mode;            /* enables test-only clock shift; never in
                                 production (refused with TLS) */
};

struct app {
    struct config cfg;
    struct db *db;
    struct keyring *keys;
    volatile sig_atomic_t stopping;
};

/* Fills cfg from defaults, file, environment and argv (argv[0] is the
** subcommand's first flag).  Flags that are not settings are left, with
** the positional arguments, in rest (NULL-terminated, in argv), for the
** command to check against its own flags.
** Returns 0, or -1 with a message printed. */
int config_load(struct config *cfg, int argc, char **argv, char ***rest,
                int *nrest);
/* Key-file default: beside the SQLite file; PostgreSQL requires one. */
int config_resolve_key_file(struct config *cfg);

/* Opens the database and keyring for a command.  0 or -1 (printed). */
int app_open(struct app *app, int migrate);
void app_close(struct app *app);

extern struct app *the_app; /* set by main for signal handlers and jobs */

#endif
