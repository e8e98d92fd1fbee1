// signin.test.mjs - signing in with a password (SEC-9, WIN-7): the
// previous sign-in time and the failed attempts since shown on the home
// page; a clear Japanese error for a wrong password; lockout after
// repeated failures (the server runs with --lockout-threshold 3) that even
// the right password cannot pass, until `cityos user unlock`; the session
// cookie's attributes and a new session id at sign-in.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    DEMO_PASSWORD, assertNoPageProblems, csrfOf, launch, newContext, pageFetch, pathOf, signIn,
    signOut, sleep, startServer, tagOf,
} from './lib.mjs';

const FAILED = 'ログインIDまたはパスワードが正しくありません';
const LOCKED = 'ロック';

let server, browser;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url), args: ['--lockout-threshold', '3'] });
    browser = await launch();
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

test('sign-in shows the previous sign-in and the failures since', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    let res = await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/', `after sign-in: ${page.url()}`);
    assert.equal(res.status(), 200);
    assert.match(await page.textContent('#last-login'), /初めて/);
    assert.equal(await page.locator('#failed-since').count(), 0);
    await signOut(page);
    assert.equal(pathOf(page), '/login');

    // Two failures, then the right password.  The failures come at least
    // one second after the sign-in: times are kept in whole seconds and
    // auth.c counts failures strictly after the previous sign-in's second
    // (a failure in that same second is not reported - a known limit).
    await sleep(1100);
    for (let i = 0; i < 2; i++) {
        res = await signIn(page, 'tanaka', 'wrong password ' + i);
        assert.equal(res.status(), 401);
    }
    await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/');
    const last = await page.textContent('#last-login');
    assert.match(last, /前回のサインイン/);
    assert.match(await page.textContent('#last-login time'), /\d{4}.\d{1,2}.\d{1,2}.*\d{1,2}:\d{2}/);
    assert.match(await page.textContent('#failed-since'), /2/);

    // Signing in once more: the failures were seen, none since.
    await signOut(page);
    await signIn(page, 'tanaka');
    assert.equal(await page.locator('#failed-since').count(), 0);
    assertNoPageProblems(ctx);
    await ctx.close();
});

test('the session cookie is __Host-, HttpOnly, Secure, SameSite; new at sign-in', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    const first = (await ctx.cookies()).find((c) => c.name === '__Host-cityos');
    assert.ok(first, `session cookie: ${JSON.stringify(await ctx.cookies())}`);
    assert.equal(first.httpOnly, true);
    assert.equal(first.secure, true);
    assert.ok(['Lax', 'Strict'].includes(first.sameSite), first.sameSite);
    assert.equal(first.path, '/');
    // At least 128 random bits: 22+ characters of base64url (or 32 hex).
    assert.ok(first.value.length >= 22, first.value);

    // Signing in again from the same browser gives a new session id.
    const again = await pageFetch(page, '/login', {
        method: 'POST',
        form: { csrf: await csrfOf(page), login: 'tanaka', password: DEMO_PASSWORD },
    });
    assert.equal(again.status, 200, again.text);
    assert.equal(new URL(again.url).pathname, '/');
    const second = (await ctx.cookies()).find((c) => c.name === '__Host-cityos');
    assert.notEqual(second.value, first.value);
    // The old id no longer works.
    const res = await fetch(server.url + '/', {
        headers: { cookie: `__Host-cityos=${first.value}` }, redirect: 'manual',
    });
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location'), /^\/login/);
    await ctx.close();
});

test('a wrong password gets a clear Japanese error', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    const res = await signIn(page, 'operator1', 'not-the-password');
    assert.equal(res.status(), 401);
    assert.equal(pathOf(page), '/login');
    const err = page.locator('[role="alert"]');
    assert.match(await err.first().textContent(), new RegExp(FAILED));
    // The login typed is kept, the password is not.
    assert.equal(await page.inputValue('#login'), 'operator1');
    assert.equal(await page.inputValue('#password'), '');
    // An unknown login gets the same answer (no account enumeration).
    const res2 = await signIn(page, 'nobody-here', 'not-the-password');
    assert.equal(res2.status(), 401);
    assert.match(await err.first().textContent(), new RegExp(FAILED));
    await ctx.close();
});

test('lockout after 3 failures refuses even the right password until unlocked', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    for (let i = 1; i <= 3; i++) {
        const res = await signIn(page, 'sato', 'wrong-' + i);
        assert.ok([401, 403].includes(res.status()), `failure ${i}: ${res.status()}`);
    }
    assert.match(await page.locator('[role="alert"]').first().textContent(), new RegExp(LOCKED));

    let res = await signIn(page, 'sato', DEMO_PASSWORD);
    assert.equal(res.status(), 403);
    assert.equal(pathOf(page), '/login');
    assert.match(await page.locator('[role="alert"]').first().textContent(), new RegExp(LOCKED));

    const list = await server.cli(['user', 'list']);
    assert.match(list.stdout, /^sato\s+\S+\s+active\s+yes/m, list.stdout);
    const r = await server.cli(['user', 'unlock', '--login', 'sato']);
    assert.equal(r.code, 0, r.stderr);

    res = await signIn(page, 'sato', DEMO_PASSWORD);
    assert.equal(pathOf(page), '/', `after unlock: ${page.url()} ${res.status()}`);
    // The failures are reported at the next sign-in.
    assert.match(await page.textContent('#failed-since'), /[1-9]/);
    await ctx.close();
});

test('sign-out ends the session on the server', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    const cookie = (await ctx.cookies()).find((c) => c.name === '__Host-cityos');
    await signOut(page);
    const res = await fetch(server.url + '/', {
        headers: { cookie: `__Host-cityos=${cookie.value}` }, redirect: 'manual',
    });
    assert.equal(res.status, 303);
    await ctx.close();
});
