/*
** test_mail.c - the mail queue (mail.c): message format (RFC 5322 and
** MIME: encoded-word subject, CRLF lines, base64 UTF-8 text, the
** attachment in multipart/mixed), refusal of header injection (IPA #8),
** encryption of queued rows (SEC-7), and real sending over SMTP to the
** sink server tests/tools/smtp_sink.py (python3-aiosmtpd) on loopback:
** delivery, retries with back-off while the server is down or refuses,
** giving up after MAIL_MAX_ATTEMPTS without deleting, claimed rows left
** alone, and two "servers" draining one queue without sending any mail
** twice.  Runs on SQLite, and on PostgreSQL when CITYOS_TEST_PG is set.
*/
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/app.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/jobs.h"
#include "core/mail.h"
#include "core/util.h"
#include "testlib.h"

#define FROM "市役所 <noreply@city.example.jp>"

static struct app g_app;
static char g_sink_dir[300];

/* ---- helpers ---------------------------------------------------------- */

static int enqueue(const struct mail *m)
{
    struct db_conn *c = testlib_conn();
    assert_int_equal(db_begin(c), DB_OK);
    int rc = mail_enqueue(c, m);
    assert_int_equal(db_commit(c), DB_OK);
    db_release(c);
    return rc;
}

/* Decodes base64 (line breaks ignored); caller frees; NULL when bad. */
static char *b64_decode(const char *in, size_t n, size_t *outlen)
{
    char *out = xmalloc(n + 1);
    size_t len = 0;
    if (sodium_base642bin((unsigned char *)out, n, in, n, "\r\n", &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(out);
        return NULL;
    }
    out[len] = 0;
    if (outlen)
        *outlen = len;
    return out;
}

static int utf8_check(const char *s)
{
    /* Minimal: every lead byte followed by the right continuation count. */
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int more = *p < 0x80             ? 0
                   : (*p & 0xe0) == 0xc0 ? 1
                   : (*p & 0xf0) == 0xe0 ? 2
                   : (*p & 0xf8) == 0xf0 ? 3
                                         : -1;
        if (more < 0)
            return 0;
        p++;
        for (int i = 0; i < more; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

/* The value of header name (unfolded, with encoded-words decoded). */
static char *header(const char *msg, const char *name)
{
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    size_t nl = strlen(name);
    const char *p = msg;
    while (p < end) {
        if (strncmp(p, name, nl) == 0 && p[nl] == ':')
            break;
        p = strstr(p, "\r\n") + 2;
    }
    if (p >= end)
        return NULL;
    p += nl + 1;
    struct buf raw;
    buf_init(&raw);
    for (;;) {
        const char *eol = strstr(p, "\r\n");
        buf_append(&raw, p, (size_t)(eol - p));
        if (eol[2] != ' ' && eol[2] != '\t')
            break;
        p = eol + 2;
    }
    /* Decode =?UTF-8?B?...?= words; whitespace between them goes. */
    struct buf out;
    buf_init(&out);
    const char *s = raw.data;
    while (*s == ' ')
        s++;
    int last_word = 0;
    while (*s) {
        if (str_starts(s, "=?UTF-8?B?")) {
            const char *q = strstr(s + 10, "?=");
            assert_non_null(q);
            assert_true(q - s + 2 <= 75); /* RFC 2047 word length */
            size_t n;
            char *d = b64_decode(s + 10, (size_t)(q - s - 10), &n);
            assert_non_null(d);
            /* Words never split a character. */
            assert_true(utf8_check(d));
            buf_append(&out, d, n);
            free(d);
            s = q + 2;
            last_word = 1;
            continue;
        }
        if (*s == ' ' && last_word) {
            const char *t = s;
            while (*t == ' ')
                t++;
            if (str_starts(t, "=?UTF-8?B?")) {
                s = t;
                continue;
            }
        }
        buf_putc(&out, *s++);
        last_word = 0;
    }
    buf_free(&raw);
    return buf_steal(&out);
}

/* Every line ends in CRLF, no line longer than 78, only 7-bit ASCII. */
static void check_lines(const char *msg)
{
    size_t col = 0;
    for (const char *p = msg; *p; p++) {
        assert_true((unsigned char)*p < 0x80);
        if (*p == '\r') {
            assert_int_equal(p[1], '\n');
            p++;
            col = 0;
            continue;
        }
        assert_true(*p != '\n'); /* no bare LF */
        if (++col > 78)
            fail_msg("line longer than 78: %.80s", p - 78);
    }
    assert_true(strlen(msg) >= 2 && strcmp(msg + strlen(msg) - 2, "\r\n") == 0);
}

/* The base64 body that follows the blank line after position p. */
static char *decode_part(const char *p, const char *stop, size_t *len)
{
    const char *start = strstr(p, "\r\n\r\n");
    assert_non_null(start);
    start += 4;
    const char *end = stop ? strstr(start, stop) : start + strlen(start);
    assert_non_null(end);
    char *d = b64_decode(start, (size_t)(end - start), len);
    assert_non_null(d);
    return d;
}

/* ---- the SMTP sink ---------------------------------------------------- */

/* Starts the sink (reject: an SMTP code for every DATA, 0 to accept) and
** sends the mail there. */
static void sink_start(int reject)
{
    int port = testlib_sink_start(g_sink_dir, reject);
    snprintf(g_app.cfg.smtp_url, sizeof g_app.cfg.smtp_url,
             "smtp://127.0.0.1:%d", port);
}

/* A loopback port where nothing listens: SMTP "down". */
static void smtp_down(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    snprintf(g_app.cfg.smtp_url, sizeof g_app.cfg.smtp_url,
             "smtp://127.0.0.1:%d", ntohs(a.sin_port));
}

static int count_eml(void)
{
    return testlib_count_files(g_sink_dir, ".eml");
}

/* Waits until the sink holds want messages (it saves them as they come). */
static void wait_eml(int want)
{
    assert_int_equal(testlib_wait_files(g_sink_dir, ".eml", want, 10000), want);
}

/* The contents of the one message whose envelope recipient is rcpt. */
static char *read_eml_for(const char *rcpt)
{
    DIR *d = opendir(g_sink_dir);
    assert_non_null(d);
    char *found = NULL;
    int hits = 0;
    struct dirent *de;
    char want[300];
    snprintf(want, sizeof want, "X-Sink-Rcpt-To: %s\r\n", rcpt);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !strstr(de->d_name, ".eml"))
            continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", g_sink_dir, de->d_name);
        char *t = file_read(p, 1 << 24, NULL);
        assert_non_null(t);
        if (strstr(t, want)) {
            hits++;
            free(found);
            found = t;
        } else {
            free(t);
        }
    }
    closedir(d);
    if (hits != 1)
        fail_msg("%d messages for %s", hits, rcpt);
    return found;
}

/* ---- validation and format -------------------------------------------- */

static void test_address_valid(void **state)
{
    const char *good[] = {"taro@example.jp", "a.b+c-d_e@sub.example.co.jp",
                          "cityos@localhost", "x@a-b.example",
                          "O'Neil@example.com"};
    const char *bad[] = {"",
                         "no-at",
                         "a@b@c.jp",
                         "a@",
                         "@b.jp",
                         "a b@c.jp",
                         "a@b.jp\r\nBcc: x@y.jp",
                         "a\n@b.jp",
                         "a@b.jp\n",
                         ".a@b.jp",
                         "a.@b.jp",
                         "a..b@c.jp",
                         "a@-b.jp",
                         "a@b-.jp",
                         "a@b_c.jp",
                         "a@b..jp",
                         "a@.b.jp",
                         "<a@b.jp>",
                         "Taro <a@b.jp>",
                         "a@b.jp,c@d.jp",
                         "山田@example.jp",
                         "a\"b@c.jp",
                         "a@b.jp "};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        if (!mail_address_valid(good[i]))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (mail_address_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    assert_false(mail_address_valid(NULL));
    char longlocal[80];
    memset(longlocal, 'a', 65);
    strcpy(longlocal + 65, "@b.jp");
    assert_false(mail_address_valid(longlocal));
    longlocal[1] = '@';
    longlocal[2] = 0;
    assert_false(mail_address_valid(longlocal)); /* "a@" */
    char longlabel[100] = "a@";
    memset(longlabel + 2, 'b', 64);
    strcpy(longlabel + 66, ".jp");
    assert_false(mail_address_valid(longlabel));
    longlabel[2 + 63] = '.'; /* a 63-character label is fine */
    strcpy(longlabel + 66, "jp");
    assert_true(mail_address_valid(longlabel));
}

static void test_format_plain(void **state)
{
    const char *subject = "予約の確認（テスト） Booking";
    struct mail m = {.to = "taro@example.jp",
                     .subject = subject,
                     .text = "山田 太郎 様\nご予約を承りました。\n\n"
                             "Line with CR\r\nend"};
    char *msg = mail_format(FROM, &m, "abc123@city.example.jp");
    assert_non_null(msg);
    check_lines(msg);

    char *from = header(msg, "From");
    assert_string_equal(from, "市役所 <noreply@city.example.jp>");
    free(from);
    assert_non_null(strstr(msg, "\r\nTo: taro@example.jp\r\n"));
    char *subj = header(msg, "Subject");
    assert_string_equal(subj, subject);
    free(subj);
    assert_non_null(strstr(msg, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null(
        strstr(msg, "\r\nMessage-ID: <abc123@city.example.jp>\r\n"));
    assert_non_null(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(msg, "\r\nContent-Type: text/plain; "
                                "charset=UTF-8\r\n"));
    assert_non_null(strstr(msg, "\r\nContent-Transfer-Encoding: base64\r\n"));
    char *date = header(msg, "Date");
    char wd[8], mon[8], zone[8];
    int d, y, h, mi, s;
    assert_int_equal(sscanf(date, "%3s, %d %3s %d %d:%d:%d %5s", wd, &d, mon,
                            &y, &h, &mi, &s, zone),
                     8);
    assert_string_equal(zone, "+0900");
    assert_true(y >= 2024);
    free(date);

    size_t n;
    char *body = decode_part(msg, NULL, &n);
    /* Canonical text: every line break CRLF. */
    assert_string_equal(body, "山田 太郎 様\r\nご予約を承りました。\r\n\r\n"
                              "Line with CR\r\nend");
    free(body);
    free(msg);
}

static void test_format_subject_forms(void **state)
{
    /* Short plain ASCII goes as is. */
    struct mail m = {.to = "a@example.jp", .subject = "Hello", .text = "x"};
    char *msg = mail_format("cityos@localhost", &m, NULL);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "\r\nSubject: Hello\r\n"));
    assert_true(str_starts(msg, "From: <cityos@localhost>\r\n"));
    /* A generated Message-ID in the sender's domain. */
    char *id = header(msg, "Message-ID");
    assert_true(id[0] == '<' && strstr(id, "@localhost>"));
    free(id);
    free(msg);

    /* A long Japanese subject: several words, none split inside a
    ** character, lines within 78 (checked by header() and check_lines). */
    struct buf s;
    buf_init(&s);
    for (int i = 0; i < 40; i++)
        buf_puts(&s, i % 3 ? "予" : "a𠮷"); /* 3- and 4-byte characters */
    m.subject = s.data;
    msg = mail_format(FROM, &m, NULL);
    assert_non_null(msg);
    check_lines(msg);
    char *subj = header(msg, "Subject");
    assert_string_equal(subj, s.data);
    free(subj);
    free(msg);

    /* ASCII that looks like an encoded word is encoded, not trusted. */
    m.subject = "=?UTF-8?B?5LqI?= fake";
    msg = mail_format(FROM, &m, NULL);
    subj = header(msg, "Subject");
    assert_string_equal(subj, "=?UTF-8?B?5LqI?= fake");
    free(subj);
    free(msg);
    buf_free(&s);

    /* An ASCII display name is quoted. */
    m.subject = "x";
    msg = mail_format("City \"Hall\" <a@example.jp>", &m, NULL);
    assert_null(msg); /* quotes inside the name are refused */
    msg = mail_format("\"City Hall\" <a@example.jp>", &m, NULL);
    assert_non_null(msg);
    assert_true(str_starts(msg, "From: \"City Hall\" <a@example.jp>\r\n"));
    free(msg);
}

static void test_format_attachment(void **state)
{
    const char *ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
                      "SUMMARY:予防接種\r\nEND:VCALENDAR\r\n";
    struct mail m = {.to = "hanako@example.jp",
                     .subject = "予約票",
                     .text = "添付をご覧ください。",
                     .attach_name = "予約.ics",
                     .attach_type = "text/calendar; method=REQUEST",
                     .attach_data = ics,
                     .attach_len = strlen(ics)};
    char *msg = mail_format(FROM, &m, "id@city.example.jp");
    assert_non_null(msg);
    check_lines(msg);
    char *ct = header(msg, "Content-Type");
    assert_true(str_starts(ct, "multipart/mixed;"));
    const char *bq = strstr(ct, "boundary=\"");
    assert_non_null(bq);
    char boundary[100];
    snprintf(boundary, sizeof boundary, "%.*s", (int)strcspn(bq + 10, "\""),
             bq + 10);
    free(ct);
    char delim[120], close_delim[120];
    snprintf(delim, sizeof delim, "\r\n--%s\r\n", boundary);
    snprintf(close_delim, sizeof close_delim, "\r\n--%s--\r\n", boundary);

    /* Part 1: the text. */
    const char *p1 = strstr(msg, delim);
    assert_non_null(p1);
    p1 += strlen(delim);
    assert_true(str_starts(p1, "Content-Type: text/plain; charset=UTF-8\r\n"));
    char stop[120];
    snprintf(stop, sizeof stop, "--%s", boundary);
    size_t n;
    char *text = decode_part(p1, stop, &n);
    assert_string_equal(text, "添付をご覧ください。");
    free(text);

    /* Part 2: the attachment, its name in RFC 2231 form. */
    const char *p2 = strstr(p1, delim);
    assert_non_null(p2);
    p2 += strlen(delim);
    assert_true(str_starts(p2, "Content-Type: text/calendar; "
                               "method=REQUEST;\r\n name=\""));
    assert_non_null(strstr(p2, "Content-Disposition: attachment;\r\n "
                               "filename*=UTF-8''%E4%BA%88%E7%B4%84.ics\r\n"));
    char *data = decode_part(p2, stop, &n);
    assert_int_equal(n, strlen(ics));
    assert_memory_equal(data, ics, n);
    free(data);
    /* The closing delimiter ends the message. */
    assert_non_null(strstr(p2, close_delim));
    assert_string_equal(strstr(p2, close_delim), close_delim);
    free(msg);

    /* An ASCII name and the default type. */
    m.attach_name = "list.csv";
    m.attach_type = NULL;
    msg = mail_format(FROM, &m, NULL);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "Content-Type: application/octet-stream;\r\n"
                                " name=\"list.csv\"\r\n"));
    assert_non_null(strstr(msg, "filename=\"list.csv\"\r\n"));
    free(msg);
}

