/*
** session.h - sign-in sessions kept in the database so several servers
** share them (SEC-9, WIN-7).  The cookie holds 256 random bits; the table
** holds only their SHA-256, so a leaked database cannot be replayed as
** cookies.  Idle and absolute limits are shorter for privileged roles.
**
** A session has a stage: "full" when signed in, or a step still owed
** after the password: "password" (change forced at first sign-in or on
** expiry), "totp" (one-time code), "totp_enrol" (privileged role without
** TOTP yet).  Only routes marked ROUTE_PENDING_OK answer before "full".
*/
#ifndef CITYOS_SESSION_H
#define CITYOS_SESSION_H

#include <stdint.h>

struct req;
struct resp;
struct db_conn;

#define SESSION_MAX_PERMS 96

struct session {
    char id[65]; /* SHA-256 of the token, hex */
    int64_t user_id;
    char login[64];
    char display_name[128];
    char role[64];
    char role_label[128];
    int privileged;
    char stage[16];
    char csrf[64];
    int64_t created_at;
    int64_t last_seen;
    int64_t prev_login_at; /* the sign-in before this one, 0 if first */
    int failed_since;      /* failed attempts between the two */
    int nperms;
    char perms[SESSION_MAX_PERMS][48];
};

#define SESSION_COOKIE "__Host-cityos"

/* Loads the session named by the request's cookie into rq->sess (NULL
** when absent, expired or the account is no longer active; expired rows
** are deleted).  0, or -1 on a database error. */
int session_load(struct req *rq);
/* Creates a session for user_id at stage, sets the cookie on rs (a new id
** at every sign-in: no fixation).  0 or -1. */
int session_create(struct req *rq, struct resp *rs, int64_t user_id,
                   const char *stage, int64_t prev_login_at, int failed_since);
int session_set_stage(struct req *rq, const char *stage);
/* Deletes the current session and clears the cookie. */
int session_destroy(struct req *rq, struct resp *rs);
/* Ends every session of a user (suspension, deletion, password reset). */
int session_end_all(struct db_conn *c, int64_t user_id);

#endif
