/*
** test_admin_db.c - the parts of the administration module that change
** the database, on SQLite and (when CITYOS_TEST_PG is set) PostgreSQL:
** the role editor's roles_save()/roles_delete() (SEC-2: permissions are
** data, every change audited with before and after, the last role holding
** system.admin with active members protected, privileged roles signing
** their members out), and admin_audit_read(), which refuses a read of
** personal data when its audit entry cannot be written (SEC-8, fail
** closed) and raises an alert.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin/admin.h"
#include "core/db.h"
#include "core/http.h"
#include "core/util.h"
#include "testlib.h"

static struct app app;
static struct db_conn *c;
static const struct actor who = {.user_id = 1,
                                 .login = "admin",
                                 .role = "sysadmin",
                                 .ip = "192.0.2.1",
                                 .ua = "test"};

static int setup_sqlite(void **state)
{
    if (testlib_open("sqlite", "admin", &app) != 0)
        return -1;
    c = db_acquire(app.db);
    return c ? 0 : -1;
}

static int setup_pg(void **state)
{
    if (testlib_open("pg", "admin", &app) != 0)
        return -1;
    c = db_acquire(app.db);
    return c ? 0 : -1;
}

static int teardown(void **state)
{
    db_release(c);
    c = NULL;
    testlib_close(&app);
    return 0;
}

static int64_t q_int(const char *sql, const char *s)
{
    int64_t v = -1;
    int rc =
        s ? db_query_int(c, &v, sql, "s", s) : db_query_int(c, &v, sql, "");
    if (rc != DB_ROW && rc != DB_DONE)
        fail_msg("%s: %s", sql, db_errmsg(c));
    return v;
}

static int64_t role_id(const char *name)
{
    return q_int("SELECT id FROM roles WHERE name = ?", name);
}

static int64_t audit_count(const char *action)
{
    return q_int("SELECT COUNT(*) FROM audit_log WHERE action = ?", action);
}

/* The detail of the newest entry with action, parsed as JSON. */
static json_t *last_detail(const char *action)
{
    struct db_stmt *st = db_queryf(c,
                                   "SELECT detail FROM audit_log WHERE "
                                   "action = ? ORDER BY seq DESC LIMIT 1",
                                   "s", action);
    assert_non_null(st);
    assert_int_equal(db_step(st), DB_ROW);
    json_error_t err;
    json_t *j = json_loads(db_col_text(st, 0), 0, &err);
    db_finalize(st);
    if (!j)
        fail_msg("detail of %s is not JSON: %s", action, err.text);
    return j;
}

