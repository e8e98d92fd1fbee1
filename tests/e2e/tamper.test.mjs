// tamper.test.mjs - the audit log is tamper-evident (SEC-8): after some
// activity an untouched log verifies (`cityos audit verify` exits 0); an
// entry changed behind the server's back (the database's own client, the
// server stopped) is found and named; put back, the log verifies again;
// deleting an entry, or the newest one, is found too.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dbExec, launch, newContext, signIn, signOut, startServer, tagOf } from './lib.mjs';

let server;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    const browser = await launch();
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka', 'a wrong password');
    await signIn(page, 'tanaka');
    await signOut(page);
    await signIn(page, 'sato');
    await browser.close();
    await server.halt();
});
after(async () => {
    await server?.stop();
});

async function verify() {
    return server.cli(['audit', 'verify']);
}

test('an untouched audit log verifies', async () => {
    const n = Number((await dbExec(server, 'SELECT COUNT(*) FROM audit_log')).trim());
    assert.ok(n >= 5, `entries: ${n}`);
    const r = await verify();
    assert.equal(r.code, 0, r.stderr);
});

test('a changed entry is found and named; put back, the log verifies', async () => {
    // Cover up the failed sign-in: its result becomes "ok".
    const row = (await dbExec(server,
        "SELECT seq || '|' || result FROM audit_log WHERE result <> 'ok' ORDER BY seq LIMIT 1")).trim();
    assert.ok(row, 'a failed entry exists');
    const [seq, result] = row.split('|');
    await dbExec(server, `UPDATE audit_log SET result = 'ok' WHERE seq = ${Number(seq)}`);
    let r = await verify();
    assert.notEqual(r.code, 0, 'tampering must be detected');
    assert.match(r.stderr, new RegExp(`\\b${seq}\\b`), `the entry is named: ${r.stderr}`);

    await dbExec(server, `UPDATE audit_log SET result = '${result.replace(/'/g, "''")}' WHERE seq = ${Number(seq)}`);
    r = await verify();
    assert.equal(r.code, 0, r.stderr);

    // Another field: the time of an entry.
    await dbExec(server, 'UPDATE audit_log SET ts = ts - 3600 WHERE seq = 3');
    r = await verify();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\b3\b/);
    await dbExec(server, 'UPDATE audit_log SET ts = ts + 3600 WHERE seq = 3');
    assert.equal((await verify()).code, 0);
});

test('a deleted entry, and the newest entry removed, are found', async () => {
    await dbExec(server, 'DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)');
    let r = await verify();
    assert.notEqual(r.code, 0, 'the newest entry removed');
    await dbExec(server, 'DELETE FROM audit_log WHERE seq = 2');
    r = await verify();
    assert.notEqual(r.code, 0, 'an entry in the middle removed');
    assert.match(r.stderr, /\S/);
});
