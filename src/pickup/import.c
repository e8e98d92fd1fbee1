/*
** import.c - CSV imports of the pickup service, for staff holding
** pickup.import:
**
**  - new notices (RSV-14; seed 004 第2章3(3)ク① "対象者の追加には迅速に
**    対応できる追加処理"): 通知書番号, 氏名カナ, 生年月日 and optionally
**    交付場所 (docs/pickup-import.md);
**  - the card production data sent by J-LIS (RSV-16; 3(4)イ,ウ), whose real
**    layout is not public: 通知書番号 or カード番号, 氏名カナ, 作成日,
**    保管箱 (docs/pickup-jlis-import.md).  Each card is linked to its
**    notice, by notice number, else by a card number already on file, and
**    so to the notice's booking; rows that match nothing are reported.
**
** Upload, then preview, then import.  pickup_import_check() reads the
** file (UTF-8 or CP932, detected; CSV limits of csv.h) and checks every
** row against the layout and the database without changing anything: the
** page shows the rows accepted and every row refused with its line and
** reason.  The file then waits, encrypted, in pickup_import_batches; the
** "取り込む" button checks the same bytes again and pickup_import_commit()
** writes every accepted row in one transaction with one audit entry, or
** nothing.  The member of staff may also choose to import nothing at all
** when any row is refused.  A birthday is never stored: the notice keeps
** only the keyed check of its month and day (pickup_notice_add()).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/csv.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

#define BATCH_TTL     3600
#define PREVIEW_ROWS  200
#define LOCATIONS_MAX 64

/* ---- columns ------------------------------------------------------------ */

enum col {
    COL_NOTICE,
    COL_CARD,
    COL_NAME,
    COL_BIRTH,
    COL_LOCATION,
    COL_PRODUCED,
    COL_BOX,
    NCOLS
};

/* Header texts accepted for each column (the first is the documented one,
** the others what spreadsheets made by hand tend to say). */
static const struct {
    enum col col;
    const char *name;
} headers[] = {
    {COL_NOTICE, "通知書番号"},
    {COL_NOTICE, "交付通知書番号"},
    {COL_NOTICE, "notice_no"},
    {COL_CARD, "カード番号"},
    {COL_CARD, "card_no"},
    {COL_NAME, "氏名カナ"},
    {COL_NAME, "カナ氏名"},
    {COL_NAME, "氏名（カナ）"},
    {COL_NAME, "フリガナ"},
    {COL_NAME, "name_kana"},
    {COL_BIRTH, "生年月日"},
    {COL_BIRTH, "birth_date"},
    {COL_LOCATION, "交付場所"},
    {COL_LOCATION, "location"},
    {COL_PRODUCED, "作成日"},
    {COL_PRODUCED, "カード作成日"},
    {COL_PRODUCED, "production_date"},
    {COL_BOX, "保管箱"},
    {COL_BOX, "保管場所"},
    {COL_BOX, "storage_box"},
};

/* Columns that must never be imported (WIN-8, SEC-7: the individual
** number is not what this service keys on and is not stored). */
static const char *const forbidden[] = {"個人番号", "マイナンバー",
                                        "individual_number", "my_number",
                                        "住民票コード"};

/* The documented header text of each column, for messages. */
static const char *col_label(enum col c)
{
    static const char *const l[NCOLS] = {"通知書番号", "カード番号", "氏名カナ",
                                         "生年月日",   "交付場所",   "作成日",
                                         "保管箱"};
    return l[c];
}

/* ---- a set of strings, for duplicates within a file ---------------------- */

struct strset {
    struct {
        char key[PICKUP_NOTICE_MAX];
        size_t line;
    } * v;
    size_t cap, n;
};

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void strset_free(struct strset *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Adds key; returns 0, or the line it was first seen on. */
static size_t strset_add(struct strset *s, const char *key, size_t line)
{
    if (s->n * 2 >= s->cap) {
        struct strset big = {NULL, s->cap ? s->cap * 2 : 1024, 0};
        big.v = xcalloc(big.cap, sizeof *big.v);
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].line)
                strset_add(&big, s->v[i].key, s->v[i].line);
        free(s->v);
        *s = big;
    }
    size_t i = str_hash(key) & (s->cap - 1);
    while (s->v[i].line) {
        if (strcmp(s->v[i].key, key) == 0)
            return s->v[i].line;
        i = (i + 1) & (s->cap - 1);
    }
    str_copy(s->v[i].key, key, sizeof s->v[i].key);
    s->v[i].line = line;
    s->n++;
    return 0;
}

/* ---- the check ---------------------------------------------------------- */

struct loc {
    int64_t id;
    char name[128];
};

struct check {
    struct db_conn *c;
    struct pickup_import_report *r;
    int kind;
    int header_done;
    int col[NCOLS]; /* field index of each column, -1 when absent */
    size_t okcap, badcap;
    struct strset seen_notice, seen_card;
    struct loc locs[LOCATIONS_MAX];
    int nlocs;
    int dberr;
};

static void add_reject(struct check *k, size_t line, const char *reason,
                       const char *field, const char *detail)
{
    struct pickup_import_report *r = k->r;
    if (r->nbad == k->badcap) {
        k->badcap = k->badcap ? k->badcap * 2 : 64;
        r->bad = xrealloc(r->bad, k->badcap * sizeof *r->bad);
    }
    struct pickup_import_reject *b = &r->bad[r->nbad++];
    memset(b, 0, sizeof *b);
    b->line = line;
    b->reason = reason;
    b->field = field ? field : "";
    str_copy(b->detail, detail ? detail : "", sizeof b->detail);
}

