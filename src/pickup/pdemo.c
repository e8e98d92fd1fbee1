/*
** pdemo.c - demo data of the pickup service for `cityos demo`: three
** pickup locations of a fictional city (weekday hours, one Saturday
** holiday opening, one Thursday night counter until 19:30, 30-minute
** slots for the next eight weeks) and 1,000 fictional notices with
** random numbers, names in kana and birthdays.  The numbers come from a
** fixed seed, so running the demo again finds them and adds nothing.
*/
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/db.h"
#include "core/http.h"
#include "core/jpdate.h"
#include "core/util.h"
#include "pickup/pickup.h"

#define DEMO_NOTICES 1000
#define DEMO_SHOWN   5

struct place {
    const char *name, *address, *note;
    int capacity;
    struct booking_hours hours[12];
    int nhours;
};

/* Monday to Friday (1..5) with one or two intervals a day. */
#define WEEK(s1, e1, cap)                                                      \
    {                                                                          \
        {1, s1, e1, cap}, {2, s1, e1, cap}, {3, s1, e1, cap},                  \
            {4, s1, e1, cap},                                                  \
        {                                                                      \
            5, s1, e1, cap                                                     \
        }                                                                      \
    }

static const struct place places[] = {
    {"市役所本庁舎 市民課窓口", "シティ市中央一丁目1番1号 本庁舎1階",
     "本庁舎1階の市民課でお受け取りください。駐車場があります。", 6,
     WEEK(8 * 60 + 30, 17 * 60, 0), 5},
    {"マイナンバーカードセンター（ショッピングセンター内）",
     "シティ市駅前二丁目3番4号 シティモール3階",
     "ショッピングセンター3階のセンターです。予約のない方もお受け取りできます"
     "。",
     4, WEEK(10 * 60, 18 * 60, 0), 5},
    {"北部地域振興局",
     "シティ市北町5番地",
     "地域振興局1階の窓口です。お昼休み（12時から13時）は受付をしていません。",
     3,
     {{1, 9 * 60, 12 * 60, 0},
      {1, 13 * 60, 16 * 60, 0},
      {2, 9 * 60, 12 * 60, 0},
      {2, 13 * 60, 16 * 60, 0},
      {3, 9 * 60, 12 * 60, 0},
      {3, 13 * 60, 16 * 60, 0},
      {4, 9 * 60, 12 * 60, 0},
      {4, 13 * 60, 16 * 60, 0},
      {5, 9 * 60, 12 * 60, 0},
      {5, 13 * 60, 16 * 60, 0}},
     10},
};

static const char *const family_names[] = {
    "アオバ",   "イズミ",   "ウミノ",   "エノキ",   "オカベ",
    "カワセ",   "キタノ",   "クスノキ", "コマツ",   "サクラダ",
    "シラカワ", "スギモト", "タカミ",   "ツツジ",   "トオヤマ",
    "ナギサ",   "ハルノ",   "ヒイラギ", "フジサキ", "ホシノ",
    "ミナセ",   "モリモト", "ヤマブキ", "ユキシロ", "ワカバ",
};
static const char *const given_names[] = {
    "アオイ", "ハルト", "ユイ",   "ソウタ",   "メイ",   "リク",
    "ヒナ",   "ミナト", "サクラ", "ユウマ",   "コハル", "イツキ",
    "ツムギ", "レン",   "カエデ", "タイチ",   "ミオ",   "ケンジ",
    "ハナコ", "ジロウ", "トモコ", "イチロウ",
};

/* A small fixed-seed generator (xorshift64*): the same notices every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

/* The first date from today + ahead falling on weekday. */
static void next_weekday(const char *today, int ahead, int weekday,
                         char out[11])
{
    char d[11];
    booking_date_add(today, ahead, d);
    int w = booking_weekday(d);
    booking_date_add(d, (weekday - w + 7) % 7, out);
}

static int64_t find_place(struct db_conn *c, const char *name)
{
    json_t *list = NULL;
    int64_t id = 0;
    if (booking_resource_list(c, "pickup", 1, &list) != BOOKING_OK)
        return -1;
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        const char *n = json_string_value(json_object_get(it, "name"));
        if (n && strcmp(n, name) == 0)
            id = json_integer_value(json_object_get(it, "id"));
    }
    json_decref(list);
    return id;
}

static int add_exceptions(struct db_conn *c, const struct actor *who,
                          int64_t id, int main_office, const char *today)
{
    if (!main_office)
        return BOOKING_OK;
    /* A Saturday holiday opening two weeks ahead, and a Thursday with the
    ** night counter until 19:30 (the day's opening and the night one). */
    struct booking_exception sat = {.kind = "open",
                                    .start_min = 9 * 60,
                                    .end_min = 12 * 60,
                                    .capacity = 4,
                                    .note = "休日開庁"};
    struct booking_exception thu_day = {.kind = "open",
                                        .start_min = 8 * 60 + 30,
                                        .end_min = 17 * 60,
                                        .note = "夜間窓口の日"};
    struct booking_exception thu_night = {.kind = "open",
                                          .start_min = 17 * 60,
                                          .end_min = 19 * 60 + 30,
                                          .capacity = 3,
                                          .note = "夜間窓口"};
    next_weekday(today, 14, 6, sat.date);
    next_weekday(today, 7, 4, thu_day.date);
    str_copy(thu_night.date, thu_day.date, sizeof thu_night.date);
    int rc = booking_exception_set(c, who, id, &sat, NULL);
    if (rc == BOOKING_OK)
        rc = booking_exception_set(c, who, id, &thu_day, NULL);
    if (rc == BOOKING_OK)
        rc = booking_exception_set(c, who, id, &thu_night, NULL);
    return rc;
}

