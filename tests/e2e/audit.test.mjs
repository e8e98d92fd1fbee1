// audit.test.mjs - the audit log for auditors (SEC-8, WIN-3): sign-ins and
// their failures are recorded; the auditor searches by user, action and
// result on /admin/audit (with htmx, and without); exports CSV in UTF-8
// with a BOM and in CP932 for Excel; the search and the export are
// themselves in the log; the JSON API gives the same entries.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
    assertNoPageProblems, launch, newContext, signIn, signInPrivileged,
    signOut, startServer, tagOf,
} from './lib.mjs';

let server, browser, ctx, page;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    // Some activity: a good sign-in of tanaka and a failed one.
    const c = await newContext(browser, server);
    const p = await c.newPage();
    await signIn(p, 'tanaka');
    await signOut(p);
    await signIn(p, 'tanaka', 'not the password');
    await c.close();
    ctx = await newContext(browser, server, { acceptDownloads: true });
    page = await ctx.newPage();
    await signInPrivileged(page, 'auditor');
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

// The rows of the result table as objects keyed by column.
async function tableRows() {
    return page.$$eval('#audit-table tbody tr', (trs) => trs.map((tr) => {
        const td = [...tr.querySelectorAll('td')].map((c) => c.textContent.trim());
        return { time: td[0], login: td[1], role: td[2], action: td[3], target: td[4], result: td[5], ip: td[6], detail: td[7] };
    }));
}

test('the auditor searches by user and action with the form', async () => {
    await page.goto('/admin/audit');
    await page.fill('#login', 'tanaka');
    await page.fill('#action', 'auth.login');
    // htmx replaces the results in place and pushes the URL.
    await Promise.all([
        page.waitForResponse((r) => r.url().includes('/admin/audit?') && r.status() === 200),
        page.click('#audit-submit'),
    ]);
    await page.waitForFunction(() => location.search.includes('login=tanaka'));
    await page.waitForSelector('#audit-table tbody tr');
    const rows = await tableRows();
    assert.ok(rows.length >= 2, `rows: ${JSON.stringify(rows)}`);
    for (const r of rows) {
        assert.equal(r.login, 'tanaka');
        assert.match(r.action, /^auth\.login/);
        assert.equal(r.ip, '127.0.0.1');
    }
    const results = new Set(rows.map((r) => r.result));
    assert.ok(results.has('成功') && results.has('失敗'), `results: ${[...results]}`);
    assertNoPageProblems(ctx);
});

test('search by result, without JavaScript (plain GET)', async () => {
    const res = await page.goto('/admin/audit?login=tanaka&action=auth.login&result=failed');
    assert.equal(res.status(), 200);
    const rows = await tableRows();
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((r) => r.result === '失敗'), JSON.stringify(rows));
    // A wrong date is explained, not a crash.
    const bad = await page.goto('/admin/audit?from=2026-02-30');
    assert.equal(bad.status(), 400);
    assert.ok(await page.locator('.error-summary').count() >= 1);
});

async function download(selector) {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
    assert.match(dl.suggestedFilename(), /\.csv$/);
    return readFileSync(await dl.path());
}

test('CSV export in UTF-8 with a BOM and in CP932', async () => {
    await page.goto('/admin/audit?login=tanaka');
    const utf8 = await download('#export-utf8');
    assert.deepEqual([...utf8.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
    const text = new TextDecoder('utf-8').decode(utf8);
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean);
    assert.match(lines[0], /日時/);
    assert.match(lines[0], /利用者/);
    assert.ok(lines.length >= 3, text);
    assert.ok(lines.slice(1).every((l) => l.includes('tanaka')), 'only the filtered user');

    const sjis = await download('#export-cp932');
    assert.notDeepEqual([...sjis.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'no BOM in CP932');
    const decoded = new TextDecoder('shift_jis', { fatal: true }).decode(sjis);
    const head = decoded.split(/\r?\n/)[0];
    assert.match(head, /日時/);
    assert.match(head, /利用者/);
    // Really CP932, not UTF-8: 日 is 0x93 0xFA there.
    assert.ok(sjis.includes(Buffer.from([0x93, 0xfa])));
    assert.equal(decoded.split(/\r?\n/).filter(Boolean).length, lines.length);
});

test('searches and exports are themselves in the log', async () => {
    await page.goto('/admin/audit?login=auditor&action=audit.export');
    const rows = await tableRows();
    assert.ok(rows.length >= 2, `audit.export entries: ${JSON.stringify(rows)}`);
    assert.ok(rows.every((r) => r.action === 'audit.export' && r.login === 'auditor'));
    const details = rows.map((r) => r.detail).join(' ');
    assert.match(details, /cp932/);
    assert.match(details, /utf8/);
    await page.goto('/admin/audit?login=auditor&action=audit.search');
    assert.ok((await tableRows()).length >= 1);
});

test('the JSON API gives the same entries', async () => {
    const res = await page.goto('/api/v1/audit?login=tanaka&action=auth.login');
    assert.equal(res.status(), 200);
    const body = JSON.parse(await res.text());
    assert.ok(body.total >= 2);
    assert.ok(body.items.every((e) => e.login === 'tanaka' && e.action.startsWith('auth.login')));
    const r = await server.cli(['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);
});
