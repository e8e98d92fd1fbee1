// session.test.mjs - session limits (WIN-7, SEC-9): with --session-idle 3
// a session unused for 5 s is over; with --session-absolute a busy session
// still ends.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    DEMO_PASSWORD, launch, newContext, pathOf, signIn, sleep, startServer,
    tagOf,
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