static int json_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i,
                       v) if (strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static int64_t add_user(const char *login, const char *role, const char *status)
{
    int64_t now = now_unix();
    assert_int_equal(db_run(c,
                            "INSERT INTO users (login, display_name, role_id, "
                            "status, created_at, updated_at) VALUES (?, ?, "
                            "(SELECT id FROM roles WHERE name = ?), ?, ?, ?)",
                            "ssssii", login, login, role, status, now, now),
                     1);
    return q_int("SELECT id FROM users WHERE login = ?", login);
}

static void add_session(const char *id, int64_t user_id)
{
    assert_int_equal(db_run(c,
                            "INSERT INTO sessions (id, user_id, csrf, "
                            "created_at, last_seen) VALUES (?, ?, 'x', ?, ?)",
                            "siii", id, user_id, now_unix(), now_unix()),
                     1);
}

static void set_audit_broken(int broken)
{
    const char *sql = broken ? "ALTER TABLE audit_log RENAME TO audit_log_off"
                             : "ALTER TABLE audit_log_off RENAME TO audit_log";
    if (db_exec(c, sql) != DB_OK)
        fail_msg("%s: %s", sql, db_errmsg(c));
}

/* ---- tests -------------------------------------------------------------- */

static void test_role_create(void **state)
{
    struct role_input in = {
        .name = "staff_tax",
        .label_ja = "税務課職員",
        .label_en = "Tax staff",
        .privileged = 0,
        .perms = {"users.read", "booking.staff", "users.read"},
        .nperms = 3};
    int64_t id = 0;
    assert_int_equal(roles_save(c, &who, 0, &in, &id), ROLES_OK);
    assert_true(id > 0);
    assert_int_equal(role_id("staff_tax"), id);
    assert_int_equal(q_int("SELECT COUNT(*) FROM role_permissions WHERE "
                           "role_id = (SELECT id FROM roles WHERE name = ?)",
                           "staff_tax"),
                     2); /* the duplicate is stored once */
    json_t *d = last_detail("role.create");
    assert_string_equal(json_string_value(json_object_get(d, "name")),
                        "staff_tax");
    json_t *perms = json_object_get(d, "permissions");
    assert_int_equal(json_array_size(perms), 2);
    assert_string_equal(json_string_value(json_array_get(perms, 0)),
                        "booking.staff"); /* sorted */
    assert_true(json_is_false(json_object_get(d, "privileged")));
    json_decref(d);
    assert_int_equal(q_int("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'role.create' AND target_type = 'role' AND "
                           "target_id = ?",
                           "staff_tax"),
                     1);

    /* Same name again. */
    int64_t before = audit_count("role.create");
    assert_int_equal(roles_save(c, &who, 0, &in, &id), ROLES_EEXISTS);
    assert_int_equal(audit_count("role.create"), before);
}

static void test_role_invalid(void **state)
{
    char long_label[400] = "";
    for (int i = 0; i < 101; i++)
        strcat(long_label, "あ");
    struct role_input bad[] = {
        {.name = "Staff", .label_ja = "a", .label_en = "a"},
        {.name = "1staff", .label_ja = "a", .label_en = "a"},
        {.name = "s", .label_ja = "a", .label_en = "a"},
        {.name = "staff-x", .label_ja = "a", .label_en = "a"},
        {.name = "okname", .label_ja = "", .label_en = "a"},
        {.name = "okname", .label_ja = "a", .label_en = "<b>"},
        {.name = "okname", .label_ja = "a\nb", .label_en = "a"},
        {.name = "okname", .label_ja = long_label, .label_en = "a"},
        {.name = "okname",
         .label_ja = "a",
         .label_en = "a",
         .perms = {"users.read", "no.such"},
         .nperms = 2},
        {.name = NULL, .label_ja = "a", .label_en = "a"},
    };
    int64_t roles = q_int("SELECT COUNT(*) FROM roles", NULL);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (roles_save(c, &who, 0, &bad[i], NULL) != ROLES_EINVAL)
            fail_msg("case %zu accepted", i);
    assert_int_equal(q_int("SELECT COUNT(*) FROM roles", NULL), roles);
    /* 100 characters is fine. */
    long_label[strlen(long_label) - strlen("あ")] = 0;
    struct role_input ok = {
        .name = "okname", .label_ja = long_label, .label_en = "x"};
    assert_int_equal(roles_save(c, &who, 0, &ok, NULL), ROLES_OK);
    /* Updating an unknown role. */
    assert_int_equal(roles_save(c, &who, 999999, &ok, NULL), ROLES_ENOTFOUND);
}

static void test_role_update(void **state)
{
    int64_t id = role_id("staff_tax");
    /* A permission outside the catalog, from a service not in the editor. */
    assert_int_equal(db_run(c,
                            "INSERT INTO role_permissions (role_id, perm) "
                            "VALUES (?, 'future.thing')",
                            "i", id),
                     1);
    int64_t u = add_user("taxclerk", "staff_tax", "active");
    add_session("s-taxclerk", u);

    /* Nothing changed: nothing recorded. */
    int64_t upd = audit_count("role.update"),
            perm = audit_count("role.permissions");
    struct role_input same = {.label_ja = "税務課職員",
                              .label_en = "Tax staff",
                              .perms = {"booking.staff", "users.read"},
                              .nperms = 2};
    assert_int_equal(roles_save(c, &who, id, &same, NULL), ROLES_OK);
    assert_int_equal(audit_count("role.update"), upd);
    assert_int_equal(audit_count("role.permissions"), perm);

    /* Labels and permissions change. */
    struct role_input in = {.label_ja = "税務課",
                            .label_en = "Tax staff",
                            .privileged = 0,
                            .perms = {"users.read", "audit.read"},
                            .nperms = 2};
    assert_int_equal(roles_save(c, &who, id, &in, NULL), ROLES_OK);
    assert_int_equal(audit_count("role.update"), upd + 1);
    assert_int_equal(audit_count("role.permissions"), perm + 1);
    json_t *d = last_detail("role.update");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(d, "before"), "label_ja")),
                        "税務課職員");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(d, "after"), "label_ja")),
                        "税務課");
    json_decref(d);
    d = last_detail("role.permissions");
    json_t *b = json_object_get(d, "before"), *a = json_object_get(d, "after");
    assert_true(json_has(b, "booking.staff"));
    assert_false(json_has(a, "booking.staff"));
    assert_true(json_has(a, "audit.read"));
    assert_true(json_has(a, "future.thing")); /* kept */
    json_decref(d);
    assert_int_equal(q_int("SELECT COUNT(*) FROM role_permissions p JOIN "
                           "roles r ON r.id = p.role_id WHERE r.name = ?",
                           "staff_tax"),
                     3);
    /* Not privileged: the member's session is untouched. */
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM sessions WHERE id = ?", "s-taxclerk"), 1);

    /* Becoming privileged signs the members out. */
    in.privileged = 1;
    assert_int_equal(roles_save(c, &who, id, &in, NULL), ROLES_OK);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM sessions WHERE id = ?", "s-taxclerk"), 0);
    assert_int_equal(
        q_int("SELECT privileged FROM roles WHERE name = ?", "staff_tax"), 1);
    assert_int_equal(audit_count("role.update"), upd + 2);
    assert_int_equal(audit_count("role.permissions"), perm + 1);
}

