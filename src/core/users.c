/*
** users.c - the account life cycle (see users.h).
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "password.h"
#include "session.h"
#include "users.h"

const char *users_error_key(int rc)
{
    switch (rc) {
    case USERS_OK:
        return "users.ok";
    case USERS_ENOTFOUND:
        return "users.notfound";
    case USERS_EEXISTS:
        return "users.exists";
    case USERS_EINVAL:
        return "users.invalid";
    case USERS_EPASSWORD:
        return "users.password";
    case USERS_EAUDIT:
        return "error.audit";
    case USERS_ELASTADMIN:
        return "users.lastadmin";
    default:
        return "error.500";
    }
}

int users_login_valid(const char *login)
{
    size_t n = strlen(login);
    if (n < 3 || n > 32 || !isalnum((unsigned char)login[0]))
        return 0;
    for (const char *p = login; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static const char user_cols[] =
    "SELECT u.id, u.login, u.display_name, u.email, u.department, r.name, "
    "r.label_ja, r.label_en, u.role_id, r.privileged, u.status, "
    "u.must_change_password, u.totp_enabled, u.failed_count, u.locked_at, "
    "u.last_login_at, u.password_changed_at, u.created_at FROM users u "
    "JOIN roles r ON r.id = u.role_id ";

static void copy_col(struct db_stmt *st, int col, char *dst, size_t n)
{
    const char *v = db_col_text(st, col);
    str_copy(dst, v ? v : "", n);
}

static int fetch_user(struct db_stmt *st, struct user_rec *u)
{
    if (!st)
        return USERS_EDB;
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_finalize(st);
        return rc == DB_DONE ? USERS_ENOTFOUND : USERS_EDB;
    }
    memset(u, 0, sizeof *u);
    u->id = db_col_int(st, 0);
    copy_col(st, 1, u->login, sizeof u->login);
    copy_col(st, 2, u->display_name, sizeof u->display_name);
    const char *enc = db_col_text(st, 3);
    if (enc && *enc) {
        char *email = field_decrypt(the_app->keys, "users.email", enc);
        str_copy(u->email, email ? email : "", sizeof u->email);
        free(email);
    }
    copy_col(st, 4, u->department, sizeof u->department);
    copy_col(st, 5, u->role, sizeof u->role);
    copy_col(st, 6, u->role_label_ja, sizeof u->role_label_ja);
    copy_col(st, 7, u->role_label_en, sizeof u->role_label_en);
    u->role_id = db_col_int(st, 8);
    u->privileged = (int)db_col_int(st, 9);
    copy_col(st, 10, u->status, sizeof u->status);
    u->must_change_password = (int)db_col_int(st, 11);
    u->totp_enabled = (int)db_col_int(st, 12);
    u->failed_count = (int)db_col_int(st, 13);
    u->locked = !db_col_is_null(st, 14);
    u->last_login_at = db_col_int(st, 15);
    u->password_changed_at = db_col_int(st, 16);
    u->created_at = db_col_int(st, 17);
    db_finalize(st);
    return USERS_OK;
}

int users_get(struct db_conn *c, int64_t id, struct user_rec *u)
{
    struct buf sql;
    buf_init(&sql);
    buf_printf(&sql, "%sWHERE u.id = ?", user_cols);
    int rc = fetch_user(db_queryf(c, sql.data, "i", id), u);
    buf_free(&sql);
    return rc;
}

int users_get_by_login(struct db_conn *c, const char *login, struct user_rec *u)
{
    struct buf sql;
    buf_init(&sql);
    buf_printf(&sql, "%sWHERE u.login = ?", user_cols);
    int rc = fetch_user(db_queryf(c, sql.data, "s", login), u);
    buf_free(&sql);
    return rc;
}

/* Appends the audit entry and commits; on any failure rolls back, so the
** change and its record stand or fall together. */
static int finish(struct db_conn *c, const struct actor *who,
                  const char *action, int64_t id, const char *detail)
{
    char tid[32];
    snprintf(tid, sizeof tid, "%lld", (long long)id);
    if (audit_append(c, who, action, "user", tid, "ok", detail) != 0) {
        db_rollback(c);
        audit_alert(db_of(c), "audit.write_failed", action);
        return USERS_EAUDIT;
    }
    if (db_commit(c) != DB_OK)
        return USERS_EDB;
    return USERS_OK;
}

static int fail(struct db_conn *c, int rc)
{
    db_rollback(c);
    return rc;
}

/* The result of an UPDATE or DELETE of exactly one account row: USERS_OK
** to go on, otherwise the transaction is rolled back. */
static int one_row(struct db_conn *c, int64_t changed)
{
    if (changed == 1)
        return USERS_OK;
    return fail(c, changed == 0 ? USERS_ENOTFOUND : USERS_EDB);
}