static void test_header_injection_refused(void **state)
{
    struct mail ok = {.to = "a@example.jp", .subject = "s", .text = "t"};
    char *msg = mail_format(FROM, &ok, NULL);
    assert_non_null(msg);
    free(msg);

    struct mail m = ok;
    m.subject = "hello\r\nBcc: victim@example.jp";
    assert_null(mail_format(FROM, &m, NULL));
    m.subject = "hello\nBcc: victim@example.jp";
    assert_null(mail_format(FROM, &m, NULL));
    m.subject = "tab\there";
    assert_null(mail_format(FROM, &m, NULL));
    m.subject = "";
    assert_null(mail_format(FROM, &m, NULL));
    m.subject = "\xe3\x81"; /* cut UTF-8 */
    assert_null(mail_format(FROM, &m, NULL));
    char longsubj[500];
    memset(longsubj, 'x', sizeof longsubj - 1);
    longsubj[sizeof longsubj - 1] = 0;
    m.subject = longsubj;
    assert_null(mail_format(FROM, &m, NULL));

    m = ok;
    m.to = "a@example.jp\r\nBcc: victim@example.jp";
    assert_null(mail_format(FROM, &m, NULL));
    m.to = NULL;
    assert_null(mail_format(FROM, &m, NULL));

    m = ok;
    m.text = "\xff\xfe bad";
    assert_null(mail_format(FROM, &m, NULL));

    m = ok;
    m.attach_name = "a.ics\r\nContent-Type: text/html";
    m.attach_data = "x";
    m.attach_len = 1;
    assert_null(mail_format(FROM, &m, NULL));
    m.attach_name = "a\".ics";
    assert_null(mail_format(FROM, &m, NULL));
    m.attach_name = "../a.ics";
    assert_null(mail_format(FROM, &m, NULL));
    m.attach_name = "a.ics";
    m.attach_type = "text/calendar\r\nX-Evil: 1";
    assert_null(mail_format(FROM, &m, NULL));
    m.attach_type = "text/calendar";
    m.attach_data = NULL;
    assert_null(mail_format(FROM, &m, NULL));

    assert_null(mail_format("x@example.jp\r\nBcc: v@example.jp", &ok, NULL));
    assert_null(mail_format("not an address", &ok, NULL));
    assert_null(mail_format(FROM, &ok, "id@x\r\nBcc: v@example.jp"));
    assert_null(mail_format(FROM, &ok, "no-at-sign"));
    assert_null(mail_format(FROM, NULL, NULL));

    /* Nothing is queued for a refused mail. */
    m = ok;
    m.subject = "hello\r\nBcc: victim@example.jp";
    assert_int_equal(enqueue(&m), -1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue", ""),
                     0);
}

