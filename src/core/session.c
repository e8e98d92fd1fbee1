/*
** session.c - database-backed sessions (see session.h).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "http.h"
#include "session.h"

static void session_id(const char *token, char out[65])
{
    sha256_hex(token, strlen(token), out);
}

static int load_perms(struct req *rq, int64_t role_id)
{
    struct db_stmt *st = db_queryf(rq->db,
                                   "SELECT perm FROM role_permissions "
                                   "WHERE role_id = ? ORDER BY perm",
                                   "i", role_id);
    if (!st)
        return -1;
    int rc;
    while ((rc = db_step(st)) == DB_ROW &&
           rq->sess->nperms < SESSION_MAX_PERMS) {
        str_copy(rq->sess->perms[rq->sess->nperms++], db_col_text(st, 0),
                 sizeof rq->sess->perms[0]);
    }
    db_finalize(st);
    return rc < 0 ? -1 : 0;
}

static int expired(const struct config *cfg, int privileged, int64_t now,
                   int64_t created, int64_t last_seen)
{
    int idle = privileged ? cfg->priv_session_idle : cfg->session_idle;
    int absolute =
        privileged ? cfg->priv_session_absolute : cfg->session_absolute;
    return now - last_seen > idle || now - created > absolute;
}

int session_load(struct req *rq)
{
    const char *token = kv_get(&rq->cookies, SESSION_COOKIE);
    if (!token || strlen(token) < 40 || strlen(token) > 100)
        return 0;
    char id[65];
    session_id(token, id);
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT s.user_id, s.csrf, s.created_at, s.last_seen, s.stage, "
        "s.privileged, s.prev_login_at, s.failed_since, u.login, "
        "u.display_name, r.name, r.label_ja, r.label_en, u.role_id, "
        "u.status FROM sessions s JOIN users u ON u.id = s.user_id "
        "JOIN roles r ON r.id = u.role_id WHERE s.id = ?",
        "s", id);
    if (!st)
        return -1;
    int rc = db_step(st);
    if (rc < 0) {
        db_finalize(st);
        return -1;
    }
    if (rc != DB_ROW) {
        db_finalize(st);
        return 0;
    }
    int64_t now = now_unix();
    int privileged = (int)db_col_int(st, 5);
    int64_t created = db_col_int(st, 2), last_seen = db_col_int(st, 3);
    const char *status = db_col_text(st, 14);
    if (expired(&rq->app->cfg, privileged, now, created, last_seen) ||
        !str_eq(status, "active")) {
        db_finalize(st);
        db_run(rq->db, "DELETE FROM sessions WHERE id = ?", "s", id);
        return 0;
    }
    struct session *s = xcalloc(1, sizeof *s);
    str_copy(s->id, id, sizeof s->id);
    s->user_id = db_col_int(st, 0);
    str_copy(s->csrf, db_col_text(st, 1), sizeof s->csrf);
    s->created_at = created;
    s->last_seen = last_seen;
    str_copy(s->stage, db_col_text(st, 4), sizeof s->stage);
    s->privileged = privileged;
    s->prev_login_at = db_col_int(st, 6);
    s->failed_since = (int)db_col_int(st, 7);
    str_copy(s->login, db_col_text(st, 8), sizeof s->login);
    str_copy(s->display_name, db_col_text(st, 9), sizeof s->display_name);
    str_copy(s->role, db_col_text(st, 10), sizeof s->role);
    str_copy(s->role_label,
             db_col_text(st, strcmp(rq->lang, "en") == 0 ? 12 : 11),
             sizeof s->role_label);
    int64_t role_id = db_col_int(st, 13);
    db_finalize(st);
    rq->sess = s;
    if (load_perms(rq, role_id) != 0)
        return -1;
    /* Touch at most every 30 s (or half the idle limit when that is
    ** shorter): a write per request would serialise all requests on SQLite
    ** for no gain in precision that matters. */
    int idle =
        privileged ? rq->app->cfg.priv_session_idle : rq->app->cfg.session_idle;
    int touch = idle / 2 < 30 ? idle / 2 : 30;
    if (now - last_seen >= touch)
        db_run(rq->db, "UPDATE sessions SET last_seen = ? WHERE id = ?", "is",
               now, id);
    return 0;
}

int session_create(struct req *rq, struct resp *rs, int64_t user_id,
                   const char *stage, int64_t prev_login_at, int failed_since)
{
    int64_t privileged = 0;
    if (db_query_int(rq->db, &privileged,
                     "SELECT r.privileged FROM users u JOIN roles r "
                     "ON r.id = u.role_id WHERE u.id = ?",
                     "i", user_id) != DB_ROW)
        return -1;
    char *token = random_token(32);
    char *csrf = random_token(32);
    char id[65];
    session_id(token, id);
    int64_t now = now_unix();
    int64_t rc = db_run(rq->db,
                        "INSERT INTO sessions (id, user_id, csrf, created_at, "
                        "last_seen, stage, privileged, ip, user_agent, "
                        "prev_login_at, failed_since) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "sisiisissii", id, user_id, csrf, now, now, stage,
                        privileged, rq->remote_ip, rq->user_agent,
                        prev_login_at, (int64_t)failed_since);
    if (rc == 1) {
        /* Session cookie (no Max-Age): closing the browser ends it too. */
        resp_cookie(rs, SESSION_COOKIE, token, -1);
    }
    free(token);
    free(csrf);
    return rc == 1 ? 0 : -1;
}

int session_set_stage(struct req *rq, const char *stage)
{
    if (!rq->sess)
        return -1;
    if (db_run(rq->db, "UPDATE sessions SET stage = ? WHERE id = ?", "ss",
               stage, rq->sess->id) != 1)
        return -1;
    str_copy(rq->sess->stage, stage, sizeof rq->sess->stage);
    return 0;
}

int session_destroy(struct req *rq, struct resp *rs)
{
    if (rq->sess)
        db_run(rq->db, "DELETE FROM sessions WHERE id = ?", "s", rq->sess->id);
    resp_cookie(rs, SESSION_COOKIE, "", 0);
    return 0;
}

int session_end_all(struct db_conn *c, int64_t user_id)
{
    return db_run(c, "DELETE FROM sessions WHERE user_id = ?", "i", user_id) < 0
               ? -1
               : 0;
}