static int valid_input(const struct user_input *in)
{
    size_t dn = strlen(in->display_name);
    if (dn == 0 || dn > 100 || strpbrk(in->display_name, "\r\n\t<>"))
        return 0;
    if (in->email && in->email[0]) {
        const char *at = strchr(in->email, '@');
        if (strlen(in->email) > 254 || !at || at == in->email ||
            !strchr(at, '.') || strpbrk(in->email, " \r\n,;<>\""))
            return 0;
    }
    if (in->department && strlen(in->department) > 100)
        return 0;
    return 1;
}

static int role_id_of(struct db_conn *c, const char *role, int64_t *id)
{
    int rc =
        db_query_int(c, id, "SELECT id FROM roles WHERE name = ?", "s", role);
    return rc == DB_ROW ? 0 : -1;
}

/* Active system administrators other than id. */
static int64_t other_admins(struct db_conn *c, int64_t id)
{
    int64_t n = 0;
    db_query_int(c, &n,
                 "SELECT COUNT(*) FROM users u JOIN role_permissions p ON "
                 "p.role_id = u.role_id AND p.perm = 'system.admin' "
                 "WHERE u.status = 'active' AND u.id <> ?",
                 "i", id);
    return n;
}

static int is_admin(struct db_conn *c, int64_t id)
{
    int64_t n = 0;
    db_query_int(c, &n,
                 "SELECT COUNT(*) FROM users u JOIN role_permissions p ON "
                 "p.role_id = u.role_id AND p.perm = 'system.admin' "
                 "WHERE u.id = ?",
                 "i", id);
    return n > 0;
}

int users_create(struct db_conn *c, const struct actor *who,
                 const struct user_input *in, const char *password,
                 int64_t *id_out, int *why)
{
    if (!users_login_valid(in->login) || !valid_input(in))
        return USERS_EINVAL;
    enum password_problem pp = password_check(password, in->login);
    if (pp != PASSWORD_OK) {
        *why = (int)pp;
        return USERS_EPASSWORD;
    }
    char hash[PASSWORD_HASH_SIZE];
    if (password_hash(password, hash) != 0)
        return USERS_EDB;
    if (db_begin(c) != DB_OK)
        return USERS_EDB;
    int64_t role_id;
    if (role_id_of(c, in->role, &role_id) != 0)
        return fail(c, USERS_EINVAL);
    char *email = in->email && in->email[0]
                      ? field_encrypt(the_app->keys, "users.email", in->email)
                      : NULL;
    int64_t now = now_unix();
    struct db_stmt *st = db_queryf(
        c,
        "INSERT INTO users (login, display_name, email, department, role_id, "
        "status, password_hash, must_change_password, password_changed_at, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, 1, ?, ?, "
        "?) RETURNING id",
        "ssssisiii", in->login, in->display_name, email,
        in->department ? in->department : "", role_id, hash, now, now, now);
    free(email);
    if (!st)
        return fail(c, USERS_EDB);
    int rc = db_step(st);
    int64_t id = rc == DB_ROW ? db_col_int(st, 0) : 0;
    db_finalize(st);
    if (rc == DB_CONSTRAINT)
        return fail(c, USERS_EEXISTS);
    if (rc != DB_ROW)
        return fail(c, USERS_EDB);
    if (id_out)
        *id_out = id;
    char detail[160];
    snprintf(detail, sizeof detail, "login=%s role=%s", in->login, in->role);
    return finish(c, who, "user.create", id, detail);
}

int users_update(struct db_conn *c, const struct actor *who, int64_t id,
                 const struct user_input *in)
{
    if (!valid_input(in))
        return USERS_EINVAL;
    if (db_begin(c) != DB_OK)
        return USERS_EDB;
    int64_t role_id;
    if (role_id_of(c, in->role, &role_id) != 0)
        return fail(c, USERS_EINVAL);
    int64_t old_role = 0;
    if (db_query_int(c, &old_role, "SELECT role_id FROM users WHERE id = ?",
                     "i", id) != DB_ROW)
        return fail(c, USERS_ENOTFOUND);
    int64_t admin_perm = 0;
    db_query_int(c, &admin_perm,
                 "SELECT COUNT(*) FROM role_permissions WHERE role_id = ? "
                 "AND perm = 'system.admin'",
                 "i", role_id);
    if (!admin_perm && is_admin(c, id) && other_admins(c, id) == 0)
        return fail(c, USERS_ELASTADMIN);
    char *email = in->email && in->email[0]
                      ? field_encrypt(the_app->keys, "users.email", in->email)
                      : NULL;
    int64_t n =
        db_run(c,
               "UPDATE users SET display_name = ?, email = ?, "
               "department = ?, role_id = ?, updated_at = ? "
               "WHERE id = ?",
               "sssiii", in->display_name, email,
               in->department ? in->department : "", role_id, now_unix(), id);
    free(email);
    int rc = one_row(c, n);
    if (rc != USERS_OK)
        return rc;
    /* A new role means new permissions: sign in again. */
    if (role_id != old_role && session_end_all(c, id) != 0)
        return fail(c, USERS_EDB);
    char detail[128];
    snprintf(detail, sizeof detail, "role=%s", in->role);
    return finish(c, who, "user.update", id, detail);
}