/* ---- the queue -------------------------------------------------------- */

static int reset(void **state)
{
    jobs_clear();
    testlib_exec("DELETE FROM mail_queue");
    testlib_exec("DELETE FROM alerts");
    testlib_sink_stop();
    testlib_rm_rf(g_sink_dir);
    assert_int_equal(mkdir(g_sink_dir, 0700), 0);
    str_copy(g_app.cfg.mail_from, FROM, sizeof g_app.cfg.mail_from);
    g_app.cfg.smtp_url[0] = 0;
    return 0;
}

static void test_enqueue_encrypted(void **state)
{
    struct mail m = {.to = "taro.yamada@example.jp",
                     .subject = "予約確認 山田様",
                     .text = "山田 太郎 様"};
    assert_int_equal(enqueue(&m), 0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue WHERE "
                                       "status = 'queued' AND attempts = 0 AND "
                                       "next_attempt > 0 AND sent_at IS NULL",
                                       ""),
                     1);
    const char *cols[] = {"to_addr", "subject", "body"};
    const char *ctx[] = {"mail_queue.to_addr", "mail_queue.subject",
                         "mail_queue.body"};
    for (size_t i = 0; i < 3; i++) {
        char sql[100];
        snprintf(sql, sizeof sql, "SELECT %s FROM mail_queue", cols[i]);
        char *v = testlib_query_text(sql, "");
        assert_true(str_starts(v, "enc1:"));
        assert_null(strstr(v, "yamada"));
        assert_null(strstr(v, "example"));
        char *plain = field_decrypt(g_app.keys, ctx[i], v);
        assert_non_null(plain);
        if (i == 0)
            assert_string_equal(plain, "taro.yamada@example.jp");
        if (i == 1)
            assert_string_equal(plain, "予約確認 山田様");
        if (i == 2)
            assert_non_null(strstr(plain, "To: taro.yamada@example.jp\r\n"));
        free(plain);
        free(v);
    }
    /* Enqueued inside a transaction that rolls back: nothing queued. */
    struct db_conn *c = db_acquire(g_app.db);
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(mail_enqueue(c, &m), 0);
    assert_int_equal(db_rollback(c), DB_OK);
    db_release(c);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue", ""),
                     1);
}

