/*
** pickup.h - the My Number Card pickup reservation service (seed 004,
** RSV-1 ... RSV-17, WIN-8) on the booking engine (src/booking).
**
** A notice (交付通知書) is mailed to each citizen whose card is ready.
** The citizen signs in with the notice ID printed on it and the password
** (birth month and day, MMDD): no registration, no other personal data
** asked for but an optional e-mail address (RSV-5).  Family members are
** added to the same sign-in with their own notice ID and password and
** booked together.  Each card moves through statuses, changed by staff
** with a reason:
**   mailed (通知書発送済) -> booked (予約済) -> visited (来庁)
**   -> issued (交付済), and returned (返戻), held (保留), discarded (廃棄).
** Booking sets "booked" and cancelling sets "mailed" again, in the same
** transaction as the booking (booking hooks); a notice whose card was
** issued, returned or discarded can never be booked.
**
** Files: notices.c (notices, sign-in check, statuses, booking hooks),
** psession.c (citizens' sessions), citizen.c (the citizens' pages under
** /pickup/), pmail.c (mail with iCalendar, reminders), pdemo.c (demo data).
** The staff side is staff.h.
**
** ---- Data model (migrations/0005_pickup.sql), for the staff pages ----
**
** notices(id, notice_no UNIQUE, birth_check, name_kana, name_index, status,
**         email, card_no UNIQUE, production_date, storage_box, location_id,
**         failed_count, locked_until, created_at, updated_at)
**   - notice_no: digits only, 9 to 12; printed "123-456789"
**     (pickup_notice_no_format()).
**   - birth_check: pickup_birth_check() of notice_no and MMDD.  Never
**     compute it by hand: it binds the notice number (see the migration).
**   - name_kana: field_encrypt(keys, "notices.name_kana", kana); name_index:
**     pickup_name_index() of the normalised kana, for exact search (WIN-8).
**   - email: field_encrypt(keys, "notices.email", addr) or NULL.
**   - status: one of PICKUP_STATUSES; change it with pickup_set_status()
**     (staff) only; "booked"/"mailed" also change through the booking
**     hooks.  The member key of a notice in bookings is
**     "notice:<notice_no>" (pickup_member_key()).
**   - failed_count, locked_until: sign-in throttling; staff may unlock
**     with pickup_notice_unlock().
** notice_status_log(notice_id, from_status, to_status, reason, login, ts).
** New notices: pickup_notice_add() (no audit entry of its own: the
** import writes one for the batch, in the same transaction).
*/
#ifndef CITYOS_PICKUP_H
#define CITYOS_PICKUP_H

#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct actor;
struct json_t;
struct keyring;
struct app;
struct booking;

enum {
    PICKUP_OK = 0,
    PICKUP_ENOTFOUND = -101,
    PICKUP_EAUTH = -102,   /* unknown notice or wrong password: one
                              answer for both (no enumeration) */
    PICKUP_ELOCKED = -103, /* too many failures for this notice */
    PICKUP_ESTATUS = -104, /* status change not allowed */
    PICKUP_EINVAL = -105,
    PICKUP_EAUDIT = -106,
    PICKUP_EDB = -107,
    PICKUP_EEXISTS = -108,    /* pickup_notice_add: number already known */
    PICKUP_ETHROTTLED = -109, /* too many failures from this address */
    PICKUP_EREFUSED = -110,   /* returned by the booking hooks through
                                 booking_create/_move: a member's card was
                                 issued, returned, discarded or is held,
                                 or the notice does not exist */
};
const char *pickup_error_key(int rc);

#define PICKUP_NOTICE_MAX 16
/* People signed in together (a family) and so booked together at most. */
#define PICKUP_FAMILY_MAX 6
/* Sign-in failures before a notice locks, and for how long. */
#define PICKUP_LOCK_AFTER   5
#define PICKUP_LOCK_SECONDS (15 * 60)

