/*
** qr.h - QR codes as inline SVG, for the TOTP enrolment page (SEC-3) and
** any other page that shows a code to scan (watch visits, bookings).
**
** The SVG has no XML prolog and no style attributes (so it can sit inline
** in an HTML page under a strict Content-Security-Policy), draws the dark
** modules as one <path> with shape-rendering="crispEdges", has a quiet
** zone of 4 modules and a <title> for screen readers.  Error correction
** level M (15 %).
*/
#ifndef CITYOS_QR_H
#define CITYOS_QR_H

#define QR_QUIET_ZONE 4 /* modules of white border, as ISO/IEC 18004 asks */
#define QR_MODULE_PX  4 /* default display size of one module in px */

/* text: what the code encodes (UTF-8, bytes mode).  title: the accessible
** name, e.g. "認証アプリ登録用のQRコード"; escaped here.  Returns SVG text
** the caller frees, or NULL when text is too long for a QR code. */
char *qr_svg(const char *text, const char *title);

#endif
