/*
** tmpl.c - the HTML template engine and the message catalogs (see tmpl.h).
**
** A template is parsed once into a tree of nodes.  The trees of all the
** embedded templates are built on first use under pthread_once and are
** only read afterwards, so any number of threads render at once; the
** catalogs (messages/ja.json, messages/en.json, merged with every other
** messages/ file whose name ends in ja.json, en.json) are loaded the same way.
**
** Rendering walks a tree with a stack of contexts.  A dotted name finds
** its first segment in the innermost context that has it, then follows
** the rest inside that value only, as mustache does.  Every substitution
** is HTML-escaped unless written {{{raw}}} or {{&raw}} (NFR-4 pages, and
** the XSS category of IPA's 「安全なウェブサイトの作り方」).
**
** A tag alone on its line ({{#s}}, {{^s}}, {{/s}}, {{!c}}, {{>p}}) takes
** the whole line with it, so plain-text mail bodies keep their shape.
*/
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "tmpl.h"

#define MAX_NEST          32  /* sections nested inside one template */
#define MAX_PARTIAL_DEPTH 16  /* partials including partials */
#define MAX_STACK         256 /* contexts pushed by sections, all partials */
#define MAX_NAME          128 /* a tag's name or path */
#define MAX_SEGS          16  /* segments of a dotted path */
#define MAX_WARNED        256 /* missing catalog keys remembered */

enum node_kind {
    N_TEXT,     /* literal text */
    N_VAR,      /* {{name}} escaped */
    N_RAW,      /* {{{name}}} or {{&name}} */
    N_SECTION,  /* {{#name}}...{{/name}} */
    N_INVERTED, /* {{^name}}...{{/name}} */
    N_PARTIAL,  /* {{> name}} */
    N_MSG,      /* {{@key}} */
};

struct node {
    enum node_kind kind;
    char *text; /* the literal text, or the tag's name */
    size_t len;
    char **segs; /* the name split at dots; none for "." */
    int nsegs;
    int local;         /* {{.name}}: looked up in the innermost object only */
    struct node *kids; /* body of a section */
    size_t nkids;
};

struct nodelist {
    struct node *v;
    size_t n, cap;
};

struct parser {
    const char *name; /* for messages */
    const char *src;
    size_t len;
    size_t pos;
};

/* ---- escaping ---------------------------------------------------------- */

static void escape_n(struct buf *out, const char *s, size_t n)
{
    size_t run = 0; /* start of the pending run of safe bytes */
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        buf_append(out, s + run, i - run);
        buf_puts(out, rep);
        run = i + 1;
    }
    buf_append(out, s + run, n - run);
}

void html_escape(struct buf *out, const char *s)
{
    if (s)
        escape_n(out, s, strlen(s));
}

/* ---- parsing ----------------------------------------------------------- */

static void parse_error(const struct parser *p, size_t at, const char *msg)
{
    int line = 1;
    for (size_t i = 0; i < at && i < p->len; i++)
        if (p->src[i] == '\n')
            line++;
    log_error("template %s:%d: %s", p->name, line, msg);
}

static struct node *list_add(struct nodelist *l, enum node_kind kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    struct node *n = &l->v[l->n++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    return n;
}

static void nodes_free(struct node *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].text);
        for (int s = 0; s < v[i].nsegs; s++)
            free(v[i].segs[s]);
        free(v[i].segs);
        nodes_free(v[i].kids, v[i].nkids);
    }
    free(v);
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Names are identifiers joined by dots (paths, catalog keys) or by
** slashes (partials), so a tag can never name a file outside templates/. */
static int name_valid(enum node_kind kind, const char *s, size_t n)
{
    if (n == 0 || n >= MAX_NAME)
        return 0;
    if (n == 1 && s[0] == '.')
        return kind != N_PARTIAL && kind != N_MSG;
    if (s[0] == '.') { /* {{.name}}: the innermost object only */
        if (kind == N_PARTIAL || kind == N_MSG)
            return 0;
        s++;
        n--;
    }
    char sep = kind == N_PARTIAL ? '/' : '.';
    int nsegs = 1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == sep) {
            if (i == 0 || i == n - 1 || s[i - 1] == sep)
                return 0;
            nsegs++;
        } else if (!is_name_char(s[i])) {
            return 0;
        }
    }
    return nsegs <= MAX_SEGS;
}

