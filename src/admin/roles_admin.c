/*
** roles_admin.c - the role editor (SEC-2).  Roles and their permissions
** are rows (roles, role_permissions); this file holds the catalog of the
** permissions a role can be given, with their labels and groups, and the
** pages that list, create, edit and delete roles.  The server loads a
** session's permissions at every request, so an edit applies at once.
**
** Every change is audited in its own transaction with the values before
** and after ("role.create", "role.update", "role.permissions",
** "role.delete").  The last role whose active members hold system.admin
** cannot lose it, so the city never locks itself out.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/audit.h"
#include "core/db.h"
#include "core/tmpl.h"

/* ---- the permission catalog --------------------------------------------- */

/* Services to come add their permissions here; a permission a role holds
** that is not in this list is kept untouched by the editor. */
const struct perm_def admin_perms[] = {
    {"users.read", "perm.group.accounts", "アカウントの閲覧", "View accounts"},
    {"users.write", "perm.group.accounts", "アカウントの作成・変更・停止・削除",
     "Create, change, suspend and delete accounts"},
    {"roles.write", "perm.group.accounts", "役割と権限の編集",
     "Edit roles and permissions"},
    {"system.admin", "perm.group.accounts", "システム管理者",
     "System administration"},
    {"audit.read", "perm.group.audit", "監査ログの検索",
     "Search the audit log"},
    {"audit.export", "perm.group.audit", "監査ログの書き出し（CSV）",
     "Export the audit log (CSV)"},
    {"alerts.read", "perm.group.audit", "アラートの閲覧と確認",
     "View and acknowledge alerts"},
    {"alerts.receive", "perm.group.audit", "アラートのメール受信",
     "Receive alert mail"},
    {"booking.staff", "perm.group.booking", "予約の受付業務（職員）",
     "Bookings: staff work"},
    {"booking.operator", "perm.group.booking",
     "市民に代わる予約（窓口・コールセンター）",
     "Bookings on a citizen's behalf (counter, call center)"},
    {"booking.settings", "perm.group.booking", "予約枠と設定の管理",
     "Bookings: slots and settings"},
    {"pickup.import", "perm.group.booking",
     "交付通知書・カード作成データの取込（マイナンバーカード）",
     "Import notices and card production data (My Number Card)"},
    {"pickup.export", "perm.group.booking", "予約一覧の書き出し（CSV）",
     "Export booking lists (CSV)"},
    {"print.run", "perm.group.print", "通知書の一括印刷の実行",
     "Run batch printing of notices"},
    {"print.schedule", "perm.group.print", "一括印刷の予定の管理",
     "Schedule batch printing"},
    {"health.clinic", "perm.group.health",
     "同意を得た患者の記録の閲覧（医療機関）",
     "Records of consenting patients (clinic)"},
    {"health.staff", "perm.group.health", "健康推進課の業務",
     "Health promotion staff work"},
    {"child.staff", "perm.group.child", "こども家庭課の業務",
     "Child and family staff work"},
    {"itops.staff", "perm.group.itops",
     "情報政策課の運用業務（ヘルプデスク・台帳）",
     "ICT operations (helpdesk, ledgers)"},
};
const size_t admin_nperms = ARRAY_LEN(admin_perms);

const struct perm_def *admin_perm_find(const char *name)
{
    for (size_t i = 0; i < admin_nperms; i++)
        if (strcmp(admin_perms[i].name, name) == 0)
            return &admin_perms[i];
    return NULL;
}

/* ---- saving ------------------------------------------------------------- */

static int role_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static int label_valid(const char *s)
{
    return s && *s && admin_utf8_chars(s) <= 100 && !strpbrk(s, "\r\n\t<>");
}

static int input_valid(const struct role_input *in, int creating)
{
    if (creating && (!in->name || !role_name_valid(in->name)))
        return 0;
    if (!label_valid(in->label_ja) || !label_valid(in->label_en) ||
        in->nperms > ROLE_MAX_PERMS)
        return 0;
    for (size_t i = 0; i < in->nperms; i++)
        if (!admin_perm_find(in->perms[i]))
            return 0;
    return 1;
}

static int perm_in(const char *const *list, size_t n, const char *p)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], p) == 0)
            return 1;
    return 0;
}

