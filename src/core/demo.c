/*
** demo.c - `cityos demo`: demo data with fictional people only, and the
** demo sign-ins printed for whoever opens the demo.  Running it twice is
** harmless: existing demo accounts are left as they are.
*/
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "db.h"
#include "http.h"
#include "pickup/pickup.h"
#include "users.h"

#define DEMO_PASSWORD "Cityos-Demo-2026"

static const struct user_input demo_users[] = {
    {"admin", "管理 太郎", "admin@example.jp", "情報政策課", "sysadmin"},
    {"auditor", "監査 花子", "auditor@example.jp", "総務課", "auditor"},
    {"tanaka", "田中 一郎", "tanaka@example.jp", "市民課", "staff_citizen"},
    {"sato", "佐藤 美咲", "sato@example.jp", "健康推進課", "staff_health"},
    {"operator1", "窓口 次郎", "operator1@example.jp", "コールセンター",
     "operator"},
};

int cmd_demo(struct app *app, int argc, char **argv)
{
    if (app_open(app, 1) != 0)
        return 1;
    struct db_conn *c = db_acquire(app->db);
    if (!c)
        return 1;
    struct actor a = {0, "demo", "cli", "local", "cityos demo"};
    int failed = 0;
    for (size_t i = 0; i < ARRAY_LEN(demo_users); i++) {
        struct user_rec u;
        if (users_get_by_login(c, demo_users[i].login, &u) == USERS_OK)
            continue;
        int64_t id;
        int why = 0;
        int rc = users_create(c, &a, &demo_users[i], DEMO_PASSWORD, &id, &why);
        /* Demo accounts skip the forced change so the demo opens at once;
        ** privileged ones still enrol TOTP at first sign-in. */
        if (rc == USERS_OK)
            rc = db_run(c,
                        "UPDATE users SET must_change_password = 0 WHERE "
                        "id = ?",
                        "i", id) == 1
                     ? USERS_OK
                     : USERS_EDB;
        if (rc != USERS_OK) {
            fprintf(stderr, "cityos demo: %s: %s\n", demo_users[i].login,
                    users_error_key(rc));
            failed = 1;
        }
    }
    db_release(c);
    if (failed) {
        app_close(app);
        return 1;
    }
    printf("Demo sign-ins (password for all: %s):\n", DEMO_PASSWORD);
    for (size_t i = 0; i < ARRAY_LEN(demo_users); i++)
        printf("  %-10s %s\n", demo_users[i].login, demo_users[i].role);
    printf("admin and auditor enrol TOTP (an authenticator app) at their "
           "first sign-in.\n");
    /* The services' demo data; the pickup service prints its sign-ins
    ** (notice IDs and passwords) last. */
    failed = pickup_demo(app) != 0;
    app_close(app);
    return failed ? 1 : 0;
}
