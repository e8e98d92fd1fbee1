/*
** test_config.c - configuration loading (app.c, docs/operations.md):
** built-in defaults, overridden by a "name = value" file (--config or
** CITYOS_CONFIG), overridden by CITYOS_* environment variables, overridden
** by --name flags; malformed files, unknown settings, missing flag values,
** numbers and over-long strings refused; a command's own flags and
** arguments passed through; and the key file (SEC-7: keys outside the
** database) defaulting beside the SQLite file and required with
** PostgreSQL.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/app.h"
#include "core/util.h"
#include "testlib.h"

/* Every setting's variable, so that the caller's environment cannot leak
** into the assertions. */
static const char *const env_names[] = {
    "CITYOS_CONFIG",
    "CITYOS_DB",
    "CITYOS_LISTEN",
    "CITYOS_KEY_FILE",
    "CITYOS_TLS_CERT",
    "CITYOS_TLS_KEY",
    "CITYOS_BASE_URL",
    "CITYOS_TRUST_PROXY",
    "CITYOS_THREADS",
    "CITYOS_DB_POOL",
    "CITYOS_MAX_BODY",
    "CITYOS_MAX_UPLOAD",
    "CITYOS_SESSION_IDLE",
    "CITYOS_SESSION_ABSOLUTE",
    "CITYOS_PRIV_SESSION_IDLE",
    "CITYOS_PRIV_SESSION_ABSOLUTE",
    "CITYOS_PRIV_PASSWORD_DAYS",
    "CITYOS_LOCKOUT_THRESHOLD",
    "CITYOS_IP_FAIL_LIMIT",
    "CITYOS_SMTP_URL",
    "CITYOS_SMTP_USER",
    "CITYOS_SMTP_PASSWORD",
    "CITYOS_MAIL_FROM",
    "CITYOS_ALERT_MAIL",
    "CITYOS_BACKUP_DIR",
    "CITYOS_BACKUP_KEEP",
    "CITYOS_BACKUP_WINDOW",
    "CITYOS_JOBS",
    "CITYOS_ACCESS_LOG",
    "CITYOS_TEST_MODE",
};

static char dir[64];

static int setup(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(env_names); i++)
        unsetenv(env_names[i]);
    return testlib_mkdtemp("config", dir, sizeof dir);
}

static int teardown(void **state)
{
    for (size_t i = 0; i < ARRAY_LEN(env_names); i++)
        unsetenv(env_names[i]);
    testlib_rm_rf(dir);
    return 0;
}

/* Writes text to a file name in the test's directory; its path to path. */
static void write_file(const char *name, const char *text, char *path,
                       size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
}

/* config_load on a copy of args (it rearranges its argv). */
struct loaded {
    struct config cfg;
    char *argv[32];
    char **rest;
    int nrest;
    int rc;
};

static void load(struct loaded *l, const char *const *args)
{
    int argc = 0;
    memset(l, 0, sizeof *l);
    while (args && args[argc]) {
        assert_true(argc < 31);
        l->argv[argc] = (char *)args[argc];
        argc++;
    }
    l->argv[argc] = NULL;
    l->rc = config_load(&l->cfg, argc, l->argv, &l->rest, &l->nrest);
}

static void expect_refused(const char *const *args)
{
    struct loaded l;
    load(&l, args);
    assert_int_equal(l.rc, -1);
}

