/*
** test_qr.c - the inline SVG of qr_svg(): structure (no prolog, no style
** attributes, one path, escaped title, quiet zone, finder pattern), the
** module count against libqrencode's matrix, and a real decode of the
** rendered image with rsvg-convert and zbarimg (librsvg2-bin, zbar-tools;
** skipped when they are not installed).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <qrencode.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/qr.h"
#include "testlib.h"

extern char **environ;

static const char uri[] =
    "otpauth://totp/cityos:yamada?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "&issuer=cityos&algorithm=SHA1&digits=6&period=30";

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_structure(void **state)
{
    (void)state;
    char *svg = qr_svg(uri, "認証アプリ用 <QR> & \"コード\" 'x'");
    assert_non_null(svg);
    /* inline in HTML: starts with the element itself */
    assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) ==
                0);
    assert_null(strstr(svg, "<?xml"));
    assert_null(strstr(svg, "style"));
    assert_int_equal(count(svg, "<path"), 1);
    assert_int_equal(count(svg, "<title>"), 1);
    assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
    assert_non_null(strstr(svg, "fill=\"#000\""));
    assert_non_null(strstr(svg, "role=\"img\""));
    assert_non_null(strstr(svg, "<title>認証アプリ用 &lt;QR&gt; &amp; "
                                "&quot;コード&quot; &#39;x&#39;</title>"));
    size_t len = strlen(svg);
    assert_string_equal(svg + len - 9, "\"/></svg>");

    /* viewBox: the symbol plus 4 modules of quiet zone each side */
    int size = 0;
    assert_int_equal(sscanf(strstr(svg, "viewBox="), "viewBox=\"0 0 %d", &size),
                     1);
    int modules = size - 2 * QR_QUIET_ZONE;
    assert_true(modules >= 21 && (modules - 17) % 4 == 0);
    /* the top-left finder pattern starts right after the quiet zone with a
    ** run of 7 dark modules */
    assert_non_null(strstr(svg, "d=\"M4,4h7v1h-7z"));
    free(svg);
}

/* Sum of the run lengths in the path equals libqrencode's dark modules. */
static void test_modules_match(void **state)
{
    (void)state;
    QRcode *qr = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(qr);
    int dark = 0;
    for (int i = 0; i < qr->width * qr->width; i++)
        dark += qr->data[i] & 1;
    char *svg = qr_svg(uri, "t");
    int sum = 0, x, y, h;
    for (const char *p = strstr(svg, "d=\"M") + 3; *p == 'M';) {
        int used = 0;
        assert_int_equal(sscanf(p, "M%d,%dh%dv1h-%*dz%n", &x, &y, &h, &used),
                         3);
        assert_true(x >= QR_QUIET_ZONE && x + h <= QR_QUIET_ZONE + qr->width);
        assert_true(y >= QR_QUIET_ZONE && y < QR_QUIET_ZONE + qr->width);
        sum += h;
        p += used;
    }
    assert_int_equal(sum, dark);
    QRcode_free(qr);
    free(svg);
}

static void test_limits(void **state)
{
    (void)state;
    assert_null(qr_svg(NULL, "t"));
    assert_null(qr_svg("", "t"));
    /* a version 40-M code holds 2331 bytes */
    char *big = malloc(4000);
    memset(big, 'x', 3999);
    big[3999] = 0;
    assert_null(qr_svg(big, "t"));
    big[2000] = 0;
    char *svg = qr_svg(big, NULL);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<title>QR code</title>"));
    free(svg);
    free(big);
}

/* Runs argv with stdout to out (NULL: inherited); returns the exit code. */
static int run(char *const argv[], FILE *out)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out)
        posix_spawn_file_actions_adddup2(&fa, fileno(out), 1);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static int have(const char *prog)
{
    char *argv[] = {(char *)"sh", (char *)"-c",
                    (char *)"command -v \"$0\" >/dev/null", (char *)prog, NULL};
    return run(argv, NULL) == 0;
}

static void decode_check(const char *dir, const char *text)
{
    char svgp[512], pngp[512], outp[512];
    snprintf(svgp, sizeof svgp, "%s/qr.svg", dir);
    snprintf(pngp, sizeof pngp, "%s/qr.png", dir);
    snprintf(outp, sizeof outp, "%s/out.txt", dir);
    char *svg = qr_svg(text, "decode test");
    assert_non_null(svg);
    FILE *f = fopen(svgp, "w");
    assert_non_null(f);
    fputs(svg, f);
    fclose(f);
    free(svg);

    char *conv[] = {(char *)"rsvg-convert",
                    (char *)"-w",
                    (char *)"400",
                    (char *)"-b",
                    (char *)"white",
                    (char *)"-o",
                    pngp,
                    svgp,
                    NULL};
    assert_int_equal(run(conv, NULL), 0);
    FILE *out = fopen(outp, "w+");
    assert_non_null(out);
    char *zbar[] = {(char *)"zbarimg",
                    (char *)"--quiet",
                    (char *)"--nodbus",
                    (char *)"--raw",
                    pngp,
                    NULL};
    assert_int_equal(run(zbar, out), 0);
    rewind(out);
    char got[4096] = {0};
    size_t n = fread(got, 1, sizeof got - 1, out);
    fclose(out);
    while (n > 0 && got[n - 1] == '\n')
        got[--n] = 0;
    assert_string_equal(got, text);
}

static void test_decode(void **state)
{
    (void)state;
    if (!have("rsvg-convert") || !have("zbarimg")) {
        fprintf(stderr, "test_decode: rsvg-convert or zbarimg missing; "
                        "skipped\n");
        skip();
    }
    char dir[64];
    assert_int_equal(testlib_mkdtemp("qr", dir, sizeof dir), 0);
    decode_check(dir, uri);
    decode_check(dir, "https://city.example.jp/watch/visit?h=12345");
    testlib_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_modules_match),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
