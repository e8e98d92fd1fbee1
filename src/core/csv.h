/*
** csv.h - CSV out and in, the way the city's Excel users need it.
**
** Writing (exports such as the audit log, SEC-8): build the file in UTF-8
** with csv_field() and csv_row_end(), then csv_finish() turns it into what
** is downloaded, UTF-8 with a BOM or CP932 (Excel's "Shift_JIS").  Fields are
** quoted per RFC 4180 and guarded against spreadsheet formula injection.
**
** Reading (imports of notice lists, print data): csv_decode_input() finds
** out whether an upload is UTF-8 or CP932 and gives UTF-8; csv_parse() then
** splits it into records under limits and reports errors in Japanese with
** the line number, fit to show to the member of staff who uploaded it.
*/
#ifndef CITYOS_CSV_H
#define CITYOS_CSV_H

#include <stddef.h>

struct buf;

/* ---- writer ---- */

/* Appends one field to the row being built in out (a comma first unless the
** field opens a row).  s is UTF-8 text; NULL is written as an empty field.
** The field is quoted ("...", inner quotes doubled) when it holds a comma,
** a double quote, CR or LF, starts or ends with a space or TAB, or starts
** with U+FEFF (which a reader would take for a BOM).
** Formula injection (OWASP "CSV injection"): a value starting with = + - @
** TAB or CR, or with the full-width ＝ ＋ － ＠ that Japanese Excel also
** reads as a formula, gets a leading single quote, so "=1+2" is written as
** '=1+2 and shows as text.  Numbers meant to stay numbers (negative ones
** included) go through csv_field_int(). */
void csv_field(struct buf *out, const char *s);
/* Appends an integer field as is (no quote prefix; it cannot be a formula). */
void csv_field_int(struct buf *out, long long v);
/* Ends the row with CRLF (RFC 4180). */
void csv_row_end(struct buf *out);

/* Makes the file to download from the UTF-8 CSV built above, appending it
** to out: with cp932 == 0, a UTF-8 BOM (EF BB BF, so Excel does not guess
** Shift_JIS) and the text; otherwise the text converted to CP932 by glibc
** iconv.  CP932 includes the NEC and IBM extensions (①, 髙, 﨑) and glibc
** maps the usual look-alikes (U+301C 〜 to 0x8160, U+2212 − to 0x817C).
** A character CP932 cannot hold (emoji, 𠮷, most non-Japanese scripts) is
** written as '?'.  Returns the number of characters so replaced (0 when the
** conversion was exact), or -1 when utf8 is not valid UTF-8 (out is then
** unchanged). */
long csv_finish(const struct buf *utf8, int cp932, struct buf *out);

/* ---- reader ---- */

enum {
    CSV_OK = 0,
    CSV_EENCODING = -1, /* neither UTF-8 nor CP932, or invalid UTF-8 */
    CSV_EQUOTE = -2,    /* a quoted field not closed, or text after it */
    CSV_ENUL = -3,      /* a NUL byte in the text */
    CSV_ETOOMANYFIELDS = -4,
    CSV_ETOOLONG = -5, /* a field longer than the limit */
    CSV_ETOOMANYROWS = -6,
    CSV_ESTOPPED = -7, /* the row callback returned non-zero */
};

/* Converts an uploaded file to UTF-8, replacing utf8_out's contents:
**   - a UTF-8 BOM is removed and the rest must be valid UTF-8;
**   - otherwise text that is valid UTF-8 (plain ASCII included) is UTF-8;
**   - otherwise it is decoded as CP932 (Shift_JIS with Microsoft's
**     extensions, what Excel writes); bytes that are not CP932 either make
**     the encoding unknown.
** *encoding_out (may be NULL) is set to "UTF-8" or "CP932", or NULL on
** error.  Returns CSV_OK or CSV_EENCODING (message: csv_strerror()). */
int csv_decode_input(const char *data, size_t len, struct buf *utf8_out,
                     const char **encoding_out);

/* Zero in any member means the default shown. */
struct csv_limits {
    size_t max_fields;    /* per record; default 256 */
    size_t max_field_len; /* bytes of one field after unquoting; 64 KiB */
    size_t max_rows;      /* records, header included; default 100000 */
};

struct csv_error {
    int code;          /* CSV_E*; CSV_OK when there was no error */
    size_t line;       /* 1-based physical line where it was found; 0 if none */
    size_t row;        /* 1-based record number, header included; 0 if none */
    char message[256]; /* Japanese, with the line: "3行目: ..." */
};

/* One record.  fields[i] is NUL-terminated UTF-8 (csv_parse refuses NUL
** bytes) and lens[i] its length; quotes are removed, "" is one quote,
** line breaks inside a quoted field are kept as they were (CRLF or LF),
** spaces are kept (trimming is the caller's choice).  The arrays are only
** valid during the callback. */
struct csv_row {
    size_t line;  /* physical line where the record starts, 1-based */
    size_t index; /* record number, 1-based; the header row is 1 */
    size_t n;     /* number of fields, at least 1 */
    const char *const *fields;
    const size_t *lens;
};

/* Returns 0 to go on; non-zero stops csv_parse with CSV_ESTOPPED (the
** callback keeps its own reason in ctx). */
typedef int (*csv_row_fn)(void *ctx, const struct csv_row *row);

/* Parses RFC 4180 CSV from UTF-8 text (a leading BOM is skipped): fields
** separated by ',', records ended by CRLF, LF or a lone CR, fields quoted
** with '"' may hold commas, quotes ("") and line breaks.  A '"' inside an
** unquoted field is kept as a character, as Excel does.  Empty lines are
** skipped; a missing final line break is fine.  Calls cb for each record in
** order.  lim may be NULL (defaults); err may be NULL.  Returns CSV_OK or a
** negative CSV_E* code, with err filled in:
**   CSV_EENCODING  invalid UTF-8 (line of the first bad byte)
**   CSV_ENUL       NUL byte
**   CSV_EQUOTE     unterminated quote (line where the field opened), or
**                  a character after a closing quote
**   CSV_ETOOMANYFIELDS, CSV_ETOOLONG, CSV_ETOOMANYROWS  limits
**   CSV_ESTOPPED   the callback asked to stop (line of that record)
** Records before the error have already been passed to cb. */
int csv_parse(const char *utf8, size_t len, csv_row_fn cb, void *ctx,
              const struct csv_limits *lim, struct csv_error *err);

/* A Japanese message for a CSV_E* code, without a line number. */
const char *csv_strerror(int code);

#endif
