/*
** auth.c - signing in and out (SEC-3, SEC-9, WIN-7, WIN-9): the password
** step with throttling per account and per address and lockout; the TOTP
** step (or a one-time recovery code); forced password change at first
** sign-in and on expiry of privileged passwords; TOTP enrolment required
** for privileged roles; the home page with the previous sign-in notice.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "password.h"
#include "qr.h"
#include "session.h"
#include "tmpl.h"
#include "totp.h"
#include "users.h"

#define IP_WINDOW 900 /* seconds over which failures per address count */

/* Sign-in events name the account by id, like every other account event;
** an unknown login has no id and is named as typed. */
static void user_target(int64_t user_id, const char *login, char *type,
                        char *id, size_t idlen)
{
    strcpy(type, user_id ? "user" : "login");
    if (user_id)
        snprintf(id, idlen, "%lld", (long long)user_id);
    else
        str_copy(id, login, idlen);
}

static int audit_user(struct req *rq, const struct actor *who,
                      const char *action, int64_t user_id, const char *login,
                      const char *result, const char *detail)
{
    char type[8], id[80];
    user_target(user_id, login, type, id, sizeof id);
    return audit_append(rq->db, who, action, type, id, result, detail);
}

/* Records a sign-in event and its audit entry in one transaction. */
static int record_event(struct req *rq, int64_t user_id, const char *login,
                        const char *kind, const char *action,
                        const char *result, const char *detail)
{
    if (db_begin(rq->db) != DB_OK)
        return -1;
    struct actor who = rq->actor;
    if (user_id) {
        who.user_id = user_id;
        who.login = login;
    }
    if (db_run(rq->db,
               "INSERT INTO login_events (ts, user_id, login, kind, ip, "
               "user_agent) VALUES (?, ?, ?, ?, ?, ?)",
               user_id ? "iissss" : "insss", now_unix(), user_id, login, kind,
               rq->remote_ip, rq->user_agent) < 0 ||
        audit_user(rq, &who, action, user_id, login, result, detail) != 0) {
        db_rollback(rq->db);
        audit_alert(rq->app->db, "audit.write_failed", action);
        return -1;
    }
    return db_commit(rq->db) == DB_OK ? 0 : -1;
}

static const char *safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
        strlen(next) > 512)
        return "/";
    return next;
}

static void login_page(struct req *rq, struct resp *rs, int status,
                       const char *error_key)
{
    json_t *ctx = json_object();
    const char *pre = kv_get(&rq->cookies, "__Host-csrf");
    char *fresh = NULL;
    if (!pre) {
        fresh = random_token(32);
        resp_cookie(rs, "__Host-csrf", fresh, -1);
        pre = fresh;
    }
    json_object_set_new(ctx, "csrf", json_string(pre));
    const char *login = req_param(rq, "login");
    if (login && strlen(login) < 64)
        json_object_set_new(ctx, "login", json_string(login));
    json_object_set_new(ctx, "next",
                        json_string(safe_next(req_param(rq, "next"))));
    if (error_key)
        json_object_set_new(ctx, "error",
                            json_string(i18n_get(rq->lang, error_key)));
    resp_page(rq, rs, status, "login", "login.title", ctx);
    free(fresh);
}

static int get_login(struct req *rq, struct resp *rs)
{
    if (rq->sess && strcmp(rq->sess->stage, "full") == 0) {
        resp_redirect(rs, "/");
        return 0;
    }
    login_page(rq, rs, 200, NULL);
    return 0;
}

static int ip_throttled(struct req *rq)
{
    int64_t n = 0;
    db_query_int(rq->db, &n,
                 "SELECT COUNT(*) FROM login_events WHERE ip = ? AND "
                 "kind = 'fail' AND ts > ?",
                 "si", rq->remote_ip, now_unix() - IP_WINDOW);
    return n >= rq->app->cfg.ip_fail_limit;
}

