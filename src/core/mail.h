/*
** mail.h - outgoing mail through a queue in the database.  Services enqueue
** inside their own transaction (so a mail is sent if and only if the change
** it reports was committed); a worker thread sends over SMTP with libcurl,
** retrying with back-off, and several servers sharing one PostgreSQL never
** send the same mail twice (a row is claimed by a conditional UPDATE before
** it is sent).  Messages are UTF-8, MIME-encoded, with an optional
** attachment (iCalendar, CSV ...).  Header values are checked for CR/LF so
** no header can be injected (IPA 安全なウェブサイトの作り方 #8).
*/
#ifndef CITYOS_MAIL_H
#define CITYOS_MAIL_H

#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct app;

struct mail {
    const char *to;          /* one address */
    const char *subject;     /* UTF-8 */
    const char *text;        /* UTF-8 body */
    const char *attach_name; /* NULL for none */
    const char *attach_type; /* e.g. "text/calendar; method=REQUEST" */
    const char *attach_data;
    size_t attach_len;
};

/* Formats m (From: the_app->cfg.mail_from) and queues it, encrypted with
** the_app->keys, inside the caller's transaction if one is open.  0, or
** -1 for an invalid address or header or a database error (nothing
** queued). */
int mail_enqueue(struct db_conn *c, const struct mail *m);
/* Claims and sends due rows (at most 20 a call) over cfg.smtp_url;
** returns the number sent, or -1 when the database fails.  Does nothing
** while smtp_url is empty. */
int mail_send_due(struct app *app);
/* Builds the RFC 5322 message (exposed for tests): CRLF lines, 7-bit
** ASCII, Date in Japan time.  from: cfg.mail_from ("addr" or
** "Name <addr>"); msgid without angle brackets, NULL for a random one in
** the sender's domain.  NULL when an address, header value, attachment or
** the body is invalid (control characters, bad UTF-8, too long).  Caller
** frees. */
char *mail_format(const char *from, const struct mail *m, const char *msgid);
/* 1 when addr is an acceptable single address (no CR/LF, one '@' ...). */
int mail_address_valid(const char *addr);
/* Deletes mail sent before the time given (unix seconds): a sent message
** need not be kept, and it holds personal data.  Queued and failed rows
** are never deleted.  Returns how many, or -1. */
int mail_purge_sent(struct app *app, int64_t before);
/* Registers the job "mail" (jobs.h) that runs mail_send_due() on every
** scheduler tick, and once an hour mail_purge_sent() for mail sent more
** than MAIL_KEEP_SENT_SECONDS ago; call once at start-up before
** jobs_start(). */
void mail_job_register(void);

/* Retry policy: a failed attempt is retried after 1, 5, 15, 60 minutes,
** then 2, 4, 8, 12 and 24 hours; after MAIL_MAX_ATTEMPTS the row becomes
** 'failed' (kept, never deleted), logged and raised as an alert. */
#define MAIL_MAX_ATTEMPTS 10
/* Seconds a claimed row stays reserved for the server sending it; after a
** crash another server takes the row over once this has passed. */
#define MAIL_CLAIM_SECONDS     300
#define MAIL_KEEP_SENT_SECONDS (30 * 86400)

#endif
