// password.test.mjs - the password policy and the change forced at first
// sign-in (WIN-9, SEC-9): an account made with `cityos user add` must
// choose a new password before anything else; short, common and
// login-containing passwords are refused with the policy's message; a good
// one is accepted and the old one stops working.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertNoPageProblems, launch, newContext, pathOf, signIn, signOut,
    startServer, submit, tagOf,
} from './lib.mjs';

const INITIAL = 'Hatsu-Kaigi-8351';
const GOOD = 'Ume-no-Hana-Saku-2719';
const BUTTON = 'form[action="/account/password"] button[type="submit"]';

let server, browser;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

test('`cityos user add` refuses a weak password and accepts a good one', async () => {
    let r = await server.cli(['user', 'add', '--role', 'staff_citizen', '--login', 'newbie'], INITIAL + '\n');
    assert.equal(r.code, 0, r.stderr);
    r = await server.cli(['user', 'add', '--role', 'staff_citizen', '--login', 'newbie'], INITIAL + '\n');
    assert.notEqual(r.code, 0, 'the same login twice is refused');
    r = await server.cli(['user', 'add', '--role', 'no_such_role', '--login', 'norole'], INITIAL + '\n');
    assert.notEqual(r.code, 0, 'an unknown role is refused');
    r = await server.cli(['user', 'add', '--role', 'staff_citizen', '--login', 'weakling'], 'password\n');
    assert.notEqual(r.code, 0, 'a common password is refused');
    const list = await server.cli(['user', 'list']);
    assert.match(list.stdout, /^newbie\s+staff_citizen\s+active/m);
    assert.doesNotMatch(list.stdout, /^(weakling|norole)/m);
    // The reason is told.
    assert.match(r.stderr, /common|short|breach|at least 12 characters/i);
});

test('the first sign-in forces a password change that follows the policy', async () => {
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'newbie', INITIAL);
    assert.equal(pathOf(page), '/account/password');
    assert.equal(await page.locator('.alert--info, [role="status"]').count() > 0, true,
        'the page says why the change is needed');
    // Nothing else until it is done.
    await page.goto('/');
    assert.equal(pathOf(page), '/account/password');

    const tries = [
        ['password1234', /よく使われる|漏えい/],        // common
        ['Short-1a', /12文字以上/],                     // too short
        ['newbie-is-my-name-55', /ログインID/],         // contains the login
        ['abcdefghijklmnop', /連続|よく使われる/],       // sequence
    ];
    for (const [pw, why] of tries) {
        // The browser would stop a short one (minlength): the server must too.
        await page.evaluate(() => { document.querySelector('form[action="/account/password"]').noValidate = true; });
        const res = await submit(page, { '#current': INITIAL, '#password': pw, '#password2': pw }, BUTTON);
        assert.equal(res.status(), 400, `${pw} should be refused`);
        assert.equal(pathOf(page), '/account/password');
        const msg = await page.locator('#pw-error').textContent();
        assert.match(msg, why, `${pw}: ${msg}`);
    }
    // The two new fields must agree.
    let res = await submit(page, { '#current': INITIAL, '#password': GOOD, '#password2': GOOD + 'x' }, BUTTON);
    assert.equal(res.status(), 400);
    assert.match(await page.locator('#pw-error').textContent(), /一致しません/);
    // The current password must be right.
    res = await submit(page, { '#current': 'wrong-current-pw', '#password': GOOD, '#password2': GOOD }, BUTTON);
    assert.equal(res.status(), 401);

    res = await submit(page, { '#current': INITIAL, '#password': GOOD, '#password2': GOOD }, BUTTON);
    assert.equal(res.status(), 200);
    assert.equal(pathOf(page), '/');
    await signOut(page);

    // The old password no longer works; the new one goes straight home.
    res = await signIn(page, 'newbie', INITIAL);
    assert.equal(res.status(), 401);
    await signIn(page, 'newbie', GOOD);
    assert.equal(pathOf(page), '/');
    assertNoPageProblems(ctx);
    await ctx.close();
});

test('a password change ends the other sessions of the user', async () => {
    const c1 = await newContext(browser, server);
    const c2 = await newContext(browser, server);
    const p1 = await c1.newPage();
    const p2 = await c2.newPage();
    await signIn(p1, 'newbie', GOOD);
    await signIn(p2, 'newbie', GOOD);
    await p1.goto('/account/password');
    const next = 'Sakura-Namiki-6093';
    await submit(p1, { '#current': GOOD, '#password': next, '#password2': next }, BUTTON);
    assert.equal(pathOf(p1), '/', 'the session that changed it stays');
    await p2.goto('/');
    assert.equal(pathOf(p2), '/login', 'the other session ended');
    await c1.close();
    await c2.close();
});