static struct pickup_import_row *add_ok(struct check *k)
{
    struct pickup_import_report *r = k->r;
    if (r->nok == k->okcap) {
        k->okcap = k->okcap ? k->okcap * 2 : 64;
        r->ok = xrealloc(r->ok, k->okcap * sizeof *r->ok);
    }
    struct pickup_import_row *row = &r->ok[r->nok++];
    memset(row, 0, sizeof *row);
    return row;
}

static void fatal(struct pickup_import_report *r, const char *key,
                  const char *msg)
{
    r->fatal = key;
    str_copy(r->fatal_msg, msg ? msg : "", sizeof r->fatal_msg);
}

/* A field of the record by column, trimmed into out; "" when absent.
** -1 when longer than max_chars characters. */
static int field(const struct check *k, const struct csv_row *row, enum col c,
                 size_t max_chars, char *out, size_t outlen)
{
    out[0] = 0;
    if (k->col[c] < 0 || (size_t)k->col[c] >= row->n)
        return 0;
    return admin_text(row->fields[k->col[c]], max_chars, out, outlen);
}

static int header_row(struct check *k, const struct csv_row *row)
{
    for (int i = 0; i < NCOLS; i++)
        k->col[i] = -1;
    for (size_t f = 0; f < row->n; f++) {
        char h[256];
        if (admin_text(row->fields[f], 60, h, sizeof h) != 0) {
            fatal(k->r, "pstaff.imp.err.header", "1行目: 見出しが長すぎます");
            return -1;
        }
        if (!h[0])
            continue;
        for (size_t i = 0; i < ARRAY_LEN(forbidden); i++) {
            if (strcmp(h, forbidden[i]) == 0) {
                char m[512];
                snprintf(m, sizeof m, "1行目: 「%s」の列は取り込めません", h);
                fatal(k->r, "pstaff.imp.err.mynumber", m);
                return -1;
            }
        }
        size_t i;
        for (i = 0; i < ARRAY_LEN(headers); i++)
            if (strcmp(h, headers[i].name) == 0)
                break;
        int ok = i < ARRAY_LEN(headers);
        enum col c = ok ? headers[i].col : COL_NOTICE;
        if (ok && k->kind == PICKUP_IMPORT_NOTICES)
            ok = c == COL_NOTICE || c == COL_NAME || c == COL_BIRTH ||
                 c == COL_LOCATION;
        if (ok && k->kind == PICKUP_IMPORT_JLIS)
            ok = c == COL_NOTICE || c == COL_CARD || c == COL_NAME ||
                 c == COL_PRODUCED || c == COL_BOX;
        if (!ok) {
            char m[512];
            snprintf(m, sizeof m, "1行目: 「%s」はこの取込の列ではありません",
                     h);
            fatal(k->r, "pstaff.imp.err.header", m);
            return -1;
        }
        if (k->col[c] >= 0) {
            char m[512];
            snprintf(m, sizeof m, "1行目: 「%s」の列が2つあります",
                     col_label(c));
            fatal(k->r, "pstaff.imp.err.header", m);
            return -1;
        }
        k->col[c] = (int)f;
    }
    struct buf miss;
    buf_init(&miss);
    enum col need_n[] = {COL_NOTICE, COL_NAME, COL_BIRTH};
    enum col need_j[] = {COL_NAME, COL_PRODUCED, COL_BOX};
    enum col *need = k->kind == PICKUP_IMPORT_NOTICES ? need_n : need_j;
    for (int i = 0; i < 3; i++)
        if (k->col[need[i]] < 0)
            buf_printf(&miss, "%s「%s」", miss.len ? "、" : "",
                       col_label(need[i]));
    if (k->kind == PICKUP_IMPORT_JLIS && k->col[COL_NOTICE] < 0 &&
        k->col[COL_CARD] < 0)
        buf_printf(&miss, "%s「通知書番号」または「カード番号」",
                   miss.len ? "、" : "");
    if (miss.len) {
        char m[512];
        snprintf(m, sizeof m, "1行目: 見出しに%sがありません", miss.data);
        fatal(k->r, "pstaff.imp.err.header", m);
        buf_free(&miss);
        return -1;
    }
    buf_free(&miss);
    return 0;
}

static int blank_row(const struct csv_row *row)
{
    for (size_t i = 0; i < row->n; i++) {
        char t[8];
        if (admin_text(row->fields[i], 1, t, sizeof t) != 0 || t[0])
            return 0;
    }
    return 1;
}

/* Kana compared without spaces (a file may or may not separate the family
** name from the given name). */
static void kana_compact(const char *s, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 1 < n; i++) {
        if ((unsigned char)s[i] == 0xe3 && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x80) {
            i += 2;
            continue;
        }
        out[j++] = s[i];
    }
    out[j] = 0;
}