static void test_send_real(void **state)
{
    sink_start(0);
    const char *ics = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
    struct mail m1 = {.to = "taro@example.jp",
                      .subject = "予約の確認",
                      .text = "ご予約ありがとうございます。\n.\n.. dots\n"};
    struct mail m2 = {.to = "hanako@example.jp",
                      .subject = "予約票",
                      .text = "添付をご覧ください。",
                      .attach_name = "invite.ics",
                      .attach_type = "text/calendar; method=REQUEST",
                      .attach_data = ics,
                      .attach_len = strlen(ics)};
    assert_int_equal(enqueue(&m1), 0);
    assert_int_equal(enqueue(&m2), 0);
    assert_int_equal(mail_send_due(&g_app), 2);
    wait_eml(2);

    char *e1 = read_eml_for("taro@example.jp");
    assert_non_null(
        strstr(e1, "X-Sink-Mail-From: noreply@city.example.jp\r\n"));
    const char *msg = strstr(e1, "From: ");
    assert_non_null(msg);
    check_lines(msg);
    char *subj = header(msg, "Subject");
    assert_string_equal(subj, "予約の確認");
    free(subj);
    size_t n;
    char *body = decode_part(msg, NULL, &n);
    assert_string_equal(body,
                        "ご予約ありがとうございます。\r\n.\r\n.. dots\r\n");
    free(body);
    free(e1);

    char *e2 = read_eml_for("hanako@example.jp");
    assert_non_null(strstr(e2, "multipart/mixed"));
    assert_non_null(strstr(e2, "filename=\"invite.ics\""));
    free(e2);

    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue WHERE "
                                       "status = 'sent' AND sent_at > 0 AND "
                                       "attempts = 1 AND claimed_until IS NULL",
                                       ""),
                     2);
    /* Nothing is sent twice. */
    assert_int_equal(mail_send_due(&g_app), 0);
    usleep(200000);
    assert_int_equal(count_eml(), 2);
}