/* A role's permissions, in name order; the caller frees with perms_free. */
struct perm_set {
    char *v[ROLE_MAX_PERMS * 2];
    size_t n;
};

static void perms_free(struct perm_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

static int perms_load(struct db_conn *c, int64_t role_id, struct perm_set *s)
{
    s->n = 0;
    struct db_stmt *st = db_queryf(
        c, "SELECT perm FROM role_permissions WHERE role_id = ? ORDER BY perm",
        "i", role_id);
    if (!st)
        return -1;
    int rc;
    while ((rc = db_step(st)) == DB_ROW)
        if (s->n < ARRAY_LEN(s->v) && db_col_text(st, 0))
            s->v[s->n++] = xstrdup(db_col_text(st, 0));
    db_finalize(st);
    return rc == DB_DONE ? 0 : -1;
}

static int set_has(const struct perm_set *s, const char *p)
{
    return perm_in((const char *const *)s->v, s->n, p);
}

static json_t *set_json(const struct perm_set *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(a, json_string(s->v[i]));
    return a;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The permissions after the edit: those asked for, plus those outside the
** catalog that the role already held. */
static void perms_after(const struct role_input *in,
                        const struct perm_set *before, struct perm_set *after)
{
    after->n = 0;
    for (size_t i = 0; i < in->nperms; i++)
        if (!set_has(after, in->perms[i]))
            after->v[after->n++] = xstrdup(in->perms[i]);
    for (size_t i = 0; i < before->n && after->n < ARRAY_LEN(after->v); i++)
        if (!admin_perm_find(before->v[i]) && !set_has(after, before->v[i]))
            after->v[after->n++] = xstrdup(before->v[i]);
    qsort(after->v, after->n, sizeof after->v[0], cmp_str);
}

static int64_t count(struct db_conn *c, const char *sql, int64_t id)
{
    int64_t n = 0;
    if (db_query_int(c, &n, sql, "i", id) != DB_ROW)
        return -1;
    return n;
}

/* Appends an audit entry whose detail is the JSON object d (taken). */
static int audit_json(struct db_conn *c, const struct actor *who,
                      const char *action, const char *role_name, json_t *d)
{
    char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    int rc = s ? audit_append(c, who, action, "role", role_name, "ok", s) : -1;
    free(s);
    return rc;
}

static json_t *attrs_json(const char *label_ja, const char *label_en,
                          int privileged)
{
    json_t *o = json_object();
    json_object_set_new(o, "label_ja", json_string(label_ja));
    json_object_set_new(o, "label_en", json_string(label_en));
    json_object_set_new(o, "privileged", json_boolean(privileged));
    return o;
}

static int rollback_with(struct db_conn *c, int rc)
{
    db_rollback(c);
    if (rc == ROLES_EAUDIT)
        audit_alert(db_of(c), "audit.write_failed", "role");
    return rc;
}

static int insert_perm(struct db_conn *c, int64_t id, const char *p)
{
    return db_run(c,
                  "INSERT INTO role_permissions (role_id, perm) VALUES (?, ?)",
                  "is", id, p) == 1
               ? 0
               : -1;
}

static int role_create(struct db_conn *c, const struct actor *who,
                       const struct role_input *in, int64_t *id_out)
{
    if (db_begin(c) != DB_OK)
        return ROLES_EDB;
    int64_t now = now_unix();
    struct db_stmt *st = db_queryf(
        c,
        "INSERT INTO roles (name, label_ja, label_en, privileged, builtin, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?) RETURNING id",
        "sssiii", in->name, in->label_ja, in->label_en,
        (int64_t)(in->privileged != 0), now, now);
    if (!st)
        return rollback_with(c, ROLES_EDB);
    int rc = db_step(st);
    int64_t id = rc == DB_ROW ? db_col_int(st, 0) : 0;
    db_finalize(st);
    if (rc == DB_CONSTRAINT)
        return rollback_with(c, ROLES_EEXISTS);
    if (rc != DB_ROW)
        return rollback_with(c, ROLES_EDB);
    struct perm_set none = {.n = 0}, after;
    perms_after(in, &none, &after);
    for (size_t i = 0; i < after.n; i++)
        if (insert_perm(c, id, after.v[i]) != 0) {
            perms_free(&after);
            return rollback_with(c, ROLES_EDB);
        }
    json_t *d = attrs_json(in->label_ja, in->label_en, in->privileged);
    json_object_set_new(d, "name", json_string(in->name));
    json_object_set_new(d, "permissions", set_json(&after));
    perms_free(&after);
    if (audit_json(c, who, "role.create", in->name, d) != 0)
        return rollback_with(c, ROLES_EAUDIT);
    if (db_commit(c) != DB_OK)
        return rollback_with(c, ROLES_EDB);
    if (id_out)
        *id_out = id;
    return ROLES_OK;
}

/* Applies the difference between two permission sets. */
static int perms_apply(struct db_conn *c, int64_t id,
                       const struct perm_set *before,
                       const struct perm_set *after)
{
    for (size_t i = 0; i < before->n; i++)
        if (!set_has(after, before->v[i]) &&
            db_run(c,
                   "DELETE FROM role_permissions WHERE role_id = ? AND "
                   "perm = ?",
                   "is", id, before->v[i]) < 0)
            return -1;
    for (size_t i = 0; i < after->n; i++)
        if (!set_has(before, after->v[i]) && insert_perm(c, id, after->v[i]))
            return -1;
    return 0;
}

static int sets_equal(const struct perm_set *a, const struct perm_set *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!set_has(b, a->v[i]))
            return 0;
    return 1;
}

/* Would taking system.admin from this role leave no active user holding
** it?  Only when the role has active members and no other role does. */
static int last_admin_role(struct db_conn *c, int64_t id)
{
    int64_t mine = count(c,
                         "SELECT COUNT(*) FROM users WHERE role_id = ? AND "
                         "status = 'active'",
                         id);
    int64_t others = count(c,
                           "SELECT COUNT(*) FROM users u JOIN "
                           "role_permissions p ON p.role_id = u.role_id AND "
                           "p.perm = 'system.admin' WHERE u.status = "
                           "'active' AND u.role_id <> ?",
                           id);
    if (mine < 0 || others < 0)
        return -1;
    return mine > 0 && others == 0;
}

static int role_update(struct db_conn *c, const struct actor *who, int64_t id,
                       const struct role_input *in)
{
    if (db_begin(c) != DB_OK)
        return ROLES_EDB;
    struct db_stmt *st = db_queryf(c,
                                   "SELECT name, label_ja, label_en, "
                                   "privileged FROM roles WHERE id = ?",
                                   "i", id);
    if (!st)
        return rollback_with(c, ROLES_EDB);
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_finalize(st);
        return rollback_with(c, rc == DB_DONE ? ROLES_ENOTFOUND : ROLES_EDB);
    }
    char name[64], ja[512], en[512];
    str_copy(name, db_col_text(st, 0) ? db_col_text(st, 0) : "", sizeof name);
    str_copy(ja, db_col_text(st, 1) ? db_col_text(st, 1) : "", sizeof ja);
    str_copy(en, db_col_text(st, 2) ? db_col_text(st, 2) : "", sizeof en);
    int priv = db_col_int(st, 3) != 0;
    db_finalize(st);

    struct perm_set before, after;
    if (perms_load(c, id, &before) != 0)
        return rollback_with(c, ROLES_EDB);
    perms_after(in, &before, &after);
    int ret = ROLES_OK;
    if (set_has(&before, "system.admin") && !set_has(&after, "system.admin")) {
        int last = last_admin_role(c, id);
        if (last != 0) {
            ret = last < 0 ? ROLES_EDB : ROLES_ELASTADMIN;
            goto fail;
        }
    }
    int new_priv = in->privileged != 0;
    int attrs_changed = strcmp(ja, in->label_ja) != 0 ||
                        strcmp(en, in->label_en) != 0 || priv != new_priv;
    int perms_changed = !sets_equal(&before, &after);
    if (attrs_changed) {
        if (db_run(c,
                   "UPDATE roles SET label_ja = ?, label_en = ?, "
                   "privileged = ?, updated_at = ? WHERE id = ?",
                   "ssiii", in->label_ja, in->label_en, (int64_t)new_priv,
                   now_unix(), id) != 1) {
            ret = ROLES_EDB;
            goto fail;
        }
        json_t *d = json_object();
        json_object_set_new(d, "before", attrs_json(ja, en, priv));
        json_object_set_new(d, "after",
                            attrs_json(in->label_ja, in->label_en, new_priv));
        if (audit_json(c, who, "role.update", name, d) != 0) {
            ret = ROLES_EAUDIT;
            goto fail;
        }
    }
    /* Members sign in again under the rules of a privileged role. */
    if (!priv && new_priv &&
        db_run(c,
               "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users "
               "WHERE role_id = ?)",
               "i", id) < 0) {
        ret = ROLES_EDB;
        goto fail;
    }
    if (perms_changed) {
        if (perms_apply(c, id, &before, &after) != 0) {
            ret = ROLES_EDB;
            goto fail;
        }
        json_t *d = json_object();
        json_object_set_new(d, "before", set_json(&before));
        json_object_set_new(d, "after", set_json(&after));
        if (audit_json(c, who, "role.permissions", name, d) != 0) {
            ret = ROLES_EAUDIT;
            goto fail;
        }
    }
    perms_free(&before);
    perms_free(&after);
    if (!attrs_changed && !perms_changed) {
        db_rollback(c); /* nothing to record */
        return ROLES_OK;
    }
    if (db_commit(c) != DB_OK)
        return rollback_with(c, ROLES_EDB);
    return ROLES_OK;
fail:
    perms_free(&before);
    perms_free(&after);
    return rollback_with(c, ret);
}

