/*
** admin.h - the administration pages and APIs (SEC-1, SEC-2, SEC-8,
** WIN-2, WIN-3): staff accounts (users_admin.c), the role editor
** (roles_admin.c), audit-log search and export and the alerts list
** (audit_admin.c), and the pieces they share (admin.c): auditing a read of
** personal data or refusing it, bounded form input, form fields for the
** templates and pagination.  admin_register() (cli.h) registers it all.
*/
#ifndef CITYOS_ADMIN_H
#define CITYOS_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/audit.h"
#include "core/http.h"

struct db_conn;
struct kvlist;

/* ---- admin.c: shared helpers ---------------------------------------- */

/* Records a read of personal data (SEC-8) in a short transaction of its
** own.  Returns 0 when recorded.  When the entry cannot be written the
** read is refused: the alert is raised (audit_alert), rs holds the 503
** answer and -1 comes back; the handler then returns at once. */
int admin_audit_read(struct req *rq, struct resp *rs, const char *action,
                     const char *target_type, const char *target_id,
                     const char *detail);

/* Same, for a change the handler makes itself: appends the entry inside
** the caller's open transaction and commits.  On failure rolls back,
** raises the alert and answers 503; returns -1. */
int admin_audit_commit(struct req *rq, struct resp *rs, const char *action,
                       const char *target_type, const char *target_id,
                       const char *detail);

/* A positive decimal id of at most 18 digits; 0 or -1. */
int admin_parse_id(const char *s, int64_t *out);

/* Copies s without leading and trailing white space (ASCII and the
** ideographic space U+3000) into out.  NULL s gives "".  Returns 0, or -1
** when the result is longer than max_chars characters or does not fit in
** outlen bytes (out then holds "").  */
int admin_text(const char *s, size_t max_chars, char *out, size_t outlen);

/* Number of UTF-8 characters in s. */
size_t admin_utf8_chars(const char *s);

/* A catalog message with {name} placeholders replaced by values:
** names and values are parallel arrays of n entries.  Caller frees. */
char *admin_msg(const char *lang, const char *key, const char *const *names,
                const char *const *values, size_t n);

/* A form field object for partials/field (templates/partials/field.html):
** id and name are the same; label_key is a catalog key.  maxlength 0 for
** none. */
json_t *admin_field(struct req *rq, const char *name, const char *label_key,
                    const char *value, int maxlength, int required);
/* Marks field name of form (an object of field objects) as wrong with the
** catalog message error_key, and adds {id, text} to errors (the list the
** error summary shows). */
void admin_field_error(struct req *rq, json_t *form, json_t *errors,
                       const char *name, const char *error_key);
/* Like admin_field_error with a message already translated. */
void admin_field_error_text(json_t *form, json_t *errors, const char *name,
                            const char *text);

/* The object partials/pagination expects.  base is the path with the
** filter's query string (without page), e.g. "/admin/users?q=ab"; pages
** are 1-based. */
json_t *admin_pagination(struct req *rq, const char *base, int64_t page,
                         int64_t per_page, int64_t total);

/* The page number in param "page": 1 when absent or bad; at most 100000. */
int64_t admin_page_param(const char *s);

/* ---- audit_admin.c: the audit filter (SEC-8, WIN-3) ------------------ */

/* "2026-11-22" as a day in Japan time (UTC+9): *out is the unix time of
** its midnight there.  Years 2000-2199.  0, or -1 when not a real date. */
int admin_date_jst(const char *s, int64_t *out);

#define AUDIT_FILTER_MAX_ERRORS 8

/* The search form of /admin/audit, /admin/audit/export and
** GET /api/v1/audit, as typed and as an audit_query. */
struct audit_filter {
    /* Bounds are in characters; the buffers hold 4 bytes for each. */
    char from[16], to[16]; /* YYYY-MM-DD, Japan time; to is inclusive */
    char login[64 * 4 + 1];
    char action[64 * 4 + 1];  /* prefix */
    char target[129 * 4 + 1]; /* "type" or "type:id" */
    char result[17];
    int64_t page; /* 1-based */
    int64_t asof; /* entries before this unix time only; 0 = now */
    int64_t n0;   /* matches when the search began (paging), 0 = unknown */
    struct audit_query q; /* from/to converted; points into this struct */
    int nerr;
    struct {
        const char *field; /* form field name */
        const char *key;   /* catalog key of the message */
    } err[AUDIT_FILTER_MAX_ERRORS];
};

/* Reads the filter from params (a query string).  Returns 0, or -1 with
** the problems in f->err (the rest of f is still filled in so the form can
** be shown again). */
int audit_filter_parse(const struct kvlist *params, struct audit_filter *f);
/* The filter as a query string ("from=...&login=..."), empty fields left
** out, without page and asof; appended to out. */
void audit_filter_query(const struct audit_filter *f, struct buf *out);

/* ---- roles_admin.c: roles and the permission catalog (SEC-2) --------- */

struct perm_def {
    const char *name;  /* "users.read" */
    const char *group; /* catalog key of its group heading */
    const char *label_ja;
    const char *label_en;
};

/* Every permission a role can be given, in display order. */
extern const struct perm_def admin_perms[];
extern const size_t admin_nperms;
/* The catalog entry of name, or NULL. */
const struct perm_def *admin_perm_find(const char *name);

#define ROLE_MAX_PERMS 64

struct role_input {
    const char *name; /* for a new role only: 2-32 of [a-z0-9_], a letter
                         first; ignored when updating */
    const char *label_ja;
    const char *label_en;
    int privileged;
    const char *perms[ROLE_MAX_PERMS]; /* catalog names */
    size_t nperms;
};

enum {
    ROLES_OK = 0,
    ROLES_ENOTFOUND = -1,
    ROLES_EEXISTS = -2, /* the name is taken */
    ROLES_EINVAL = -3,  /* bad name, label or permission */
    ROLES_EAUDIT = -5,  /* the audit log could not be written */
    ROLES_EDB = -6,
    ROLES_ELASTADMIN = -7, /* would leave no active user with system.admin */
    ROLES_EINUSE = -8,     /* delete: the role still has members / built in */
};

/* Creates (id 0) or updates role id with its permissions in one
** transaction with the audit entries: "role.create", or "role.update"
** (labels and privileged flag) and "role.permissions", each with the
** before and after values as JSON in its detail; nothing is recorded when
** nothing changed.  Permissions outside the catalog already held by the
** role are kept.  Becoming privileged ends the members' sessions so they
** sign in again under the stricter rules (TOTP, shorter sessions).
** Refuses (ROLES_ELASTADMIN) to take system.admin from a role whose active
** members are the last ones holding it. */
int roles_save(struct db_conn *c, const struct actor *who, int64_t id,
               const struct role_input *in, int64_t *id_out);
/* Deletes a role that is not built in and has no accounts ("role.delete"). */
int roles_delete(struct db_conn *c, const struct actor *who, int64_t id);

/* ---- registration (admin.c calls these) ------------------------------ */

void users_admin_register(void);
void roles_admin_register(void);
void audit_admin_register(void);

#endif
