// server.test.mjs - the HTTP server seen from outside: /healthz (and 503
// when the database is gone), the security headers on every kind of
// response (SEC-6), long-lived caching of static files, 413 beyond the
// body limit, Japanese error pages and RFC 9457 problems for APIs, no CSP
// violation in a real browser, graceful shutdown (SIGTERM, exit 0).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BIN, ENGINE, PG_ADMIN, assertNoPageProblems, launch, newContext, psql,
    run, startServer, tagOf, waitFor,
} from './lib.mjs';

let server, browser;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url), args: ['--max-body', '65536'] });
    browser = await launch();
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

function checkSecurityHeaders(res, what) {
    const h = res.headers;
    const csp = h.get('content-security-policy');
    assert.ok(csp, `${what}: no Content-Security-Policy`);
    const scriptSrc = csp.split(';').map((d) => d.trim())
        .find((d) => d.startsWith('script-src ')) ??
        csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('default-src '));
    assert.ok(scriptSrc, `${what}: CSP has neither script-src nor default-src: ${csp}`);
    assert.ok(!scriptSrc.includes("'unsafe-inline'"), `${what}: ${scriptSrc}`);
    assert.ok(!scriptSrc.includes("'unsafe-eval'"), `${what}: ${scriptSrc}`);
    assert.match(csp, /frame-ancestors 'none'/, what);
    assert.equal(h.get('x-content-type-options'), 'nosniff', what);
    assert.ok(h.get('referrer-policy'), `${what}: no Referrer-Policy`);
    assert.ok(h.get('permissions-policy'), `${what}: no Permissions-Policy`);
    // Plain HTTP on loopback: no HSTS (it is sent over TLS only).
    assert.equal(h.get('strict-transport-security'), null, what);
}

test('GET /healthz answers ok with the engine and version', async () => {
    const res = await fetch(server.url + '/healthz');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const body = await res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.storage, ENGINE);
    const v = await run(BIN, ['--version']);
    assert.equal(v.code, 0);
    assert.ok(v.stdout.includes(body.version), `${v.stdout} vs ${body.version}`);
    checkSecurityHeaders(res, '/healthz');
});

test('security headers on a page, an API answer, a static file and an error', async () => {
    const page = await fetch(server.url + '/login');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    checkSecurityHeaders(page, 'page /login');
    const html = await page.text();

    const api = await fetch(server.url + '/api/v1/users');
    assert.equal(api.status, 401, 'API without a session');
    assert.match(api.headers.get('content-type'), /^application\/problem\+json/);
    checkSecurityHeaders(api, 'API /api/v1/users');

    const css = /href="(\/static\/[^"]+\.css)"/.exec(html);
    assert.ok(css, 'the login page links a stylesheet under /static/');
    const st = await fetch(server.url + css[1]);
    assert.equal(st.status, 200);
    assert.match(st.headers.get('content-type'), /^text\/css/);
    checkSecurityHeaders(st, `static ${css[1]}`);

    const err = await fetch(server.url + '/no/such/page');
    assert.equal(err.status, 404);
    checkSecurityHeaders(err, 'error page');

    const redirect = await fetch(server.url + '/', { redirect: 'manual' });
    assert.ok([302, 303].includes(redirect.status), `GET / signed out: ${redirect.status}`);
    checkSecurityHeaders(redirect, 'redirect');
});

test('static files under their content hash are cached for a long time', async () => {
    const html = await (await fetch(server.url + '/login')).text();
    const urls = [...html.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(urls.length >= 2, `static URLs on /login: ${urls}`);
    for (const u of urls) {
        const res = await fetch(server.url + u);
        assert.equal(res.status, 200, u);
        const cc = res.headers.get('cache-control');
        assert.match(cc, /immutable/, `${u}: ${cc}`);
        assert.match(cc, /max-age=\d{6,}/, `${u}: ${cc}`);
    }
    // A wrong hash still gets the file but not the long caching.
    const wrong = urls[0].replace(/^\/static\/[^/]+\//, '/static/0000/');
    const res = await fetch(server.url + wrong);
    if (res.status === 200)
        assert.doesNotMatch(res.headers.get('cache-control') ?? '', /immutable/);
    // Pages themselves are never cached.
    const page = await fetch(server.url + '/login');
    assert.match(page.headers.get('cache-control'), /no-store/);
});

test('a body over the limit is refused with 413', async () => {
    const big = 'login=x&password=' + 'a'.repeat(200000);
    let status;
    try {
        const res = await fetch(server.url + '/login', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: big,
        });
        status = res.status;
        await res.arrayBuffer();
    } catch (e) {
        // The server may close the connection before reading it all.
        assert.fail(`413 expected, the connection failed instead: ${e.cause?.code ?? e}`);
    }
    assert.equal(status, 413);
    // The server is still fine.
    assert.equal((await fetch(server.url + '/healthz')).status, 200);
});

test('error pages are in Japanese; APIs answer problem+json', async () => {
    const res = await fetch(server.url + '/no/such/page');
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const html = await res.text();
    assert.match(html, /<html lang="ja"/);
    assert.match(html, /ページが見つかりません/);

    const api = await fetch(server.url + '/api/v1/no-such-thing');
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type'), /^application\/problem\+json/);
    const p = await api.json();
    assert.equal(p.status, 404);
    assert.equal(typeof p.title, 'string');
    assert.ok(p.title.length > 0);

    const m = await fetch(server.url + '/healthz', { method: 'DELETE' });
    assert.equal(m.status, 405);
});

test('pages load in Chromium without CSP violations or script errors', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    for (const path of ['/login', '/no/such/page', '/login?lang=en', '/login?lang=ja']) {
        await page.goto(path);
        await page.waitForLoadState('load');
    }
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');
    assertNoPageProblems(ctx);
    await ctx.close();
});

test('/healthz answers 503 when the database is gone (PostgreSQL)', async (t) => {
    if (!PG_ADMIN) {
        t.skip('an open SQLite file cannot be made unreachable; checked on PostgreSQL');
        return;
    }
    const other = await startServer({ tag: 'health503', demo: false });
    try {
        assert.equal((await fetch(other.url + '/healthz')).status, 200);
        await psql(PG_ADMIN, `DROP DATABASE ${other.db.name} WITH (FORCE)`);
        const res = await waitFor('503 from /healthz', async () => {
            const r = await fetch(other.url + '/healthz');
            return r.status === 503 ? r : null;
        });
        assert.match(res.headers.get('content-type'), /^application\/json/);
        const body = await res.json();
        assert.notEqual(body.status, 'ok');
        // Pages answer 503 too, in Japanese.
        const page = await fetch(other.url + '/login');
        assert.equal(page.status, 503);
    } finally {
        await other.stop();
    }
});