int roles_save(struct db_conn *c, const struct actor *who, int64_t id,
               const struct role_input *in, int64_t *id_out)
{
    if (!input_valid(in, id == 0))
        return ROLES_EINVAL;
    if (id == 0)
        return role_create(c, who, in, id_out);
    if (id_out)
        *id_out = id;
    return role_update(c, who, id, in);
}

int roles_delete(struct db_conn *c, const struct actor *who, int64_t id)
{
    if (db_begin(c) != DB_OK)
        return ROLES_EDB;
    struct db_stmt *st =
        db_queryf(c, "SELECT name, builtin FROM roles WHERE id = ?", "i", id);
    if (!st)
        return rollback_with(c, ROLES_EDB);
    int rc = db_step(st);
    char name[64] = "";
    int builtin = 0;
    if (rc == DB_ROW) {
        str_copy(name, db_col_text(st, 0) ? db_col_text(st, 0) : "",
                 sizeof name);
        builtin = db_col_int(st, 1) != 0;
    }
    db_finalize(st);
    if (rc != DB_ROW)
        return rollback_with(c, rc == DB_DONE ? ROLES_ENOTFOUND : ROLES_EDB);
    int64_t members =
        count(c, "SELECT COUNT(*) FROM users WHERE role_id = ?", id);
    if (members < 0)
        return rollback_with(c, ROLES_EDB);
    if (builtin || members > 0)
        return rollback_with(c, ROLES_EINUSE);
    struct perm_set before;
    if (perms_load(c, id, &before) != 0)
        return rollback_with(c, ROLES_EDB);
    json_t *d = json_object();
    json_object_set_new(d, "before", set_json(&before));
    perms_free(&before);
    if (db_run(c, "DELETE FROM role_permissions WHERE role_id = ?", "i", id) <
            0 ||
        db_run(c, "DELETE FROM roles WHERE id = ?", "i", id) != 1) {
        json_decref(d);
        return rollback_with(c, ROLES_EDB);
    }
    if (audit_json(c, who, "role.delete", name, d) != 0)
        return rollback_with(c, ROLES_EAUDIT);
    if (db_commit(c) != DB_OK)
        return rollback_with(c, ROLES_EDB);
    return ROLES_OK;
}

