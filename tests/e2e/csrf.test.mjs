// csrf.test.mjs - cross-site request forgery (SEC-9): forms that change
// state need the session's CSRF token and a same-site Origin; a POST
// without the token, with a wrong one or from a foreign Origin gets 403
// and changes nothing; the sign-in form needs its own token too.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    DEMO_PASSWORD, csrfOf, launch, newContext, pageFetch, pathOf, signIn,
    startServer, tagOf,
} from './lib.mjs';

let server, browser;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
});
after(async () => {
    await browser?.close();
    await server?.stop();
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
