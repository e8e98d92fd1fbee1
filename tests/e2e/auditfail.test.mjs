// auditfail.test.mjs - fail closed (SEC-8, WIN-3): when the audit log
// cannot be written (a trigger makes every insert into audit_log fail),
// an administrator's suspension of an account is refused with an error
// page and the account stays active; signing in is refused too; an alert
// is stored and mailed to the administrators (the SMTP sink receives it)
// and, once the log works again, shows on /admin/alerts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    ENGINE, dbExec, launch, mailsTo, newContext, pathOf, signIn,
    signInPrivileged, startServer, tagOf, waitFor,
} from './lib.mjs';

const BLOCK = {
    sqlite: "CREATE TRIGGER audit_block BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'blocked'); END;",
    postgresql: "CREATE FUNCTION audit_block() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'blocked'; END $$; " +
        'CREATE TRIGGER audit_block BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_block();',
};
const UNBLOCK = {
    sqlite: 'DROP TRIGGER audit_block;',
    postgresql: 'DROP TRIGGER audit_block ON audit_log; DROP FUNCTION audit_block();',
};

let server, browser, admin, adminCtx;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    adminCtx = await newContext(browser, server);
    admin = await adminCtx.newPage();
    admin.on('dialog', (d) => d.accept());
    await signInPrivileged(admin, 'admin');
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

const status = async (login) =>
    (await dbExec(server, `SELECT status FROM users WHERE login = '${login}'`)).trim();

test('with the audit log blocked, a suspension is refused and not done', async () => {
    // Open tanaka's page first: viewing it is itself audited.
    await admin.goto('/admin/users?q=tanaka');
    await Promise.all([admin.waitForNavigation(), admin.locator('#users a', { hasText: /^tanaka$/ }).click()]);
    assert.equal((await admin.textContent('#account-login')).trim(), 'tanaka');
    const alertsBefore = Number((await dbExec(server, 'SELECT COUNT(*) FROM alerts')).trim());

    await dbExec(server, BLOCK[ENGINE]);
    const [res] = await Promise.all([admin.waitForNavigation(), admin.click('#suspend-user')]);
    assert.ok(res.status() >= 500, `status ${res.status()}`);
    assert.match(await admin.textContent('main'), /監査ログに記録できない/);
    assert.equal(await status('tanaka'), 'active', 'the account must not be suspended');

    const alerts = await dbExec(server, 'SELECT kind FROM alerts');
    assert.ok(alerts.trim().split('\n').length > alertsBefore, `alerts: ${alerts}`);
    assert.match(alerts, /audit/);
});

test('with the audit log blocked, signing in is refused', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    const res = await signIn(page, 'sato');
    assert.ok(res.status() >= 500, `status ${res.status()}`);
    await page.goto('/');
    assert.equal(pathOf(page), '/login', 'no session was opened');
    await ctx.close();
});

test('the alert is mailed to the administrators', async () => {
    const mails = await waitFor('the alert mail', () => {
        const m = mailsTo(server.smtp.dir, server.alertMail);
        return m.length ? m : null;
    }, 30000);
    assert.match(mails[0], /audit/i);
    // The demo administrator's own address receives it too.
    assert.ok(mailsTo(server.smtp.dir, 'admin@example.jp').length >= 1, 'mail to admin@example.jp');
});

test('once unblocked, the alert shows on /admin/alerts and actions work again', async () => {
    await dbExec(server, UNBLOCK[ENGINE]);
    const res = await admin.goto('/admin/alerts');
    assert.equal(res.status(), 200);
    assert.match(await admin.textContent('#alerts'), /audit/);
    // Suspension now goes through (and is audited).
    await admin.goto('/admin/users?q=tanaka');
    await Promise.all([admin.waitForNavigation(), admin.locator('#users a', { hasText: /^tanaka$/ }).click()]);
    await Promise.all([admin.waitForNavigation(), admin.click('#suspend-user')]);
    assert.equal(await status('tanaka'), 'suspended');
    const r = await server.cli(['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);
});