int users_set_password(struct db_conn *c, const struct actor *who, int64_t id,
                       const char *password, int must_change,
                       const char *keep_session, int *why)
{
    struct user_rec u;
    int rc = users_get(c, id, &u);
    if (rc != USERS_OK)
        return rc;
    enum password_problem pp = password_check(password, u.login);
    if (pp != PASSWORD_OK) {
        *why = (int)pp;
        return USERS_EPASSWORD;
    }
    char hash[PASSWORD_HASH_SIZE];
    if (password_hash(password, hash) != 0)
        return USERS_EDB;
    if (db_begin(c) != DB_OK)
        return USERS_EDB;
    if (db_run(c,
               "UPDATE users SET password_hash = ?, must_change_password = ?, "
               "password_changed_at = ?, updated_at = ? WHERE id = ?",
               "siiii", hash, (int64_t)must_change, now_unix(), now_unix(),
               id) != 1)
        return fail(c, USERS_EDB);
    if (db_run(c, "DELETE FROM sessions WHERE user_id = ? AND id <> ?", "is",
               id, keep_session ? keep_session : "") < 0)
        return fail(c, USERS_EDB);
    return finish(c, who,
                  must_change ? "user.password_reset" : "user.password_change",
                  id, NULL);
}

int users_set_status(struct db_conn *c, const struct actor *who, int64_t id,
                     const char *status)
{
    int suspend = strcmp(status, "suspended") == 0;
    if (!suspend && strcmp(status, "active") != 0)
        return USERS_EINVAL;
    if (db_begin(c) != DB_OK)
        return USERS_EDB;
    if (suspend && is_admin(c, id) && other_admins(c, id) == 0)
        return fail(c, USERS_ELASTADMIN);
    int64_t n = db_run(c,
                       "UPDATE users SET status = ?, updated_at = ? "
                       "WHERE id = ?",
                       "sii", status, now_unix(), id);
    int rc = one_row(c, n);
    if (rc != USERS_OK)
        return rc;
    if (suspend && session_end_all(c, id) != 0)
        return fail(c, USERS_EDB);
    return finish(c, who, suspend ? "user.suspend" : "user.enable", id, NULL);
}

int users_delete(struct db_conn *c, const struct actor *who, int64_t id)
{
    if (db_begin(c) != DB_OK)
        return USERS_EDB;
    if (is_admin(c, id) && other_admins(c, id) == 0)
        return fail(c, USERS_ELASTADMIN);
    if (session_end_all(c, id) != 0 ||
        db_run(c, "DELETE FROM recovery_codes WHERE user_id = ?", "i", id) < 0)
        return fail(c, USERS_EDB);
    int64_t n = db_run(c, "DELETE FROM users WHERE id = ?", "i", id);
    int rc = one_row(c, n);
    if (rc != USERS_OK)
        return rc;
    return finish(c, who, "user.delete", id, NULL);
}

int users_unlock(struct db_conn *c, const struct actor *who, int64_t id)
{
    if (db_begin(c) != DB_OK)
        return USERS_EDB;
    int64_t n = db_run(c,
                       "UPDATE users SET locked_at = NULL, failed_count = 0, "
                       "updated_at = ? WHERE id = ?",
                       "ii", now_unix(), id);
    int rc = one_row(c, n);
    if (rc != USERS_OK)
        return rc;
    return finish(c, who, "user.unlock", id, NULL);
}

int users_reset_totp(struct db_conn *c, const struct actor *who, int64_t id)
{
    if (db_begin(c) != DB_OK)
        return USERS_EDB;
    int64_t n = db_run(c,
                       "UPDATE users SET totp_secret = NULL, totp_enabled = 0, "
                       "totp_last_step = 0, updated_at = ? WHERE id = ?",
                       "ii", now_unix(), id);
    int rc = one_row(c, n);
    if (rc != USERS_OK)
        return rc;
    if (db_run(c, "DELETE FROM recovery_codes WHERE user_id = ?", "i", id) <
            0 ||
        session_end_all(c, id) != 0)
        return fail(c, USERS_EDB);
    return finish(c, who, "user.totp_reset", id, NULL);
}
