/*
** pcli.c - `cityos pickup remind [--date YYYY-MM-DD]`: sends the
** day-before reminders for the bookings on a date (default: tomorrow) at
** once, as the daily job does.  For operators who need to re-run a missed
** run, and for the end-to-end tests.  Reminders already sent are never
** sent again (pickup_reminders).
*/
#include <stdio.h>
#include <string.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/util.h"
#include "pickup/pickup.h"

int cmd_pickup(struct app *app, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "remind") != 0) {
        fprintf(stderr, "usage: cityos pickup remind [--date YYYY-MM-DD]\n");
        return 2;
    }
    const char *date = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--date") == 0 && i + 1 < argc) {
            date = argv[++i];
        } else {
            fprintf(stderr, "cityos: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    int64_t now = now_unix();
    if (date) {
        char before[11];
        if (booking_weekday(date) < 0 ||
            booking_date_add(date, -1, before) != 0) {
            fprintf(stderr, "cityos: --date wants YYYY-MM-DD\n");
            return 2;
        }
        /* The job runs on the day before, in the morning. */
        now = booking_time_of(before, 9 * 60);
    }
    if (app_open(app, 0) != 0)
        return 1;
    int n = pickup_reminders_run(app, now);
    app_close(app);
    if (n < 0) {
        fprintf(stderr, "cityos: reminders failed\n");
        return 1;
    }
    printf("%d reminders queued\n", n);
    return 0;
}
