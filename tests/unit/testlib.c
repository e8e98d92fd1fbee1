/*
** testlib.c - shared unit-test fixtures (see testlib.h).
*/
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/db.h"
#include "core/util.h"

static char dir[256];
static char schema[64];

int testlib_have_pg(void)
{
    const char *u = getenv("CITYOS_TEST_PG");
    return u && *u;
}

static int admin_exec(const char *base, const char *sql)
{
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

int testlib_open(const char *engine, const char *name, struct app *app)
{
    memset(app, 0, sizeof *app);
    char **rest;
    int nrest;
    char *argv[] = {NULL};
    config_load(&app->cfg, 0, argv, &rest, &nrest);
    snprintf(dir, sizeof dir, "/tmp/cityos-%s-XXXXXX", name);
    if (!mkdtemp(dir))
        return -1;
    snprintf(app->cfg.key_file, sizeof app->cfg.key_file, "%s/keys", dir);
    if (strcmp(engine, "pg") == 0) {
        const char *base = getenv("CITYOS_TEST_PG");
        snprintf(schema, sizeof schema, "t_%s_%d", name, (int)getpid());
        char sql[256];
        snprintf(sql, sizeof sql,
                 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
                 schema);
        if (admin_exec(base, sql) != 0)
            return -1;
        snprintf(app->cfg.db, sizeof app->cfg.db,
                 "%s%coptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') ? '&' : '?', schema);
    } else {
        schema[0] = 0;
        snprintf(app->cfg.db, sizeof app->cfg.db, "sqlite:%s/t.db", dir);
    }
    return app_open(app, 1);
}

void testlib_close(struct app *app)
{
    app_close(app);
    if (schema[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
        admin_exec(getenv("CITYOS_TEST_PG"), sql);
        schema[0] = 0;
    }
    char path[512];
    const char *files[] = {"t.db", "t.db-wal", "t.db-shm", "keys"};
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    the_app = NULL;
}
