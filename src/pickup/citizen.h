/*
** citizen.h - private to the citizens' pages of the pickup service
** (psession.c, citizen.c, cbook.c): the citizens' own sign-in sessions
** and what every page shares.
**
** Citizens' sessions are not staff sessions: a table of their own
** (pickup_sessions), a cookie of their own (__Host-pickup), 256 random
** bits of which the table keeps only the SHA-256, a new token at every
** sign-in and at every family member added (no fixation), at most
** PICKUP_FAMILY_MAX notices, ended after PICKUP_IDLE seconds without a
** request or PICKUP_ABSOLUTE seconds in all.
**
** CSRF: every form carries "csrf", the token the core checks before the
** handler runs (the staff session's when a member of staff is signed in
** in the same browser, else the __Host-csrf double-submit cookie, which
** cz_ctx() sets when missing), and, once signed in, "pcsrf", the
** citizen session's own token, which cz_post_ok() checks.
*/
#ifndef CITYOS_PICKUP_CITIZEN_H
#define CITYOS_PICKUP_CITIZEN_H

#include <jansson.h>
#include <stdint.h>

#include "booking/booking.h"
#include "core/http.h"
#include "pickup/pickup.h"

#define PICKUP_COOKIE   "__Host-pickup"
#define PICKUP_IDLE     (20 * 60)
#define PICKUP_ABSOLUTE (2 * 3600)

struct pickup_session {
    char id[65]; /* SHA-256 of the token, hex */
    char csrf[48];
    int n;
    int64_t notice_ids[PICKUP_FAMILY_MAX];
    int64_t created_at, last_seen;
};

/* 1 loaded, 0 none (absent, unknown or expired: an expired row is
** deleted), -1 database error. */
int psession_load(struct req *rq, struct pickup_session *ps);
/* A new session holding the notices of old (NULL for none) and add_id,
** with a new token and cookie; old's row is deleted.  0, or -1 (also
** when the family is full). */
int psession_start(struct req *rq, struct resp *rs,
                   const struct pickup_session *old, int64_t add_id,
                   struct pickup_session *out);
/* Drops one notice from the session (the first cannot be dropped). */
int psession_drop(struct req *rq, struct pickup_session *ps, int64_t notice_id);
/* Deletes the session and clears the cookie. */
void psession_end(struct req *rq, struct resp *rs,
                  const struct pickup_session *ps);

/* One request of a citizen's page. */
struct cz {
    struct req *rq;
    struct resp *rs;
    int signed_in;
    struct pickup_session ps;
    int n; /* members loaded */
    struct pickup_notice members[PICKUP_FAMILY_MAX];
    struct actor who;
};

/* Loads the citizen's session and the notices of its members.  With
** require set and nobody signed in, answers with the sign-in page (a
** redirect) and returns 1.  0 to go on, 1 answered, -1 answered with an
** error page. */
int cz_begin(struct req *rq, struct resp *rs, struct cz *z, int require);
/* The context every citizen page starts from: csrf, pcsrf, the members
** ({no, no_display, status, status_label}) and whether signed in. */
json_t *cz_ctx(struct cz *z);
/* Renders templates/pickup/<tmpl>.html (title: catalog key). */
void cz_page(struct cz *z, int status, const char *tmpl, const char *title,
             json_t *ctx);
/* An error page in the pickup layout: message from the catalog. */
void cz_error(struct cz *z, int status, const char *key);
/* 1 when the POST carries the citizen session's own CSRF token. */
int cz_post_ok(struct cz *z);
/* The member with this notice id, or NULL. */
const struct pickup_notice *cz_member(const struct cz *z, int64_t id);
/* 1 when one of the members is a member of b. */
int cz_holds(const struct cz *z, const struct booking *b);
/* Members who may be booked now: no active booking, card not yet
** handed over; their keys in keys (PICKUP_FAMILY_MAX of them). */
int cz_bookable(const struct cz *z, char keys[][BOOKING_KEY_MAX]);
/* Catalog text in the request's language. */
const char *cz_t(const struct cz *z, const char *key);
/* "令和8年11月22日（日）" (or the English form) of a date. */
void cz_date(const struct cz *z, const char *ymd, char *out, size_t n);

/* The booking as the pages show it: {id, ref, date, time, place,
** address, note, party, resource_id, can_change, deadline, members}. */
json_t *cz_booking_json(struct cz *z, const struct booking *b);
/* The active booking named by the parameter "b" that one of the members
** holds; otherwise answers with an error page and returns -1. */
int cz_own_booking(struct cz *z, struct booking *b);
/* A positive id from a parameter, or 0. */
int64_t cz_param_id(struct req *rq, const char *name);

/* Routes of the citizens' pages (citizen.c) and of the booking steps
** (cbook.c). */
void citizen_register(void);
void cbook_register(void);

#endif