/* A wrong password: count it, lock at the threshold (SEC-9). */
static void count_failure(struct req *rq, const struct user_rec *u,
                          const char *step)
{
    int threshold = rq->app->cfg.lockout_threshold;
    int lock = u->failed_count + 1 >= threshold;
    if (db_begin(rq->db) != DB_OK)
        return;
    db_run(rq->db,
           "UPDATE users SET failed_count = failed_count + 1, "
           "locked_at = CASE WHEN ? = 1 THEN ? ELSE locked_at END "
           "WHERE id = ?",
           "iii", (int64_t)lock, now_unix(), u->id);
    struct actor who = rq->actor;
    who.login = u->login;
    who.user_id = u->id;
    db_run(rq->db,
           "INSERT INTO login_events (ts, user_id, login, kind, ip, "
           "user_agent) VALUES (?, ?, ?, 'fail', ?, ?)",
           "iisss", now_unix(), u->id, u->login, rq->remote_ip, rq->user_agent);
    int ok = audit_user(rq, &who, "auth.login", u->id, u->login, "failed",
                        step) == 0;
    if (ok && lock)
        ok = audit_user(rq, &who, "auth.lockout", u->id, u->login, "ok",
                        NULL) == 0;
    if (ok)
        db_commit(rq->db);
    else {
        db_rollback(rq->db);
        audit_alert(rq->app->db, "audit.write_failed", "auth.login");
    }
}

static int privileged_password_expired(struct req *rq, const struct user_rec *u)
{
    int64_t max_age = (int64_t)rq->app->cfg.priv_password_days * 86400;
    return u->privileged && max_age > 0 &&
           now_unix() - u->password_changed_at > max_age;
}

/* The next step owed after the ones already passed. */
static const char *next_stage(struct req *rq, const struct user_rec *u,
                              int totp_done)
{
    if (u->totp_enabled && !totp_done)
        return "totp";
    if (u->must_change_password || privileged_password_expired(rq, u))
        return "password";
    if (u->privileged && !u->totp_enabled)
        return "totp_enrol";
    return "full";
}

static void go_to_stage(struct resp *rs, const char *stage, const char *next)
{
    if (strcmp(stage, "totp") == 0)
        resp_redirect(rs, "/login/totp");
    else if (strcmp(stage, "password") == 0)
        resp_redirect(rs, "/account/password");
    else if (strcmp(stage, "totp_enrol") == 0)
        resp_redirect(rs, "/account/totp/setup");
    else
        resp_redirect(rs, next ? next : "/");
}

static int start_session(struct req *rq, struct resp *rs,
                         const struct user_rec *u)
{
    int64_t failed_since = 0;
    /* Counted by event order, not time: a failure in the same second as
    ** the last sign-in still counts. */
    db_query_int(rq->db, &failed_since,
                 "SELECT COUNT(*) FROM login_events WHERE user_id = ? AND "
                 "kind = 'fail' AND id > (SELECT COALESCE(MAX(id), 0) FROM "
                 "login_events WHERE user_id = ? AND kind = 'login')",
                 "ii", u->id, u->id);
    const char *stage = next_stage(rq, u, 0);
    if (db_begin(rq->db) != DB_OK)
        return -1;
    struct actor who = rq->actor;
    who.user_id = u->id;
    who.login = u->login;
    who.role = u->role;
    if (rq->sess)
        db_run(rq->db, "DELETE FROM sessions WHERE id = ?", "s", rq->sess->id);
    if (session_create(rq, rs, u->id, stage, u->last_login_at,
                       (int)failed_since) != 0 ||
        db_run(rq->db,
               "UPDATE users SET failed_count = 0, last_login_at = ?, "
               "last_login_ip = ? WHERE id = ?",
               "isi", now_unix(), rq->remote_ip, u->id) != 1 ||
        db_run(rq->db,
               "INSERT INTO login_events (ts, user_id, login, kind, ip, "
               "user_agent) VALUES (?, ?, ?, 'login', ?, ?)",
               "iisss", now_unix(), u->id, u->login, rq->remote_ip,
               rq->user_agent) < 0 ||
        audit_user(rq, &who, "auth.login", u->id, u->login, "ok", stage) != 0) {
        db_rollback(rq->db);
        audit_alert(rq->app->db, "audit.write_failed", "auth.login");
        return -1;
    }
    if (db_commit(rq->db) != DB_OK)
        return -1;
    go_to_stage(rs, stage, safe_next(req_param(rq, "next")));
    return 0;
}