static void sysadmin_input(struct role_input *in, int with_admin)
{
    memset(in, 0, sizeof *in);
    in->label_ja = "システム管理者";
    in->label_en = "System administrator";
    in->privileged = 1;
    const char *p[] = {"users.read",     "users.write",  "roles.write",
                       "audit.read",     "audit.export", "alerts.read",
                       "alerts.receive", "system.admin"};
    for (size_t i = 0; i < ARRAY_LEN(p) - (with_admin ? 0 : 1); i++)
        in->perms[in->nperms++] = p[i];
}

static void test_last_admin_role(void **state)
{
    int64_t sys = role_id("sysadmin");
    struct role_input in;

    /* No active member: nothing to protect. */
    add_user("oldadmin", "sysadmin", "suspended");
    sysadmin_input(&in, 0);
    assert_int_equal(roles_save(c, &who, sys, &in, NULL), ROLES_OK);
    sysadmin_input(&in, 1);
    assert_int_equal(roles_save(c, &who, sys, &in, NULL), ROLES_OK);

    /* An active member and no other administrator: refused, unchanged. */
    add_user("admin1", "sysadmin", "active");
    int64_t perm = audit_count("role.permissions");
    sysadmin_input(&in, 0);
    in.label_ja = "管理者"; /* refused as a whole, labels too */
    assert_int_equal(roles_save(c, &who, sys, &in, NULL), ROLES_ELASTADMIN);
    assert_int_equal(q_int("SELECT COUNT(*) FROM role_permissions WHERE "
                           "role_id = (SELECT id FROM roles WHERE name = ?) "
                           "AND perm = 'system.admin'",
                           "sysadmin"),
                     1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM roles WHERE name = "
                           "'sysadmin' AND label_ja = ?",
                           "システム管理者"),
                     1);
    assert_int_equal(audit_count("role.permissions"), perm);

    /* Another role holding system.admin with an active member: allowed. */
    struct role_input other = {.name = "admin2",
                               .label_ja = "副管理者",
                               .label_en = "Deputy administrator",
                               .privileged = 1,
                               .perms = {"system.admin"},
                               .nperms = 1};
    assert_int_equal(roles_save(c, &who, 0, &other, NULL), ROLES_OK);
    add_user("deputy", "admin2", "active");
    sysadmin_input(&in, 0);
    assert_int_equal(roles_save(c, &who, sys, &in, NULL), ROLES_OK);
    assert_int_equal(audit_count("role.permissions"), perm + 1);
    /* Now admin2 is the last: it cannot lose system.admin. */
    struct role_input strip = other;
    strip.nperms = 0;
    assert_int_equal(roles_save(c, &who, role_id("admin2"), &strip, NULL),
                     ROLES_ELASTADMIN);
    /* Give it back to sysadmin for the tests that follow. */
    sysadmin_input(&in, 1);
    assert_int_equal(roles_save(c, &who, sys, &in, NULL), ROLES_OK);
}

static void test_role_delete(void **state)
{
    /* Built in. */
    assert_int_equal(roles_delete(c, &who, role_id("citizen")), ROLES_EINUSE);
    /* Has members (even suspended ones count). */
    assert_int_equal(roles_delete(c, &who, role_id("staff_tax")), ROLES_EINUSE);
    assert_int_equal(roles_delete(c, &who, 999999), ROLES_ENOTFOUND);
    int64_t id = role_id("okname");
    assert_true(id > 0);
    assert_int_equal(roles_delete(c, &who, id), ROLES_OK);
    assert_int_equal(role_id("okname"), -1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM role_permissions WHERE "
                           "role_id NOT IN (SELECT id FROM roles)",
                           NULL),
                     0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'role.delete' AND target_id = ?",
                           "okname"),
                     1);
}

