/*
** jpdate.c - Japanese calendar dates for display and civil-date arithmetic
** (see jpdate.h).  The day-number conversions are Howard Hinnant's
** days_from_civil / civil_from_days: exact for the proleptic Gregorian
** calendar, no time zones, no tables.
*/
#include "jpdate.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const wd_ja[7] = {"日", "月", "火", "水", "木", "金", "土"};
static const char *const wd_en[7] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
static const char *const mon_en[12] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};

/* Eras, newest first, with the Gregorian date of their first day. */
static const struct {
    const char *name, *name_en;
    int y, m, d;
} eras[] = {
    {"令和", "Reiwa", 2019, 5, 1},   {"平成", "Heisei", 1989, 1, 8},
    {"昭和", "Showa", 1926, 12, 25}, {"大正", "Taisho", 1912, 7, 30},
    {"明治", "Meiji", 1868, 10, 23},
};

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int jpdate_parse(const char *ymd, int *y, int *m, int *d)
{
    if (!ymd || strlen(ymd) != 10 || ymd[4] != '-' || ymd[7] != '-')
        return -1;
    int yy, mm, dd;
    if (digits(ymd, 4, &yy) || digits(ymd + 5, 2, &mm) ||
        digits(ymd + 8, 2, &dd))
        return -1;
    if (yy < 1000 || mm < 1 || mm > 12 || dd < 1 || dd > month_days(yy, mm))
        return -1;
    *y = yy;
    *m = mm;
    *d = dd;
    return 0;
}

int64_t jpdate_days(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void jpdate_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

int jpdate_ymd(int64_t days, char out[11])
{
    int y, m, d;
    jpdate_from_days(days, &y, &m, &d);
    if (y < 1000 || y > 9999) {
        out[0] = 0;
        return -1;
    }
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    return 0;
}

int jpdate_weekday(const char *ymd)
{
    int y, m, d;
    if (jpdate_parse(ymd, &y, &m, &d) != 0)
        return -1;
    int64_t days = jpdate_days(y, m, d);
    /* 1970-01-01 was a Thursday (4). */
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

const char *jpdate_weekday_ja(int weekday)
{
    return weekday >= 0 && weekday < 7 ? wd_ja[weekday] : NULL;
}

const char *jpdate_weekday_en(int weekday)
{
    return weekday >= 0 && weekday < 7 ? wd_en[weekday] : NULL;
}

int jpdate_era(const char *ymd, const char **name, const char **name_en,
               int *year)
{
    int y, m, d;
    if (jpdate_parse(ymd, &y, &m, &d) != 0)
        return -1;
    int key = y * 10000 + m * 100 + d;
    for (size_t i = 0; i < ARRAY_LEN(eras); i++) {
        if (key >= eras[i].y * 10000 + eras[i].m * 100 + eras[i].d) {
            if (name)
                *name = eras[i].name;
            if (name_en)
                *name_en = eras[i].name_en;
            if (year)
                *year = y - eras[i].y + 1;
            return 0;
        }
    }
    return -1;
}

/* snprintf that reports truncation as failure. */
static int put(char *out, size_t n, int written)
{
    if (written < 0 || (size_t)written >= n) {
        if (n)
            out[0] = 0;
        return -1;
    }
    return 0;
}

int jpdate_format(const char *ymd, int with_era, char *out, size_t n)
{
    int y, m, d;
    if (!out || n == 0)
        return -1;
    out[0] = 0;
    if (jpdate_parse(ymd, &y, &m, &d) != 0)
        return -1;
    const char *wd = wd_ja[jpdate_weekday(ymd)];
    const char *era = NULL;
    int ey = 0;
    if (with_era && jpdate_era(ymd, &era, NULL, &ey) == 0) {
        if (ey == 1)
            return put(out, n,
                       snprintf(out, n, "%s元年%d月%d日（%s）", era, m, d, wd));
        return put(out, n,
                   snprintf(out, n, "%s%d年%d月%d日（%s）", era, ey, m, d, wd));
    }
    return put(out, n, snprintf(out, n, "%d年%d月%d日（%s）", y, m, d, wd));
}

int jpdate_format_en(const char *ymd, int with_era, char *out, size_t n)
{
    int y, m, d;
    if (!out || n == 0)
        return -1;
    out[0] = 0;
    if (jpdate_parse(ymd, &y, &m, &d) != 0)
        return -1;
    const char *wd = wd_en[jpdate_weekday(ymd)];
    const char *era = NULL;
    int ey = 0;
    if (with_era && jpdate_era(ymd, NULL, &era, &ey) == 0)
        return put(out, n,
                   snprintf(out, n, "%s %d %s %d (%s %d)", wd, d, mon_en[m - 1],
                            y, era, ey));
    return put(out, n,
               snprintf(out, n, "%s %d %s %d", wd, d, mon_en[m - 1], y));
}

int jpdate_format_lang(const char *lang, const char *ymd, int with_era,
                       char *out, size_t n)
{
    if (lang && strcmp(lang, "ja") == 0)
        return jpdate_format(ymd, with_era, out, n);
    return jpdate_format_en(ymd, with_era, out, n);
}

int jpdate_time(int minutes, char *out, size_t n)
{
    if (!out || n == 0)
        return -1;
    out[0] = 0;
    if (minutes < 0 || minutes > 1440)
        return -1;
    return put(out, n,
               snprintf(out, n, "%02d:%02d", minutes / 60, minutes % 60));
}

int jpdate_time_range(const char *lang, int start, int end, char *out, size_t n)
{
    if (!out || n == 0)
        return -1;
    out[0] = 0;
    if (start < 0 || start > 1440 || end < 0 || end > 1440)
        return -1;
    int ja = lang && strcmp(lang, "ja") == 0;
    return put(out, n,
               snprintf(out, n, "%d:%02d%s%d:%02d", start / 60, start % 60,
                        ja ? "～" : "-", end / 60, end % 60));
}