static int post_login(struct req *rq, struct resp *rs)
{
    const char *login = req_param(rq, "login");
    const char *password = req_param(rq, "password");
    if (!login || !password || !login[0] || strlen(login) > 64 ||
        strlen(password) > PASSWORD_MAX_BYTES) {
        login_page(rq, rs, 400, "login.missing");
        return 0;
    }
    if (ip_throttled(rq)) {
        record_event(rq, 0, login, "throttled", "auth.login", "denied",
                     "address throttled");
        login_page(rq, rs, 429, "login.throttled");
        return 0;
    }
    struct user_rec u;
    if (users_get_by_login(rq->db, login, &u) != USERS_OK) {
        password_verify_dummy(password);
        record_event(rq, 0, login, "fail", "auth.login", "failed",
                     "unknown login");
        login_page(rq, rs, 401, "login.failed");
        return 0;
    }
    char *hash = NULL;
    struct db_stmt *st = db_queryf(
        rq->db, "SELECT password_hash FROM users WHERE id = ?", "i", u.id);
    if (st && db_step(st) == DB_ROW && db_col_text(st, 0))
        hash = xstrdup(db_col_text(st, 0));
    db_finalize(st);
    int ok = hash && password_verify(hash, password) == 0;
    free(hash);
    if (u.locked) {
        record_event(rq, u.id, u.login, "fail", "auth.login", "denied",
                     "locked");
        login_page(rq, rs, 403, "login.locked");
        return 0;
    }
    if (!ok) {
        count_failure(rq, &u, "password");
        login_page(rq, rs, 401,
                   u.failed_count + 1 >= rq->app->cfg.lockout_threshold
                       ? "login.locked"
                       : "login.failed");
        return 0;
    }
    if (strcmp(u.status, "active") != 0) {
        record_event(rq, u.id, u.login, "fail", "auth.login", "denied",
                     "suspended");
        login_page(rq, rs, 403, "login.suspended");
        return 0;
    }
    if (start_session(rq, rs, &u) != 0)
        resp_error(rq, rs, 503, "error.audit", NULL);
    return 0;
}

static int post_logout(struct req *rq, struct resp *rs)
{
    if (rq->sess)
        record_event(rq, rq->sess->user_id, rq->sess->login, "logout",
                     "auth.logout", "ok", NULL);
    session_destroy(rq, rs);
    resp_redirect(rs, "/login?done=signed_out");
    return 0;
}

static void simple_page(struct req *rq, struct resp *rs, int status,
                        const char *tmpl, const char *title,
                        const char *error_key, json_t *ctx)
{
    if (!ctx)
        ctx = json_object();
    if (error_key)
        json_object_set_new(ctx, "error",
                            json_string(i18n_get(rq->lang, error_key)));
    resp_page(rq, rs, status, tmpl, title, ctx);
}

static int get_totp(struct req *rq, struct resp *rs)
{
    if (strcmp(rq->sess->stage, "totp") != 0) {
        resp_redirect(rs, "/");
        return 0;
    }
    simple_page(rq, rs, 200, "login_totp", "totp.title", NULL, NULL);
    return 0;
}

/* A recovery code is spent by the same UPDATE that accepts it, so two
** requests racing with one code cannot both succeed. */
static int use_recovery_code(struct req *rq, int64_t user_id, const char *code)
{
    char *hashes[TOTP_RECOVERY_COUNT] = {0};
    size_t n = 0;
    struct db_stmt *st = db_queryf(rq->db,
                                   "SELECT code_hash FROM recovery_codes "
                                   "WHERE user_id = ? AND used_at IS NULL",
                                   "i", user_id);
    while (st && n < TOTP_RECOVERY_COUNT && db_step(st) == DB_ROW)
        hashes[n++] = xstrdup(db_col_text(st, 0));
    db_finalize(st);
    int i = totp_recovery_verify((const char *const *)hashes, n, code);
    int ok = i >= 0 && db_run(rq->db,
                              "UPDATE recovery_codes SET used_at = ? WHERE "
                              "user_id = ? AND code_hash = ? AND used_at IS "
                              "NULL",
                              "iis", now_unix(), user_id, hashes[i]) == 1;
    for (size_t j = 0; j < n; j++)
        free(hashes[j]);
    return ok;
}

