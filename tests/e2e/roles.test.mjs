// roles.test.mjs - permissions checked on the server for pages and APIs
// alike (SEC-2): a citizen-services clerk (tanaka) is refused the account
// administration page (403 page in Japanese) and API (403 problem+json),
// and both refusals are in the audit log as access.denied; the
// administrator reaches both.  Not signed in, the API answers 401.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    dbExec, launch, newContext, pathOf, signIn, signInPrivileged,
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

test('a clerk is refused the admin page and API, and the refusals are audited', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/');
    // The home page does not offer what the role may not use.
    assert.equal(await page.locator('a[href="/admin/users"]').count(), 0);

    let res = await page.goto('/admin/users');
    assert.equal(res.status(), 403);
    assert.match(res.headers()['content-type'], /^text\/html/);
    assert.match(await page.textContent('h1'), /権限がありません/);

    res = await page.goto('/api/v1/users');
    assert.equal(res.status(), 403);
    assert.match(res.headers()['content-type'], /^application\/problem\+json/);
    const p = JSON.parse(await res.text());
    assert.equal(p.status, 403);
    assert.ok(p.title);

    for (const path of ['/admin/roles', '/admin/audit', '/admin/alerts', '/api/v1/audit']) {
        res = await page.goto(path);
        assert.equal(res.status(), 403, path);
    }

    const rows = await dbExec(server,
        "SELECT target_id || '|' || result FROM audit_log WHERE action = 'access.denied' AND login = 'tanaka' ORDER BY seq");
    const seen = rows.trim().split('\n');
    assert.ok(seen.includes('/admin/users|denied'), `access.denied entries: ${rows}`);
    assert.ok(seen.includes('/api/v1/users|denied'), `access.denied entries: ${rows}`);
    const r = await server.cli(['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);
    await ctx.close();
});

test('the API answers 401 problem+json without a session', async () => {
    const res = await fetch(server.url + '/api/v1/users');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
});

test('the administrator reaches the admin page and the API', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signInPrivileged(page, 'admin');
    let res = await page.goto('/admin/users');
    assert.equal(res.status(), 200);
    assert.ok(await page.locator('#users a', { hasText: 'tanaka' }).count() >= 1);
    res = await page.goto('/api/v1/users');
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^application\/json/);
    const body = JSON.parse(await res.text());
    assert.ok(Array.isArray(body.items));
    assert.ok(body.items.some((u) => u.login === 'tanaka'), JSON.stringify(body).slice(0, 500));
    res = await page.goto('/admin/roles');
    assert.equal(res.status(), 200);
    await ctx.close();
});

test('a permission granted in the role editor takes effect', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    assert.equal((await page.goto('/admin/audit')).status(), 403);

    // Permissions are data: give staff_citizen audit.read in the database
    // the role editor writes, and the next request sees it.
    await dbExec(server,
        "INSERT INTO role_permissions (role_id, perm) SELECT id, 'audit.read' FROM roles WHERE name = 'staff_citizen'");
    assert.equal((await page.goto('/admin/audit')).status(), 200);
    await dbExec(server,
        "DELETE FROM role_permissions WHERE perm = 'audit.read' AND role_id = (SELECT id FROM roles WHERE name = 'staff_citizen')");
    assert.equal((await page.goto('/admin/audit')).status(), 403);
    await ctx.close();
});