/* Every status, in the order of the card's life; NULL-terminated. */
extern const char *const PICKUP_STATUSES[];

struct pickup_notice {
    int64_t id;
    char notice_no[PICKUP_NOTICE_MAX]; /* digits only, 9 to 12 */
    char name_kana[128];               /* decrypted; staff views only */
    char status[16];
    char email[256];  /* decrypted; may be empty */
    char card_no[16]; /* from the J-LIS production data */
    char production_date[11];
    char storage_box[32];
    int64_t location_id; /* preferred location, 0 if none */
    int64_t booking_id;  /* 0 when none active */
    int64_t updated_at;
};

/* Registers routes (citizens' pages and the staff pages), the booking
** hooks for kind "pickup", the reminder job and the home-page entries.
** Call once at start-up, before serving. */
void pickup_register(void);
/* Only the booking hooks (tests, tools). */
void pickup_hooks_register(void);

/* Citizen sign-in check (RSV-1): constant-time, throttled per notice
** (PICKUP_LOCK_AFTER failures lock it for PICKUP_LOCK_SECONDS, audited)
** and per address (cfg.ip_fail_limit failures in 15 minutes).  An unknown
** number is throttled and answered exactly like a known one with a wrong
** password.  notice_no may be typed with hyphens, spaces or full-width
** digits; mmdd too.  Every attempt is audited ("pickup.login").
** Returns PICKUP_OK (n filled in), PICKUP_EAUTH, PICKUP_ELOCKED,
** PICKUP_ETHROTTLED, PICKUP_EAUDIT or PICKUP_EDB.  Runs its own
** transactions: call it outside one. */
int pickup_authenticate(struct db_conn *c, const struct actor *who,
                        const char *notice_no, const char *mmdd,
                        struct pickup_notice *n);

/* The notice by number (digits, 9 to 12) or by id; with its active
** booking.  PICKUP_OK, PICKUP_ENOTFOUND or PICKUP_EDB. */
int pickup_notice_get(struct db_conn *c, const char *notice_no,
                      struct pickup_notice *n);
int pickup_notice_get_id(struct db_conn *c, int64_t id,
                         struct pickup_notice *n);

/* Staff status change with a reason (required for returned, held and
** discarded); audited ("pickup.status", detail "from->to: reason") with a
** notice_status_log row.  Allowed changes (pickup_status_change_ok):
**   mailed   -> visited, issued, returned, held, discarded
**   booked   -> visited, issued, held, returned, discarded
**   visited  -> issued, held, mailed (visit recorded by mistake)
**   returned -> mailed (mailed again), held, discarded
**   held     -> mailed, visited, issued, returned, discarded
**   issued, discarded: final.
** "booked" is set only by booking and "mailed" from "booked" only by
** cancelling (booking hooks).  Runs in the caller's transaction when one
** is open, else in its own.  PICKUP_OK, PICKUP_ENOTFOUND, PICKUP_ESTATUS
** (not allowed, or the same status), PICKUP_EINVAL (bad status, reason
** missing or longer than 500 bytes), PICKUP_EAUDIT or PICKUP_EDB. */
int pickup_set_status(struct db_conn *c, const struct actor *who,
                      const char *notice_no, const char *status,
                      const char *reason);
int pickup_status_valid(const char *status);
/* 1 when staff may change from -> to. */
int pickup_status_change_ok(const char *from, const char *to);
/* 1 when a reason must be given for a change to status. */
int pickup_status_needs_reason(const char *status);
/* Catalog key of a status's label: "pickup.status.<status>". */
const char *pickup_status_key(const char *status);

/* Clears a notice's sign-in lock (staff); audited "pickup.unlock". */
int pickup_notice_unlock(struct db_conn *c, const struct actor *who,
                         const char *notice_no);

