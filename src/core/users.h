/*
** users.h - staff and other accounts: the life cycle (create, update,
** suspend, re-enable, delete), passwords, lockout and unlock, TOTP state
** (SEC-1, SEC-3, SEC-9, WIN-2, WIN-9).  Every function that changes an
** account runs in its own transaction together with its audit entry, so a
** change without its audit entry can never be committed (fail closed).
*/
#ifndef CITYOS_USERS_H
#define CITYOS_USERS_H

#include <stdint.h>

struct db_conn;
struct actor;

struct user_rec {
    int64_t id;
    char login[64];
    char display_name[128];
    char email[256];
    char department[128];
    char role[64];
    char role_label_ja[128];
    char role_label_en[128];
    int64_t role_id;
    int privileged;
    char status[16]; /* "active" / "suspended" */
    int must_change_password;
    int totp_enabled;
    int failed_count;
    int locked;
    int64_t last_login_at;
    int64_t password_changed_at;
    int64_t created_at;
};

/* Results; USERS_OK is 0.  users_error_key() gives the catalog key. */
enum {
    USERS_OK = 0,
    USERS_ENOTFOUND = -1,
    USERS_EEXISTS = -2,
    USERS_EINVAL = -3,    /* bad login name, display name, email, role */
    USERS_EPASSWORD = -4, /* password refused by the policy */
    USERS_EAUDIT = -5,    /* the audit log could not be written */
    USERS_EDB = -6,
    USERS_ELASTADMIN = -7, /* would leave no active system administrator */
};
const char *users_error_key(int rc);

/* Fetches one account; email decrypted.  USERS_OK or USERS_ENOTFOUND. */
int users_get(struct db_conn *c, int64_t id, struct user_rec *u);
int users_get_by_login(struct db_conn *c, const char *login,
                       struct user_rec *u);

struct user_input {
    const char *login;
    const char *display_name;
    const char *email;      /* may be empty */
    const char *department; /* may be empty */
    const char *role;       /* role name */
};

/* When the password policy refuses a password (USERS_EPASSWORD) the reason
** (enum password_problem, password.h) comes back in *why. */
int users_create(struct db_conn *c, const struct actor *who,
                 const struct user_input *in, const char *password,
                 int64_t *id_out, int *why);
int users_update(struct db_conn *c, const struct actor *who, int64_t id,
                 const struct user_input *in);
/* must_change: the user must choose a new one at next sign-in.  Ends the
** user's other sessions (keep_session: the session id to keep, or NULL). */
int users_set_password(struct db_conn *c, const struct actor *who, int64_t id,
                       const char *password, int must_change,
                       const char *keep_session, int *why);
/* Suspension ends every session at once (WIN-2). */
int users_set_status(struct db_conn *c, const struct actor *who, int64_t id,
                     const char *status);
int users_delete(struct db_conn *c, const struct actor *who, int64_t id);
int users_unlock(struct db_conn *c, const struct actor *who, int64_t id);
/* Removes TOTP and recovery codes; enrolment is asked again. */
int users_reset_totp(struct db_conn *c, const struct actor *who, int64_t id);

/* 1 when login is 3-32 of [a-z0-9._-] starting with a letter or digit. */
int users_login_valid(const char *login);

#endif
