/*
** test_tmpl.c - unit tests of the template engine and the message catalogs
** (src/core/tmpl.c): escaping against XSS (NFR-4 pages; IPA 「安全なウェブ
** サイトの作り方」 1.5), sections, lookups, partials, malformed templates
** failing cleanly, catalogs in both languages, the shipped templates and
** catalogs themselves, and rendering from several threads at once.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/embed.h"
#include "core/tmpl.h"

/* Renders src with the context given as JSON text; returns the output
** (caller frees) or NULL when rendering failed. */
static char *render(const char *src, const char *ctx_json, const char *lang)
{
    json_error_t err;
    json_t *ctx = ctx_json ? json_loads(ctx_json, 0, &err) : NULL;
    if (ctx_json && !ctx)
        fail_msg("bad test JSON: %s", err.text);
    struct buf b;
    buf_init(&b);
    int rc = tmpl_render_string(src, ctx, lang, &b);
    json_decref(ctx);
    if (rc != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static void expect(const char *src, const char *ctx, const char *want)
{
    char *got = render(src, ctx, "ja");
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void expect_fail(const char *src)
{
    char *got = render(src, "{\"a\":1,\"b\":[1,2]}", "ja");
    if (got)
        fail_msg("template should have been refused: %s -> %s", src, got);
}

static char *render_file(const char *name, json_t *ctx, const char *lang)
{
    struct buf b;
    buf_init(&b);
    if (tmpl_render(name, ctx, lang, &b) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find\n  %s\nin\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect\n  %s\nin\n%s", needle, hay);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- escaping ---------------------------------------------------------- */

static void test_html_escape(void **state)
{
    struct buf b;
    buf_init(&b);
    html_escape(&b, "<script>alert(\"x\")</script> & 'y'");
    assert_string_equal(b.data, "&lt;script&gt;alert(&quot;x&quot;)&lt;/"
                                "script&gt; &amp; &#39;y&#39;");
    buf_reset(&b);
    html_escape(&b, "市民サービス");
    assert_string_equal(b.data, "市民サービス");
    buf_reset(&b);
    html_escape(&b, "");
    html_escape(&b, NULL);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_variables_escaped(void **state)
{
    expect("<p>{{x}}</p>", "{\"x\":\"<script>alert(1)</script>\"}",
           "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    /* Breaking out of a quoted attribute, either quote. */
    expect("<a title=\"{{t}}\">", "{\"t\":\"\\\" onmouseover=\\\"alert(1)\"}",
           "<a title=\"&quot; onmouseover=&quot;alert(1)\">");
    expect("<a title='{{t}}'>", "{\"t\":\"' onfocus='alert(1)\"}",
           "<a title='&#39; onfocus=&#39;alert(1)'>");
    expect("{{ x }}", "{\"x\":\"&amp;\"}", "&amp;amp;");
}

static void test_raw(void **state)
{
    expect("{{{h}}}|{{& h}}|{{h}}", "{\"h\":\"<b>ok</b>\"}",
           "<b>ok</b>|<b>ok</b>|&lt;b&gt;ok&lt;/b&gt;");
}

static void test_values(void **state)
{
    expect("{{i}} {{r}} {{f}} {{n}} {{big}}",
           "{\"i\":42,\"r\":3.0,\"f\":2.5,\"n\":-7,\"big\":1e20}",
           "42 3 2.5 -7 1e+20");
    expect("[{{t}}][{{z}}][{{nul}}][{{o}}][{{a}}]",
           "{\"t\":true,\"z\":false,\"nul\":null,\"o\":{\"k\":1},"
           "\"a\":[1]}",
           "[true][false][][][]");
    expect("{{s}}", "{\"s\":\"日本語 ✓\"}", "日本語 ✓");
}

static void test_missing_keys(void **state)
{
    expect("[{{nope}}][{{a.b.c}}][{{s.x}}][{{{raw}}}]",
           "{\"a\":{\"b\":{}},\"s\":\"str\"}", "[][][][]");
    expect("[{{x}}]", NULL, "[]");
    expect("{{#nope}}never{{/nope}}", "{}", "");
}

static void test_dotted_paths(void **state)
{
    expect("{{user.login}} {{user.role.label}} {{list.1}}",
           "{\"user\":{\"login\":\"sato\",\"role\":{\"label\":\"職員\"}},"
           "\"list\":[\"a\",\"b\"]}",
           "sato 職員 b");
}

static void test_sections(void **state)
{
    /* Arrays of objects; outer names are found up the context stack. */
    expect("{{#users}}<li>{{name}}@{{org}}</li>{{/users}}",
           "{\"org\":\"city\",\"users\":[{\"name\":\"a\"},{\"name\":\"b<\"}]}",
           "<li>a@city</li><li>b&lt;@city</li>");
    /* An inner value hides an outer one of the same name. */
    expect("{{#u}}{{org}}{{/u}}", "{\"org\":\"outer\",\"u\":{\"org\":\"in\"}}",
           "in");
    /* Nested sections over nested arrays. */
    expect("{{#rows}}[{{#cells}}{{.}},{{/cells}}]{{/rows}}",
           "{\"rows\":[{\"cells\":[1,2]},{\"cells\":[\"x\"]},{\"cells\":[]}]}",
           "[1,2,][x,][]");
    /* Scalars: true shows once, strings and numbers become {{.}}. */
    expect("{{#t}}T{{/t}}{{#f}}F{{/f}}{{#s}}<{{.}}>{{/s}}{{#e}}E{{/e}}"
           "{{#n}}{{.}}{{/n}}{{#z}}Z{{/z}}{{#r0}}R{{/r0}}{{#nul}}N{{/nul}}",
           "{\"t\":true,\"f\":false,\"s\":\"x&y\",\"e\":\"\",\"n\":5,"
           "\"z\":0,\"r0\":0.0,\"nul\":null}",
           "T<x&amp;y>5");
    /* An object section changes the context; an empty object still shows. */
    expect("{{#o}}{{k}}{{/o}}{{#eo}}E{{/eo}}",
           "{\"o\":{\"k\":\"v\"},\"eo\":{}}", "vE");
    /* A section over a dotted path. */
    expect("{{#a.b}}{{c}}{{/a.b}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep");
}

static void test_inverted(void **state)
{
    expect("{{^missing}}1{{/missing}}{{^f}}2{{/f}}{{^e}}3{{/e}}"
           "{{^ea}}4{{/ea}}{{^z}}5{{/z}}{{^nul}}6{{/nul}}",
           "{\"f\":false,\"e\":\"\",\"ea\":[],\"z\":0,\"nul\":null}", "123456");
    expect("{{^t}}1{{/t}}{{^s}}2{{/s}}{{^a}}3{{/a}}{{^o}}4{{/o}}",
           "{\"t\":true,\"s\":\"x\",\"a\":[0],\"o\":{}}", "");
    expect("{{#list}}{{.}}{{/list}}{{^list}}none{{/list}}", "{\"list\":[]}",
           "none");
}

static void test_local_lookup(void **state)
{
    /* {{.name}} never takes a value from an outer context. */
    expect("{{#f}}[{{.error}}][{{error}}]{{/f}}",
           "{\"error\":\"OUTER\",\"f\":{\"id\":\"x\"}}", "[][OUTER]");
    /* Inside a section over a string, the innermost object still answers. */
    expect("{{#f}}{{#.hint}}{{.id}}:{{.}}{{/.hint}}{{/f}}",
           "{\"id\":\"outer\",\"f\":{\"id\":\"in\",\"hint\":\"h\"}}", "in:h");
}

static void test_comments_and_lines(void **state)
{
    expect("a{{! a comment with {braces} }}b", "{}", "ab");
    /* Block tags alone on their lines take the line with them. */
    expect("<ul>\n  {{#l}}\n  <li>{{.}}</li>\n  {{/l}}\n</ul>\n",
           "{\"l\":[1,2]}", "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n");
    expect("x\n{{! note }}\ny\n", "{}", "x\ny\n");
    expect("x\r\n{{#t}}\r\ny\r\n{{/t}}\r\n", "{\"t\":true}", "x\r\ny\r\n");
    /* Variables keep their lines; inline block tags keep the blanks. */
    expect("{{v}}\n", "{\"v\":\"\"}", "\n");
    expect(" {{#t}}a{{/t}} \n", "{\"t\":true}", " a \n");
}

static void test_malformed(void **state)
{
    expect_fail("{{#a}}never closed");
    expect_fail("{{#a}}x{{/b}}");
    expect_fail("{{#a}}{{#b}}x{{/a}}{{/b}}");
    expect_fail("stray {{/a}}");
    expect_fail("{{a");
    expect_fail("{{{a}}");
    expect_fail("{{}}");
    expect_fail("{{#}}{{/}}");
    expect_fail("{{a b}}");
    expect_fail("{{a..b}}");
    expect_fail("{{a.}}");
    expect_fail("{{<script>}}");
    expect_fail("{{> ../../etc/passwd}}");
    expect_fail("{{> /etc/passwd}}");
    expect_fail("{{@}}");
    expect_fail("{{=<% %>=}}");
    expect_fail("{{! unclosed comment");
    expect_fail("{{> partials/no_such_partial}}");

    /* Nesting is bounded: 40 sections deep is refused, not a stack blow. */
    struct buf src;
    buf_init(&src);
    for (int i = 0; i < 40; i++)
        buf_puts(&src, "{{#a}}");
    for (int i = 0; i < 40; i++)
        buf_puts(&src, "{{/a}}");
    expect_fail(src.data);
    buf_free(&src);

    /* On failure the output buffer is left as it was. */
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "kept");
    assert_int_equal(tmpl_render_string("x{{#a}}", NULL, "ja", &b), -1);
    assert_string_equal(b.data, "kept");
    json_t *ctx = json_pack("{s:s}", "x", "y");
    assert_int_equal(tmpl_render_string("{{x}}{{> partials/no_such_partial}}",
                                        ctx, "ja", &b),
                     -1);
    assert_string_equal(b.data, "kept");
    json_decref(ctx);
    buf_free(&b);
}

/* ---- partials and shipped templates ------------------------------------ */

static void test_partial_flash(void **state)
{
    char *out = render("{{#flash}}{{> partials/flash}}{{/flash}}",
                       "{\"flash\":{\"kind\":\"error\",\"text\":"
                       "\"<img src=x onerror=alert(1)>\",\"urgent\":true}}",
                       "ja");
    assert_non_null(out);
    assert_contains(out, "alert--error");
    assert_contains(out, "role=\"alert\"");
    assert_contains(out, "&lt;img src=x onerror=alert(1)&gt;");
    assert_lacks(out, "<img");
    free(out);

    out = render("{{#flash}}{{> partials/flash}}{{/flash}}",
                 "{\"flash\":{\"kind\":\"success\",\"text\":\"保存しました\"}}",
                 "ja");
    assert_non_null(out);
    assert_contains(out, "role=\"status\"");
    assert_contains(out, "保存しました");
    free(out);
}

static void test_partial_field(void **state)
{
    /* A page-level "error" must not show under a field that has none. */
    char *out = render(
        "{{#fields}}{{> partials/field}}{{/fields}}",
        "{\"error\":\"PAGE-ERROR\",\"fields\":["
        "{\"id\":\"login\",\"name\":\"login\",\"label\":\"ログインID\","
        "\"hint\":\"半角英数字\",\"error\":\"入力してください\","
        "\"required\":true,\"value\":\"\\\"><script>x</script>\"},"
        "{\"id\":\"pw\",\"name\":\"password\",\"label\":\"パスワード\","
        "\"type\":\"password\",\"autocomplete\":\"current-password\"},"
        "{\"id\":\"role\",\"name\":\"role\",\"label\":\"役割\",\"select\":true,"
        "\"options\":[{\"value\":\"admin\",\"label\":\"管理者\"},"
        "{\"value\":\"staff\",\"label\":\"職員\",\"selected\":true}]}]}",
        "ja");
    assert_non_null(out);
    assert_contains(out, "<label class=\"field__label\" for=\"login\">"
                         "ログインID <span class=\"field__required\">必須"
                         "</span></label>");
    assert_contains(out, "aria-describedby=\"login-hint login-error\"");
    assert_contains(out, "id=\"login-error\"");
    assert_contains(out, "aria-invalid=\"true\"");
    assert_contains(out, "value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\"");
    assert_contains(out, "type=\"password\"");
    assert_contains(out, "autocomplete=\"current-password\"");
    assert_contains(out, "<option value=\"staff\" selected>職員</option>");
    assert_contains(out, "<option value=\"admin\">管理者</option>");
    assert_lacks(out, "PAGE-ERROR");
    assert_lacks(out, "<script>");
    /* Only the first field is invalid or described. */
    assert_int_equal(count(out, "aria-invalid"), 1);
    assert_int_equal(count(out, "aria-describedby"), 1);
    free(out);
}

static void test_partial_table_and_pagination(void **state)
{
    char *out = render(
        "{{#table}}{{> partials/table}}{{/table}}"
        "{{#pagination}}{{> partials/pagination}}{{/pagination}}",
        "{\"table\":{\"id\":\"users\",\"caption\":\"職員一覧\","
        "\"columns\":[{\"label\":\"氏名\"},{\"label\":\"件数\",\"numeric\":"
        "true}],"
        "\"rows\":[{\"cells\":[{\"text\":\"<b>佐藤</b>\",\"href\":\"/u/1\"},"
        "{\"text\":\"有効\",\"badge\":\"success\"}]}]},"
        "\"pagination\":{\"prev\":\"/u?page=1\",\"pages\":["
        "{\"href\":\"/"
        "u?page=1\",\"number\":1},{\"number\":2,\"current\":true}]}}",
        "ja");
    assert_non_null(out);
    assert_contains(out, "aria-labelledby=\"users-caption\" tabindex=\"0\"");
    assert_contains(out, "<caption id=\"users-caption\">職員一覧</caption>");
    assert_contains(out, "<th scope=\"col\" class=\"table__num\">件数</th>");
    assert_contains(out, "<a href=\"/u/1\">&lt;b&gt;佐藤&lt;/b&gt;</a>");
    assert_contains(out, "<span class=\"badge badge--success\">有効</span>");
    assert_lacks(out, "table__empty");
    assert_contains(out, "aria-label=\"ページ送り\"");
    assert_contains(out, "aria-current=\"page\"");
    assert_contains(out, "rel=\"prev\"");
    assert_lacks(out, "rel=\"next\"");
    free(out);

    out = render("{{#table}}{{> partials/table}}{{/table}}",
                 "{\"table\":{\"id\":\"t\",\"caption\":\"c\",\"rows\":[]}}",
                 "en");
    assert_non_null(out);
    assert_contains(out, "No matching records.");
    free(out);
}

static json_t *layout_ctx(const char *lang, int signed_in)
{
    json_t *ctx = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:[{s:s, s:s, s:b}, "
        "{s:s, s:s, s:b}], s:[{s:s, s:s}], s:{s:s, s:s}}",
        "lang", lang, "title", "職員<一覧>", "body",
        "<p id=\"page-body\">本文</p>", "static", "css",
        "/static/aaaa/css/app.css", "tokens", "/static/bbbb/css/tokens.css",
        "htmx", "/static/cccc/js/htmx.min.js", "js", "/static/dddd/js/app.js",
        "nav", "href", "/admin/users", "label", "アカウント管理", "current", 1,
        "href", "/audit", "label", "監査ログ", "current", 0, "banners", "kind",
        "test", "text", "テスト環境です", "flash", "kind", "success", "text",
        "保存しました");
    if (signed_in) {
        json_object_set_new(ctx, "csrf", json_string("tok\"en"));
        json_object_set_new(ctx, "user",
                            json_pack("{s:s, s:s, s:s, s:b}", "login", "sato",
                                      "display_name", "佐藤<script>",
                                      "role_label", "システム管理者", "full",
                                      1));
    }
    return ctx;
}

static void test_layout(void **state)
{
    json_t *ctx = layout_ctx("ja", 1);
    char *out = render_file("layout", ctx, "ja");
    json_decref(ctx);
    assert_non_null(out);
    assert_true(strncmp(out, "<!doctype html>", 15) == 0);
    assert_contains(out, "<html lang=\"ja\">");
    assert_contains(out, "<title>職員&lt;一覧&gt; - cityos 市民サービス基盤"
                         "</title>");
    assert_contains(out, "href=\"#main\"");
    assert_contains(out, "<main id=\"main\"");
    assert_contains(out, "<p id=\"page-body\">本文</p>");
    assert_contains(out, "佐藤&lt;script&gt;");
    assert_contains(out, "システム管理者");
    assert_contains(out, "action=\"/logout\"");
    assert_contains(out, "name=\"csrf\" value=\"tok&quot;en\"");
    assert_contains(out, "href=\"/admin/users\" aria-current=\"page\"");
    assert_contains(out, "href=\"/audit\">監査ログ");
    assert_contains(out, "banner--test");
    assert_contains(out, "テスト環境です");
    assert_contains(out, "role=\"status\"");
    assert_contains(out, "href=\"?lang=en\"");
    assert_contains(out, "<link rel=\"stylesheet\" href=\"/static/bbbb/css/"
                         "tokens.css\">");
    assert_contains(out, "<script src=\"/static/dddd/js/app.js\" defer>");
    assert_contains(out, "<h1 class=\"page-title\">職員&lt;一覧&gt;</h1>");
    /* CSP: no inline style or script, no event handler attributes. */
    assert_lacks(out, "style=");
    assert_lacks(out, "<style");
    assert_lacks(out, "<script>");
    assert_lacks(out, " onclick");
    assert_lacks(out, "<script>alert");
    free(out);

    ctx = layout_ctx("en", 0);
    json_object_set_new(ctx, "hide_title", json_true());
    out = render_file("layout", ctx, "en");
    json_decref(ctx);
    assert_non_null(out);
    assert_contains(out, "<html lang=\"en\">");
    assert_contains(out, "- cityos city services</title>");
    assert_contains(out, "Skip to main content");
    assert_contains(out, "href=\"?lang=ja\"");
    assert_lacks(out, "/logout");
    assert_lacks(out, "<h1");
    free(out);
}

static void test_error_page(void **state)
{
    json_t *ctx = json_pack("{s:i, s:s, s:s}", "status", 404, "message",
                            i18n_get("ja", "error.404"), "detail",
                            "<u>/nope</u> はありません");
    char *body = render_file("error", ctx, "ja");
    assert_non_null(body);
    assert_contains(body, "404");
    assert_contains(body, "&lt;u&gt;/nope&lt;/u&gt;");
    assert_contains(body, "href=\"/\"");
    assert_contains(body, "トップページへ戻る");
    /* In its layout, as resp_error shows it: one h1, the title. */
    json_object_set_new(ctx, "title", json_string(i18n_get("ja", "error.404")));
    json_object_set_new(ctx, "body", json_string(body));
    char *out = render_file("layout", ctx, "ja");
    json_decref(ctx);
    assert_non_null(out);
    assert_contains(out,
                    "<h1 class=\"page-title\">ページが見つかりません</h1>");
    assert_int_equal(count(out, "<h1"), 1);
    assert_contains(out, "<title>ページが見つかりません - ");
    free(body);
    free(out);
}

static void test_missing_template(void **state)
{
    struct buf b;
    buf_init(&b);
    assert_int_equal(tmpl_render("no/such/template", NULL, "ja", &b), -1);
    assert_int_equal(tmpl_render("../messages/ja", NULL, "ja", &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* ---- catalogs ---------------------------------------------------------- */

static void test_i18n(void **state)
{
    assert_string_equal(i18n_get("ja", "error.404"), "ページが見つかりません");
    assert_string_equal(i18n_get("en", "error.404"), "Page not found");
    assert_string_equal(i18n_get("fr", "error.404"), "ページが見つかりません");
    assert_string_equal(i18n_get(NULL, "button.save"), "保存");
    assert_string_equal(i18n_get("en", "button.save"), "Save");
    assert_string_equal(i18n_get("en", "no.such.key"), "no.such.key");
    assert_string_equal(i18n_get("ja", NULL), "");

    char *out = render("{{@app.name}}", "{}", "en");
    assert_string_equal(out, "cityos city services");
    free(out);
    out = render("{{@app.name}}", "{}", "ja");
    assert_string_equal(out, "cityos 市民サービス基盤");
    free(out);
    /* A key in neither catalog renders as itself (and is logged once). */
    out = render("[{{@no.such-key}}][{{@no.such-key}}]", "{}", "en");
    assert_string_equal(out, "[no.such-key][no.such-key]");
    free(out);
}

/* Every catalog file is a flat object, sorted, one key per line, so
** merges are easy; each X.ja.json has an X.en.json with the same keys
** (and ja.json an en.json), so no page shows a bare key in one language. */
static json_t *check_catalog_file(const struct embedded_file *f)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)f->data, f->len, 0, &err);
    if (!j)
        fail_msg("%s:%d: %s", f->path, err.line, err.text);
    char prev[256] = "";
    const char *line = (const char *)f->data;
    size_t keys = 0;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        const char *k = line + strspn(line, " \t");
        if (*k == '"') {
            const char *q = strchr(k + 1, '"');
            assert_non_null(q);
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(q - k - 1), k + 1);
            if (strcmp(prev, key) >= 0)
                fail_msg("%s: %s is not after %s", f->path, key, prev);
            snprintf(prev, sizeof prev, "%s", key);
            keys++;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (keys != json_object_size(j))
        fail_msg("%s: not one key per line", f->path);
    return j;
}

static void test_catalog_files(void **state)
{
    int pairs = 0;
    for (size_t i = 0; i < embedded_count; i++) {
        const struct embedded_file *f = &embedded_files[i];
        size_t len = strlen(f->path);
        if (!str_starts(f->path, "messages/") || len < 8 ||
            strcmp(f->path + len - 7, "ja.json") != 0 ||
            !strchr("/.", f->path[len - 8]))
            continue;
        char en_path[256];
        snprintf(en_path, sizeof en_path, "%.*sen.json", (int)(len - 7),
                 f->path);
        const struct embedded_file *fe = embed_find(en_path);
        if (!fe)
            fail_msg("%s has no %s", f->path, en_path);
        json_t *ja = check_catalog_file(f), *en = check_catalog_file(fe);
        const char *k;
        json_t *v;
        json_object_foreach(ja, k, v)
        {
            if (!json_object_get(en, k))
                fail_msg("%s lacks %s", en_path, k);
        }
        json_object_foreach(en, k, v)
        {
            if (!json_object_get(ja, k))
                fail_msg("%s lacks %s", f->path, k);
        }
        json_decref(ja);
        json_decref(en);
        pairs++;
    }
    assert_true(pairs >= 1);
    assert_non_null(embed_find("messages/ja.json"));
}

/* Every shipped template parses, and every {{@key}} it names exists. */
static void test_shipped_templates(void **state)
{
    assert_int_equal(tmpl_init(), 0);
    size_t ntemplates = 0;
    for (size_t i = 0; i < embedded_count; i++) {
        const struct embedded_file *f = &embedded_files[i];
        if (!str_starts(f->path, "templates/"))
            continue;
        ntemplates++;
        const char *p = (const char *)f->data;
        while ((p = strstr(p, "{{@")) != NULL) {
            p += 3;
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, " }");
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)n, p);
            const char *ja = i18n_get("ja", key), *en = i18n_get("en", key);
            if (ja == (const char *)key || strcmp(ja, key) == 0 ||
                strcmp(en, key) == 0)
                fail_msg("%s uses {{@%s}}, missing in a catalog", f->path, key);
        }
    }
    assert_true(ntemplates >= 3);
}

/* ---- threads ----------------------------------------------------------- */

struct thread_arg {
    const char *want;
    int failures;
};

static void *render_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 200; i++) {
        json_t *ctx = layout_ctx(i % 2 ? "en" : "ja", 1);
        char *out = render_file("layout", ctx, i % 2 ? "en" : "ja");
        json_decref(ctx);
        if (!out || (i % 2 == 0 && strcmp(out, a->want) != 0))
            a->failures++;
        free(out);
    }
    return NULL;
}

static void test_threads(void **state)
{
    json_t *ctx = layout_ctx("ja", 1);
    char *want = render_file("layout", ctx, "ja");
    json_decref(ctx);
    assert_non_null(want);
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].want = want;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, render_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_variables_escaped),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_dotted_paths),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_inverted),
        cmocka_unit_test(test_local_lookup),
        cmocka_unit_test(test_comments_and_lines),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_partial_flash),
        cmocka_unit_test(test_partial_field),
        cmocka_unit_test(test_partial_table_and_pagination),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_error_page),
        cmocka_unit_test(test_missing_template),
        cmocka_unit_test(test_i18n),
        cmocka_unit_test(test_catalog_files),
        cmocka_unit_test(test_shipped_templates),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("tmpl", tests, NULL, NULL);
}