static void test_defaults(void **state)
{
    struct loaded l;
    load(&l, NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.nrest, 0);
    assert_null(l.rest[0]);
    assert_string_equal(l.cfg.db, "sqlite:var/cityos.db");
    assert_string_equal(l.cfg.listen, "127.0.0.1:8080");
    assert_string_equal(l.cfg.key_file, "");
    assert_string_equal(l.cfg.base_url, "http://127.0.0.1:8080");
    assert_string_equal(l.cfg.smtp_url, "smtp://127.0.0.1:25");
    assert_string_equal(l.cfg.mail_from, "cityos@localhost");
    assert_string_equal(l.cfg.backup_dir, "var/backups");
    assert_string_equal(l.cfg.backup_window, "02:00-05:00");
    assert_string_equal(l.cfg.access_log, "-");
    assert_int_equal(l.cfg.threads, 8);
    assert_int_equal(l.cfg.db_pool, 16);
    assert_int_equal(l.cfg.max_body, 1048576);
    assert_int_equal(l.cfg.max_upload, 20971520);
    assert_int_equal(l.cfg.session_idle, 1800);
    assert_int_equal(l.cfg.session_absolute, 43200);
    assert_int_equal(l.cfg.priv_session_idle, 900);
    assert_int_equal(l.cfg.priv_session_absolute, 14400);
    assert_int_equal(l.cfg.priv_password_days, 180);
    assert_int_equal(l.cfg.lockout_threshold, 10);
    assert_int_equal(l.cfg.ip_fail_limit, 50);
    assert_int_equal(l.cfg.backup_keep, 7);
    assert_int_equal(l.cfg.jobs, 1);
    assert_int_equal(l.cfg.trust_proxy, 0);
    assert_int_equal(l.cfg.test_mode, 0);
}

/* Each layer overrides the one below it, setting by setting. */
static void test_precedence(void **state)
{
    char file[200];
    write_file("cityos.conf",
               "# cityos test configuration\n"
               "\n"
               "listen = 0.0.0.0:9000\n"
               "  threads=3  \n"
               "mail_from = file@example.jp\n"
               "max_body = 4096\n",
               file, sizeof file);
    const char *with_file[] = {"--config", file, NULL};
    struct loaded l;
    load(&l, with_file);
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.cfg.listen, "0.0.0.0:9000");
    assert_int_equal(l.cfg.threads, 3);
    assert_string_equal(l.cfg.mail_from, "file@example.jp");
    assert_int_equal(l.cfg.max_body, 4096);
    assert_string_equal(l.cfg.base_url, "http://127.0.0.1:8080"); /* default */
    assert_int_equal(l.nrest, 0); /* --config FILE is consumed */

    /* The environment beats the file. */
    setenv("CITYOS_THREADS", "5", 1);
    setenv("CITYOS_MAIL_FROM", "env@example.jp", 1);
    setenv("CITYOS_BASE_URL", "https://city.example.jp", 1);
    load(&l, with_file);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg.threads, 5);
    assert_string_equal(l.cfg.mail_from, "env@example.jp");
    assert_string_equal(l.cfg.base_url, "https://city.example.jp");
    assert_string_equal(l.cfg.listen, "0.0.0.0:9000"); /* still the file */

    /* Flags beat both. */
    const char *flags[] = {"--config", file,          "--threads",
                           "6",        "--mail-from", "flag@example.jp",
                           NULL};
    load(&l, flags);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg.threads, 6);
    assert_string_equal(l.cfg.mail_from, "flag@example.jp");
    assert_string_equal(l.cfg.base_url, "https://city.example.jp");
    assert_string_equal(l.cfg.listen, "0.0.0.0:9000");
    assert_int_equal(l.cfg.max_body, 4096);

    /* The last of a repeated flag counts. */
    const char *twice[] = {"--threads", "6", "--threads", "9", NULL};
    load(&l, twice);
    assert_int_equal(l.cfg.threads, 9);
}

/* CITYOS_CONFIG names the file; --config names another instead. */
static void test_config_file_choice(void **state)
{
    char env_file[200], flag_file[200];
    write_file("env.conf", "listen = 10.0.0.1:1\nbackup_keep = 30\n", env_file,
               sizeof env_file);
    write_file("flag.conf", "listen = 10.0.0.2:2\n", flag_file,
               sizeof flag_file);
    setenv("CITYOS_CONFIG", env_file, 1);
    struct loaded l;
    load(&l, NULL);
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.cfg.listen, "10.0.0.1:1");
    assert_int_equal(l.cfg.backup_keep, 30);

    const char *args[] = {"--config", flag_file, NULL};
    load(&l, args);
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.cfg.listen, "10.0.0.2:2");
    assert_int_equal(l.cfg.backup_keep, 7); /* env.conf was not read */

    /* A file that cannot be read is an error, not an empty file. */
    char missing[200];
    snprintf(missing, sizeof missing, "%s/missing.conf", dir);
    setenv("CITYOS_CONFIG", missing, 1);
    expect_refused(NULL);
}