/* A new notice in status "mailed".  birth "YYYY-MM-DD" or "MMDD";
** name_kana already normalised (may be ""); location_id 0 for none.
** Inside the caller's transaction when one is open.  No audit entry.
** PICKUP_OK (*id set when id is not NULL), PICKUP_EEXISTS, PICKUP_EINVAL
** or PICKUP_EDB. */
int pickup_notice_add(struct db_conn *c, const struct keyring *k,
                      const char *notice_no, const char *birth,
                      const char *name_kana, int64_t location_id, int64_t *id);

/* The password check stored in notices.birth_check: the keyed blind
** index of "<notice_no>:<mmdd>" (context "notices.birth").  notice_no
** digits only, mmdd four digits. */
void pickup_birth_check(const struct keyring *k, const char *notice_no,
                        const char *mmdd, char out[65]);
/* Blind index of a normalised name in kana (context "notices.name_kana"). */
void pickup_name_index(const struct keyring *k, const char *kana, char out[65]);

/* Text helpers. */
/* Digits of a typed notice number: ASCII or full-width digits, with
** spaces and hyphens (also full-width) between them; 9 to 12 digits.
** 0 or -1. */
int pickup_notice_no_clean(const char *s, char out[PICKUP_NOTICE_MAX]);
/* "123-456789": the first three digits, a hyphen, the rest. */
void pickup_notice_no_format(const char *digits, char *out, size_t n);
/* A typed MMDD (ASCII or full-width digits, a date that exists in a leap
** year, so 0229 is valid) into 4 ASCII digits.  0 or -1. */
int pickup_mmdd_clean(const char *s, char out[5]);
/* The member key of a notice in bookings: "notice:<digits>". */
void pickup_member_key(const char *notice_no, char *out, size_t n);

/* Whom to call after the online deadline (shown on the pages and in the
** mail): the setting pickup_contact (CITYOS_PICKUP_CONTACT) when set (UTF-8,
** at most 500 bytes), else the catalog text "pickup.contact" of lang. */
const char *pickup_contact_text(const char *lang);

/* The catalog key for a booking engine result on the pickup service
** (BOOKING_* codes, and the refusal of a card that cannot be booked). */
const char *pickup_booking_error_key(int rc);

/* ---- mail (RSV-2) ---- */

/* Stores addr (validated with mail_address_valid; "" clears it) as the
** e-mail address of the notice, inside the caller's transaction.  Done
** before booking_create()/booking_move() in the same transaction, the
** hook's mail goes to the new address.  PICKUP_OK, PICKUP_EINVAL,
** PICKUP_ENOTFOUND or PICKUP_EDB. */
int pickup_notice_set_email(struct db_conn *c, const struct keyring *k,
                            int64_t notice_id, const char *addr);

/* Queues the mail of kind "book", "change", "cancel" or "remind" for
** booking b to every distinct address of its members, in the caller's
** transaction.  The booking hooks call it, so a booking made, moved or
** cancelled on any channel (web, counter, call center, API) is mailed in
** the transaction of the change.  Returns the number queued, or -1. */
int pickup_mail_booking(struct db_conn *c, const char *kind,
                        const struct booking *b);
/* Sends the day-before reminders for the bookings of the Japan day after
** now (active, with an address, none sent yet for that booking and date).
** Returns the number of bookings reminded, or -1. */
int pickup_reminders_run(struct app *app, int64_t now);
/* `cityos pickup remind [--date YYYY-MM-DD]` (pcli.c). */
int cmd_pickup(struct app *app, int argc, char **argv);
/* Registers the job "pickup.reminders" (pickup_register does). */
void pickup_reminder_job_register(void);
/* The window of the reminder job, Japan time. */
#define PICKUP_REMINDER_WINDOW "09:00-10:00"

/* ---- demo ---- */

/* `cityos demo`: three locations with eight weeks of slots and 1,000
** fictional notices; prints a few notice IDs with their passwords.
** Idempotent.  0 or -1. */
int pickup_demo(struct app *app);

#endif
