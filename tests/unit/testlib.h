/*
** testlib.h - fixtures shared by the unit tests: a migrated database on
** SQLite (a temporary file) or on PostgreSQL (a schema of its own in the
** database named by CITYOS_TEST_PG, dropped afterwards), with a key file
** and the_app set, so the modules under test run as in the server.
*/
#ifndef CITYOS_TESTLIB_H
#define CITYOS_TESTLIB_H

#include "core/app.h"

/* engine: "sqlite" or "pg".  Returns 0, or -1 (message printed). */
int testlib_open(const char *engine, const char *name, struct app *app);
void testlib_close(struct app *app);
/* 1 when CITYOS_TEST_PG is set. */
int testlib_have_pg(void);

#endif