static void test_retry_when_down(void **state)
{
    smtp_down();
    struct mail m = {.to = "jiro@example.jp", .subject = "再送", .text = "t"};
    assert_int_equal(enqueue(&m), 0);
    int64_t t0 = now_unix();
    assert_int_equal(mail_send_due(&g_app), 0);
    assert_int_equal(
        testlib_query_int("SELECT COUNT(*) FROM mail_queue WHERE "
                          "status = 'queued' AND attempts = 1 AND "
                          "claimed_until IS NULL AND last_error <> ''",
                          ""),
        1);
    int64_t next = testlib_query_int("SELECT next_attempt FROM mail_queue", "");
    assert_true(next >= t0 + 60 && next <= now_unix() + 60);
    /* Not due yet: not tried again. */
    assert_int_equal(mail_send_due(&g_app), 0);
    assert_int_equal(testlib_query_int("SELECT attempts FROM mail_queue", ""),
                     1);

    /* Second failure: 5 minutes. */
    testlib_exec("UPDATE mail_queue SET next_attempt = 0");
    t0 = now_unix();
    assert_int_equal(mail_send_due(&g_app), 0);
    next = testlib_query_int("SELECT next_attempt FROM mail_queue", "");
    assert_true(next >= t0 + 300 && next <= now_unix() + 300);

    /* The server refuses with a temporary error: also retried. */
    sink_start(451);
    testlib_exec("UPDATE mail_queue SET next_attempt = 0");
    t0 = now_unix();
    assert_int_equal(mail_send_due(&g_app), 0);
    assert_int_equal(testlib_query_int("SELECT attempts FROM mail_queue WHERE "
                                       "status = 'queued'",
                                       ""),
                     3);
    next = testlib_query_int("SELECT next_attempt FROM mail_queue", "");
    assert_true(next >= t0 + 900 && next <= now_unix() + 900);
    char *why = testlib_query_text("SELECT last_error FROM mail_queue", "");
    assert_non_null(strstr(why, "451"));
    free(why);
    testlib_sink_stop();
    assert_int_equal(count_eml(), 0);

    /* Time passes, the server is back: the mail goes out. */
    sink_start(0);
    testlib_exec("UPDATE mail_queue SET next_attempt = 0");
    assert_int_equal(mail_send_due(&g_app), 1);
    wait_eml(1);
    char *e = read_eml_for("jiro@example.jp");
    free(e);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue WHERE "
                                       "status = 'sent' AND attempts = 4 AND "
                                       "last_error IS NULL",
                                       ""),
                     1);
}

