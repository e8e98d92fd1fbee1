/*
** staff.h - the staff and call-center side of the My Number Card pickup
** service (seed 004 第2章3; RSV-8, RSV-10 ... RSV-16, WIN-8), built on the
** booking engine (booking.h) and the pickup backend (pickup.h):
**
**   staff.c           what the pages share, the search-key rules (WIN-8)
**                     and pickup_staff_register()
**   staff_live.c      the live view of every channel's bookings (RSV-8)
**   staff_book.c      booking, moving and cancelling on a citizen's behalf
**   staff_notice.c    notice search, card status and its history (RSV-13)
**   staff_settings.c  locations, weekly hours, exceptions (RSV-3, 11, 12)
**   import.c          bulk import of notices (RSV-14) and of the J-LIS
**                     card production data (RSV-16)
**   export.c          CSV lists by day and by slot (RSV-15), pull list
**   api.c             the JSON APIs under /api/v1/pickup/
**
** The import validation and the search-key rules are functions of their
** own so the unit tests (tests/unit/test_pickup_import.c) exercise them
** without a server.
*/
#ifndef CITYOS_PICKUP_STAFF_H
#define CITYOS_PICKUP_STAFF_H

#include <stddef.h>
#include <stdint.h>

#include "pickup/pickup.h"

struct db_conn;
struct actor;
struct keyring;

/* Routes of the staff pages and APIs, and their navigation entries. */
void pickup_staff_register(void);

/* ---- search keys (WIN-8) ------------------------------------------------ */

/* The keys notices can be searched by.  roles.search_keys lists, comma-
** separated, the names a role may use ("notice_no,name_kana,status"). */
enum {
    PICKUP_KEY_NOTICE_NO = 1, /* 交付通知書番号, exact match */
    PICKUP_KEY_NAME_KANA = 2, /* 氏名カナ, exact match after normalising */
    PICKUP_KEY_STATUS = 4,    /* card status */
};

/* The bit of one key name, or 0 when the name is unknown. */
unsigned pickup_search_key_bit(const char *name);
/* The bits of a comma-separated list; unknown names and spaces ignored. */
unsigned pickup_search_keys_parse(const char *list);
/* The keys role may search by (0 when none or the role is unknown).
** 0, or -1 on a database error. */
int pickup_role_search_keys(struct db_conn *c, const char *role,
                            unsigned *keys);
/* 1 when every key in used is one role may search by, 0 when not (the
** caller refuses with 403 and audits the refusal), -1 on a database
** error.  used 0 (no key at all) is allowed: it searches nothing. */
int pickup_search_allowed(struct db_conn *c, const char *role, unsigned used);

/* ---- text checks shared by the pages, the APIs and the imports ---------- */

/* Name in kana as stored and searched: half-width katakana become
** full-width (with their voiced marks), hiragana become katakana, runs of
** ASCII or ideographic spaces become one ideographic space, trimmed.
** Only katakana, the long vowel mark, the middle dot, and spaces are
** accepted.  0, or -1 when s holds anything else, is empty, or the result
** is longer than max_chars characters or outlen bytes. */
int pickup_kana_normalize(const char *s, size_t max_chars, char *out,
                          size_t outlen);

/* A date "YYYY-MM-DD" or "YYYYMMDD" (or with '/') that exists; written
** as "YYYY-MM-DD".  0 or -1. */
int pickup_date_parse(const char *s, char out[11]);

/* ---- CSV imports (RSV-14, RSV-16) --------------------------------------- */

#define PICKUP_IMPORT_MAX_BYTES (8 * 1024 * 1024)
#define PICKUP_IMPORT_MAX_ROWS  50000
#define PICKUP_NAME_MAX_CHARS   100
#define PICKUP_CARD_NO_LEN      15 /* at most; at least 8 */
#define PICKUP_BOX_MAX_CHARS    30

enum pickup_import_kind {
    PICKUP_IMPORT_NOTICES = 1, /* 通知書番号,氏名カナ,生年月日[,交付場所] */
    PICKUP_IMPORT_JLIS = 2, /* 通知書番号|カード番号,氏名カナ,作成日,保管箱 */
};

/* One accepted row, normalised. */
struct pickup_import_row {
    size_t line; /* physical line of the record in the file */
    char notice_no[PICKUP_NOTICE_MAX];
    char name_kana[PICKUP_NAME_MAX_CHARS * 3 + 1];
    char birth[11];         /* notices: YYYY-MM-DD */
    char location[129 * 4]; /* notices: as written, may be empty */
    int64_t resource_id;    /* notices: the location found, 0 when none */
    char card_no[PICKUP_CARD_NO_LEN + 1];           /* jlis */
    char production_date[11];                       /* jlis */
    char storage_box[PICKUP_BOX_MAX_CHARS * 4 + 1]; /* jlis */
    int64_t notice_id; /* jlis: the notice the card belongs to */
};

/* One refused row: reason is a catalog key (messages/pickup_staff.*),
** field the column's header text ("" for the whole row). */
struct pickup_import_reject {
    size_t line;
    const char *reason;
    const char *field;
    char detail[96]; /* e.g. the line of the first of two duplicates */
};

struct pickup_import_report {
    int kind;
    const char *encoding; /* "UTF-8" or "CP932"; NULL when unknown */
    size_t rows;          /* data records read (header not counted) */
    struct pickup_import_row *ok;
    size_t nok;
    struct pickup_import_reject *bad;
    size_t nbad;
    /* The file as a whole refused (encoding, header, CSV syntax, size):
    ** fatal is a catalog key and fatal_msg a Japanese message with the
    ** line when there is one; ok and bad are then empty. */
    const char *fatal;
    char fatal_msg[512];
};

/* Reads data (UTF-8 or CP932, detected) and checks every row against the
** layout and against the database (already imported notices, known
** locations, J-LIS rows' notices).  Never changes anything.  Returns 0
** with the report filled in (a fatal problem is in the report, not the
** return value), or -1 on a database error. */
int pickup_import_check(struct db_conn *c, int kind, const char *data,
                        size_t len, struct pickup_import_report *r);
void pickup_import_report_free(struct pickup_import_report *r);

enum {
    PICKUP_IMPORT_OK = 0,
    PICKUP_IMPORT_EREJECTED = -1, /* all_or_nothing and rows were refused,
                                     or nothing to import */
    PICKUP_IMPORT_ECHANGED = -2,  /* a row became invalid meanwhile (a
                                     notice imported by someone else):
                                     nothing imported */
    PICKUP_IMPORT_EAUDIT = -3,
    PICKUP_IMPORT_EDB = -4,
};

/* Imports the accepted rows of r in one transaction with one audit entry
** ("pickup.import.notices" / "pickup.import.jlis", counts and file name in
** the detail): all of them or, on any error, none.  With all_or_nothing
** set nothing is imported when any row was refused.  *imported gets the
** number of rows written. */
int pickup_import_commit(struct db_conn *c, const struct keyring *k,
                         const struct actor *who,
                         const struct pickup_import_report *r,
                         int all_or_nothing, const char *filename,
                         size_t *imported);

#endif