static void test_file_errors(void **state)
{
    static const char *const bad[] = {
        "listen 127.0.0.1:1\n",        /* no '=' */
        "lisen = 127.0.0.1:1\n",       /* unknown setting */
        "threads = 4\nKEY_FILE = x\n", /* names are lower case */
        "threads = four\n",
        "threads =\n",
        "db = sqlite:a.db\n# fine\nsmtp-url = smtp://x\n", /* '_' in files */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char file[200];
        write_file("bad.conf", bad[i], file, sizeof file);
        const char *args[] = {"--config", file, NULL};
        struct loaded l;
        load(&l, args);
        if (l.rc != -1)
            fail_msg("accepted: \"%s\"", bad[i]);
    }
}

/* Only known settings are read from the environment. */
static void test_env(void **state)
{
    setenv("CITYOS_NO_SUCH_SETTING", "x", 1);
    setenv("CITYOS_KEY_FILE", "/etc/cityos/keys", 1);
    setenv("CITYOS_DB_POOL", "40", 1);
    struct loaded l;
    load(&l, NULL);
    unsetenv("CITYOS_NO_SUCH_SETTING");
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.cfg.key_file, "/etc/cityos/keys");
    assert_int_equal(l.cfg.db_pool, 40);
    /* A bad value in the environment is an error like anywhere else. */
    setenv("CITYOS_BACKUP_KEEP", "seven", 1);
    expect_refused(NULL);
}

/* Multi-word flags are written with '-': --key-file sets key_file. */
static void test_flag_names(void **state)
{
    const char *args[] = {"--key-file",  "/srv/keys",  "--db-pool",
                          "30",          "--base-url", "https://x.example.jp",
                          "--test-mode", "1",          NULL};
    struct loaded l;
    load(&l, args);
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.cfg.key_file, "/srv/keys");
    assert_int_equal(l.cfg.db_pool, 30);
    assert_string_equal(l.cfg.base_url, "https://x.example.jp");
    assert_int_equal(l.cfg.test_mode, 1);
    assert_int_equal(l.nrest, 0);
}

/* Flags that are no setting, and plain arguments, are the command's: kept
** in order, with their values, for the command to read. */
static void test_command_flags_pass_through(void **state)
{
    const char *args[] = {"add",    "--login", "taro",  "--threads", "2",
                          "--role", "clerk",   "extra", "--force",   NULL};
    struct loaded l;
    load(&l, args);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg.threads, 2);
    assert_int_equal(l.nrest, 7);
    const char *want[] = {"add",   "--login", "taro",   "--role",
                          "clerk", "extra",   "--force"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(l.rest[i], want[i]);
    assert_null(l.rest[7]);
    assert_ptr_equal(l.rest, l.argv);
}