static void test_give_up_keeps_row(void **state)
{
    smtp_down();
    struct mail m = {.to = "saburo@example.jp", .subject = "s", .text = "t"};
    assert_int_equal(enqueue(&m), 0);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE mail_queue SET attempts = %d",
             MAIL_MAX_ATTEMPTS - 1);
    testlib_exec(sql);
    assert_int_equal(mail_send_due(&g_app), 0);
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM mail_queue WHERE status = 'failed' AND "
             "attempts = %d",
             MAIL_MAX_ATTEMPTS);
    assert_int_equal(testlib_query_int(sql, ""), 1);
    /* The administrators see an alert. */
    assert_int_equal(
        testlib_query_int(
            "SELECT COUNT(*) FROM alerts WHERE kind = 'mail_failed'", ""),
        1);
    /* A failed row is not retried by the queue, and not deleted. */
    testlib_exec("UPDATE mail_queue SET next_attempt = 0");
    sink_start(0);
    assert_int_equal(mail_send_due(&g_app), 0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue WHERE "
                                       "status = 'failed'",
                                       ""),
                     1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue", ""),
                     1);
    usleep(200000);
    assert_int_equal(count_eml(), 0);
}

static void test_claimed_row_left_alone(void **state)
{
    sink_start(0);
    struct mail m = {.to = "shiro@example.jp", .subject = "s", .text = "t"};
    assert_int_equal(enqueue(&m), 0);
    /* Another server claimed it a moment ago. */
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE mail_queue SET claimed_until = %lld",
             (long long)now_unix() + 200);
    testlib_exec(sql);
    assert_int_equal(mail_send_due(&g_app), 0);
    usleep(200000);
    assert_int_equal(count_eml(), 0);
    /* That server died: once its claim has expired the row is taken over. */
    snprintf(sql, sizeof sql, "UPDATE mail_queue SET claimed_until = %lld",
             (long long)now_unix() - 1);
    testlib_exec(sql);
    assert_int_equal(mail_send_due(&g_app), 1);
    wait_eml(1);
}