/* The checks of one notices row that need no database. */
static void notice_row(struct check *k, const struct csv_row *row)
{
    size_t line = row->line;
    char no_t[64], name_t[1024], birth_t[64], loc_t[600];
    int long_no = field(k, row, COL_NOTICE, 40, no_t, sizeof no_t);
    int long_name =
        field(k, row, COL_NAME, PICKUP_NAME_MAX_CHARS, name_t, sizeof name_t);
    int long_birth = field(k, row, COL_BIRTH, 20, birth_t, sizeof birth_t);
    int long_loc = field(k, row, COL_LOCATION, 128, loc_t, sizeof loc_t);
    struct pickup_import_row tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.line = line;
    if (long_no) {
        add_reject(k, line, "pstaff.imp.r.too_long", "通知書番号", NULL);
        return;
    }
    if (!no_t[0]) {
        add_reject(k, line, "pstaff.imp.r.missing", "通知書番号", NULL);
        return;
    }
    if (pickup_notice_no_clean(no_t, tmp.notice_no) != 0) {
        add_reject(k, line, "pstaff.imp.r.bad_number", "通知書番号", no_t);
        return;
    }
    size_t first = strset_add(&k->seen_notice, tmp.notice_no, line);
    if (first) {
        char d[64];
        snprintf(d, sizeof d, "%zu行目", first);
        add_reject(k, line, "pstaff.imp.r.dup_file", "通知書番号", d);
        return;
    }
    if (long_name) {
        add_reject(k, line, "pstaff.imp.r.too_long", "氏名カナ", NULL);
        return;
    }
    if (!name_t[0]) {
        add_reject(k, line, "pstaff.imp.r.missing", "氏名カナ", NULL);
        return;
    }
    if (pickup_kana_normalize(name_t, PICKUP_NAME_MAX_CHARS, tmp.name_kana,
                              sizeof tmp.name_kana) != 0) {
        add_reject(k, line, "pstaff.imp.r.bad_kana", "氏名カナ", NULL);
        return;
    }
    if (long_birth) {
        add_reject(k, line, "pstaff.imp.r.too_long", "生年月日", NULL);
        return;
    }
    if (!birth_t[0]) {
        add_reject(k, line, "pstaff.imp.r.missing", "生年月日", NULL);
        return;
    }
    char today[11];
    ps_today(today);
    if (pickup_date_parse(birth_t, tmp.birth) != 0 ||
        strcmp(tmp.birth, today) > 0) {
        /* "2001-02-30", "20010230", a day in the future, year < 1900. */
        add_reject(k, line, "pstaff.imp.r.bad_date", "生年月日", birth_t);
        return;
    }
    if (long_loc) {
        add_reject(k, line, "pstaff.imp.r.too_long", "交付場所", NULL);
        return;
    }
    if (loc_t[0]) {
        int i;
        for (i = 0; i < k->nlocs; i++)
            if (strcmp(k->locs[i].name, loc_t) == 0)
                break;
        if (i == k->nlocs) {
            add_reject(k, line, "pstaff.imp.r.unknown_location", "交付場所",
                       loc_t);
            return;
        }
        tmp.resource_id = k->locs[i].id;
        str_copy(tmp.location, loc_t, sizeof tmp.location);
    }
    *add_ok(k) = tmp;
}

/* Card number: 8 to 15 capital letters and digits (docs/pickup-jlis-
** import.md); full-width and lower-case letters are accepted. */
static int card_no_clean(const char *s, char out[PICKUP_CARD_NO_LEN + 1])
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == 0xef && p[1] == 0xbc && p[2] >= 0x90 && p[2] <= 0x99) {
            c = '0' + (p[2] - 0x90); /* full-width digit */
            p += 3;
        } else if (c == 0xef && p[1] == 0xbc && p[2] >= 0xa1 && p[2] <= 0xba) {
            c = 'A' + (p[2] - 0xa1); /* full-width capital */
            p += 3;
        } else {
            p++;
        }
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c == '-' || c == ' ')
            continue;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) ||
            n >= PICKUP_CARD_NO_LEN)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = 0;
    return n >= 8 ? 0 : -1;
}

static void jlis_row(struct check *k, const struct csv_row *row)
{
    size_t line = row->line;
    char no_t[64], card_t[64], name_t[1024], prod_t[64], box_t[400];
    int long_no = field(k, row, COL_NOTICE, 40, no_t, sizeof no_t);
    int long_card = field(k, row, COL_CARD, 40, card_t, sizeof card_t);
    int long_name =
        field(k, row, COL_NAME, PICKUP_NAME_MAX_CHARS, name_t, sizeof name_t);
    int long_prod = field(k, row, COL_PRODUCED, 20, prod_t, sizeof prod_t);
    int long_box =
        field(k, row, COL_BOX, PICKUP_BOX_MAX_CHARS, box_t, sizeof box_t);
    struct pickup_import_row tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.line = line;
    if (long_no || long_card) {
        add_reject(k, line, "pstaff.imp.r.too_long",
                   long_no ? "通知書番号" : "カード番号", NULL);
        return;
    }
    if (!no_t[0] && !card_t[0]) {
        add_reject(k, line, "pstaff.imp.r.missing", "通知書番号・カード番号",
                   NULL);
        return;
    }
    if (no_t[0] && pickup_notice_no_clean(no_t, tmp.notice_no) != 0) {
        add_reject(k, line, "pstaff.imp.r.bad_number", "通知書番号", no_t);
        return;
    }
    if (card_t[0] && card_no_clean(card_t, tmp.card_no) != 0) {
        add_reject(k, line, "pstaff.imp.r.bad_card", "カード番号", card_t);
        return;
    }
    size_t first = 0;
    if (tmp.notice_no[0])
        first = strset_add(&k->seen_notice, tmp.notice_no, line);
    if (!first && tmp.card_no[0])
        first = strset_add(&k->seen_card, tmp.card_no, line);
    if (first) {
        char d[64];
        snprintf(d, sizeof d, "%zu行目", first);
        add_reject(k, line, "pstaff.imp.r.dup_file",
                   tmp.notice_no[0] ? "通知書番号" : "カード番号", d);
        return;
    }
    if (long_name) {
        add_reject(k, line, "pstaff.imp.r.too_long", "氏名カナ", NULL);
        return;
    }
    if (!name_t[0]) {
        add_reject(k, line, "pstaff.imp.r.missing", "氏名カナ", NULL);
        return;
    }
    if (pickup_kana_normalize(name_t, PICKUP_NAME_MAX_CHARS, tmp.name_kana,
                              sizeof tmp.name_kana) != 0) {
        add_reject(k, line, "pstaff.imp.r.bad_kana", "氏名カナ", NULL);
        return;
    }
    if (long_prod) {
        add_reject(k, line, "pstaff.imp.r.too_long", "作成日", NULL);
        return;
    }
    if (!prod_t[0]) {
        add_reject(k, line, "pstaff.imp.r.missing", "作成日", NULL);
        return;
    }
    char today[11];
    ps_today(today);
    if (pickup_date_parse(prod_t, tmp.production_date) != 0 ||
        strcmp(tmp.production_date, today) > 0 ||
        strcmp(tmp.production_date, "2015-01-01") < 0) {
        add_reject(k, line, "pstaff.imp.r.bad_date", "作成日", prod_t);
        return;
    }
    if (long_box) {
        add_reject(k, line, "pstaff.imp.r.too_long", "保管箱", NULL);
        return;
    }
    if (!box_t[0]) {
        add_reject(k, line, "pstaff.imp.r.missing", "保管箱", NULL);
        return;
    }
    if (strpbrk(box_t, "<>\"'\t\r\n")) {
        add_reject(k, line, "pstaff.imp.r.bad_box", "保管箱", NULL);
        return;
    }
    str_copy(tmp.storage_box, box_t, sizeof tmp.storage_box);
    *add_ok(k) = tmp;
}

