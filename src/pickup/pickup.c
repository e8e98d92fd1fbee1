/*
** pickup.c - start-up of the My Number Card pickup service: the booking
** hooks for kind "pickup", the citizens' pages, the staff pages and APIs,
** and the day-before reminder job.  cmd_serve calls pickup_register()
** once, before serving.
*/
#include "pickup/citizen.h"
#include "pickup/pickup.h"
#include "pickup/staff.h"

void pickup_register(void)
{
    pickup_hooks_register();
    citizen_register();
    pickup_staff_register();
    pickup_reminder_job_register();
}
