// backup.test.mjs - backups and restore (OPS-1, SEC-7): `cityos backup`
// writes an encrypted file; data changed afterwards is gone after
// `cityos restore`, the audit log still verifies and the server serves the
// restored data; a tampered backup file is refused and changes nothing;
// only the newest generations are kept.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
    ENGINE, launch, newContext, pathOf, signIn, sleep, startServer, tagOf,
} from './lib.mjs';

let server, browser, backupDir, file;
before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    backupDir = join(server.dir, 'backups');
});
after(async () => {
    await browser?.close();
    await server?.stop();
});

const users = async () => (await server.cli(['user', 'list'])).stdout;

test('backup, change, restore: the change is gone and the log verifies', async () => {
    let r = await server.cli(['backup', '--dir', backupDir]);
    assert.equal(r.code, 0, r.stderr);
    file = r.stdout.trim().split('\n').pop();
    assert.ok(existsSync(file), `backup file ${file}`);
    assert.match(file, new RegExp(`\\.${ENGINE}\\.enc$`));
    // Encrypted: no SQLite header or SQL text inside.
    const raw = readFileSync(file);
    assert.ok(!raw.includes(Buffer.from('SQLite format 3')), 'not a plain SQLite file');
    assert.ok(!raw.includes(Buffer.from('tanaka')), 'no plain data');

    r = await server.cli(['user', 'add', '--login', 'tempuser', '--role', 'staff_citizen'], 'Nagareboshi-Kirari-42\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(await users(), /^tempuser\b/m);

    await server.halt();
    r = await server.cli(['restore', '--from', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(await users(), /^tempuser\b/m, 'the user made after the backup is gone');
    assert.match(await users(), /^tanaka\b/m);
    r = await server.cli(['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);

    await server.start();
    const ctx = await newContext(browser, server);
    const page = await ctx.newPage();
    await signIn(page, 'tanaka');
    assert.equal(pathOf(page), '/');
    await ctx.close();
});

test('a tampered backup is refused and changes nothing', async () => {
    let r = await server.cli(['user', 'add', '--login', 'marker', '--role', 'staff_citizen'], 'Nagareboshi-Kirari-42\n');
    assert.equal(r.code, 0, r.stderr);
    const bad = join(server.dir, 'tampered.enc');
    copyFileSync(file, bad);
    const b = readFileSync(bad);
    b[Math.floor(b.length / 2)] ^= 0x01;
    writeFileSync(bad, b);
    await server.halt();
    r = await server.cli(['restore', '--from', bad]);
    assert.notEqual(r.code, 0, 'a tampered backup must be refused');
    // A file that is not a backup at all.
    writeFileSync(bad, 'not a backup');
    r = await server.cli(['restore', '--from', bad]);
    assert.notEqual(r.code, 0);
    assert.match(await users(), /^marker\b/m, 'the database is untouched');
    assert.equal((await server.cli(['audit', 'verify'])).code, 0);
    await server.start();
});

test('only the newest generations are kept', async () => {
    for (let i = 0; i < 3; i++) {
        // File names carry the second: one backup per second.
        await sleep(1100);
        const r = await server.cli(['backup', '--dir', backupDir, '--backup-keep', '2']);
        assert.equal(r.code, 0, r.stderr);
    }
    const files = readdirSync(backupDir).filter((f) => f.endsWith('.enc'));
    assert.equal(files.length, 2, `generations kept: ${files}`);
});