static void node_set_name(struct node *nd, const char *s, size_t n)
{
    nd->text = xstrndup(s, n);
    nd->len = n;
    if (nd->kind == N_PARTIAL || nd->kind == N_MSG || (n == 1 && s[0] == '.'))
        return;
    if (s[0] == '.') {
        nd->local = 1;
        s++;
        n--;
    }
    nd->segs = xmalloc(MAX_SEGS * sizeof *nd->segs);
    size_t b = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            nd->segs[nd->nsegs++] = xstrndup(s + b, i - b);
            b = i + 1;
        }
    }
}

/* One tag: where it starts and ends, its kind and its trimmed name. */
struct tag {
    size_t start, end;
    char sigil; /* 0 for a plain variable */
    const char *name;
    size_t name_len;
};

static int read_tag(struct parser *p, size_t start, struct tag *t)
{
    const char *src = p->src;
    size_t q = start + 2;
    const char *closer = "}}";
    t->start = start;
    t->name = "";
    t->name_len = 0;
    t->sigil = q < p->len ? src[q] : 0;
    if (t->sigil == '{') {
        closer = "}}}";
        q++;
    } else if (t->sigil && strchr("&#^/>@!", t->sigil)) {
        q++;
    } else if (t->sigil == '=') {
        parse_error(p, start, "changing delimiters is not supported");
        return -1;
    } else {
        t->sigil = 0;
    }
    size_t clen = strlen(closer);
    const char *e = memmem(src + q, p->len - q, closer, clen);
    if (!e) {
        parse_error(p, start, "unclosed tag");
        return -1;
    }
    size_t ne = (size_t)(e - src);
    t->end = ne + clen;
    if (t->sigil == '!')
        return 0;
    while (q < ne && (src[q] == ' ' || src[q] == '\t'))
        q++;
    while (ne > q && (src[ne - 1] == ' ' || src[ne - 1] == '\t'))
        ne--;
    t->name = src + q;
    t->name_len = ne - q;
    return 0;
}

static enum node_kind sigil_kind(char sigil)
{
    switch (sigil) {
    case '{':
    case '&':
        return N_RAW;
    case '#':
        return N_SECTION;
    case '^':
        return N_INVERTED;
    case '>':
        return N_PARTIAL;
    case '@':
        return N_MSG;
    default:
        return N_VAR;
    }
}

/* A block tag alone on its line (only blanks around it) removes the line:
** sets *text_end to the line's start and *next to just past its newline. */
static void standalone(const struct parser *p, const struct tag *t,
                       size_t *text_end, size_t *next)
{
    const char *src = p->src;
    size_t ls = t->start, le = t->end;
    *text_end = t->start;
    *next = t->end;
    if (!t->sigil || !strchr("#^/!>", t->sigil))
        return;
    while (ls > p->pos && (src[ls - 1] == ' ' || src[ls - 1] == '\t'))
        ls--;
    if (ls > 0 && src[ls - 1] != '\n')
        return;
    while (le < p->len && (src[le] == ' ' || src[le] == '\t'))
        le++;
    if (le < p->len && src[le] == '\r' && le + 1 < p->len &&
        src[le + 1] == '\n')
        le++;
    if (le < p->len && src[le] != '\n')
        return;
    *text_end = ls;
    *next = le < p->len ? le + 1 : le;
}