static int demo_places(struct db_conn *c, const struct actor *who,
                       const char *today, int64_t ids[3])
{
    for (size_t i = 0; i < ARRAY_LEN(places); i++) {
        const struct place *p = &places[i];
        int64_t id = find_place(c, p->name);
        if (id < 0)
            return -1;
        if (id == 0) {
            struct booking_resource r;
            memset(&r, 0, sizeof r);
            str_copy(r.kind, "pickup", sizeof r.kind);
            str_copy(r.name, p->name, sizeof r.name);
            str_copy(r.address, p->address, sizeof r.address);
            str_copy(r.note, p->note, sizeof r.note);
            r.open = 1;
            r.slot_minutes = 30;
            r.capacity = p->capacity;
            r.window_days = 56;
            r.deadline_days = 1;
            r.max_party = PICKUP_FAMILY_MAX;
            int rc = booking_resource_save(c, who, &r);
            if (rc == BOOKING_OK)
                rc = booking_hours_set(c, who, r.id, p->hours,
                                       (size_t)p->nhours, NULL);
            if (rc == BOOKING_OK)
                rc = add_exceptions(c, who, r.id, i == 0, today);
            if (rc != BOOKING_OK) {
                fprintf(stderr, "cityos demo: %s: %s\n", p->name,
                        booking_error_key(rc));
                return -1;
            }
            id = r.id;
        }
        if (booking_slots_sync(c, id, today) < 0)
            return -1;
        ids[i] = id;
    }
    return 0;
}

struct demo_notice {
    char no[PICKUP_NOTICE_MAX];
    char mmdd[5];
};

static int demo_notices(struct db_conn *c, struct app *app,
                        const int64_t ids[3], struct demo_notice *shown,
                        int *added)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    rng_state = 0x9E3779B97F4A7C15ull;
    *added = 0;
    if (db_begin(c) != DB_OK)
        return -1;
    for (int i = 0; i < DEMO_NOTICES; i++) {
        struct demo_notice n;
        snprintf(n.no, sizeof n.no, "%03u%06u", 100 + rng(900), rng(1000000));
        int m = 1 + (int)rng(12);
        char md[24];
        snprintf(md, sizeof md, "%02d%02d", m,
                 1 + (int)rng((uint32_t)mdays[m - 1]));
        str_copy(n.mmdd, md, sizeof n.mmdd);
        char name[96];
        snprintf(name, sizeof name, "%s　%s",
                 family_names[rng(ARRAY_LEN(family_names))],
                 given_names[rng(ARRAY_LEN(given_names))]);
        int64_t loc = rng(4) < 3 ? ids[rng(3)] : 0;
        int rc = pickup_notice_add(c, app->keys, n.no, n.mmdd, name, loc, NULL);
        if (rc == PICKUP_OK)
            (*added)++;
        else if (rc != PICKUP_EEXISTS) {
            db_rollback(c);
            fprintf(stderr, "cityos demo: notice %s: %s\n", n.no,
                    pickup_error_key(rc));
            return -1;
        }
        if (i < DEMO_SHOWN)
            shown[i] = n;
    }
    return db_commit(c) == DB_OK ? 0 : -1;
}

int pickup_demo(struct app *app)
{
    struct db_conn *c = db_acquire(app->db);
    if (!c)
        return -1;
    struct actor who = {0, "demo", "cli", "local", "cityos demo"};
    char today[11];
    booking_date_of(now_unix(), today);
    int64_t ids[3] = {0, 0, 0};
    struct demo_notice shown[DEMO_SHOWN];
    int added = 0;
    int rc = demo_places(c, &who, today, ids);
    if (rc == 0)
        rc = demo_notices(c, app, ids, shown, &added);
    db_release(c);
    if (rc != 0)
        return -1;
    printf("\nMy Number Card pickup (/pickup): 3 locations, %d notices "
           "(%d new).\n",
           DEMO_NOTICES, added);
    printf("Sign in with a notice ID and its password (birth month and "
           "day):\n");
    for (int i = 0; i < DEMO_SHOWN; i++) {
        char disp[24];
        pickup_notice_no_format(shown[i].no, disp, sizeof disp);
        printf("  %-14s %s\n", disp, shown[i].mmdd);
    }
    printf("Add a second one as a family member to book two people in one "
           "slot.\n");
    return 0;
}