static void test_not_configured(void **state)
{
    struct mail m = {.to = "goro@example.jp", .subject = "s", .text = "t"};
    assert_int_equal(enqueue(&m), 0);
    g_app.cfg.smtp_url[0] = 0;
    assert_int_equal(mail_send_due(&g_app), 0);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue WHERE "
                                       "status = 'queued' AND attempts = 0",
                                       ""),
                     1);
}

#define SERVERS 3
#define MAILS   24

struct server {
    struct app app;
    int sent;
    int errors;
};

static void *drain(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < 40; i++) {
        int n = mail_send_due(&s->app);
        if (n < 0)
            s->errors++;
        else
            s->sent += n;
        usleep(1000);
    }
    return NULL;
}

static void test_servers_never_send_twice(void **state)
{
    sink_start(0);
    for (int i = 0; i < MAILS; i++) {
        char to[64];
        snprintf(to, sizeof to, "user%02d@example.jp", i);
        struct mail m = {.to = to, .subject = "一斉", .text = "t"};
        assert_int_equal(enqueue(&m), 0);
    }
    static struct server servers[SERVERS];
    pthread_t th[SERVERS];
    for (int i = 0; i < SERVERS; i++) {
        memset(&servers[i], 0, sizeof servers[i]);
        servers[i].app.cfg = g_app.cfg;
        servers[i].app.keys = g_app.keys;
        char err[512];
        assert_int_equal(
            db_open(g_app.cfg.db, 2, &servers[i].app.db, err, sizeof err), 0);
    }
    for (int i = 0; i < SERVERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, drain, &servers[i]), 0);
    int total = 0;
    for (int i = 0; i < SERVERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(servers[i].errors, 0);
        total += servers[i].sent;
        db_close(servers[i].app.db);
    }
    assert_int_equal(total, MAILS);
    wait_eml(MAILS);
    for (int i = 0; i < MAILS; i++) {
        char to[64];
        snprintf(to, sizeof to, "user%02d@example.jp", i);
        free(read_eml_for(to)); /* exactly one each */
    }
    assert_int_equal(
        testlib_query_int(
            "SELECT COUNT(*) FROM mail_queue WHERE status = 'sent'", ""),
        MAILS);
}