/* Parses until {{/close}} (or the end when close is NULL) into out. */
static int parse_block(struct parser *p, const char *close, size_t close_len,
                       int depth, struct nodelist *out)
{
    while (p->pos < p->len) {
        const char *src = p->src;
        const char *o = memmem(src + p->pos, p->len - p->pos, "{{", 2);
        if (!o) {
            struct node *t = list_add(out, N_TEXT);
            t->text = xstrndup(src + p->pos, p->len - p->pos);
            t->len = p->len - p->pos;
            p->pos = p->len;
            break;
        }
        struct tag tg;
        if (read_tag(p, (size_t)(o - src), &tg) != 0)
            return -1;
        size_t text_end, next;
        standalone(p, &tg, &text_end, &next);
        if (text_end > p->pos) {
            struct node *t = list_add(out, N_TEXT);
            t->text = xstrndup(src + p->pos, text_end - p->pos);
            t->len = text_end - p->pos;
        }
        p->pos = next;
        if (tg.sigil == '!')
            continue;
        enum node_kind kind = sigil_kind(tg.sigil);
        if (tg.sigil == '/') {
            if (!close) {
                parse_error(p, tg.start, "closing tag without a section");
                return -1;
            }
            if (tg.name_len != close_len ||
                memcmp(tg.name, close, close_len) != 0) {
                parse_error(p, tg.start, "closing tag does not match");
                return -1;
            }
            return 0;
        }
        if (!name_valid(kind, tg.name, tg.name_len)) {
            parse_error(p, tg.start, "bad name in tag");
            return -1;
        }
        struct node *nd = list_add(out, kind);
        node_set_name(nd, tg.name, tg.name_len);
        if (kind != N_SECTION && kind != N_INVERTED)
            continue;
        if (depth + 1 > MAX_NEST) {
            parse_error(p, tg.start, "sections nested too deeply");
            return -1;
        }
        struct nodelist kids = {0};
        int rc = parse_block(p, tg.name, tg.name_len, depth + 1, &kids);
        nd->kids = kids.v;
        nd->nkids = kids.n;
        if (rc != 0)
            return -1;
    }
    if (close) {
        parse_error(p, p->len, "section is not closed");
        return -1;
    }
    return 0;
}

/* Parses src; on error frees what was built and returns -1. */
static int parse(const char *name, const char *src, size_t len,
                 struct nodelist *out)
{
    struct parser p = {name, src, len, 0};
    memset(out, 0, sizeof *out);
    if (parse_block(&p, NULL, 0, 0, out) != 0) {
        nodes_free(out->v, out->n);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

/* ---- the message catalogs ---------------------------------------------- */

static json_t *catalog_ja, *catalog_en;
static int catalogs_ok;
static pthread_once_t catalog_once = PTHREAD_ONCE_INIT;

/* Adds the messages of one catalog file to cat; 0, or -1 when the file is
** malformed or repeats a key another file of the language already has. */
static int catalog_merge(json_t *cat, const struct embedded_file *f)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)f->data, f->len, 0, &err);
    if (!j || !json_is_object(j)) {
        log_error("catalog %s:%d: %s", f->path, err.line,
                  j ? "not an object" : err.text);
        json_decref(j);
        return -1;
    }
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (!json_is_string(v)) {
            log_error("catalog %s: %s is not a string", f->path, k);
            rc = -1;
        } else if (json_object_get(cat, k)) {
            log_error("catalog %s: %s is defined twice", f->path, k);
            rc = -1;
        } else {
            json_object_set(cat, k, v);
        }
    }
    json_decref(j);
    return rc;
}

/* A language's catalog: messages/<lang>.json (the shared words) and every
** module's messages/<module>.<lang>.json, so each module keeps its own
** messages and merges stay easy. */
static json_t *catalog_load(const char *lang)
{
    char main_path[64], suffix[16];
    snprintf(main_path, sizeof main_path, "messages/%s.json", lang);
    snprintf(suffix, sizeof suffix, ".%s.json", lang);
    json_t *cat = json_object();
    int found = 0, rc = 0;
    for (size_t i = 0; i < embedded_count; i++) {
        const struct embedded_file *f = &embedded_files[i];
        size_t len = strlen(f->path), slen = strlen(suffix);
        int module = str_starts(f->path, "messages/") && len > slen &&
                     strcmp(f->path + len - slen, suffix) == 0;
        if (!module && strcmp(f->path, main_path) != 0)
            continue;
        found |= !module;
        if (catalog_merge(cat, f) != 0)
            rc = -1;
    }
    if (!found) {
        log_error("catalog %s is missing", main_path);
        rc = -1;
    }
    if (rc != 0)
        catalogs_ok = 0;
    return cat;
}

static void catalogs_build(void)
{
    catalogs_ok = 1;
    catalog_ja = catalog_load("ja");
    catalog_en = catalog_load("en");
}

