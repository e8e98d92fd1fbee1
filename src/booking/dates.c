/*
** dates.c - Japan dates for the booking engine: the date of an instant,
** the instant of a date and time, weekdays and date arithmetic.  Japan
** time is UTC+9 all year (no daylight saving time since 1951), so a fixed
** offset is exact; the calendar arithmetic is jpdate.c's.
*/
#include "booking_int.h"

#include "core/jpdate.h"

#define JST_OFFSET (9 * 3600)

int bk_days(const char *date, int64_t *days)
{
    int y, m, d;
    if (jpdate_parse(date, &y, &m, &d) != 0)
        return -1;
    *days = jpdate_days(y, m, d);
    return 0;
}

void bk_ymd(int64_t days, char out[11])
{
    if (jpdate_ymd(days, out) != 0)
        out[0] = 0;
}

/* Floor division: instants before 1970 belong to the day before. */
int64_t bk_today(int64_t now)
{
    int64_t local = now + JST_OFFSET;
    return local >= 0 ? local / 86400 : (local - 86399) / 86400;
}

void booking_date_of(int64_t t, char out[11])
{
    bk_ymd(bk_today(t), out);
}

int64_t booking_time_of(const char *date, int minutes)
{
    int64_t days;
    if (bk_days(date, &days) != 0)
        return -1;
    return days * 86400 + (int64_t)minutes * 60 - JST_OFFSET;
}

int booking_weekday(const char *date)
{
    return jpdate_weekday(date);
}

int booking_date_add(const char *date, int days, char out[11])
{
    int64_t d;
    out[0] = 0;
    if (bk_days(date, &d) != 0)
        return -1;
    return jpdate_ymd(d + days, out);
}

int booking_date_diff(const char *a, const char *b, int *days)
{
    int64_t da, db;
    if (bk_days(a, &da) != 0 || bk_days(b, &db) != 0)
        return -1;
    *days = (int)(db - da);
    return 0;
}
