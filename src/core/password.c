/*
** password.c - argon2id password hashes and the password policy (SEC-3,
** WIN-9).  See password.h for the choice of parameters and rules.
**
** The list of common passwords (data/common-passwords.txt, made by
** tools/make-common-passwords.sh) is embedded in the binary and loaded once,
** on first use, into a sorted array searched with bsearch.
*/
#include "password.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "util.h"

#define COMMON_LIST_PATH "data/common-passwords.txt"

/* A stripped affix of at most this many digits or symbols (or a longer
** trivial one) still makes a variant of a common password ("password2024",
** "dragon123!"). */
#define COMMON_AFFIX_MAX 4

#define STR2(x) #x
#define STR(x)  STR2(x)

_Static_assert(PASSWORD_HASH_SIZE == crypto_pwhash_STRBYTES,
               "PASSWORD_HASH_SIZE must match libsodium");

static pthread_once_t list_once = PTHREAD_ONCE_INIT;
static char *list_text;   /* copy of the file, lines NUL-terminated */
static const char **list; /* sorted entries pointing into list_text */
static size_t list_len;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void list_load(void)
{
    const struct embedded_file *f = embed_find(COMMON_LIST_PATH);
    if (!f) {
        log_error("password: %s is not embedded; common passwords are "
                  "not refused",
                  COMMON_LIST_PATH);
        return;
    }
    list_text = xstrndup((const char *)f->data, f->len);
    size_t cap = 1;
    for (size_t i = 0; i < f->len; i++)
        cap += f->data[i] == '\n';
    list = xcalloc(cap, sizeof *list);
    char *line = list_text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (line[0] && line[0] != '#' && list_len < cap)
            list[list_len++] = line;
        line = nl ? nl + 1 : NULL;
    }
    /* The generator sorts already; sorting again costs a few ms once and
    ** keeps bsearch correct even for a hand-edited list. */
    qsort(list, list_len, sizeof *list, cmp_str);
}

static int list_has(const char *lower)
{
    pthread_once(&list_once, list_load);
    if (!list_len)
        return 0;
    return bsearch(&lower, list, list_len, sizeof *list, cmp_str) != NULL;
}

/* ---- text helpers ---- */

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static void lower_copy(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = ascii_lower(src[i]);
    dst[n] = 0;
}