static const char *catalog_get(const json_t *cat, const char *key)
{
    json_t *v = cat ? json_object_get(cat, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The message, or NULL when neither catalog has the key. */
static const char *i18n_find(const char *lang, const char *key)
{
    pthread_once(&catalog_once, catalogs_build);
    const char *m = NULL;
    if (lang && strcmp(lang, "en") == 0)
        m = catalog_get(catalog_en, key);
    if (!m)
        m = catalog_get(catalog_ja, key);
    return m;
}

const char *i18n_get(const char *lang, const char *key)
{
    if (!key)
        return "";
    const char *m = i18n_find(lang, key);
    return m ? m : key;
}

static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static char *warned[MAX_WARNED];
static size_t nwarned;

/* A template naming a key no catalog has is a bug worth one log line,
** not one per request. */
static void warn_missing_key(const char *key)
{
    pthread_mutex_lock(&warned_lock);
    size_t i;
    for (i = 0; i < nwarned; i++)
        if (strcmp(warned[i], key) == 0)
            break;
    if (i == nwarned && nwarned < MAX_WARNED) {
        warned[nwarned++] = xstrdup(key);
        log_warn("message %s is in no catalog", key);
    }
    pthread_mutex_unlock(&warned_lock);
}

/* ---- the template cache ------------------------------------------------ */

struct cached {
    char name[MAX_NAME]; /* "layout", "partials/field" */
    struct nodelist tree;
    int ok;
};

static struct cached *cache;
static size_t ncache;
static int cache_bad;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static int cached_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cached *)a)->name,
                  ((const struct cached *)b)->name);
}

static void cache_build(void)
{
    const char *pre = "templates/", *suf = ".html";
    size_t plen = strlen(pre), slen = strlen(suf);
    cache = xcalloc(embedded_count + 1, sizeof *cache);
    for (size_t i = 0; i < embedded_count; i++) {
        const struct embedded_file *f = &embedded_files[i];
        size_t len = strlen(f->path);
        if (!str_starts(f->path, pre) || len <= plen + slen ||
            strcmp(f->path + len - slen, suf) != 0)
            continue;
        size_t nlen = len - plen - slen;
        if (nlen >= MAX_NAME) {
            log_error("template %s: name too long", f->path);
            cache_bad = 1;
            continue;
        }
        struct cached *c = &cache[ncache++];
        memcpy(c->name, f->path + plen, nlen);
        c->name[nlen] = 0;
        c->ok = parse(f->path, (const char *)f->data, f->len, &c->tree) == 0;
        if (!c->ok)
            cache_bad = 1;
    }
    qsort(cache, ncache, sizeof *cache, cached_cmp);
}

static const struct cached *cache_find(const char *name)
{
    pthread_once(&cache_once, cache_build);
    struct cached key;
    if (str_copy(key.name, name, sizeof key.name) >= sizeof key.name)
        return NULL;
    return bsearch(&key, cache, ncache, sizeof *cache, cached_cmp);
}

int tmpl_init(void)
{
    pthread_once(&cache_once, cache_build);
    pthread_once(&catalog_once, catalogs_build);
    return cache_bad || !catalogs_ok ? -1 : 0;
}

/* ---- rendering --------------------------------------------------------- */

struct render {
    struct buf *out;
    const char *lang;
    const char *name; /* the outermost template, for messages */
    json_t *stack[MAX_STACK];
    int depth;
    int partials;
};

static json_t *child(json_t *v, const char *seg)
{
    if (json_is_object(v))
        return json_object_get(v, seg);
    if (json_is_array(v) && seg[0] >= '0' && seg[0] <= '9' &&
        strlen(seg) < 10) {
        char *end;
        unsigned long i = strtoul(seg, &end, 10);
        return *end ? NULL : json_array_get(v, i);
    }
    return NULL;
}

static json_t *lookup(const struct render *r, const struct node *n)
{
    if (n->nsegs == 0) /* "." */
        return r->depth > 0 ? r->stack[r->depth - 1] : NULL;
    json_t *v = NULL;
    for (int i = r->depth - 1; i >= 0 && !v; i--) {
        if (!json_is_object(r->stack[i]))
            continue;
        v = json_object_get(r->stack[i], n->segs[0]);
        if (n->local)
            break; /* a partial's own fields never leak in from outside */
    }
    for (int s = 1; v && s < n->nsegs; s++)
        v = child(v, n->segs[s]);
    return v;
}

static int truthy(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_TRUE:
        return 1;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    default:
        return 0;
    }
}

