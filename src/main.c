/*
** main.c - the cityos command line: one binary, one subcommand per task
** (serve, init, demo, user, audit, backup, restore, keys).  Each command
** loads the configuration (app.h), opens what it needs and returns an exit
** status; the server's own work lives in the modules it calls.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/cli.h"
#include "core/util.h"
#include "pickup/pickup.h"

static const struct command {
    const char *name;
    int (*fn)(struct app *app, int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", cmd_serve, "serve [--listen HOST:PORT]    run the web server"},
    {"init", cmd_init,
     "init                          create or migrate the "
     "schema and the key file"},
    {"demo", cmd_demo,
     "demo                          load demo data "
     "(fictional people only)"},
    {"user", cmd_user,
     "user add|list|disable|enable|delete|passwd|unlock "
     "--login NAME [--role ROLE]"},
    {"audit", cmd_audit,
     "audit verify                  check the audit "
     "log's hash chain"},
    {"backup", cmd_backup,
     "backup [--dir DIR]            encrypted, verified "
     "online backup"},
    {"restore", cmd_restore,
     "restore --from FILE           bring a backup "
     "back"},
    {"pickup", cmd_pickup,
     "pickup remind [--date YYYY-MM-DD]   send the "
     "day-before reminders now"},
    {"keys", cmd_keys,
     "keys rotate                   add a new key and "
     "re-encrypt every field"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "cityos %s - digital services of a city hall\n\n"
            "usage: cityos COMMAND [--db URL] [options]\n\ncommands:\n",
            CITYOS_VERSION);
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "  help                          this list\n"
               "  --version                     print the version\n\n"
               "Every setting can be given as --name value, as CITYOS_NAME "
               "in the\nenvironment, or in a file named by --config "
               "(see docs/operations.md).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("cityos %s\n", CITYOS_VERSION);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        static struct app app;
        char **rest;
        int nrest;
        if (config_load(&app.cfg, argc - 2, argv + 2, &rest, &nrest) != 0)
            return 2;
        return commands[i].fn(&app, nrest, rest);
    }
    fprintf(stderr, "cityos: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
