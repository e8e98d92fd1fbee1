/*
** mail.c - outgoing mail (see mail.h).  mail_enqueue() formats the whole
** message (RFC 5322 and MIME: encoded-word subject, base64 UTF-8 text, an
** optional attachment in multipart/mixed) and stores it encrypted in
** mail_queue inside the caller's transaction.  mail_send_due(), run by the
** "mail" job on every scheduler tick, claims due rows one by one with a
** conditional UPDATE, sends them over SMTP with libcurl and marks them sent,
** or schedules a retry with back-off.  A row is never deleted before it
** was sent: after MAIL_MAX_ATTEMPTS it stays as 'failed' and an alert is
** raised.  Sent rows are deleted after MAIL_KEEP_SENT_SECONDS.
**
** Header values are refused when they hold CR, LF or other control
** characters, so no header can be injected (IPA 安全なウェブサイトの作り方
** #8).  The message itself is pure 7-bit ASCII with CRLF line ends.
*/
#include "mail.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "app.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "jobs.h"
#include "parse.h"
#include "util.h"

#define ADDR_MAX        254
#define SUBJECT_MAX     400               /* bytes of UTF-8 */
#define TEXT_MAX        (1024 * 1024)     /* bytes of UTF-8 */
#define ATTACH_MAX      (5 * 1024 * 1024) /* bytes */
#define ATTACH_NAME_MAX 100
#define ATTACH_TYPE_MAX 200
#define BATCH           20 /* rows claimed per pass */
#define ERR_MAX         400

/* Seconds before attempt n+1 after n failed attempts (n = 1 ...). */
static const int retry_delay[] = {60,    300,   900,   3600, 7200,
                                  14400, 28800, 43200, 86400};

/* ---- validation ---- */

/* 1 when s holds a control character (CR and LF included). */
static int has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

static int is_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0x80)
            return 0;
    return 1;
}

/* A header value: bounded, UTF-8, no control characters. */
static int header_text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max && !has_control(s) && utf8_valid(s, n);
}

static int is_atext(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

static int is_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* The WHATWG "valid e-mail address" (what <input type=email> accepts),
** with the local part further held to RFC 5321's dot-atom (no leading,
** trailing or doubled dots) since relays refuse those. */
int mail_address_valid(const char *addr)
{
    if (!addr)
        return 0;
    size_t n = strlen(addr);
    const char *at = strchr(addr, '@');
    if (n > ADDR_MAX || !at || strchr(at + 1, '@'))
        return 0;
    size_t local = (size_t)(at - addr);
    if (local < 1 || local > 64 || addr[0] == '.' || at[-1] == '.')
        return 0;
    for (const char *p = addr; p < at; p++) {
        if (*p == '.' && p[1] == '.')
            return 0;
        if (*p != '.' && !is_atext((unsigned char)*p))
            return 0;
    }
    const char *label = at + 1;
    for (;;) {
        size_t len = 0;
        while (label[len] && label[len] != '.') {
            if (!is_alnum((unsigned char)label[len]) && label[len] != '-')
                return 0;
            len++;
        }
        if (len < 1 || len > 63 || label[0] == '-' || label[len - 1] == '-')
            return 0;
        if (!label[len])
            return 1;
        label += len + 1;
    }
}

/* ---- encodings ---- */

/* Base64 in lines of 76 characters, each ended by CRLF (RFC 2045). */
static void put_base64_lines(struct buf *b, const void *data, size_t n)
{
    const unsigned char *p = data;
    /* 57 input bytes make exactly one 76-character line. */
    for (size_t off = 0; off < n; off += 57) {
        size_t chunk = n - off < 57 ? n - off : 57;
        char line[80];
        sodium_bin2base64(line, sizeof line, p + off, chunk,
                          sodium_base64_VARIANT_ORIGINAL);
        buf_puts(b, line);
        buf_puts(b, "\r\n");
    }
}

static void put_base64(struct buf *b, const void *data, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, data, n, sodium_base64_VARIANT_ORIGINAL);
    buf_puts(b, out);
    free(out);
}