static void put_real(struct buf *out, double d)
{
    if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
        buf_printf(out, "%.0f", d);
    else if (isfinite(d))
        buf_printf(out, "%.15g", d);
}

static void put_value(struct buf *out, json_t *v, int escape)
{
    if (!v)
        return;
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (escape)
            escape_n(out, json_string_value(v), json_string_length(v));
        else
            buf_append(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(out, json_real_value(v));
        break;
    case JSON_TRUE:
        buf_puts(out, "true");
        break;
    case JSON_FALSE:
        buf_puts(out, "false");
        break;
    default: /* null, objects and arrays print nothing */
        break;
    }
}

static int render_nodes(struct render *r, const struct node *v, size_t n);

static int render_with(struct render *r, const struct node *nd, json_t *item)
{
    if (r->depth >= MAX_STACK) {
        log_error("template %s: contexts nested too deeply", r->name);
        return -1;
    }
    r->stack[r->depth++] = item;
    int rc = render_nodes(r, nd->kids, nd->nkids);
    r->depth--;
    return rc;
}

static int render_section(struct render *r, const struct node *nd)
{
    json_t *v = lookup(r, nd);
    if (nd->kind == N_INVERTED)
        return truthy(v) ? 0 : render_nodes(r, nd->kids, nd->nkids);
    if (!truthy(v))
        return 0;
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (render_with(r, nd, item) != 0)
                return -1;
        }
        return 0;
    }
    if (json_is_true(v))
        return render_nodes(r, nd->kids, nd->nkids);
    return render_with(r, nd, v);
}

static int render_partial(struct render *r, const struct node *nd)
{
    const struct cached *c = cache_find(nd->text);
    if (!c || !c->ok) {
        log_error("template %s: partial %s is %s", r->name, nd->text,
                  c ? "malformed" : "missing");
        return -1;
    }
    if (r->partials >= MAX_PARTIAL_DEPTH) {
        log_error("template %s: partials nested too deeply at %s", r->name,
                  nd->text);
        return -1;
    }
    r->partials++;
    int rc = render_nodes(r, c->tree.v, c->tree.n);
    r->partials--;
    return rc;
}

static int render_nodes(struct render *r, const struct node *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct node *nd = &v[i];
        const char *m;
        switch (nd->kind) {
        case N_TEXT:
            buf_append(r->out, nd->text, nd->len);
            break;
        case N_VAR:
        case N_RAW:
            put_value(r->out, lookup(r, nd), nd->kind == N_VAR);
            break;
        case N_SECTION:
        case N_INVERTED:
            if (render_section(r, nd) != 0)
                return -1;
            break;
        case N_PARTIAL:
            if (render_partial(r, nd) != 0)
                return -1;
            break;
        case N_MSG:
            m = i18n_find(r->lang, nd->text);
            if (!m) {
                warn_missing_key(nd->text);
                m = nd->text;
            }
            html_escape(r->out, m);
            break;
        }
    }
    return 0;
}

static int render_tree(const char *name, const struct nodelist *t, json_t *ctx,
                       const char *lang, struct buf *out)
{
    struct render rd;
    rd.out = out;
    rd.lang = lang ? lang : "ja";
    rd.name = name;
    rd.depth = 0;
    rd.partials = 0;
    if (ctx)
        rd.stack[rd.depth++] = ctx;
    size_t mark = out->len;
    int rc = render_nodes(&rd, t->v, t->n);
    if (rc != 0 && out->data) {
        out->len = mark; /* nothing half-rendered is left behind */
        out->data[mark] = 0;
    }
    return rc;
}

int tmpl_render(const char *name, json_t *ctx, const char *lang,
                struct buf *out)
{
    const struct cached *c = cache_find(name);
    if (!c) {
        log_error("template %s not found", name);
        return -1;
    }
    if (!c->ok) {
        log_error("template %s is malformed", name);
        return -1;
    }
    return render_tree(name, &c->tree, ctx, lang, out);
}

int tmpl_render_string(const char *src, json_t *ctx, const char *lang,
                       struct buf *out)
{
    struct nodelist t;
    if (parse("(string)", src, strlen(src), &t) != 0)
        return -1;
    int rc = render_tree("(string)", &t, ctx, lang, out);
    nodes_free(t.v, t.n);
    return rc;
}
