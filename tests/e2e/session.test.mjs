// session.test.mjs - session limits and CSRF (WIN-7, SEC-9): with
// --session-idle 3 a session unused for 5 s is over; with
// --session-absolute a busy session still ends.  Forms that
// change state need the session's CSRF token and a same-site Origin: a POST
// without the token, with a wrong one or from a foreign Origin gets 403.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    DEMO_PASSWORD, csrfOf, launch, newContext, pageFetch, pathOf, signIn,
    sleep, startServer, tagOf,
} from './lib.mjs';

let server, browser;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url), args: ['--session-idle', '3'] });
    browser = await launch();
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

test('an idle session ends', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/');
    await sleep(1000);
    await page.reload();
    assert.equal(pathOf(page), '/', 'within the idle limit');
    // Idle for 5 s: over.
    await sleep(5000);
    await page.reload();
    assert.equal(pathOf(page), '/login');
    // Signing in again works and lands where the user was going.
    await page.goto('/account/password');
    assert.equal(pathOf(page), '/login');
    await page.fill('#login', 'tanaka');
    await page.fill('#password', DEMO_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type="submit"]')]);
    assert.equal(pathOf(page), '/account/password');
    await ctx.close();
});

test('the absolute limit ends even a busy session', async () => {
    const other = await startServer({
        tag: 'session_abs', args: ['--session-idle', '60', '--session-absolute', '4'],
    });
    try {
        const ctx = await newContext(browser, other);
        const page = await ctx.newPage();
        await signIn(page, 'tanaka');
        assert.equal(pathOf(page), '/');
        let ended = 0;
        for (let i = 0; i < 8 && !ended; i++) {
            await sleep(1000);
            await page.reload();
            if (pathOf(page) === '/login') ended = i + 1;
        }
        assert.ok(ended >= 3 && ended <= 7, `ended after ${ended} s`);
        await ctx.close();
    } finally {
        await other.stop();
    }
});

test('a POST without the CSRF token or with a wrong one is refused', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    let r = await pageFetch(page, '/logout', { method: 'POST', form: {} });
    assert.equal(r.status, 403, 'no token');
    assert.match(r.type, /^text\/html/);
    r = await pageFetch(page, '/logout', { method: 'POST', form: { csrf: 'x'.repeat(43) } });
    assert.equal(r.status, 403, 'a wrong token');
    // A state change without the token did not happen: still signed in.
    await page.goto('/');
    assert.equal(pathOf(page), '/');
    // The password form too.
    r = await pageFetch(page, '/account/password', {
        method: 'POST',
        form: { current: DEMO_PASSWORD, password: 'Kawa-no-Nagare-3381', password2: 'Kawa-no-Nagare-3381' },
    });
    assert.equal(r.status, 403);
    // The sign-in form itself needs its token (login CSRF).
    const anon = await newContext(browser, server);
    const ap = await anon.newPage();
    await ap.goto('/login');
    r = await pageFetch(ap, '/login', { method: 'POST', form: { login: 'tanaka', password: DEMO_PASSWORD } });
    assert.equal(r.status, 403, 'sign-in without the token');
    await anon.close();
    // With the token it works.
    r = await pageFetch(page, '/logout', { method: 'POST', form: { csrf: await csrfOf(page) } });
    assert.equal(r.status, 200);
    assert.equal(new URL(r.url).pathname, '/login');
    await ctx.close();
});

test('a POST from a foreign Origin is refused even with the right token', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    const csrf = await csrfOf(page);
    const cookie = (await ctx.cookies()).find((c) => c.name === '__Host-cityos');
    const post = (origin) => fetch(server.url + '/logout', {
        method: 'POST',
        redirect: 'manual',
        headers: {
            cookie: `__Host-cityos=${cookie.value}`,
            'content-type': 'application/x-www-form-urlencoded',
            ...(origin ? { origin } : {}),
        },
        body: new URLSearchParams({ csrf }).toString(),
    });
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${server.port + 1}`]) {
        const res = await post(origin);
        assert.equal(res.status, 403, `Origin ${origin}`);
    }
    // Still signed in; the same request from our own origin goes through.
    await page.goto('/');
    assert.equal(pathOf(page), '/');
    const ok = await post(server.url);
    assert.equal(ok.status, 303);
    await page.goto('/');
    assert.equal(pathOf(page), '/login');
    await ctx.close();
});