/* Length of the longest prefix of s (at most max bytes) that ends on a
** UTF-8 character boundary. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

/* RFC 2047 encoded-words ("=?UTF-8?B?...?="), folded so that no line
** exceeds 78 characters: 39 bytes make 52 base64 characters, 64 with the
** delimiters, which fits after "Subject: " and after a folding space.
** Characters are never split between words. */
static void put_encoded_words(struct buf *b, const char *s)
{
    size_t len = strlen(s);
    int first = 1;
    while (len > 0) {
        size_t n = utf8_prefix(s, len, 39);
        if (!first)
            buf_puts(b, "\r\n ");
        buf_puts(b, "=?UTF-8?B?");
        put_base64(b, s, n);
        buf_puts(b, "?=");
        s += n;
        len -= n;
        first = 0;
    }
}

/* An unstructured header value (Subject): as is when short plain ASCII,
** else encoded-words. */
static void put_unstructured(struct buf *b, const char *s)
{
    if (is_ascii(s) && strlen(s) <= 66 && !strstr(s, "=?"))
        buf_puts(b, s);
    else
        put_encoded_words(b, s);
}

/* A display name: a quoted string when ASCII, else encoded-words. */
static void put_phrase(struct buf *b, const char *s)
{
    if (!is_ascii(s) || strlen(s) > 60 || strstr(s, "=?")) {
        put_encoded_words(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

/* Text in canonical form (RFC 2045): every line break CRLF. */
static char *text_crlf(const char *s)
{
    struct buf b;
    buf_init(&b);
    for (; *s; s++) {
        if (*s == '\r') {
            buf_puts(&b, "\r\n");
            if (s[1] == '\n')
                s++;
        } else if (*s == '\n') {
            buf_puts(&b, "\r\n");
        } else {
            buf_putc(&b, *s);
        }
    }
    return buf_steal(&b);
}

/* RFC 5322 date in Japan time; names fixed, not from the locale. */
static void mail_date(int64_t t, char *out, size_t outlen)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t jt = (time_t)(t + 9 * 3600);
    struct tm tm;
    gmtime_r(&jt, &tm);
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0900",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- the From setting ---- */

struct sender {
    char name[256]; /* display name, may be empty */
    char addr[ADDR_MAX + 1];
};

/* Parses "addr", "Name <addr>" or "\"Name\" <addr>".  0 or -1. */
static int parse_sender(const char *from, struct sender *s)
{
    memset(s, 0, sizeof *s);
    if (!from || has_control(from) || !utf8_valid(from, strlen(from)))
        return -1;
    const char *lt = strchr(from, '<');
    if (!lt) {
        if (str_copy(s->addr, from, sizeof s->addr) >= sizeof s->addr)
            return -1;
        return mail_address_valid(s->addr) ? 0 : -1;
    }
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1] || (size_t)(gt - lt - 1) > ADDR_MAX)
        return -1;
    memcpy(s->addr, lt + 1, (size_t)(gt - lt - 1));
    s->addr[gt - lt - 1] = 0;
    const char *ns = from, *ne = lt;
    while (ns < ne && *ns == ' ')
        ns++;
    while (ne > ns && ne[-1] == ' ')
        ne--;
    if (ne - ns >= 2 && *ns == '"' && ne[-1] == '"')
        ns++, ne--;
    if ((size_t)(ne - ns) >= sizeof s->name)
        return -1;
    memcpy(s->name, ns, (size_t)(ne - ns));
    s->name[ne - ns] = 0;
    if (strchr(s->name, '"') || strchr(s->name, '\\'))
        return -1;
    return mail_address_valid(s->addr) ? 0 : -1;
}

/* ---- formatting ---- */

static int attach_name_ok(const char *n)
{
    return header_text_ok(n, ATTACH_NAME_MAX) && !strpbrk(n, "\"\\/");
}

static int attach_type_ok(const char *t)
{
    /* Printable ASCII only (parameters like method=REQUEST allowed). */
    return header_text_ok(t, ATTACH_TYPE_MAX) && is_ascii(t) &&
           strchr(t, '/') && !strchr(t, '\\');
}

static int msgid_ok(const char *id)
{
    return header_text_ok(id, 200) && is_ascii(id) && strchr(id, '@') &&
           !strpbrk(id, " <>\"\\");
}

/* Checks everything that goes into a header or the body. */
static int mail_valid(const struct mail *m)
{
    if (!m || !mail_address_valid(m->to) || !m->subject ||
        !header_text_ok(m->subject, SUBJECT_MAX) || !m->text)
        return 0;
    size_t tn = strlen(m->text);
    if (tn > TEXT_MAX || !utf8_valid(m->text, tn))
        return 0;
    if (m->attach_name) {
        if (!attach_name_ok(m->attach_name) || !m->attach_data ||
            m->attach_len > ATTACH_MAX ||
            (m->attach_type && !attach_type_ok(m->attach_type)))
            return 0;
    }
    return 1;
}

/* RFC 2231 filename*=UTF-8''... for names that are not plain ASCII. */
static void put_filename_param(struct buf *b, const char *name)
{
    if (is_ascii(name)) {
        buf_printf(b, "filename=\"%s\"", name);
        return;
    }
    buf_puts(b, "filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (is_alnum(*p) || strchr("-._~", *p))
            buf_putc(b, (char)*p);
        else
            buf_printf(b, "%%%02X", *p);
    }
}

static void put_text_part(struct buf *b, const char *text)
{
    char *canon = text_crlf(text);
    buf_puts(b, "Content-Type: text/plain; charset=UTF-8\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n");
    put_base64_lines(b, canon, strlen(canon));
    free(canon);
}

static void put_attachment_part(struct buf *b, const struct mail *m)
{
    const char *type =
        m->attach_type ? m->attach_type : "application/octet-stream";
    buf_printf(b, "Content-Type: %s;\r\n name=\"", type);
    if (is_ascii(m->attach_name))
        buf_puts(b, m->attach_name);
    else
        put_encoded_words(b, m->attach_name);
    buf_puts(b, "\"\r\nContent-Transfer-Encoding: base64\r\n"
                "Content-Disposition: attachment;\r\n ");
    put_filename_param(b, m->attach_name);
    buf_puts(b, "\r\n\r\n");
    put_base64_lines(b, m->attach_data, m->attach_len);
}

char *mail_format(const char *from, const struct mail *m, const char *msgid)
{
    struct sender snd;
    if (parse_sender(from, &snd) != 0 || !mail_valid(m) ||
        (msgid && !msgid_ok(msgid)))
        return NULL;

    struct buf b;
    buf_init(&b);
    buf_puts(&b, "From: ");
    if (snd.name[0]) {
        put_phrase(&b, snd.name);
        buf_puts(&b, " ");
    }
    buf_printf(&b, "<%s>\r\nTo: %s\r\nSubject: ", snd.addr, m->to);
    put_unstructured(&b, m->subject);
    char date[64];
    mail_date(now_unix(), date, sizeof date);
    buf_printf(&b, "\r\nDate: %s\r\n", date);
    if (msgid) {
        buf_printf(&b, "Message-ID: <%s>\r\n", msgid);
    } else {
        char *tok = random_token(18);
        buf_printf(&b, "Message-ID: <%s@%s>\r\n", tok,
                   strchr(snd.addr, '@') + 1);
        free(tok);
    }
    buf_puts(&b, "MIME-Version: 1.0\r\n");

    if (!m->attach_name) {
        put_text_part(&b, m->text);
        return buf_steal(&b);
    }
    /* "=_" cannot occur in base64, so the boundary never appears inside a
    ** part. */
    char *tok = random_token(18);
    char boundary[64];
    snprintf(boundary, sizeof boundary, "=_cityos_%s", tok);
    free(tok);
    buf_printf(&b,
               "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n"
               "This is a multi-part message in MIME format.\r\n"
               "--%s\r\n",
               boundary, boundary);
    put_text_part(&b, m->text);
    buf_printf(&b, "--%s\r\n", boundary);
    put_attachment_part(&b, m);
    buf_printf(&b, "--%s--\r\n", boundary);
    return buf_steal(&b);
}

/* ---- the queue ---- */

int mail_enqueue(struct db_conn *c, const struct mail *m)
{
    struct app *app = the_app;
    if (!app || !app->keys) {
        log_error("mail: no keyring; mail not queued");
        return -1;
    }
    char *msg = mail_format(app->cfg.mail_from, m, NULL);
    if (!msg) {
        log_warn("mail: invalid address, header or From setting; "
                 "not queued");
        return -1;
    }
    /* Addresses and contents are personal data: encrypted at rest. */
    char *to = field_encrypt(app->keys, "mail_queue.to_addr", m->to);
    char *subject = field_encrypt(app->keys, "mail_queue.subject", m->subject);
    char *body = field_encrypt(app->keys, "mail_queue.body", msg);
    int64_t now = now_unix();
    int64_t rc = db_run(c,
                        "INSERT INTO mail_queue (created, to_addr, subject, "
                        "body, attempts, next_attempt, status) "
                        "VALUES (?, ?, ?, ?, 0, ?, 'queued')",
                        "isssi", now, to, subject, body, now);
    if (rc < 0)
        log_error("mail: enqueue: %s", db_errmsg(c));
    free(to);
    free(subject);
    free(body);
    free(msg);
    return rc < 0 ? -1 : 0;
}

struct upload {
    const char *p;
    size_t left;
};

static size_t read_message(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct upload *u = ud;
    size_t room = size * nmemb;
    size_t n = u->left < room ? u->left : room;
    memcpy(ptr, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* One SMTP transaction.  0, or -1 with the reason in err. */
static int smtp_send(const struct config *cfg, const char *to, const char *msg,
                     char *err, size_t errlen)
{
    struct sender snd;
    if (parse_sender(cfg->mail_from, &snd) != 0) {
        snprintf(err, errlen, "invalid mail_from setting");
        return -1;
    }
    pthread_once(&curl_once, curl_init_once);
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    char from[ADDR_MAX + 3], rcpt[ADDR_MAX + 3];
    snprintf(from, sizeof from, "<%s>", snd.addr);
    snprintf(rcpt, sizeof rcpt, "<%s>", to);
    struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
    struct upload up = {msg, strlen(msg)};
    char cerr[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.left);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    if (cfg->smtp_user[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->smtp_password);
        /* Never send a password in clear: require STARTTLS (or smtps). */
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    } else {
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    }

    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK)
        snprintf(err, errlen, "%s (SMTP %ld)",
                 cerr[0] ? cerr : curl_easy_strerror(rc), code);
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
}

/* Ids of rows that look due; each is claimed separately afterwards. */
static int due_ids(struct db_conn *c, int64_t now, int64_t *ids, int max)
{
    struct db_stmt *s =
        db_queryf(c,
                  "SELECT id FROM mail_queue WHERE status = 'queued' "
                  "AND next_attempt <= ? "
                  "AND (claimed_until IS NULL OR claimed_until < ?) "
                  "ORDER BY next_attempt, id LIMIT ?",
                  "iii", now, now, (int64_t)max);
    if (!s)
        return -1;
    int n = 0, rc;
    while (n < max && (rc = db_step(s)) == DB_ROW)
        ids[n++] = db_col_int(s, 0);
    db_finalize(s);
    return n < max && rc != DB_DONE ? -1 : n;
}

/* The conditional UPDATE: succeeds on exactly one server. 1, 0 or -1. */
static int claim_row(struct db_conn *c, int64_t id, int64_t now)
{
    int64_t rc = db_run(c,
                        "UPDATE mail_queue SET claimed_until = ? "
                        "WHERE id = ? AND status = 'queued' "
                        "AND next_attempt <= ? "
                        "AND (claimed_until IS NULL OR claimed_until < ?)",
                        "iiii", now + MAIL_CLAIM_SECONDS, id, now, now);
    return rc < 0 ? -1 : rc == 1;
}

struct queued {
    char *to;
    char *msg;
    int attempts;
};

static int load_row(struct app *app, struct db_conn *c, int64_t id,
                    struct queued *q, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    struct db_stmt *s = db_queryf(
        c, "SELECT to_addr, body, attempts FROM mail_queue WHERE id = ?", "i",
        id);
    if (!s || db_step(s) != DB_ROW) {
        snprintf(err, errlen, "cannot read the row: %s", db_errmsg(c));
        db_finalize(s);
        return -1;
    }
    const char *to = db_col_text(s, 0);
    const char *body = db_col_text(s, 1);
    q->attempts = (int)db_col_int(s, 2);
    q->to = to ? field_decrypt(app->keys, "mail_queue.to_addr", to) : NULL;
    q->msg = body ? field_decrypt(app->keys, "mail_queue.body", body) : NULL;
    db_finalize(s);
    if (!q->to || !q->msg) {
        snprintf(err, errlen, "cannot decrypt (key missing?)");
        return -1;
    }
    return 0;
}

static void free_row(struct queued *q)
{
    if (q->msg)
        sodium_memzero(q->msg, strlen(q->msg));
    free(q->to);
    free(q->msg);
}

static int mark_sent(struct db_conn *c, int64_t id)
{
    int64_t rc = db_run(c,
                        "UPDATE mail_queue SET status = 'sent', sent_at = ?, "
                        "attempts = attempts + 1, claimed_until = NULL, "
                        "last_error = NULL WHERE id = ?",
                        "ii", now_unix(), id);
    if (rc < 0)
        log_error("mail %lld sent but not marked: %s", (long long)id,
                  db_errmsg(c));
    return rc < 0 ? -1 : 0;
}

/* Schedules the next attempt, or gives up after MAIL_MAX_ATTEMPTS. */
static void mark_failed(struct app *app, struct db_conn *c, int64_t id,
                        int attempts, const char *why)
{
    int n = attempts + 1;
    int64_t now = now_unix();
    int64_t rc;
    if (n >= MAIL_MAX_ATTEMPTS) {
        rc = db_run(c,
                    "UPDATE mail_queue SET status = 'failed', attempts = ?, "
                    "claimed_until = NULL, last_error = ? WHERE id = ?",
                    "isi", (int64_t)n, why, id);
        char msg[ERR_MAX + 100];
        snprintf(msg, sizeof msg, "mail %lld failed %d times; giving up: %s",
                 (long long)id, n, why);
        log_error("%s", msg);
        audit_alert(app->db, "mail_failed", msg);
    } else {
        size_t k = (size_t)n - 1;
        if (k >= ARRAY_LEN(retry_delay))
            k = ARRAY_LEN(retry_delay) - 1;
        rc = db_run(c,
                    "UPDATE mail_queue SET attempts = ?, next_attempt = ?, "
                    "claimed_until = NULL, last_error = ? WHERE id = ?",
                    "iisi", (int64_t)n, now + retry_delay[k], why, id);
        log_warn("mail %lld: attempt %d failed, retry in %d s: %s",
                 (long long)id, n, retry_delay[k], why);
    }
    if (rc < 0)
        log_error("mail %lld: cannot record the failure: %s", (long long)id,
                  db_errmsg(c));
}

/* Claims, sends and records one row.  1 sent, 0 not, -1 database error. */
static int send_one(struct app *app, struct db_conn *c, int64_t id)
{
    int claimed = claim_row(c, id, now_unix());
    if (claimed <= 0)
        return claimed; /* another server has it, or an error */
    struct queued q;
    char err[ERR_MAX] = "";
    int rc = load_row(app, c, id, &q, err, sizeof err);
    if (rc == 0)
        rc = smtp_send(&app->cfg, q.to, q.msg, err, sizeof err);
    if (rc == 0) {
        mark_sent(c, id);
    } else {
        mark_failed(app, c, id, q.attempts, err);
    }
    free_row(&q);
    return rc == 0 ? 1 : 0;
}

int mail_send_due(struct app *app)
{
    if (!app->cfg.smtp_url[0])
        return 0; /* mail not configured: rows wait, nothing is lost */
    struct db_conn *c = db_acquire(app->db);
    if (!c)
        return -1;
    int64_t ids[BATCH];
    int n = due_ids(c, now_unix(), ids, BATCH);
    if (n < 0) {
        log_error("mail: cannot read the queue: %s", db_errmsg(c));
        db_release(c);
        return -1;
    }
    int sent = 0;
    for (int i = 0; i < n && !app->stopping && !jobs_stopping(); i++) {
        int rc = send_one(app, c, ids[i]);
        if (rc < 0) {
            log_error("mail: claim: %s", db_errmsg(c));
            db_release(c);
            return -1;
        }
        sent += rc;
    }
    db_release(c);
    return sent;
}

int mail_purge_sent(struct app *app, int64_t before)
{
    struct db_conn *c = db_acquire(app->db);
    if (!c)
        return -1;
    int64_t n = db_run(c,
                       "DELETE FROM mail_queue WHERE status = 'sent' "
                       "AND sent_at < ?",
                       "i", before);
    if (n < 0)
        log_error("mail: purge: %s", db_errmsg(c));
    db_release(c);
    return n < 0 ? -1 : (int)n;
}

static int mail_job_run(struct app *app)
{
    /* Only the scheduler's one mail thread touches last_purge. */
    static int64_t last_purge;
    int64_t now = now_unix();
    if (now - last_purge >= 3600) {
        last_purge = now;
        mail_purge_sent(app, now - MAIL_KEEP_SENT_SECONDS);
    }
    return mail_send_due(app) < 0 ? -1 : 0;
}

void mail_job_register(void)
{
    /* due == NULL: every tick, no job_runs claim (rows are claimed). */
    static const struct job job = {"mail", NULL, mail_job_run};
    jobs_register(&job);
}
