/*
** tmpl.h - the HTML template engine.  Mustache-like syntax over a jansson
** value; every substitution is HTML-escaped unless it is explicitly raw.
**
**   {{name}}          escaped value (dotted paths: {{user.login}})
**   {{{name}}}        raw value, only for HTML the server built itself
**   {{#name}}..{{/name}}  section: repeated for arrays, shown if truthy
**   {{^name}}..{{/name}}  inverted section
**   {{> partial}}     includes templates/partial.html with the same context
**   {{@key}}          message from the catalog of the request's language
**                     (messages/ja.json, messages/en.json and each module's
**                     messages/<module>.ja.json, .en.json), escaped
**   {{.}}             the current item inside a section over scalars
**   {{.name}}         name looked up in the innermost object context only,
**                     never in outer ones (partials use it so that a key a
**                     field lacks is not taken from the page around it)
**   {{! comment }}
**
** Names are looked up like mustache: the first segment of a dotted path in
** the innermost context that has it, the rest inside that value only.  A
** section is shown for a non-empty array (once per item, the item becoming
** the innermost context), an object, true, a non-empty string or a
** non-zero number; an inverted section for anything else, missing
** included.  A missing name renders as nothing; integral numbers render
** without a fraction.  A tag alone on its line takes its line with it.
** {{@key}} for a key in neither catalog renders the key (logged once).
**
** A page is rendered into the context key "body" and then into its layout
** (templates/layout.html).  Templates and catalogs are embedded in the
** binary at build time (see embed.h), so a deployment is one file.
*/
#ifndef CITYOS_TMPL_H
#define CITYOS_TMPL_H

#include <jansson.h>
#include "util.h"

/* Parses every embedded template and loads both catalogs now rather than
** on first use; call once at start-up to fail fast.  Returns 0, or -1 when
** any template or catalog is malformed (each problem is logged).  Safe to
** call from any thread, any number of times. */
int tmpl_init(void);

/* Renders templates/<name>.html.  Returns 0, or -1 when the template is
** missing or malformed (the message goes to the log; out holds nothing
** useful). */
int tmpl_render(const char *name, json_t *ctx, const char *lang,
                struct buf *out);

/* Renders a string template (used by tests and mail bodies). */
int tmpl_render_string(const char *src, json_t *ctx, const char *lang,
                       struct buf *out);

/* The catalog message for key in lang ("ja" or "en"); falls back to ja,
** then to the key itself.  Never NULL.  A language's catalog is
** messages/<lang>.json merged with every messages/<module>.<lang>.json
** (flat objects, key -> string; a key defined twice is an error). */
const char *i18n_get(const char *lang, const char *key);

/* Appends s to out with & < > " ' escaped. */
void html_escape(struct buf *out, const char *s);

#endif
