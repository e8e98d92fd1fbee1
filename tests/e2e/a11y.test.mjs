// a11y.test.mjs - accessibility (NFR-4): axe-core finds no WCAG 2.1 A or
// AA violation on any page the demo users reach - sign-in (and its
// error), the home page, password change (chosen and forced, with an
// error), TOTP enrolment, recovery codes and the code step, the
// administration pages (accounts, account, new account, roles, role,
// audit search with results and with a wrong filter, alerts, a
// confirmation), error pages, and the English pages - each at a phone
// viewport (390x844) and a desktop one.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    DESKTOP, PHONE, checkA11y, enrolTotp, freshCode, launch, newAxeContext,
    pathOf, signIn, signOut, startServer, submit, tagOf,
} from './lib.mjs';

let server, browser;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    const r = await server.cli(['user', 'add', '--role', 'staff_citizen', '--login', 'newbie'], 'Hatsu-Kaigi-8351\n');
    assert.equal(r.code, 0, r.stderr);
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

// Checks the page as it is at both sizes.
async function check(page, label) {
    for (const vp of [PHONE, DESKTOP]) {
        await page.setViewportSize(vp);
        await checkA11y(page, `${label} at ${vp.width}x${vp.height}`);
    }
}

async function visit(page, path, label = path) {
    await page.goto(path);
    await check(page, label);
}

test('pages without a session', async () => {
    const ctx = await newAxeContext(browser, server, PHONE);
    const page = await ctx.newPage();
    await visit(page, '/login', 'sign-in');
    await signIn(page, 'tanaka', 'a wrong password');
    await check(page, 'sign-in with an error');
    await visit(page, '/no/such/page', '404 page');
    await visit(page, '/login?lang=en', 'sign-in in English');
    await visit(page, '/no/such/page', '404 page in English');
    await ctx.close();
});

test('a clerk: home, password change, refusal', async () => {
    const ctx = await newAxeContext(browser, server, PHONE);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/');
    await check(page, 'home');
    // The small-screen menu opened.
    await page.setViewportSize(PHONE);
    const menu = page.locator('details.mobile-menu summary');
    if (await menu.count()) {
        await menu.click();
        await checkA11y(page, 'home with the phone menu open');
    }
    await visit(page, '/account/password', 'password change');
    await submit(page, { '#current': 'Cityos-Demo-2026', '#password': 'password1234', '#password2': 'password1234' },
        'form[action="/account/password"] button[type="submit"]');
    await check(page, 'password change with an error');
    const res = await page.goto('/admin/users');
    assert.equal(res.status(), 403);
    await check(page, '403 page');
    await visit(page, '/?lang=en', 'home in English');
    await page.goto('/?lang=ja');
    await ctx.close();
});

test('a new account: the forced password change', async () => {
    const ctx = await newAxeContext(browser, server, PHONE);
    const page = await ctx.newPage();
    await signIn(page, 'newbie', 'Hatsu-Kaigi-8351');
    assert.equal(pathOf(page), '/account/password');
    await check(page, 'forced password change');
    await ctx.close();
});

test('the administrator: TOTP pages and administration', async () => {
    const ctx = await newAxeContext(browser, server, PHONE);
    const page = await ctx.newPage();
    page.on('dialog', (d) => d.accept());
    await signIn(page, 'admin');
    assert.equal(pathOf(page), '/account/totp/setup');
    await check(page, 'TOTP enrolment');
    await submit(page, { '#code': 'abcdef' }, 'form[action="/account/totp/setup"] button[type="submit"]');
    await check(page, 'TOTP enrolment with an error');
    const totp = await enrolTotp(page);
    await check(page, 'recovery codes');
    await page.goto('/');
    await check(page, 'administrator home');
    await signOut(page);
    await signIn(page, 'admin');
    assert.equal(pathOf(page), '/login/totp');
    await check(page, 'TOTP step');
    await submit(page, { '#code': '000000' }, 'form[action="/login/totp"] button[type="submit"]');
    await check(page, 'TOTP step with an error');
    await submit(page, { '#code': await freshCode(totp.secret, totp.state) }, 'form[action="/login/totp"] button[type="submit"]');
    assert.equal(pathOf(page), '/');

    await visit(page, '/admin/users', 'account list');
    await visit(page, '/admin/users?q=zzz-nobody', 'account list, nothing found');
    await visit(page, '/admin/users/new', 'new account');
    await submit(page, {}, '#create-user');
    await check(page, 'new account with errors');
    await page.goto('/admin/users?q=tanaka');
    await Promise.all([page.waitForNavigation(), page.locator('#users a', { hasText: /^tanaka$/ }).click()]);
    await check(page, 'account page');
    const href = new URL(page.url()).pathname;
    await visit(page, href + '/delete', 'delete confirmation');
    await visit(page, '/admin/roles', 'roles');
    await page.click('#roles a >> nth=0');
    await page.waitForLoadState('load');
    await check(page, 'role editor');
    await visit(page, '/admin/roles/new', 'new role');
    await visit(page, '/admin/audit', 'audit search');
    await visit(page, '/admin/audit?from=2026-13-40', 'audit search with a wrong filter');
    await visit(page, '/admin/alerts', 'alerts');
    await visit(page, '/admin/users?lang=en', 'account list in English');
    await page.goto('/?lang=ja');
    await ctx.close();
});

test('the auditor: audit search with results', async () => {
    const ctx = await newAxeContext(browser, server, PHONE);
    const page = await ctx.newPage();
    await signIn(page, 'auditor');
    await enrolTotp(page);
    await visit(page, '/admin/audit?login=tanaka', 'audit search results');
    await ctx.close();
});