static void test_role_audit_failure(void **state)
{
    int64_t alerts = q_int("SELECT COUNT(*) FROM alerts", NULL);
    set_audit_broken(1);
    struct role_input in = {.name = "never",
                            .label_ja = "作られない",
                            .label_en = "Never",
                            .perms = {"users.read"},
                            .nperms = 1};
    int rc_create = roles_save(c, &who, 0, &in, NULL);
    struct role_input upd = {.label_ja = "変わらない",
                             .label_en = "Unchanged",
                             .perms = {"users.read"},
                             .nperms = 1};
    int rc_update = roles_save(c, &who, role_id("staff_tax"), &upd, NULL);
    set_audit_broken(0);
    assert_int_equal(rc_create, ROLES_EAUDIT);
    assert_int_equal(rc_update, ROLES_EAUDIT);
    /* Fail closed: nothing of either change was kept. */
    assert_int_equal(role_id("never"), -1);
    assert_int_equal(
        q_int("SELECT COUNT(*) FROM roles WHERE label_ja = ?", "変わらない"),
        0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM role_permissions p JOIN "
                           "roles r ON r.id = p.role_id WHERE r.name = ?",
                           "staff_tax"),
                     3);
    assert_int_equal(q_int("SELECT COUNT(*) FROM alerts", NULL), alerts + 2);
}

static void init_req(struct req *rq, struct resp *rs)
{
    memset(rq, 0, sizeof *rq);
    memset(rs, 0, sizeof *rs);
    buf_init(&rs->body);
    kv_init(&rs->headers);
    rq->app = &app;
    rq->db = c;
    rq->actor = who;
    rq->lang = "ja";
    rq->is_api = 1; /* errors as problem+json */
    rq->path = "/api/v1/users/3";
}

static void free_resp(struct resp *rs)
{
    buf_free(&rs->body);
    kv_free(&rs->headers);
}

static void test_audit_read(void **state)
{
    struct req rq;
    struct resp rs;
    init_req(&rq, &rs);
    int64_t n = audit_count("user.view");
    assert_int_equal(admin_audit_read(&rq, &rs, "user.view", "user", "3", NULL),
                     0);
    assert_int_equal(rs.status, 0); /* nothing answered yet */
    assert_int_equal(audit_count("user.view"), n + 1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM audit_log WHERE action = "
                           "'user.view' AND login = 'admin' AND ip = "
                           "'192.0.2.1' AND target_id = ?",
                           "3"),
                     1);
    assert_false(db_in_transaction(c));
    free_resp(&rs);

    /* The log cannot be written: the read is refused with 503, an alert
    ** is raised, and no transaction is left open. */
    int64_t alerts = q_int("SELECT COUNT(*) FROM alerts WHERE kind = "
                           "'audit.write_failed'",
                           NULL);
    init_req(&rq, &rs);
    set_audit_broken(1);
    int rc = admin_audit_read(&rq, &rs, "user.view", "user", "3", NULL);
    int in_tx = db_in_transaction(c);
    set_audit_broken(0);
    assert_int_equal(rc, -1);
    assert_false(in_tx);
    assert_int_equal(rs.status, 503);
    assert_string_equal(rs.content_type, "application/problem+json");
    assert_non_null(strstr(rs.body.data, "error.audit"));
    assert_int_equal(q_int("SELECT COUNT(*) FROM alerts WHERE kind = "
                           "'audit.write_failed'",
                           NULL),
                     alerts + 1);
    assert_int_equal(audit_count("user.view"), n + 1);
    free_resp(&rs);
}

#define ALL_TESTS                                                              \
    cmocka_unit_test(test_role_create), cmocka_unit_test(test_role_invalid),   \
        cmocka_unit_test(test_role_update),                                    \
        cmocka_unit_test(test_last_admin_role),                                \
        cmocka_unit_test(test_role_delete),                                    \
        cmocka_unit_test(test_role_audit_failure),                             \
        cmocka_unit_test(test_audit_read)

int main(void)
{
    const struct CMUnitTest tests[] = {ALL_TESTS};
    int failed = cmocka_run_group_tests_name("admin-db-sqlite", tests,
                                             setup_sqlite, teardown);
    if (testlib_have_pg())
        failed += cmocka_run_group_tests_name("admin-db-postgresql", tests,
                                              setup_pg, teardown);
    return failed ? 1 : 0;
}
