/*
** psession.c - citizens' sign-in sessions for the pickup service (see
** citizen.h): separate from staff sessions, with their own table and
** cookie, so a citizen's sign-in never grants anything of a member of
** staff's and the staff session check never applies to citizens.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/util.h"
#include "pickup/citizen.h"

static void token_id(const char *token, char out[65])
{
    sha256_hex(token, strlen(token), out);
}

/* "12 34 56" -> ids; at most PICKUP_FAMILY_MAX. */
static int parse_ids(const char *s, int64_t *ids)
{
    int n = 0;
    while (s && *s && n < PICKUP_FAMILY_MAX) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v <= 0)
            return -1;
        ids[n++] = v;
        s = end;
        while (*s == ' ')
            s++;
    }
    return n;
}

static void format_ids(const int64_t *ids, int n, char *out, size_t len)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%lld", i ? " " : "",
                                 (long long)ids[i]);
}

int psession_load(struct req *rq, struct pickup_session *ps)
{
    memset(ps, 0, sizeof *ps);
    const char *token = kv_get(&rq->cookies, PICKUP_COOKIE);
    if (!token || strlen(token) < 40 || strlen(token) > 100)
        return 0;
    token_id(token, ps->id);
    struct db_stmt *st = db_queryf(rq->db,
                                   "SELECT notices, csrf, created_at, "
                                   "last_seen FROM pickup_sessions WHERE "
                                   "id = ?",
                                   "s", ps->id);
    if (!st)
        return -1;
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_finalize(st);
        return rc == DB_DONE ? 0 : -1;
    }
    int64_t now = now_unix();
    ps->n = parse_ids(db_col_text(st, 0), ps->notice_ids);
    str_copy(ps->csrf, db_col_text(st, 1) ? db_col_text(st, 1) : "",
             sizeof ps->csrf);
    ps->created_at = db_col_int(st, 2);
    ps->last_seen = db_col_int(st, 3);
    db_finalize(st);
    if (ps->n <= 0 || now - ps->last_seen > PICKUP_IDLE ||
        now - ps->created_at > PICKUP_ABSOLUTE) {
        db_run(rq->db, "DELETE FROM pickup_sessions WHERE id = ?", "s", ps->id);
        memset(ps, 0, sizeof *ps);
        return 0;
    }
    /* Touched at most every 30 seconds, like staff sessions. */
    if (now - ps->last_seen >= 30)
        db_run(rq->db, "UPDATE pickup_sessions SET last_seen = ? WHERE id = ?",
               "is", now, ps->id);
    return 1;
}

/* Old rows go when someone signs in: no job needed, and the table stays
** as small as the number of people signed in. */
static void purge(struct db_conn *c, int64_t now)
{
    db_run(c,
           "DELETE FROM pickup_sessions WHERE last_seen < ? OR "
           "created_at < ?",
           "ii", now - PICKUP_IDLE, now - PICKUP_ABSOLUTE);
    db_run(c,
           "DELETE FROM pickup_auth_throttle WHERE updated_at < ? AND "
           "locked_until < ?",
           "ii", now - 86400, now);
}

int psession_start(struct req *rq, struct resp *rs,
                   const struct pickup_session *old, int64_t add_id,
                   struct pickup_session *out)
{
    struct pickup_session s;
    memset(&s, 0, sizeof s);
    if (old) {
        s.n = old->n;
        memcpy(s.notice_ids, old->notice_ids, sizeof s.notice_ids);
    }
    int have = 0;
    for (int i = 0; i < s.n; i++)
        have |= s.notice_ids[i] == add_id;
    if (!have) {
        if (s.n >= PICKUP_FAMILY_MAX)
            return -1;
        s.notice_ids[s.n++] = add_id;
    }
    char *token = random_token(32);
    char *csrf = random_token(32);
    token_id(token, s.id);
    str_copy(s.csrf, csrf, sizeof s.csrf);
    s.created_at = s.last_seen = now_unix();
    char ids[PICKUP_FAMILY_MAX * 21 + 1];
    format_ids(s.notice_ids, s.n, ids, sizeof ids);
    purge(rq->db, s.created_at);
    if (old && old->id[0])
        db_run(rq->db, "DELETE FROM pickup_sessions WHERE id = ?", "s",
               old->id);
    int64_t rc = db_run(rq->db,
                        "INSERT INTO pickup_sessions (id, notices, csrf, "
                        "created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                        "sssii", s.id, ids, s.csrf, s.created_at, s.last_seen);
    if (rc == 1)
        resp_cookie(rs, PICKUP_COOKIE, token, -1);
    free(token);
    free(csrf);
    if (rc != 1)
        return -1;
    *out = s;
    return 0;
}

int psession_drop(struct req *rq, struct pickup_session *ps, int64_t notice_id)
{
    int j = 0;
    for (int i = 0; i < ps->n; i++)
        if (i == 0 || ps->notice_ids[i] != notice_id)
            ps->notice_ids[j++] = ps->notice_ids[i];
    if (j == ps->n)
        return -1;
    ps->n = j;
    char ids[PICKUP_FAMILY_MAX * 21 + 1];
    format_ids(ps->notice_ids, ps->n, ids, sizeof ids);
    return db_run(rq->db, "UPDATE pickup_sessions SET notices = ? WHERE id = ?",
                  "ss", ids, ps->id) == 1
               ? 0
               : -1;
}

void psession_end(struct req *rq, struct resp *rs,
                  const struct pickup_session *ps)
{
    if (ps && ps->id[0])
        db_run(rq->db, "DELETE FROM pickup_sessions WHERE id = ?", "s", ps->id);
    resp_header(rs, "Set-Cookie",
                PICKUP_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Lax; "
                              "Max-Age=0");
}