/* ---- pages -------------------------------------------------------------- */

static const char *lang_label(struct req *rq, const char *ja, const char *en)
{
    return strcmp(rq->lang, "en") == 0 ? en : ja;
}

static const char *text_or(const char *s)
{
    return s ? s : "";
}

static json_t *text_json(const char *s)
{
    return json_string(s ? s : "");
}

static int get_roles(struct req *rq, struct resp *rs)
{
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT r.id, r.name, r.label_ja, r.label_en, r.privileged, "
        "r.builtin, (SELECT COUNT(*) FROM users u WHERE u.role_id = r.id), "
        "(SELECT COUNT(*) FROM users u WHERE u.role_id = r.id AND "
        "u.status = 'active'), (SELECT COUNT(*) FROM role_permissions p "
        "WHERE p.role_id = r.id) FROM roles r ORDER BY r.id",
        "");
    json_t *rows = json_array();
    int rc = DB_ERROR;
    while (st && (rc = db_step(st)) == DB_ROW) {
        json_t *o = json_object();
        char href[64];
        snprintf(href, sizeof href, "/admin/roles/%lld",
                 (long long)db_col_int(st, 0));
        json_object_set_new(o, "href", json_string(href));
        json_object_set_new(o, "name", text_json(db_col_text(st, 1)));
        json_object_set_new(
            o, "label",
            text_json(lang_label(rq, db_col_text(st, 2), db_col_text(st, 3))));
        json_object_set_new(o, "privileged",
                            json_boolean(db_col_int(st, 4) != 0));
        json_object_set_new(o, "builtin", json_boolean(db_col_int(st, 5) != 0));
        json_object_set_new(o, "members", json_integer(db_col_int(st, 6)));
        json_object_set_new(o, "active", json_integer(db_col_int(st, 7)));
        json_object_set_new(o, "nperms", json_integer(db_col_int(st, 8)));
        json_array_append_new(rows, o);
    }
    db_finalize(st);
    if (rc != DB_DONE) {
        json_decref(rows);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    json_t *ctx = json_object();
    json_object_set_new(ctx, "roles", rows);
    resp_page(rq, rs, 200, "admin/roles", "admin.roles.title", ctx);
    return 0;
}