/* Checks a six-digit code or a recovery code; 1 when accepted. */
static int check_second_factor(struct req *rq, const struct user_rec *u,
                               const char *code)
{
    char *secret = NULL;
    int64_t last_step = 0;
    struct db_stmt *st = db_queryf(
        rq->db, "SELECT totp_secret, totp_last_step FROM users WHERE id = ?",
        "i", u->id);
    if (st && db_step(st) == DB_ROW && db_col_text(st, 0)) {
        secret = field_decrypt(rq->app->keys, "users.totp_secret",
                               db_col_text(st, 0));
        last_step = db_col_int(st, 1);
    }
    db_finalize(st);
    int ok = 0;
    int64_t step = 0;
    if (secret &&
        totp_verify(secret, code, now_unix(), last_step, &step) == TOTP_OK)
        ok = db_run(rq->db,
                    "UPDATE users SET totp_last_step = ? WHERE id = ? AND "
                    "totp_last_step < ?",
                    "iii", step, u->id, step) == 1;
    free(secret);
    if (!ok && strlen(code) > 6)
        ok = use_recovery_code(rq, u->id, code);
    return ok;
}

static int post_totp(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    const char *code = req_param(rq, "code");
    if (strcmp(rq->sess->stage, "totp") != 0 ||
        users_get(rq->db, rq->sess->user_id, &u) != USERS_OK) {
        resp_redirect(rs, "/");
        return 0;
    }
    if (!code || strlen(code) > 32 || !check_second_factor(rq, &u, code)) {
        count_failure(rq, &u, "totp");
        if (u.failed_count + 1 >= rq->app->cfg.lockout_threshold) {
            session_destroy(rq, rs);
            resp_redirect(rs, "/login");
            return 0;
        }
        simple_page(rq, rs, 401, "login_totp", "totp.title", "totp.wrong",
                    NULL);
        return 0;
    }
    const char *stage = next_stage(rq, &u, 1);
    if (session_set_stage(rq, stage) != 0 ||
        record_event(rq, u.id, u.login, "totp", "auth.totp", "ok", NULL) != 0) {
        resp_error(rq, rs, 503, "error.audit", NULL);
        return 0;
    }
    go_to_stage(rs, stage, "/");
    return 0;
}

static int get_password(struct req *rq, struct resp *rs)
{
    json_t *ctx = json_object();
    json_object_set_new(ctx, "forced",
                        json_boolean(strcmp(rq->sess->stage, "password") == 0));
    simple_page(rq, rs, 200, "password", "password.title", NULL, ctx);
    return 0;
}

