/*
** qr.c - renders a QR code (libqrencode) as inline SVG.  See qr.h.
**
** Each row's runs of dark modules become one rectangle in a single path
** ("M x,y h n v 1 h -n z"), which keeps a typical otpauth code near 3 KB
** and renders without hairline gaps between modules.
*/
#include "qr.h"

#include <qrencode.h>
#include <stdlib.h>

#include "util.h"

static void put_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        case '\'':
            buf_puts(b, "&#39;");
            break;
        default:
            buf_putc(b, *s);
        }
    }
}

/* Appends one path segment per run of dark modules in each row. */
static void put_modules(struct buf *b, const QRcode *qr)
{
    int w = qr->width;
    for (int y = 0; y < w; y++) {
        int x = 0;
        while (x < w) {
            if (!(qr->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int start = x;
            while (x < w && (qr->data[y * w + x] & 1))
                x++;
            buf_printf(b, "M%d,%dh%dv1h-%dz", start + QR_QUIET_ZONE,
                       y + QR_QUIET_ZONE, x - start, x - start);
        }
    }
}

char *qr_svg(const char *text, const char *title)
{
    if (!text || !text[0])
        return NULL;
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return NULL; /* too long, or out of memory */
    int size = qr->width + 2 * QR_QUIET_ZONE;
    struct buf b;
    buf_init(&b);
    buf_printf(&b,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d "
               "%d\" width=\"%d\" height=\"%d\" role=\"img\"><title>",
               size, size, size * QR_MODULE_PX, size * QR_MODULE_PX);
    put_escaped(&b, title && title[0] ? title : "QR code");
    buf_printf(&b,
               "</title><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
               "<path fill=\"#000\" shape-rendering=\"crispEdges\" d=\"",
               size, size);
    put_modules(&b, qr);
    buf_puts(&b, "\"/></svg>");
    QRcode_free(qr);
    return buf_steal(&b);
}