/* What the role form shows: from the database or from a post. */
struct role_form {
    int64_t id; /* 0 for a new role */
    char name[64];
    char label_ja[512];
    char label_en[512];
    int privileged;
    int builtin;
    char perms[ROLE_MAX_PERMS][48]; /* catalog permissions checked */
    size_t nperms;
    char extra[ROLE_MAX_PERMS][48]; /* held, outside the catalog */
    size_t nextra;
    int nerr;
    struct {
        const char *field;
        const char *key;
    } err[8];
};

static void role_problem(struct role_form *f, const char *field,
                         const char *key)
{
    if (f->nerr < (int)ARRAY_LEN(f->err)) {
        f->err[f->nerr].field = field;
        f->err[f->nerr].key = key;
        f->nerr++;
    }
}

static int form_has_perm(const struct role_form *f, const char *p)
{
    for (size_t i = 0; i < f->nperms; i++)
        if (strcmp(f->perms[i], p) == 0)
            return 1;
    return 0;
}

/* The id of a permission's checkbox: "perm-users-read". */
static void perm_id(const char *name, char *out, size_t n)
{
    snprintf(out, n, "perm-%s", name);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '-';
}

/* Loads role id into f; 0, or an HTTP status. */
static int role_form_load(struct req *rq, int64_t id, struct role_form *f)
{
    memset(f, 0, sizeof *f);
    f->id = id;
    struct db_stmt *st = db_queryf(rq->db,
                                   "SELECT name, label_ja, label_en, "
                                   "privileged, builtin FROM roles WHERE "
                                   "id = ?",
                                   "i", id);
    if (!st)
        return 500;
    int rc = db_step(st);
    if (rc == DB_ROW) {
        str_copy(f->name, text_or(db_col_text(st, 0)), sizeof f->name);
        str_copy(f->label_ja, text_or(db_col_text(st, 1)), sizeof f->label_ja);
        str_copy(f->label_en, text_or(db_col_text(st, 2)), sizeof f->label_en);
        f->privileged = db_col_int(st, 3) != 0;
        f->builtin = db_col_int(st, 4) != 0;
    }
    db_finalize(st);
    if (rc != DB_ROW)
        return rc == DB_DONE ? 404 : 500;
    struct perm_set s;
    if (perms_load(rq->db, id, &s) != 0)
        return 500;
    for (size_t i = 0; i < s.n; i++) {
        if (admin_perm_find(s.v[i]) && f->nperms < ROLE_MAX_PERMS)
            str_copy(f->perms[f->nperms++], s.v[i], sizeof f->perms[0]);
        else if (f->nextra < ROLE_MAX_PERMS)
            str_copy(f->extra[f->nextra++], s.v[i], sizeof f->extra[0]);
    }
    perms_free(&s);
    return 0;
}