static int post_password(struct req *rq, struct resp *rs)
{
    const char *cur = req_param(rq, "current");
    const char *pw = req_param(rq, "password");
    const char *pw2 = req_param(rq, "password2");
    json_t *ctx = json_object();
    json_object_set_new(ctx, "forced",
                        json_boolean(strcmp(rq->sess->stage, "password") == 0));
    if (!cur || !pw || !pw2 || strcmp(pw, pw2) != 0) {
        simple_page(rq, rs, 400, "password", "password.title",
                    "password.mismatch", ctx);
        return 0;
    }
    char *hash = NULL;
    struct db_stmt *st =
        db_queryf(rq->db, "SELECT password_hash FROM users WHERE id = ?", "i",
                  rq->sess->user_id);
    if (st && db_step(st) == DB_ROW && db_col_text(st, 0))
        hash = xstrdup(db_col_text(st, 0));
    db_finalize(st);
    int ok = hash && password_verify(hash, cur) == 0;
    free(hash);
    if (!ok) {
        simple_page(rq, rs, 401, "password", "password.title",
                    "password.current_wrong", ctx);
        return 0;
    }
    if (strcmp(cur, pw) == 0) {
        simple_page(rq, rs, 400, "password", "password.title", "password.same",
                    ctx);
        return 0;
    }
    int why = 0;
    int rc = users_set_password(rq->db, &rq->actor, rq->sess->user_id, pw, 0,
                                rq->sess->id, &why);
    if (rc == USERS_EPASSWORD) {
        json_object_set_new(
            ctx, "error",
            json_string(strcmp(rq->lang, "en") == 0
                            ? password_problem_en((enum password_problem)why)
                            : password_problem_ja((enum password_problem)why)));
        resp_page(rq, rs, 400, "password", "password.title", ctx);
        return 0;
    }
    json_decref(ctx);
    if (rc != USERS_OK) {
        resp_error(rq, rs, rc == USERS_EAUDIT ? 503 : 500, users_error_key(rc),
                   NULL);
        return 0;
    }
    struct user_rec u;
    users_get(rq->db, rq->sess->user_id, &u);
    const char *stage = next_stage(rq, &u, 1);
    session_set_stage(rq, stage);
    if (strcmp(stage, "full") == 0)
        resp_redirect(rs, "/?done=password_changed");
    else
        go_to_stage(rs, stage, "/");
    return 0;
}

/* Enrolment keeps the new secret in users.totp_secret with totp_enabled
** still 0 until the user proves the authenticator works; a retry shows the
** same secret so a scanned code stays valid. */
static char *pending_secret(struct req *rq, const struct user_rec *u)
{
    char *secret = NULL;
    struct db_stmt *st = db_queryf(
        rq->db, "SELECT totp_secret FROM users WHERE id = ?", "i", u->id);
    if (st && db_step(st) == DB_ROW && db_col_text(st, 0))
        secret = field_decrypt(rq->app->keys, "users.totp_secret",
                               db_col_text(st, 0));
    db_finalize(st);
    if (secret)
        return secret;
    secret = totp_secret_new();
    char *enc = field_encrypt(rq->app->keys, "users.totp_secret", secret);
    int64_t n = db_run(rq->db, "UPDATE users SET totp_secret = ? WHERE id = ?",
                       "si", enc, u->id);
    free(enc);
    if (n != 1) {
        free(secret);
        return NULL;
    }
    return secret;
}

static void show_totp_setup(struct req *rq, struct resp *rs,
                            const struct user_rec *u, int status,
                            const char *error_key)
{
    char *secret = pending_secret(rq, u);
    if (!secret) {
        resp_error(rq, rs, 503, NULL, NULL);
        return;
    }
    char *uri = totp_uri(secret, u->login);
    char *svg = qr_svg(uri, i18n_get(rq->lang, "totp.qr_alt"));
    json_t *ctx = json_object();
    json_object_set_new(ctx, "qr", json_string(svg ? svg : ""));
    json_object_set_new(ctx, "secret", json_string(secret));
    json_object_set_new(ctx, "required", json_boolean(u->privileged));
    free(uri);
    free(svg);
    free(secret);
    simple_page(rq, rs, status, "totp_setup", "totp.setup_title", error_key,
                ctx);
}

static int get_totp_setup(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (users_get(rq->db, rq->sess->user_id, &u) != USERS_OK) {
        resp_error(rq, rs, 404, NULL, NULL);
        return 0;
    }
    if (u.totp_enabled) {
        resp_redirect(rs, "/");
        return 0;
    }
    show_totp_setup(rq, rs, &u, 200, NULL);
    return 0;
}

