// suspend.test.mjs - suspending an account ends its sessions at once
// (WIN-2): the administrator suspends tanaka on the admin page while
// tanaka is signed in elsewhere; tanaka's next request lands on the
// sign-in page and signing in is refused; re-enabled, tanaka signs in.
// The same through `cityos user disable` / `enable`.  A locked account
// (--lockout-threshold 3) is unlocked on the admin page (SEC-9).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertNoPageProblems, launch, newContext, pathOf, signIn,
    signInPrivileged, startServer, tagOf,
} from './lib.mjs';

const SUSPENDED = '利用停止中';

let server, browser, adminCtx, admin;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url), args: ['--lockout-threshold', '3'] });
    browser = await launch();
    adminCtx = await newContext(browser, server);
    admin = await adminCtx.newPage();
    // The suspend and reset buttons ask for confirmation (app.js).
    admin.on('dialog', (d) => d.accept());
    await signInPrivileged(admin, 'admin');
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

// Opens an account's page from the list, as an administrator would.
async function openAccount(login) {
    await admin.goto('/admin/users?q=' + encodeURIComponent(login));
    await Promise.all([
        admin.waitForNavigation(),
        admin.locator('#users a', { hasText: new RegExp(`^${login}$`) }).click(),
    ]);
    assert.equal((await admin.textContent('#account-login')).trim(), login);
}

test('suspending on the admin page ends the open session and refuses sign-in', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/');

    await openAccount('tanaka');
    await Promise.all([admin.waitForNavigation(), admin.click('#suspend-user')]);
    assert.match(await admin.textContent('#account-state'), /停止/);

    await page.reload();
    assert.equal(pathOf(page), '/login', 'the open session ended');
    const res = await signIn(page, 'tanaka');
    assert.equal(res.status(), 403);
    assert.match(await page.locator('[role="alert"]').first().textContent(), new RegExp(SUSPENDED));

    await openAccount('tanaka');
    await Promise.all([admin.waitForNavigation(), admin.click('#enable-user')]);
    await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/');
    assertNoPageProblems(ctx);
    assertNoPageProblems(adminCtx);
    await ctx.close();
});

test('`cityos user disable` ends sessions too; `enable` lets the user back', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'sato');
    let r = await server.cli(['user', 'disable', '--login', 'sato']);
    assert.equal(r.code, 0, r.stderr);
    await page.reload();
    assert.equal(pathOf(page), '/login');
    const res = await signIn(page, 'sato');
    assert.equal(res.status(), 403);
    r = await server.cli(['user', 'enable', '--login', 'sato']);
    assert.equal(r.code, 0, r.stderr);
    await signIn(page, 'sato');
    assert.equal(pathOf(page), '/');
    await ctx.close();
});

test('a locked account is unlocked on the admin page', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    for (let i = 0; i < 3; i++) await signIn(page, 'operator1', 'wrong-' + i);
    let res = await signIn(page, 'operator1');
    assert.equal(res.status(), 403, 'locked');
    await openAccount('operator1');
    assert.match(await admin.textContent('#account-state'), /ロック/);
    await Promise.all([admin.waitForNavigation(), admin.click('#unlock-user')]);
    assert.equal(await admin.locator('#unlock-user').count(), 0);
    res = await signIn(page, 'operator1');
    assert.equal(pathOf(page), '/', `after unlock: ${res.status()}`);
    await ctx.close();
});

test('the administrator cannot suspend the last administrator (self)', async () => {
    await openAccount('admin');
    assert.equal(await admin.locator('#suspend-user').count(), 0, 'no suspend button for oneself');
    const r = await server.cli(['user', 'disable', '--login', 'admin']);
    assert.notEqual(r.code, 0, 'the last active administrator cannot be suspended');
});