/* Reads the posted fields over f (which holds the stored role, or zeros
** for a new one).  Returns the number of problems. */
static int role_form_read(struct req *rq, struct role_form *f)
{
    if (f->id == 0) {
        if (admin_text(req_param(rq, "name"), 32, f->name, sizeof f->name) !=
                0 ||
            !role_name_valid(f->name))
            role_problem(f, "name", "admin.err.role_name");
    }
    if (admin_text(req_param(rq, "label_ja"), 100, f->label_ja,
                   sizeof f->label_ja) != 0 ||
        !label_valid(f->label_ja))
        role_problem(f, "label_ja", "admin.err.label");
    if (admin_text(req_param(rq, "label_en"), 100, f->label_en,
                   sizeof f->label_en) != 0 ||
        !label_valid(f->label_en))
        role_problem(f, "label_en", "admin.err.label");
    const char *pv = kv_get(&rq->form, "privileged");
    f->privileged = pv && strcmp(pv, "1") == 0;
    f->nperms = 0;
    int unknown = 0;
    for (size_t i = 0; i < rq->form.n; i++) {
        const struct kv *kv = &rq->form.items[i];
        if (strcmp(kv->key, "perm") != 0)
            continue;
        if (!admin_perm_find(kv->val) || f->nperms >= ROLE_MAX_PERMS) {
            unknown = 1;
            continue;
        }
        if (!form_has_perm(f, kv->val))
            str_copy(f->perms[f->nperms++], kv->val, sizeof f->perms[0]);
    }
    if (unknown) /* only a forged form gets here; point at the list */
        role_problem(f, "perm-users-read", "admin.err.perm_unknown");
    return f->nerr;
}

