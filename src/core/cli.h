/*
** cli.h - the subcommands of the cityos binary (cli.c) and the start-up
** registration of every service's routes and jobs.
*/
#ifndef CITYOS_CLI_H
#define CITYOS_CLI_H

struct app;

int cmd_serve(struct app *app, int argc, char **argv);
int cmd_init(struct app *app, int argc, char **argv);
int cmd_demo(struct app *app, int argc, char **argv);
int cmd_user(struct app *app, int argc, char **argv);
int cmd_audit(struct app *app, int argc, char **argv);
int cmd_backup(struct app *app, int argc, char **argv);
int cmd_restore(struct app *app, int argc, char **argv);
int cmd_keys(struct app *app, int argc, char **argv);

/* Route tables of the core and of each service. */
void auth_register(void);
void admin_register(void);

#endif