static void test_purge_sent(void **state)
{
    struct mail m = {.to = "nanami@example.jp", .subject = "s", .text = "t"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(enqueue(&m), 0);
    int64_t now = now_unix();
    char sql[200];
    /* Old sent, recent sent, old failed, queued. */
    snprintf(sql, sizeof sql,
             "UPDATE mail_queue SET status = 'sent', sent_at = %lld "
             "WHERE id = (SELECT MIN(id) FROM mail_queue)",
             (long long)(now - MAIL_KEEP_SENT_SECONDS - 10));
    testlib_exec(sql);
    snprintf(sql, sizeof sql,
             "UPDATE mail_queue SET status = 'sent', sent_at = %lld "
             "WHERE id = (SELECT MIN(id) + 1 FROM mail_queue)",
             (long long)(now - 10));
    testlib_exec(sql);
    testlib_exec("UPDATE mail_queue SET status = 'failed', created = 0 "
                 "WHERE id = (SELECT MIN(id) + 2 FROM mail_queue)");
    assert_int_equal(mail_purge_sent(&g_app, now - MAIL_KEEP_SENT_SECONDS), 1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue", ""),
                     3);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM mail_queue WHERE "
                                       "status = 'sent'",
                                       ""),
                     1);
    assert_int_equal(mail_purge_sent(&g_app, now - MAIL_KEEP_SENT_SECONDS), 0);
}

static void test_job_registered(void **state)
{
    /* The mail job has no due function: it runs on every tick. */
    sink_start(0);
    struct mail m = {.to = "rokuro@example.jp", .subject = "s", .text = "t"};
    assert_int_equal(enqueue(&m), 0);
    mail_job_register();
    assert_int_equal(jobs_tick(&g_app, now_unix()), 1);
    wait_eml(1);
    assert_int_equal(testlib_query_int("SELECT COUNT(*) FROM job_runs", ""), 0);
}

/* ---- fixtures --------------------------------------------------------- */

static int opened(struct app *app)
{
    snprintf(g_sink_dir, sizeof g_sink_dir, "%s/sink", testlib_dir());
    str_copy(app->cfg.mail_from, FROM, sizeof app->cfg.mail_from);
    return mkdir(g_sink_dir, 0700);
}

static void closing(struct app *app)
{
    testlib_sink_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_address_valid, reset),
        cmocka_unit_test_setup(test_format_plain, reset),
        cmocka_unit_test_setup(test_format_subject_forms, reset),
        cmocka_unit_test_setup(test_format_attachment, reset),
        cmocka_unit_test_setup(test_header_injection_refused, reset),
        cmocka_unit_test_setup(test_enqueue_encrypted, reset),
        cmocka_unit_test_setup(test_send_real, reset),
        cmocka_unit_test_setup(test_retry_when_down, reset),
        cmocka_unit_test_setup(test_give_up_keeps_row, reset),
        cmocka_unit_test_setup(test_claimed_row_left_alone, reset),
        cmocka_unit_test_setup(test_not_configured, reset),
        cmocka_unit_test_setup(test_servers_never_send_twice, reset),
        cmocka_unit_test_setup(test_purge_sent, reset),
        cmocka_unit_test_setup(test_job_registered, reset),
    };
    const struct testlib_opts opts = {
        .pool = 4, .opened = opened, .closing = closing};
    return testlib_run_engines("mail", tests, ARRAY_LEN(tests), &opts, &g_app)
               ? 1
               : 0;
}