static void role_page(struct req *rq, struct resp *rs, int status,
                      const struct role_form *f, const char *error_key)
{
    json_t *ctx = json_object();
    json_t *form = json_object();
    json_t *errors = json_array();
    if (f->id == 0) {
        json_t *nf = admin_field(rq, "name", "admin.role.name", f->name, 32, 1);
        json_object_set_new(
            nf, "hint",
            json_string(i18n_get(rq->lang, "admin.role.name_hint")));
        json_object_set_new(nf, "autocomplete", json_string("off"));
        json_object_set_new(form, "name", nf);
    }
    json_object_set_new(form, "label_ja",
                        admin_field(rq, "label_ja", "admin.role.label_ja",
                                    f->label_ja, 100, 1));
    json_object_set_new(form, "label_en",
                        admin_field(rq, "label_en", "admin.role.label_en",
                                    f->label_en, 100, 1));
    json_t *priv = json_object();
    json_object_set_new(priv, "id", json_string("privileged"));
    json_object_set_new(priv, "name", json_string("privileged"));
    json_object_set_new(priv, "value", json_string("1"));
    json_object_set_new(
        priv, "label",
        json_string(i18n_get(rq->lang, "admin.role.privileged")));
    json_object_set_new(
        priv, "hint",
        json_string(i18n_get(rq->lang, "admin.role.privileged_hint")));
    if (f->privileged)
        json_object_set_new(priv, "checked", json_true());
    json_object_set_new(form, "privileged", priv);

    /* Permission checkboxes, one fieldset per group. */
    json_t *groups = json_array();
    json_t *group = NULL;
    const char *cur = NULL;
    for (size_t i = 0; i < admin_nperms; i++) {
        const struct perm_def *d = &admin_perms[i];
        if (!cur || strcmp(cur, d->group) != 0) {
            cur = d->group;
            group = json_object();
            json_object_set_new(group, "legend",
                                json_string(i18n_get(rq->lang, d->group)));
            json_object_set_new(group, "perms", json_array());
            json_array_append_new(groups, group);
        }
        json_t *cb = json_object();
        char id[64];
        perm_id(d->name, id, sizeof id);
        json_object_set_new(cb, "id", json_string(id));
        json_object_set_new(cb, "name", json_string("perm"));
        json_object_set_new(cb, "value", json_string(d->name));
        json_object_set_new(
            cb, "label", json_string(lang_label(rq, d->label_ja, d->label_en)));
        json_object_set_new(cb, "hint", json_string(d->name));
        if (form_has_perm(f, d->name))
            json_object_set_new(cb, "checked", json_true());
        json_array_append_new(json_object_get(group, "perms"), cb);
        json_object_set_new(form, id, json_incref(cb));
    }
    for (int i = 0; i < f->nerr; i++)
        admin_field_error(rq, form, errors, f->err[i].field, f->err[i].key);
    json_t *extra = json_array();
    for (size_t i = 0; i < f->nextra; i++)
        json_array_append_new(extra, json_string(f->extra[i]));
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "groups", groups);
    json_object_set_new(ctx, "extra", extra);
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "is_new", json_boolean(f->id == 0));
    json_object_set_new(ctx, "role_name", json_string(f->name));
    char action[64];
    if (f->id)
        snprintf(action, sizeof action, "/admin/roles/%lld", (long long)f->id);
    else
        str_copy(action, "/admin/roles/new", sizeof action);
    json_object_set_new(ctx, "action", json_string(action));
    if (f->id && !f->builtin) {
        char del[80];
        snprintf(del, sizeof del, "/admin/roles/%lld/delete", (long long)f->id);
        json_object_set_new(ctx, "delete_href", json_string(del));
    }
    if (error_key) {
        json_t *fl = json_object();
        json_object_set_new(fl, "kind", json_string("error"));
        json_object_set_new(fl, "urgent", json_true());
        json_object_set_new(fl, "text",
                            json_string(i18n_get(rq->lang, error_key)));
        json_object_set_new(ctx, "action_error", fl);
    }
    json_t *bc = json_array();
    json_t *o = json_object();
    json_object_set_new(o, "href", json_string("/admin/roles"));
    json_object_set_new(o, "label",
                        json_string(i18n_get(rq->lang, "admin.roles.title")));
    json_array_append_new(bc, o);
    json_object_set_new(ctx, "breadcrumbs", bc);
    resp_page(rq, rs, status, "admin/role",
              f->id ? "admin.role.title" : "admin.role_new.title", ctx);
}

static int get_role_new(struct req *rq, struct resp *rs)
{
    struct role_form f;
    memset(&f, 0, sizeof f);
    role_page(rq, rs, 200, &f, NULL);
    return 0;
}

/* Turns the form into a role_input pointing into f. */
static void role_input_of(const struct role_form *f, struct role_input *in)
{
    memset(in, 0, sizeof *in);
    in->name = f->name;
    in->label_ja = f->label_ja;
    in->label_en = f->label_en;
    in->privileged = f->privileged;
    for (size_t i = 0; i < f->nperms; i++)
        in->perms[in->nperms++] = f->perms[i];
}

/* The answer to a roles_save()/roles_delete() result. */
static void role_result(struct req *rq, struct resp *rs, struct role_form *f,
                        int rc, const char *done)
{
    char loc[96];
    switch (rc) {
    case ROLES_OK:
        snprintf(loc, sizeof loc, "/admin/roles/%lld?done=%s", (long long)f->id,
                 done);
        resp_redirect(rs, loc);
        return;
    case ROLES_EEXISTS:
        role_problem(f, "name", "admin.err.role_taken");
        role_page(rq, rs, 400, f, NULL);
        return;
    case ROLES_EINVAL:
        role_problem(f, "label_ja", "admin.err.invalid");
        role_page(rq, rs, 400, f, NULL);
        return;
    case ROLES_ELASTADMIN:
        role_page(rq, rs, 409, f, "admin.err.last_admin_role");
        return;
    case ROLES_ENOTFOUND:
        resp_error(rq, rs, 404, NULL, NULL);
        return;
    case ROLES_EAUDIT:
        resp_error(rq, rs, 503, "error.audit", NULL);
        return;
    default:
        resp_error(rq, rs, 500, NULL, NULL);
    }
}