static int row_cb(void *ctx, const struct csv_row *row)
{
    struct check *k = ctx;
    if (!k->header_done) {
        k->header_done = 1;
        return header_row(k, row) == 0 ? 0 : 1;
    }
    if (blank_row(row))
        return 0;
    k->r->rows++;
    if (k->kind == PICKUP_IMPORT_NOTICES)
        notice_row(k, row);
    else
        jlis_row(k, row);
    return 0;
}

static int load_locations(struct check *k)
{
    struct db_stmt *st = db_queryf(
        k->c,
        "SELECT id, name FROM booking_resources WHERE kind = 'pickup' "
        "ORDER BY id",
        "");
    if (!st)
        return -1;
    int rc;
    while ((rc = db_step(st)) == DB_ROW && k->nlocs < LOCATIONS_MAX) {
        k->locs[k->nlocs].id = db_col_int(st, 0);
        const char *n = db_col_text(st, 1);
        str_copy(k->locs[k->nlocs].name, n ? n : "",
                 sizeof k->locs[k->nlocs].name);
        k->nlocs++;
    }
    db_finalize(st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

/* Moves ok row i to the refused ones. */
static void demote(struct check *k, size_t *i, const char *reason,
                   const char *field_name, const char *detail)
{
    struct pickup_import_report *r = k->r;
    add_reject(k, r->ok[*i].line, reason, field_name, detail);
    memmove(&r->ok[*i], &r->ok[*i + 1], (r->nok - *i - 1) * sizeof *r->ok);
    r->nok--;
}

/* Notices already imported (by this file or an earlier one). */
static int notices_against_db(struct check *k)
{
    struct pickup_import_report *r = k->r;
    for (size_t i = 0; i < r->nok;) {
        int64_t n = 0;
        int rc = db_query_int(
            k->c, &n, "SELECT COUNT(*) FROM notices WHERE notice_no = ?", "s",
            r->ok[i].notice_no);
        if (rc != DB_ROW)
            return -1;
        if (n > 0)
            demote(k, &i, "pstaff.imp.r.exists", "通知書番号", NULL);
        else
            i++;
    }
    return 0;
}

/* Links each J-LIS row to its notice. */
static int jlis_against_db(struct check *k)
{
    struct pickup_import_report *r = k->r;
    for (size_t i = 0; i < r->nok;) {
        struct pickup_import_row *row = &r->ok[i];
        struct pickup_notice n;
        int rc;
        if (row->notice_no[0]) {
            rc = pickup_notice_get(k->c, row->notice_no, &n);
            if (rc == PICKUP_ENOTFOUND) {
                demote(k, &i, "pstaff.imp.r.unmatched_notice", "通知書番号",
                       NULL);
                continue;
            }
        } else {
            struct db_stmt *st = db_queryf(
                k->c, "SELECT notice_no FROM notices WHERE card_no = ?", "s",
                row->card_no);
            if (!st)
                return -1;
            rc = db_step(st);
            char no[PICKUP_NOTICE_MAX] = "";
            if (rc == DB_ROW)
                str_copy(no, db_col_text(st, 0) ? db_col_text(st, 0) : "",
                         sizeof no);
            db_finalize(st);
            if (rc == DB_DONE) {
                demote(k, &i, "pstaff.imp.r.unmatched_card", "カード番号",
                       NULL);
                continue;
            }
            if (rc != DB_ROW)
                return -1;
            rc = pickup_notice_get(k->c, no, &n);
        }
        if (rc != PICKUP_OK)
            return -1;
        if (row->card_no[0] && n.card_no[0] &&
            strcmp(row->card_no, n.card_no) != 0) {
            demote(k, &i, "pstaff.imp.r.card_conflict", "カード番号",
                   n.card_no);
            continue;
        }
        if (row->card_no[0]) {
            int64_t other = 0;
            rc = db_query_int(k->c, &other,
                              "SELECT COUNT(*) FROM notices WHERE card_no = ? "
                              "AND id <> ?",
                              "si", row->card_no, n.id);
            if (rc != DB_ROW)
                return -1;
            if (other) {
                demote(k, &i, "pstaff.imp.r.card_taken", "カード番号", NULL);
                continue;
            }
        }
        if (n.name_kana[0]) {
            char a[PICKUP_NAME_MAX_CHARS * 3 + 1], b[sizeof a];
            char stored[sizeof a];
            if (pickup_kana_normalize(n.name_kana, PICKUP_NAME_MAX_CHARS,
                                      stored, sizeof stored) != 0)
                str_copy(stored, n.name_kana, sizeof stored);
            kana_compact(stored, a, sizeof a);
            kana_compact(row->name_kana, b, sizeof b);
            if (strcmp(a, b) != 0) {
                /* Never link a card to someone else's notice. */
                demote(k, &i, "pstaff.imp.r.name_mismatch", "氏名カナ", NULL);
                continue;
            }
        }
        row->notice_id = n.id;
        str_copy(row->notice_no, n.notice_no, sizeof row->notice_no);
        if (!row->card_no[0])
            str_copy(row->card_no, n.card_no, sizeof row->card_no);
        i++;
    }
    return 0;
}

static int cmp_reject(const void *a, const void *b)
{
    const struct pickup_import_reject *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

int pickup_import_check(struct db_conn *c, int kind, const char *data,
                        size_t len, struct pickup_import_report *r)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    if (kind != PICKUP_IMPORT_NOTICES && kind != PICKUP_IMPORT_JLIS) {
        fatal(r, "pstaff.imp.err.kind", NULL);
        return 0;
    }
    if (len > PICKUP_IMPORT_MAX_BYTES) {
        fatal(r, "pstaff.imp.err.too_big", NULL);
        return 0;
    }
    if (!data || len == 0) {
        fatal(r, "pstaff.imp.err.empty", NULL);
        return 0;
    }
    struct buf utf8;
    buf_init(&utf8);
    if (csv_decode_input(data, len, &utf8, &r->encoding) != CSV_OK) {
        fatal(r, "pstaff.imp.err.encoding", NULL);
        buf_free(&utf8);
        return 0;
    }
    struct check *k = xcalloc(1, sizeof *k);
    k->c = c;
    k->r = r;
    k->kind = kind;
    int result = 0;
    if (load_locations(k) != 0) {
        result = -1;
        goto out;
    }
    struct csv_limits lim = {16, 1024, PICKUP_IMPORT_MAX_ROWS + 1};
    struct csv_error err;
    int rc =
        csv_parse(utf8.data ? utf8.data : "", utf8.len, row_cb, k, &lim, &err);
    if (rc == CSV_ESTOPPED && r->fatal)
        goto drop; /* the header was refused */
    if (rc != CSV_OK) {
        fatal(r,
              rc == CSV_ETOOMANYROWS ? "pstaff.imp.err.too_many"
                                     : "pstaff.imp.err.csv",
              err.message);
        goto drop;
    }
    if (!k->header_done) {
        fatal(r, "pstaff.imp.err.empty", NULL);
        goto drop;
    }
    if (r->rows == 0) {
        fatal(r, "pstaff.imp.err.no_rows", NULL);
        goto drop;
    }
    rc = kind == PICKUP_IMPORT_NOTICES ? notices_against_db(k)
                                       : jlis_against_db(k);
    if (rc != 0) {
        result = -1;
        goto drop;
    }
    if (r->nbad > 1)
        qsort(r->bad, r->nbad, sizeof *r->bad, cmp_reject);
    goto out;
drop:
    /* A file refused as a whole has no rows to show. */
    free(r->ok);
    free(r->bad);
    r->ok = NULL;
    r->bad = NULL;
    r->nok = r->nbad = 0;
out:
    strset_free(&k->seen_notice);
    strset_free(&k->seen_card);
    free(k);
    buf_free(&utf8);
    return result;
}

void pickup_import_report_free(struct pickup_import_report *r)
{
    free(r->ok);
    free(r->bad);
    r->ok = NULL;
    r->bad = NULL;
    r->nok = r->nbad = 0;
}

/* ---- the commit --------------------------------------------------------- */

static char *import_detail(const struct pickup_import_report *r,
                           int all_or_nothing, const char *filename,
                           size_t imported)
{
    json_t *d = json_object();
    json_object_set_new(d, "file", json_string(filename ? filename : ""));
    json_object_set_new(d, "encoding",
                        json_string(r->encoding ? r->encoding : ""));
    json_object_set_new(d, "rows", json_integer((json_int_t)r->rows));
    json_object_set_new(d, "imported", json_integer((json_int_t)imported));
    json_object_set_new(d, "rejected", json_integer((json_int_t)r->nbad));
    json_object_set_new(d, "mode",
                        json_string(all_or_nothing ? "all" : "accepted"));
    char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    return s ? s : xstrdup("{}");
}

/* The rows, inside the caller's transaction.  PICKUP_IMPORT_* result. */
static int write_rows(struct db_conn *c, const struct keyring *k,
                      const struct pickup_import_report *r)
{
    int64_t now = now_unix();
    for (size_t i = 0; i < r->nok; i++) {
        const struct pickup_import_row *row = &r->ok[i];
        if (r->kind == PICKUP_IMPORT_NOTICES) {
            int rc = pickup_notice_add(c, k, row->notice_no, row->birth,
                                       row->name_kana, row->resource_id, NULL);
            if (rc == PICKUP_EEXISTS)
                return PICKUP_IMPORT_ECHANGED;
            if (rc != PICKUP_OK)
                return PICKUP_IMPORT_EDB;
        } else {
            int64_t rc = db_run(c,
                                "UPDATE notices SET card_no = ?, "
                                "production_date = ?, storage_box = ?, "
                                "updated_at = ? WHERE id = ?",
                                "sssii", row->card_no, row->production_date,
                                row->storage_box, now, row->notice_id);
            if (rc == DB_CONSTRAINT || rc == 0)
                return PICKUP_IMPORT_ECHANGED; /* card taken meanwhile */
            if (rc < 0)
                return PICKUP_IMPORT_EDB;
        }
    }
    return PICKUP_IMPORT_OK;
}

int pickup_import_commit(struct db_conn *c, const struct keyring *k,
                         const struct actor *who,
                         const struct pickup_import_report *r,
                         int all_or_nothing, const char *filename,
                         size_t *imported)
{
    *imported = 0;
    if (r->fatal || r->nok == 0 || (all_or_nothing && r->nbad > 0))
        return PICKUP_IMPORT_EREJECTED;
    const char *action = r->kind == PICKUP_IMPORT_NOTICES
                             ? "pickup.import.notices"
                             : "pickup.import.jlis";
    char *detail = import_detail(r, all_or_nothing, filename, r->nok);
    int result = PICKUP_IMPORT_EDB;
    for (int attempt = 0; attempt < 3; attempt++) {
        int rc = db_begin(c);
        if (rc == DB_BUSY)
            continue;
        if (rc != DB_OK)
            break;
        result = write_rows(c, k, r);
        if (result != PICKUP_IMPORT_OK) {
            db_rollback(c);
            break;
        }
        if (audit_append(c, who, action, "notice", "*", "ok", detail) != 0) {
            db_rollback(c);
            audit_alert(db_of(c), "audit.write_failed", action);
            result = PICKUP_IMPORT_EAUDIT;
            break;
        }
        rc = db_commit(c);
        if (rc == DB_OK) {
            *imported = r->nok;
            break;
        }
        db_rollback(c);
        result = PICKUP_IMPORT_EDB;
        if (rc != DB_BUSY)
            break;
    }
    free(detail);
    return result;
}

/* ---- staging between preview and import --------------------------------- */

static const char *kind_name(int kind)
{
    return kind == PICKUP_IMPORT_NOTICES ? "notices" : "jlis";
}

static void batches_expire(struct db_conn *c)
{
    db_run(c, "DELETE FROM pickup_import_batches WHERE created_at < ?", "i",
           now_unix() - BATCH_TTL);
}

/* Keeps the decoded file; returns the token (caller frees) or NULL. */
static char *batch_store(struct req *rq, int kind, const char *utf8,
                         const char *encoding, const char *filename)
{
    char *token = random_token(24);
    char hash[65];
    sha256_hex(token, strlen(token), hash);
    char *enc =
        field_encrypt(rq->app->keys, "pickup_import_batches.data", utf8);
    int64_t rc = db_run(rq->db,
                        "INSERT INTO pickup_import_batches (token_hash, kind, "
                        "user_id, filename, encoding, data, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        "ssisssi", hash, kind_name(kind), rq->actor.user_id,
                        filename, encoding, enc, now_unix());
    free(enc);
    if (rc != 1) {
        free(token);
        return NULL;
    }
    return token;
}

struct batch {
    int64_t id;
    char *data; /* decrypted UTF-8 */
    char filename[256];
    char encoding[16];
};

/* The batch of token for this user and kind, not expired.  0 found, 1 not
** found, -1 error. */
static int batch_load(struct req *rq, int kind, const char *token,
                      struct batch *b)
{
    memset(b, 0, sizeof *b);
    if (!token || strlen(token) > 64)
        return 1;
    char hash[65];
    sha256_hex(token, strlen(token), hash);
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT id, filename, encoding, data FROM pickup_import_batches "
        "WHERE token_hash = ? AND kind = ? AND user_id = ? AND created_at >= ?",
        "ssii", hash, kind_name(kind), rq->actor.user_id,
        now_unix() - BATCH_TTL);
    if (!st)
        return -1;
    int rc = db_step(st);
    if (rc == DB_ROW) {
        b->id = db_col_int(st, 0);
        const char *f = db_col_text(st, 1);
        str_copy(b->filename, f ? f : "", sizeof b->filename);
        f = db_col_text(st, 2);
        str_copy(b->encoding, f ? f : "", sizeof b->encoding);
        b->data = field_decrypt(rq->app->keys, "pickup_import_batches.data",
                                db_col_text(st, 3));
    }
    db_finalize(st);
    if (rc == DB_DONE)
        return 1;
    if (rc != DB_ROW)
        return -1;
    return b->data ? 0 : 1;
}

/* ---- pages -------------------------------------------------------------- */

static const char *import_base(int kind)
{
    return kind == PICKUP_IMPORT_NOTICES ? "/staff/pickup/import"
                                         : "/staff/pickup/jlis";
}

static const char *import_title(int kind)
{
    return kind == PICKUP_IMPORT_NOTICES ? "pstaff.imp.notices_title"
                                         : "pstaff.imp.jlis_title";
}

static json_t *mode_options(struct req *rq, const char *mode)
{
    json_t *a = json_array();
    const char *v[] = {"accepted", "all"};
    const char *k[] = {"pstaff.imp.mode_accepted", "pstaff.imp.mode_all"};
    for (int i = 0; i < 2; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "value", json_string(v[i]));
        json_object_set_new(o, "label", json_string(i18n_get(rq->lang, k[i])));
        char id[32];
        snprintf(id, sizeof id, "mode-%s", v[i]);
        json_object_set_new(o, "id", json_string(id));
        if (strcmp(mode, v[i]) == 0)
            json_object_set_new(o, "checked", json_true());
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *import_context(struct req *rq, int kind, const char *mode)
{
    json_t *ctx =
        ps_context(rq, kind == PICKUP_IMPORT_NOTICES ? "/staff/pickup/import"
                                                     : "/staff/pickup/jlis");
    json_object_set_new(ctx, "action", json_string(import_base(kind)));
    char h[64];
    snprintf(h, sizeof h, "%s/commit", import_base(kind));
    json_object_set_new(ctx, "commit_action", json_string(h));
    json_object_set_new(ctx, "notices",
                        json_boolean(kind == PICKUP_IMPORT_NOTICES));
    json_object_set_new(ctx, "jlis", json_boolean(kind == PICKUP_IMPORT_JLIS));
    json_object_set_new(ctx, "modes", mode_options(rq, mode));
    return ctx;
}

static void import_form_page(struct req *rq, struct resp *rs, int kind,
                             int status, const char *error_text,
                             const char *mode)
{
    json_t *ctx = import_context(rq, kind, mode);
    json_t *errors = json_array();
    if (error_text) {
        json_t *e = json_object();
        json_object_set_new(e, "id", json_string("file"));
        json_object_set_new(e, "text", json_string(error_text));
        json_array_append_new(errors, e);
        json_object_set_new(ctx, "file_error", json_string(error_text));
    }
    json_object_set_new(ctx, "errors", errors);
    resp_page(rq, rs, status, "pickup/staff_import", import_title(kind), ctx);
}

static json_t *reject_rows(struct req *rq, const struct pickup_import_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->nbad; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "line",
                            json_integer((json_int_t)r->bad[i].line));
        json_object_set_new(o, "field", json_string(r->bad[i].field));
        json_object_set_new(o, "reason",
                            json_string(i18n_get(rq->lang, r->bad[i].reason)));
        json_object_set_new(o, "detail", json_string(r->bad[i].detail));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *ok_rows(struct req *rq, const struct pickup_import_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->nok && i < PREVIEW_ROWS; i++) {
        const struct pickup_import_row *row = &r->ok[i];
        json_t *o = json_object();
        char no[32];
        pickup_notice_no_format(row->notice_no, no, sizeof no);
        json_object_set_new(o, "line", json_integer((json_int_t)row->line));
        json_object_set_new(o, "notice_no", json_string(no));
        json_object_set_new(o, "name_kana", json_string(row->name_kana));
        json_object_set_new(o, "birth", json_string(row->birth));
        json_object_set_new(o, "location", json_string(row->location));
        json_object_set_new(o, "card_no", json_string(row->card_no));
        json_object_set_new(o, "production_date",
                            json_string(row->production_date));
        json_object_set_new(o, "storage_box", json_string(row->storage_box));
        if (r->kind == PICKUP_IMPORT_JLIS) {
            char key[BOOKING_KEY_MAX];
            struct booking b;
            pickup_member_key(row->notice_no, key, sizeof key);
            if (booking_find_active(rq->db, key, &b) == BOOKING_OK) {
                char day[48], t[6], when[64];
                ps_date_short(rq->lang, b.date, day, sizeof day);
                ps_hhmm(b.start_min, t);
                snprintf(when, sizeof when, "%s %s", day, t);
                json_object_set_new(o, "booking_ref", json_string(b.ref));
                json_object_set_new(o, "booking_when", json_string(when));
            }
        }
        json_array_append_new(a, o);
    }
    return a;
}

static void report_context(struct req *rq, json_t *ctx,
                           const struct pickup_import_report *r)
{
    json_object_set_new(ctx, "encoding",
                        json_string(r->encoding ? r->encoding : ""));
    json_object_set_new(ctx, "rows", json_integer((json_int_t)r->rows));
    json_object_set_new(ctx, "accepted", json_integer((json_int_t)r->nok));
    json_object_set_new(ctx, "rejected", json_integer((json_int_t)r->nbad));
    json_object_set_new(ctx, "reject_rows", reject_rows(rq, r));
    json_object_set_new(ctx, "ok_rows", ok_rows(rq, r));
    json_object_set_new(ctx, "more_rows", json_boolean(r->nok > PREVIEW_ROWS));
}

static const char *mode_param(struct req *rq)
{
    const char *m = req_param(rq, "mode");
    return m && strcmp(m, "all") == 0 ? "all" : "accepted";
}

static int import_get(struct req *rq, struct resp *rs, int kind)
{
    import_form_page(rq, rs, kind, 200, NULL, "accepted");
    return 0;
}

static int import_preview(struct req *rq, struct resp *rs, int kind)
{
    const char *mode = mode_param(rq);
    const struct mp_part *p = mp_find(&rq->parts, "file");
    if (!p || !p->filename || !p->filename[0] || p->len == 0) {
        import_form_page(rq, rs, kind, 400,
                         i18n_get(rq->lang, "pstaff.imp.err.no_file"), mode);
        return 0;
    }
    struct pickup_import_report r;
    if (pickup_import_check(rq->db, kind, p->data, p->len, &r) != 0) {
        pickup_import_report_free(&r);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    char filename[256];
    if (admin_text(p->filename, 100, filename, sizeof filename) != 0)
        str_copy(filename, "upload.csv", sizeof filename);
    if (r.fatal) {
        struct buf m;
        buf_init(&m);
        buf_printf(&m, "%s%s%s", i18n_get(rq->lang, r.fatal),
                   r.fatal_msg[0] ? " " : "", r.fatal_msg);
        import_form_page(rq, rs, kind, 400, m.data, mode);
        buf_free(&m);
        return 0;
    }
    json_t *ctx = import_context(rq, kind, mode);
    json_object_set_new(ctx, "filename", json_string(filename));
    report_context(rq, ctx, &r);
    batches_expire(rq->db);
    if (r.nok > 0) {
        struct buf utf8;
        buf_init(&utf8);
        const char *enc = NULL;
        char *token = NULL;
        if (csv_decode_input(p->data, p->len, &utf8, &enc) == CSV_OK)
            token = batch_store(rq, kind, utf8.data ? utf8.data : "",
                                enc ? enc : "", filename);
        buf_free(&utf8);
        if (!token) {
            pickup_import_report_free(&r);
            json_decref(ctx);
            resp_error(rq, rs, 500, NULL, NULL);
            return 0;
        }
        json_object_set_new(ctx, "token", json_string(token));
        free(token);
    }
    char *detail = import_detail(&r, strcmp(mode, "all") == 0, filename, 0);
    int arc = admin_audit_read(rq, rs,
                               kind == PICKUP_IMPORT_NOTICES
                                   ? "pickup.import.notices.preview"
                                   : "pickup.import.jlis.preview",
                               "notice", "*", detail);
    free(detail);
    pickup_import_report_free(&r);
    if (arc != 0) {
        json_decref(ctx);
        return 0;
    }
    resp_page(rq, rs, 200, "pickup/staff_import_preview", import_title(kind),
              ctx);
    return 0;
}

static int import_commit(struct req *rq, struct resp *rs, int kind)
{
    const char *mode = mode_param(rq);
    struct batch b;
    int rc = batch_load(rq, kind, req_param(rq, "token"), &b);
    if (rc < 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    if (rc > 0) {
        import_form_page(rq, rs, kind, 410,
                         i18n_get(rq->lang, "pstaff.imp.err.expired"), mode);
        return 0;
    }
    struct pickup_import_report r;
    if (pickup_import_check(rq->db, kind, b.data, strlen(b.data), &r) != 0) {
        free(b.data);
        pickup_import_report_free(&r);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    free(b.data);
    /* The file as it was uploaded (the staged copy is UTF-8). */
    if (b.encoding[0])
        r.encoding = strcmp(b.encoding, "CP932") == 0 ? "CP932" : "UTF-8";
    size_t imported = 0;
    int all = strcmp(mode, "all") == 0;
    int crc = r.fatal ? PICKUP_IMPORT_EREJECTED
                      : pickup_import_commit(rq->db, rq->app->keys, &rq->actor,
                                             &r, all, b.filename, &imported);
    if (crc == PICKUP_IMPORT_EAUDIT || crc == PICKUP_IMPORT_EDB) {
        pickup_import_report_free(&r);
        resp_error(rq, rs, crc == PICKUP_IMPORT_EAUDIT ? 503 : 500,
                   crc == PICKUP_IMPORT_EAUDIT ? "error.audit" : NULL, NULL);
        return 0;
    }
    if (crc == PICKUP_IMPORT_OK)
        db_run(rq->db, "DELETE FROM pickup_import_batches WHERE id = ?", "i",
               b.id);
    json_t *ctx = import_context(rq, kind, mode);
    json_object_set_new(ctx, "filename", json_string(b.filename));
    report_context(rq, ctx, &r);
    json_object_set_new(ctx, "imported", json_integer((json_int_t)imported));
    json_object_set_new(ctx, "done", json_boolean(crc == PICKUP_IMPORT_OK));
    const char *why = crc == PICKUP_IMPORT_OK         ? NULL
                      : crc == PICKUP_IMPORT_ECHANGED ? "pstaff.imp.err.changed"
                      : all && r.nbad ? "pstaff.imp.err.refused_all"
                                      : "pstaff.imp.err.nothing";
    if (why)
        json_object_set_new(ctx, "why", json_string(i18n_get(rq->lang, why)));
    pickup_import_report_free(&r);
    resp_page(rq, rs, crc == PICKUP_IMPORT_OK ? 200 : 409,
              "pickup/staff_import_done", import_title(kind), ctx);
    return 0;
}

static int get_import(struct req *rq, struct resp *rs)
{
    return import_get(rq, rs, PICKUP_IMPORT_NOTICES);
}
static int post_import(struct req *rq, struct resp *rs)
{
    return import_preview(rq, rs, PICKUP_IMPORT_NOTICES);
}
static int post_import_commit(struct req *rq, struct resp *rs)
{
    return import_commit(rq, rs, PICKUP_IMPORT_NOTICES);
}
static int get_jlis(struct req *rq, struct resp *rs)
{
    return import_get(rq, rs, PICKUP_IMPORT_JLIS);
}
static int post_jlis(struct req *rq, struct resp *rs)
{
    return import_preview(rq, rs, PICKUP_IMPORT_JLIS);
}
static int post_jlis_commit(struct req *rq, struct resp *rs)
{
    return import_commit(rq, rs, PICKUP_IMPORT_JLIS);
}

static const struct route import_routes[] = {
    {"GET", "/staff/pickup/import", get_import, "pickup.import", 0},
    {"POST", "/staff/pickup/import", post_import, "pickup.import", 0},
    {"POST", "/staff/pickup/import/commit", post_import_commit, "pickup.import",
     0},
    {"GET", "/staff/pickup/jlis", get_jlis, "pickup.import", 0},
    {"POST", "/staff/pickup/jlis", post_jlis, "pickup.import", 0},
    {"POST", "/staff/pickup/jlis/commit", post_jlis_commit, "pickup.import", 0},
};

void ps_import_register(void)
{
    router_add(import_routes, ARRAY_LEN(import_routes));
}
