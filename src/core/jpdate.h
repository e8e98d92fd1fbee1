/*
** jpdate.h - Japanese calendar dates for display: "2026年11月22日（日）",
** with the era where customary ("令和8年11月22日（日）", the first year of an
** era written 元年), English forms ("Sun 22 Nov 2026"), times ("13:30"),
** and the civil-date arithmetic the services share (proleptic Gregorian,
** days since 1970-01-01).
**
** Dates are Japan dates written "YYYY-MM-DD"; every function checks them
** (month 1-12, the day within its month, leap years) and fails on anything
** else.  Era start dates (the first day of each era, Gregorian):
**   明治 1868-10-23, 大正 1912-07-30, 昭和 1926-12-25, 平成 1989-01-08,
**   令和 2019-05-01.
** Dates before 明治 have no era here: the era forms fall back to the
** Gregorian year.
*/
#ifndef CITYOS_JPDATE_H
#define CITYOS_JPDATE_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DD" (exactly, years 1000-9999) into its parts.  0 or -1. */
int jpdate_parse(const char *ymd, int *y, int *m, int *d);
/* Days since 1970-01-01 of a valid civil date, and back. */
int64_t jpdate_days(int y, int m, int d);
void jpdate_from_days(int64_t days, int *y, int *m, int *d);
/* Writes "YYYY-MM-DD" (11 bytes with the NUL) for a day number.  0, or -1
** when the year falls outside 1000-9999. */
int jpdate_ymd(int64_t days, char out[11]);
/* 0 (Sunday) ... 6 (Saturday), or -1 for an invalid date. */
int jpdate_weekday(const char *ymd);

/* The era of a date: its name ("令和"), romanised name ("Reiwa") and year
** (1 for the first).  0, or -1 for an invalid date or one before 明治. */
int jpdate_era(const char *ymd, const char **name, const char **name_en,
               int *year);

/* "2026年11月22日（日）", or with with_era "令和8年11月22日（日）"
** ("令和元年5月1日（水）" in an era's first year).  0, or -1 for an invalid
** date or when out (n bytes) is too small. */
int jpdate_format(const char *ymd, int with_era, char *out, size_t n);
/* "Sun 22 Nov 2026", or with with_era "Sun 22 Nov 2026 (Reiwa 8)". */
int jpdate_format_en(const char *ymd, int with_era, char *out, size_t n);
/* jpdate_format for lang "ja", jpdate_format_en for any other. */
int jpdate_format_lang(const char *lang, const char *ymd, int with_era,
                       char *out, size_t n);
/* Weekday names: "日" ... "土" and "Sun" ... "Sat"; NULL when out of range. */
const char *jpdate_weekday_ja(int weekday);
const char *jpdate_weekday_en(int weekday);

/* Minutes after midnight (0-1440) as "13:30" ("09:00" zero-padded; 1440 is
** "24:00").  0, or -1 when minutes is out of range or out too small. */
int jpdate_time(int minutes, char *out, size_t n);
/* "9:00～9:30" (Japanese: no leading zero, full-width tilde) or
** "9:00-9:30". */
int jpdate_time_range(const char *lang, int start, int end, char *out,
                      size_t n);

#endif