static void test_flag_errors(void **state)
{
    const char *no_value[] = {"--threads", NULL};
    expect_refused(no_value);
    const char *no_value2[] = {"--db", NULL};
    expect_refused(no_value2);
    /* Numbers: digits only, not negative. */
    const char *bad_numbers[] = {"abc", "-1", "12x", "", "1.5", "0x10"};
    for (size_t i = 0; i < ARRAY_LEN(bad_numbers); i++) {
        const char *args[] = {"--max-body", bad_numbers[i], NULL};
        struct loaded l;
        load(&l, args);
        if (l.rc != -1)
            fail_msg("max_body \"%s\" accepted", bad_numbers[i]);
    }
    const char *big[] = {"--max-upload", "8589934592", NULL}; /* 8 GiB */
    struct loaded l;
    load(&l, big);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg.max_upload, INT64_C(8589934592));
    /* A string longer than its field is refused, never cut. */
    char long_url[1100];
    memset(long_url, 'a', sizeof long_url - 1);
    long_url[sizeof long_url - 1] = 0;
    const char *too_long[] = {"--db", long_url, NULL};
    expect_refused(too_long);
    memset(long_url, 'a', sizeof l.cfg.db - 1);
    long_url[sizeof l.cfg.db - 1] = 0;
    const char *just_fits[] = {"--db", long_url, NULL};
    load(&l, just_fits);
    assert_int_equal(l.rc, 0);
    assert_int_equal(strlen(l.cfg.db), sizeof l.cfg.db - 1);
}

/* Every thread needs a connection, with two to spare for jobs. */
static void test_threads_and_pool(void **state)
{
    const char *args[] = {"--threads", "20", "--db-pool", "5", NULL};
    struct loaded l;
    load(&l, args);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg.threads, 20);
    assert_int_equal(l.cfg.db_pool, 22);
    const char *zero[] = {"--threads", "0", "--db-pool", "0", NULL};
    load(&l, zero);
    assert_int_equal(l.cfg.threads, 1);
    assert_int_equal(l.cfg.db_pool, 3);
}

static void test_key_file_resolved(void **state)
{
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    /* SQLite: beside the database file. */
    str_copy(cfg.db, "sqlite:var/cityos.db", sizeof cfg.db);
    assert_int_equal(config_resolve_key_file(&cfg), 0);
    assert_string_equal(cfg.key_file, "var/cityos.db.keys");
    str_copy(cfg.db, "sqlite:/srv/city/data.db", sizeof cfg.db);
    cfg.key_file[0] = 0;
    assert_int_equal(config_resolve_key_file(&cfg), 0);
    assert_string_equal(cfg.key_file, "/srv/city/data.db.keys");
    /* A key file given is kept. */
    str_copy(cfg.key_file, "/etc/cityos/keys", sizeof cfg.key_file);
    assert_int_equal(config_resolve_key_file(&cfg), 0);
    assert_string_equal(cfg.key_file, "/etc/cityos/keys");

    /* PostgreSQL: the keys must not sit with the data, so one is
    ** required. */
    str_copy(cfg.db, "postgresql://cityos@db1/cityos", sizeof cfg.db);
    cfg.key_file[0] = 0;
    assert_int_equal(config_resolve_key_file(&cfg), -1);
    assert_string_equal(cfg.key_file, "");
    str_copy(cfg.key_file, "/etc/cityos/keys", sizeof cfg.key_file);
    assert_int_equal(config_resolve_key_file(&cfg), 0);
    assert_string_equal(cfg.key_file, "/etc/cityos/keys");
}

/* Through config_load, as a command sees it. */
static void test_key_file_from_flags(void **state)
{
    const char *pg[] = {"--db", "postgresql://cityos@db1/cityos", NULL};
    struct loaded l;
    load(&l, pg);
    assert_int_equal(l.rc, 0);
    assert_int_equal(config_resolve_key_file(&l.cfg), -1);
    const char *pg_keys[] = {"--db", "postgresql://cityos@db1/cityos",
                             "--key-file", "/etc/cityos/keys", NULL};
    load(&l, pg_keys);
    assert_int_equal(config_resolve_key_file(&l.cfg), 0);
    assert_string_equal(l.cfg.key_file, "/etc/cityos/keys");
    const char *sqlite[] = {"--db", "sqlite:/srv/c.db", NULL};
    load(&l, sqlite);
    assert_int_equal(config_resolve_key_file(&l.cfg), 0);
    assert_string_equal(l.cfg.key_file, "/srv/c.db.keys");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_choice, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_flags_pass_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flag_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_and_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_resolved, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_file_from_flags, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
