// totp.test.mjs - two-step sign-in for privileged roles (SEC-3): the
// administrator's first sign-in is held on the enrolment page (QR code as
// an accessible SVG, the secret in text) until a correct code is entered;
// recovery codes are shown once; later sign-ins ask for a code, refuse a
// wrong one and accept the right one; a recovery code works once only.
// Codes are computed here (RFC 6238) and cross-checked with oathtool.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
    assertNoPageProblems, freshCode, launch, newContext, pathOf, run,
    signIn, signOut, startServer, stepNow, submit, tagOf, totpAt,
} from './lib.mjs';

const TOTP_BUTTON = 'form[action="/login/totp"] button[type="submit"]';
const SETUP_BUTTON = 'form[action="/account/totp/setup"] button[type="submit"]';

let server, browser, ctx, page;
const admin = { state: {} };

before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    ctx = await newContext(browser, server);
    page = await ctx.newPage();
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

// A six-digit code that is wrong at every step the server accepts now.
function wrongCode(secret) {
    const now = stepNow();
    const right = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(secret, now + d)));
    for (let n = 0; ; n++) {
        const c = String((123456 + n * 7919) % 1000000).padStart(6, '0');
        if (!right.has(c)) return c;
    }
}

test('RFC 6238 test vector and oathtool agree with our codes', async () => {
    // RFC 6238 appendix B: "12345678901234567890", T = 59 s, SHA-1:
    // 94287082 (8 digits), so the 6-digit code is 287082.
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    assert.equal(totpAt(secret, 1), '287082');
    if (existsSync('/usr/bin/oathtool')) {
        const r = await run('oathtool', ['--totp', '-b', '--now', '@1111111109', secret]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), totpAt(secret, Math.floor(1111111109 / 30)));
    }
});

test('first sign-in of an administrator is held on TOTP enrolment', async () => {
    await signIn(page, 'admin');
    assert.equal(pathOf(page), '/account/totp/setup');
    // The QR code is an SVG with a text alternative.
    const svg = page.locator('.qr svg');
    assert.equal(await svg.count(), 1);
    const title = await svg.locator('title').textContent();
    assert.ok(title && title.trim().length > 0, 'the QR code SVG has a <title>');
    admin.secret = (await page.textContent('#totp-secret')).trim();
    assert.match(admin.secret, /^[A-Z2-7]{32}$/);

    // Nothing else is reachable before enrolment.
    await page.goto('/');
    assert.equal(pathOf(page), '/account/totp/setup');
    // The same secret is shown again (a scanned code stays valid).
    assert.equal((await page.textContent('#totp-secret')).trim(), admin.secret);

    // A wrong code is refused.
    let res = await submit(page, { '#code': wrongCode(admin.secret) }, SETUP_BUTTON);
    assert.equal(res.status(), 400);
    assert.equal(pathOf(page), '/account/totp/setup');
    assert.match(await page.locator('[role="alert"]').first().textContent(), /確認コードが正しくありません/);

    // The right code completes enrolment and shows the recovery codes.
    res = await submit(page, { '#code': await freshCode(admin.secret, admin.state) }, SETUP_BUTTON);
    assert.equal(res.status(), 200);
    admin.codes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
    assert.ok(admin.codes.length >= 8, `recovery codes: ${admin.codes}`);
    assert.equal(new Set(admin.codes).size, admin.codes.length);
    await page.goto('/');
    assert.equal(pathOf(page), '/');
    await signOut(page);
});

test('later sign-ins ask for a code; a wrong one is refused, the right one accepted', async () => {
    await signIn(page, 'admin');
    assert.equal(pathOf(page), '/login/totp');
    // Until the code is given, pages send back to the code step.
    await page.goto('/');
    assert.equal(pathOf(page), '/login/totp');

    let res = await submit(page, { '#code': wrongCode(admin.secret) }, TOTP_BUTTON);
    assert.equal(res.status(), 401);
    assert.equal(pathOf(page), '/login/totp');
    assert.match(await page.locator('[role="alert"]').first().textContent(), /確認コードが正しくありません/);

    res = await submit(page, { '#code': await freshCode(admin.secret, admin.state) }, TOTP_BUTTON);
    assert.equal(pathOf(page), '/');
    assert.equal(res.status(), 200);
    await signOut(page);
});

test('a code already used is refused (replay)', async () => {
    const used = totpAt(admin.secret, admin.state.last);
    await signIn(page, 'admin');
    const res = await submit(page, { '#code': used }, TOTP_BUTTON);
    assert.equal(res.status(), 401);
    assert.equal(pathOf(page), '/login/totp');
    // Finish with a recovery code (a fresh TOTP code could mean waiting
    // for the clock: the steps up to the one just refused are spent).
    await submit(page, { '#code': admin.codes.pop() }, TOTP_BUTTON);
    assert.equal(pathOf(page), '/');
    await signOut(page);
});

test('a recovery code works once, not twice', async () => {
    const code = admin.codes[0];
    await signIn(page, 'admin');
    await submit(page, { '#code': code }, TOTP_BUTTON);
    assert.equal(pathOf(page), '/', 'the recovery code is accepted');
    await signOut(page);

    await signIn(page, 'admin');
    const res = await submit(page, { '#code': code }, TOTP_BUTTON);
    assert.equal(res.status(), 401);
    assert.equal(pathOf(page), '/login/totp', 'the same recovery code is refused');
    // Another one still works.
    await submit(page, { '#code': admin.codes[1] }, TOTP_BUTTON);
    assert.equal(pathOf(page), '/');
    await signOut(page);
    assertNoPageProblems(ctx);
});

test('a non-privileged user is not asked for TOTP', async () => {
    const c2 = await newContext(browser, server);
    const p2 = await c2.newPage();
    await signIn(p2, 'tanaka');
    assert.equal(pathOf(p2), '/');
    await c2.close();
});