static int post_totp_setup(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    const char *code = req_param(rq, "code");
    if (users_get(rq->db, rq->sess->user_id, &u) != USERS_OK ||
        u.totp_enabled) {
        resp_redirect(rs, "/");
        return 0;
    }
    char *secret = pending_secret(rq, &u);
    int64_t step = 0;
    if (!secret || !code || strlen(code) > 16 ||
        totp_verify(secret, code, now_unix(), 0, &step) != TOTP_OK) {
        free(secret);
        show_totp_setup(rq, rs, &u, 400, "totp.wrong");
        return 0;
    }
    free(secret);
    char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_CODE_SIZE];
    char hashes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_HASH_SIZE];
    if (totp_recovery_generate(codes, hashes, TOTP_RECOVERY_COUNT) != 0)
        goto fail;
    if (db_begin(rq->db) != DB_OK)
        goto fail;
    if (db_run(rq->db,
               "UPDATE users SET totp_enabled = 1, totp_last_step = ? "
               "WHERE id = ?",
               "ii", step, u.id) != 1 ||
        db_run(rq->db, "DELETE FROM recovery_codes WHERE user_id = ?", "i",
               u.id) < 0)
        goto fail_tx;
    json_t *list = json_array();
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++) {
        db_run(rq->db,
               "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
               "is", u.id, hashes[i]);
        json_array_append_new(list, json_string(codes[i]));
    }
    if (audit_user(rq, &rq->actor, "auth.totp_enrol", u.id, u.login, "ok",
                   NULL) != 0) {
        json_decref(list);
        goto fail_tx;
    }
    if (db_commit(rq->db) != DB_OK) {
        json_decref(list);
        goto fail;
    }
    u.totp_enabled = 1;
    session_set_stage(rq, next_stage(rq, &u, 1));
    json_t *ctx = json_object();
    json_object_set_new(ctx, "codes", list);
    resp_page(rq, rs, 200, "recovery_codes", "totp.codes_title", ctx);
    return 0;
fail_tx:
    db_rollback(rq->db);
    audit_alert(rq->app->db, "audit.write_failed", "auth.totp_enrol");
fail:
    resp_error(rq, rs, 503, "error.audit", NULL);
    return 0;
}

static int get_home(struct req *rq, struct resp *rs)
{
    json_t *ctx = json_object();
    json_object_set_new(ctx, "services", nav_for(rq));
    if (rq->sess->prev_login_at) {
        char t[32];
        time_format_jst(rq->sess->prev_login_at, t, sizeof t);
        json_object_set_new(ctx, "prev_login", json_string(t));
    }
    json_object_set_new(ctx, "failed_since",
                        json_integer(rq->sess->failed_since));
    json_object_set_new(ctx, "warn_failed",
                        json_boolean(rq->sess->failed_since > 0));
    resp_page(rq, rs, 200, "home", "home.title", ctx);
    return 0;
}

static int get_healthz(struct req *rq, struct resp *rs)
{
    int64_t one = 0;
    int up = rq->db && db_query_int(rq->db, &one, "SELECT 1", "") == DB_ROW;
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(up ? "ok" : "unavailable"));
    json_object_set_new(o, "storage", json_string(db_engine_name(rq->app->db)));
    json_object_set_new(o, "version", json_string(CITYOS_VERSION));
    resp_json(rs, up ? 200 : 503, o);
    return 0;
}

static const struct route auth_routes[] = {
    {"GET", "/healthz", get_healthz, NULL, ROUTE_PUBLIC},
    {"GET", "/login", get_login, NULL, ROUTE_PUBLIC},
    {"POST", "/login", post_login, NULL, ROUTE_PUBLIC},
    {"POST", "/logout", post_logout, NULL, ROUTE_PUBLIC},
    {"GET", "/login/totp", get_totp, NULL, ROUTE_PENDING_OK},
    {"POST", "/login/totp", post_totp, NULL, ROUTE_PENDING_OK},
    {"GET", "/account/password", get_password, NULL, ROUTE_PENDING_OK},
    {"POST", "/account/password", post_password, NULL, ROUTE_PENDING_OK},
    {"GET", "/account/totp/setup", get_totp_setup, NULL, ROUTE_PENDING_OK},
    {"POST", "/account/totp/setup", post_totp_setup, NULL, ROUTE_PENDING_OK},
    {"GET", "/", get_home, NULL, 0},
};

void auth_register(void)
{
    router_add(auth_routes, ARRAY_LEN(auth_routes));
}