/* Decodes strict UTF-8 (no overlong forms, no surrogates, nothing past
** U+10FFFF) into cp, lower-casing ASCII.  Returns the number of code
** points, or -1 when s is not valid UTF-8. */
static long utf8_decode(const char *s, size_t n, uint32_t *cp, size_t cpcap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k = 0;
    while (i < n) {
        uint32_t c = p[i];
        size_t len;
        uint32_t min;
        if (c < 0x80) {
            len = 1;
            min = 0;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            min = 0x80;
            c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            min = 0x800;
            c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            min = 0x10000;
            c &= 0x07;
        } else {
            return -1;
        }
        if (i + len > n)
            return -1;
        for (size_t j = 1; j < len; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return -1;
            c = (c << 6) | (p[i + j] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return -1;
        if (k == cpcap)
            return -1;
        cp[k++] = (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
        i += len;
    }
    return (long)k;
}

/* ---- trivial patterns ---- */

/* Orders in which people type "sequences"; each is cyclic (z-a, 9-0). */
static const char *const sequences[] = {
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
};

/* Step kinds: 0 repeat, 1/2 code point +1/-1, then +1/-1 along each of
** the sequences above. */
#define STEP_KINDS (3 + 2 * (int)ARRAY_LEN(sequences))

static int seq_pos(const char *seq, uint32_t c)
{
    if (c >= 0x80)
        return -1;
    const char *p = strchr(seq, (int)c);
    return (c && p) ? (int)(p - seq) : -1;
}

/* Does the pair (a, b) follow step kind `kind`? */
static int follows(int kind, uint32_t a, uint32_t b)
{
    if (kind == 0)
        return a == b;
    if (kind == 1)
        return b == a + 1;
    if (kind == 2)
        return a == b + 1;
    const char *seq = sequences[(kind - 3) / 2];
    int n = (int)strlen(seq);
    int pa = seq_pos(seq, a), pb = seq_pos(seq, b);
    if (pa < 0 || pb < 0)
        return 0;
    if ((kind - 3) % 2 == 0)
        return pb == (pa + 1) % n;
    return pa == (pb + 1) % n;
}

/* Splits cp greedily into the longest runs that each follow one step kind
** and returns how many runs it took.  *any_sequence is set when some run
** of two or more is not a plain repeat. */
static size_t count_runs(const uint32_t *cp, size_t n, int *any_sequence)
{
    size_t runs = 0, i = 0;
    *any_sequence = 0;
    while (i < n) {
        size_t best = 1;
        int best_kind = 0;
        for (int kind = 0; kind < STEP_KINDS; kind++) {
            size_t j = i;
            while (j + 1 < n && follows(kind, cp[j], cp[j + 1]))
                j++;
            if (j - i + 1 > best) {
                best = j - i + 1;
                best_kind = kind;
            }
        }
        if (best > 1 && best_kind != 0)
            *any_sequence = 1;
        runs++;
        i += best;
    }
    return runs;
}

/* Smallest period of cp (n when there is none shorter than n). */
static size_t period(const uint32_t *cp, size_t n)
{
    for (size_t p = 1; p < n; p++) {
        size_t i = 0;
        while (i + p < n && cp[i] == cp[i + p])
            i++;
        if (i + p == n)
            return p;
    }
    return n;
}

/* ---- common passwords ---- */

static int is_affix_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= '!' && c <= '/') ||
           (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

/* Is an affix of digits and symbols short or trivial ("1", "2024", "123456",
** "!!!!!!")?  Such an affix adds almost nothing to a common password. */
static int weak_affix(const char *s, size_t n)
{
    if (n <= COMMON_AFFIX_MAX)
        return 1;
    uint32_t cp[PASSWORD_MAX_BYTES];
    for (size_t i = 0; i < n; i++)
        cp[i] = (unsigned char)s[i];
    int any_seq;
    return count_runs(cp, n, &any_seq) <= 2;
}

static int list_has_n(const char *s, size_t n)
{
    char core[PASSWORD_MAX_BYTES + 1];
    memcpy(core, s, n);
    core[n] = 0;
    return list_has(core);
}

/* lower: the lower-cased password.  Also tries it without a weak prefix or
** suffix of digits and symbols, since appending "1!" or a year is what
** people do to get past a length rule. */
static int common_variant(const char *lower, size_t n)
{
    if (n > PASSWORD_MAX_BYTES)
        return 0;
    if (list_has(lower))
        return 1;
    size_t end = n;
    while (end > 0 && is_affix_char(lower[end - 1]))
        end--;
    if (end > 0 && end < n && weak_affix(lower + end, n - end) &&
        list_has_n(lower, end))
        return 1;
    size_t start = 0;
    while (start < n && is_affix_char(lower[start]))
        start++;
    if (start > 0 && start < n && weak_affix(lower, start) &&
        list_has_n(lower + start, n - start))
        return 1;
    return 0;
}

int password_is_common(const char *password)
{
    size_t n = strlen(password);
    if (n > PASSWORD_MAX_BYTES)
        return 0;
    char lower[PASSWORD_MAX_BYTES + 1];
    lower_copy(lower, password, n);
    return list_has(lower);
}

/* ---- the policy ---- */

/* 1 when the lower-cased password contains the login, or the part of the
** login before '@' when it is a mail address.  Logins shorter than three
** characters are ignored: they would refuse too many good passwords. */
static int contains_login(const char *lower_pw, const char *login)
{
    if (!login)
        return 0;
    size_t n = strlen(login);
    if (n > PASSWORD_MAX_BYTES)
        n = PASSWORD_MAX_BYTES;
    char l[PASSWORD_MAX_BYTES + 1];
    lower_copy(l, login, n);
    if (n >= 3 && strstr(lower_pw, l))
        return 1;
    char *at = strchr(l, '@');
    if (at && at - l >= 3) {
        *at = 0;
        if (strstr(lower_pw, l))
            return 1;
    }
    return 0;
}

static enum password_problem check_patterns(const uint32_t *cp, size_t n)
{
    int any_seq;
    if (count_runs(cp, n, &any_seq) <= 2)
        return any_seq ? PASSWORD_SEQUENCE : PASSWORD_REPEATED;
    size_t p = period(cp, n);
    if (p <= 4)
        return PASSWORD_REPEATED;
    return PASSWORD_OK;
}

/* A password that is a longer unit repeated ("dragondragon") is as weak as
** its unit: check the unit against the list too. */
static int common_unit(const char *lower, const uint32_t *cp, size_t ncp)
{
    size_t p = period(cp, ncp);
    if (p == ncp || ncp < 2 * p)
        return 0;
    /* Find the byte length of the first p code points. */
    size_t bytes = 0;
    for (size_t i = 0; i < p; i++) {
        uint32_t c = cp[i];
        bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    char unit[PASSWORD_MAX_BYTES + 1];
    memcpy(unit, lower, bytes);
    unit[bytes] = 0;
    return list_has(unit);
}

enum password_problem password_check(const char *password, const char *login)
{
    if (!password)
        return PASSWORD_TOO_SHORT;
    size_t n = strlen(password);
    if (n > PASSWORD_MAX_BYTES)
        return PASSWORD_TOO_LONG;
    uint32_t cp[PASSWORD_MAX_BYTES];
    long ncp = utf8_decode(password, n, cp, ARRAY_LEN(cp));
    if (ncp < 0)
        return PASSWORD_BAD_UTF8;
    if (ncp < PASSWORD_MIN_CHARS)
        return PASSWORD_TOO_SHORT;
    char lower[PASSWORD_MAX_BYTES + 1];
    lower_copy(lower, password, n);
    if (contains_login(lower, login))
        return PASSWORD_CONTAINS_LOGIN;
    if (common_variant(lower, n) || common_unit(lower, cp, (size_t)ncp))
        return PASSWORD_COMMON;
    return check_patterns(cp, (size_t)ncp);
}

#define MIN_TXT STR(PASSWORD_MIN_CHARS)
#define MAX_TXT STR(PASSWORD_MAX_BYTES)

/* Shown to the user next to the password field; Japanese first. */
static const struct problem_text {
    const char *code, *ja, *en;
} problem_texts[] = {
    [PASSWORD_OK] = {"ok", "このパスワードは使えます",
                     "This password can be used."},
    [PASSWORD_TOO_SHORT] = {"too_short",
                            "パスワードは" MIN_TXT "文字以上にしてください",
                            "Use at least " MIN_TXT " characters."},
    [PASSWORD_TOO_LONG] = {"too_long",
                           "パスワードは" MAX_TXT "バイト以内にしてください"
                           "（日本語の文字は1文字3バイトです）",
                           "Use at most " MAX_TXT
                           " bytes (a Japanese character takes 3)."},
    [PASSWORD_BAD_UTF8] = {"bad_utf8",
                           "パスワードに使えない文字が含まれています",
                           "The password contains characters that cannot "
                           "be used."},
    [PASSWORD_CONTAINS_LOGIN] = {"contains_login",
                                 "パスワードにログインIDを含めないでください",
                                 "Do not include your login ID in the "
                                 "password."},
    [PASSWORD_COMMON] = {"common",
                         "よく使われるパスワードや、漏えいが知られている"
                         "パスワードは使えません",
                         "This password is too common or is known from a "
                         "data breach."},
    [PASSWORD_REPEATED] = {"repeated",
                           "同じ文字や短い並びの繰り返しは使えません",
                           "Do not use a character or a short pattern "
                           "repeated."},
    [PASSWORD_SEQUENCE] = {"sequence",
                           "連続した文字や並び（abcd、1234、qwerty など）は"
                           "使えません",
                           "Do not use sequences such as abcd, 1234 or "
                           "qwerty."},
};

static const struct problem_text *problem_text(enum password_problem p)
{
    static const struct problem_text unknown = {
        "unknown", "パスワードが条件を満たしていません",
        "The password does not meet the rules."};
    if ((unsigned)p >= ARRAY_LEN(problem_texts) || !problem_texts[p].code)
        return &unknown;
    return &problem_texts[p];
}

const char *password_problem_ja(enum password_problem p)
{
    return problem_text(p)->ja;
}

const char *password_problem_en(enum password_problem p)
{
    return problem_text(p)->en;
}

const char *password_problem_code(enum password_problem p)
{
    return problem_text(p)->code;
}

/* ---- hashing ---- */

int password_hash(const char *password, char out[PASSWORD_HASH_SIZE])
{
    if (sodium_ready() != 0)
        return -1;
    if (crypto_pwhash_str_alg(out, password, strlen(password),
                              PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        log_error("password: argon2id hashing failed (out of memory?)");
        return -1;
    }
    return 0;
}

int password_verify(const char *hash, const char *password)
{
    if (!hash || !password || sodium_ready() != 0)
        return -1;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0
                                                                           : -1;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWORD_HASH_SIZE];

static void dummy_make(void)
{
    if (password_hash("cityos dummy password for timing", dummy_hash) != 0)
        dummy_hash[0] = 0;
}

void password_verify_dummy(const char *password)
{
    pthread_once(&dummy_once, dummy_make);
    if (dummy_hash[0])
        (void)password_verify(dummy_hash, password ? password : "");
}

int password_needs_rehash(const char *hash)
{
    if (!hash || sodium_ready() != 0)
        return 1;
    /* The argon2id variant of the call: it answers -1 for argon2i or any
    ** other format, which we want replaced too. */
    return crypto_pwhash_argon2id_str_needs_rehash(hash, PASSWORD_OPSLIMIT,
                                                   PASSWORD_MEMLIMIT) != 0;
}
