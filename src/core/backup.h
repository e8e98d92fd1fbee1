/*
** backup.h - consistent online backups (OPS-1): the SQLite backup API or
** pg_dump, encrypted with the key file (crypto.h), verified by decrypting
** and checking the copy, the newest N generations kept.  Restore brings a
** generation back.
*/
#ifndef CITYOS_BACKUP_H
#define CITYOS_BACKUP_H

#include <stddef.h>

struct app;

/* Writes DIR/cityos-YYYYMMDDTHHMMSSZ.<engine>.enc; path of the new file in
** out.  0 or -1 (message in err). */
int backup_run(struct app *app, const char *dir, char *out, size_t outlen,
               char *err, size_t errlen);
/* Decrypts and checks a backup file without touching the database. */
int backup_verify(struct app *app, const char *file, char *err, size_t errlen);
/* Replaces the database's contents with the backup's. */
int backup_restore(struct app *app, const char *file, char *err, size_t errlen);
/* Deletes all but the newest keep generations in dir; returns how many
** were deleted, or -1.  keep < 1 counts as 1: the newest always stays. */
int backup_prune(const char *dir, int keep);
/* Registers the job "backup": once a day inside cfg.backup_window (Japan
** time), backup_run() into cfg.backup_dir and prune to cfg.backup_keep. */
void backup_job_register(void);

#endif