static int post_role_new(struct req *rq, struct resp *rs)
{
    struct role_form f;
    memset(&f, 0, sizeof f);
    if (role_form_read(rq, &f) > 0) {
        role_page(rq, rs, 400, &f, NULL);
        return 0;
    }
    struct role_input in;
    role_input_of(&f, &in);
    int64_t id = 0;
    int rc = roles_save(rq->db, &rq->actor, 0, &in, &id);
    f.id = rc == ROLES_OK ? id : 0;
    role_result(rq, rs, &f, rc, "role_created");
    return 0;
}

/* The role named by the route; answers and returns -1 when there is none. */
static int load_role(struct req *rq, struct resp *rs, struct role_form *f)
{
    int64_t id;
    int status = admin_parse_id(rq->params[0], &id) == 0
                     ? role_form_load(rq, id, f)
                     : 404;
    if (status != 0) {
        resp_error(rq, rs, status, NULL, NULL);
        return -1;
    }
    return 0;
}

static int get_role(struct req *rq, struct resp *rs)
{
    struct role_form f;
    if (load_role(rq, rs, &f) != 0)
        return 0;
    role_page(rq, rs, 200, &f, NULL);
    return 0;
}

static int post_role(struct req *rq, struct resp *rs)
{
    struct role_form f;
    if (load_role(rq, rs, &f) != 0)
        return 0;
    if (role_form_read(rq, &f) > 0) {
        role_page(rq, rs, 400, &f, NULL);
        return 0;
    }
    struct role_input in;
    role_input_of(&f, &in);
    int rc = roles_save(rq->db, &rq->actor, f.id, &in, NULL);
    role_result(rq, rs, &f, rc, "role_updated");
    return 0;
}

static int get_role_delete(struct req *rq, struct resp *rs)
{
    struct role_form f;
    if (load_role(rq, rs, &f) != 0)
        return 0;
    json_t *ctx = json_object();
    const char *names[] = {"label", "name"};
    const char *values[] = {lang_label(rq, f.label_ja, f.label_en), f.name};
    char *q =
        admin_msg(rq->lang, "admin.role_delete.question", names, values, 2);
    json_object_set_new(ctx, "question", json_string(q));
    free(q);
    json_object_set_new(
        ctx, "warning",
        json_string(i18n_get(rq->lang, "admin.role_delete.warning")));
    char href[96];
    snprintf(href, sizeof href, "/admin/roles/%lld/delete", (long long)f.id);
    json_object_set_new(ctx, "action", json_string(href));
    snprintf(href, sizeof href, "/admin/roles/%lld", (long long)f.id);
    json_object_set_new(ctx, "cancel", json_string(href));
    json_object_set_new(
        ctx, "button",
        json_string(i18n_get(rq->lang, "admin.role_delete.button")));
    resp_page(rq, rs, 200, "admin/confirm", "admin.role_delete.title", ctx);
    return 0;
}

static int post_role_delete(struct req *rq, struct resp *rs)
{
    struct role_form f;
    if (load_role(rq, rs, &f) != 0)
        return 0;
    int rc = roles_delete(rq->db, &rq->actor, f.id);
    if (rc == ROLES_OK)
        resp_redirect(rs, "/admin/roles?done=role_deleted");
    else if (rc == ROLES_EINUSE)
        role_page(rq, rs, 409, &f, "admin.err.role_in_use");
    else
        role_result(rq, rs, &f, rc, "");
    return 0;
}

static const struct route roles_routes[] = {
    {"GET", "/admin/roles", get_roles, "roles.write", 0},
    {"GET", "/admin/roles/new", get_role_new, "roles.write", 0},
    {"POST", "/admin/roles/new", post_role_new, "roles.write", 0},
    {"GET", "/admin/roles/:id", get_role, "roles.write", 0},
    {"POST", "/admin/roles/:id", post_role, "roles.write", 0},
    {"GET", "/admin/roles/:id/delete", get_role_delete, "roles.write", 0},
    {"POST", "/admin/roles/:id/delete", post_role_delete, "roles.write", 0},
};

void roles_admin_register(void)
{
    router_add(roles_routes, ARRAY_LEN(roles_routes));
}
