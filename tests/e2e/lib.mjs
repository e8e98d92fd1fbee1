// lib.mjs - what every end-to-end test file shares: a real cityos server
// on its own database (SQLite, or a fresh PostgreSQL database when
// CITYOS_TEST_PG_ADMIN names the admin database of a cluster), the
// command line, the SMTP sink, Chromium through playwright-core, TOTP
// codes (RFC 6238) and the axe-core accessibility check (NFR-4).
//
// The binary is $CITYOS_BIN, else build/asan/cityos when it exists, else
// build/cityos.  A server is stopped with SIGTERM and must exit 0
// (graceful shutdown); any sanitizer report on its standard error, or on
// that of a command run here, fails the test.

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.CITYOS_BIN
    ? resolve(ROOT, process.env.CITYOS_BIN)
    : existsSync(join(ROOT, 'build/asan/cityos'))
        ? join(ROOT, 'build/asan/cityos')
        : join(ROOT, 'build/cityos');
export const PG_ADMIN = process.env.CITYOS_TEST_PG_ADMIN || '';
export const ENGINE = PG_ADMIN ? 'postgresql' : 'sqlite';
export const DEMO_PASSWORD = 'Cityos-Demo-2026';
export const CHROMIUM = process.env.CITYOS_CHROMIUM || '/usr/bin/chromium';
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

// Sanitizer reports: a server that exits 0 can still have printed one.
const SANITIZER = /runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|ERROR: UndefinedBehaviorSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer/;

export function sanitizerReport(text) {
    const m = SANITIZER.exec(text);
    if (!m) return null;
    return text.slice(Math.max(0, m.index - 200), m.index + 3000);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A TCP port nobody listens on right now.
export function freePort() {
    return new Promise((ok, fail) => {
        const s = createServer();
        s.on('error', fail);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => ok(port));
        });
    });
}

// Runs a program (argv array, no shell); resolves {code, signal, stdout,
// stderr}.  input is written to its standard input.
export function run(cmd, args, { input, env, timeout = 120000 } = {}) {
    return new Promise((ok, fail) => {
        const p = spawn(cmd, args, {
            cwd: ROOT,
            env: { ...process.env, ...env },
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '', stderr = '';
        p.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
        p.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
        p.on('error', (e) => { clearTimeout(timer); fail(e); });
        p.on('close', (code, signal) => {
            clearTimeout(timer);
            ok({ code, signal, stdout, stderr });
        });
        p.stdin.on('error', () => {});
        p.stdin.end(input ?? '');
    });
}

// The cityos command line with the database and key file of a server;
// fails the test on a sanitizer report.
async function cityos(db, keyFile, args, opts = {}) {
    const r = await run(BIN, [...args, '--db', db, '--key-file', keyFile], opts);
    const rep = sanitizerReport(r.stderr);
    assert.equal(rep, null, `sanitizer report from cityos ${args.join(' ')}:\n${rep}`);
    return r;
}

// psql against the throwaway cluster (argv, never a shell string).
export async function psql(url, sql) {
    const r = await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', url, '-c', sql]);
    assert.equal(r.code, 0, `psql ${sql}: ${r.stderr}`);
    return r.stdout;
}

export async function sqlite(path, sql) {
    const r = await run('sqlite3', ['-bail', path, sql]);
    assert.equal(r.code, 0, `sqlite3 ${sql}: ${r.stderr}`);
    return r.stdout;
}

// A database of its own for a test file: a file in dir, or a new
// PostgreSQL database named after the file.
async function newDatabase(dir, tag) {
    if (!PG_ADMIN) {
        const path = join(dir, 't.db');
        return { url: `sqlite:${path}`, path };
    }
    const name = `e2e_${tag.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(3).toString('hex')}`;
    await psql(PG_ADMIN, `CREATE DATABASE ${name}`);
    const u = new URL(PG_ADMIN);
    u.pathname = '/' + name;
    return { url: u.toString(), name };
}

async function dropDatabase(db) {
    if (db.name)
        await psql(PG_ADMIN, `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
}

// Runs SQL on a server's database with the engine's own client.
export async function dbExec(server, sql) {
    return server.db.name ? psql(server.db.url, sql) : sqlite(server.db.path, sql);
}

// ---- the SMTP sink ------------------------------------------------------

// Shared when scripts/test started one (CITYOS_TEST_SMTP_URL and _DIR),
// otherwise one of our own for the test file.
async function smtpSink(dir) {
    if (process.env.CITYOS_TEST_SMTP_URL && process.env.CITYOS_TEST_SMTP_DIR)
        return { url: process.env.CITYOS_TEST_SMTP_URL, dir: process.env.CITYOS_TEST_SMTP_DIR, stop: async () => {} };
    const mdir = join(dir, 'mail');
    const p = spawn('/usr/bin/python3', [join(ROOT, 'tests/tools/smtp_sink.py'), '--port', '0', '--dir', mdir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((ok, fail) => {
        let out = '';
        p.stdout.setEncoding('utf8').on('data', (d) => {
            out += d;
            const m = /ready (\d+)/.exec(out);
            if (m) ok(Number(m[1]));
        });
        p.on('exit', (c) => fail(new Error(`smtp_sink exited ${c}`)));
    });
    p.removeAllListeners('exit');
    const exited = new Promise((ok) => p.on('exit', ok));
    return {
        url: `smtp://127.0.0.1:${port}`,
        dir: mdir,
        proc: p,
        stop: async () => { p.kill('SIGTERM'); await exited; },
    };
}

// Messages in the sink whose envelope recipient contains rcpt, as text.
export function mailsTo(dir, rcpt) {
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .filter((m) => (/^X-Sink-Rcpt-To: (.*)$/m.exec(m)?.[1] ?? '').includes(rcpt));
}

export async function waitFor(what, fn, ms = 20000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(200);
    }
}

// ---- the server ---------------------------------------------------------

// Starts a server for a test file on a database of its own.
//   opts.args   extra flags for `cityos serve` (e.g. ['--session-idle', '3'])
//   opts.demo   false: no demo data
//   opts.tag    names the PostgreSQL database (default: the calling file)
//   opts.shareWith  another server object: this one is a second process on
//               the same database, key file and SMTP sink (no init, no
//               demo; its stop() leaves the database to the first server,
//               which must be stopped last)
// Returns an object with url, port, db {url, path|name}, keyFile, dir,
// smtp {url, dir}, alertMail, cli(args, input), restart(), stop(),
// output() (the server's standard error so far).
export async function startServer(opts = {}) {
    const tag = opts.tag || 'e2e';
    const dir = mkdtempSync(join(tmpdir(), `cityos-e2e-${tag}-`));
    const shared = opts.shareWith || null;
    const db = shared ? shared.db : await newDatabase(dir, tag);
    const keyFile = shared ? shared.keyFile : join(dir, 'keys');
    const smtp = shared
        ? { url: shared.smtp.url, dir: shared.smtp.dir, stop: async () => {} }
        : await smtpSink(dir);
    const alertMail = shared ? shared.alertMail : `alerts-${tag}-${process.pid}@sink.test`;
    const server = {
        dir, db, keyFile, smtp, alertMail, proc: null, port: 0, url: '',
        log: '', exited: null,
        cli: (args, input) => cityos(db.url, keyFile, args, { input }),
        output() { return this.log; },
    };
    server.start = async () => {
        server.port = await freePort();
        server.url = `http://127.0.0.1:${server.port}`;
        const args = ['serve', '--db', db.url, '--key-file', keyFile,
            '--listen', `127.0.0.1:${server.port}`, '--threads', '4',
            '--smtp-url', smtp.url, '--alert-mail', alertMail,
            '--base-url', server.url, ...(opts.args || [])];
        const p = spawn(BIN, args, {
            cwd: ROOT,
            // Leaks at exit are checked too: a clean SIGTERM frees everything.
            env: {
                ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1',
                UBSAN_OPTIONS: 'print_stacktrace=1',
                ...process.env,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        server.proc = p;
        server.exited = new Promise((ok) => p.on('exit', (code, signal) => ok({ code, signal })));
        const append = (d) => { server.log += d; };
        p.stdout.setEncoding('utf8').on('data', append);
        p.stderr.setEncoding('utf8').on('data', append);
        const end = Date.now() + 30000;
        for (;;) {
            if (p.exitCode !== null || p.signalCode !== null)
                throw new Error(`cityos serve exited early:\n${server.log}`);
            try {
                const res = await fetch(server.url + '/healthz');
                if (res.status === 200) break;
            } catch { /* not listening yet */ }
            if (Date.now() > end) throw new Error(`cityos serve did not answer:\n${server.log}`);
            await sleep(100);
        }
    };
    // SIGTERM must end the server with status 0 and no sanitizer report.
    server.halt = async () => {
        const p = server.proc;
        if (!p) return;
        server.proc = null;
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 20000);
        const { code, signal } = await server.exited;
        clearTimeout(timer);
        const rep = sanitizerReport(server.log);
        assert.equal(rep, null, `sanitizer report from the server:\n${rep}`);
        assert.equal(signal, null, `server killed by ${signal}:\n${server.log.slice(-3000)}`);
        assert.equal(code, 0, `server exited ${code} after SIGTERM:\n${server.log.slice(-3000)}`);
    };
    server.restart = async () => { await server.halt(); await server.start(); };
    server.stop = async () => {
        try {
            await server.halt();
        } finally {
            await smtp.stop();
            if (!shared) await dropDatabase(db).catch(() => {});
            if (!process.env.CITYOS_TEST_KEEP) rmSync(dir, { recursive: true, force: true });
        }
    };
    try {
        let r = shared ? { code: 0 } : await server.cli(['init']);
        assert.equal(r.code, 0, `cityos init: ${r.stderr}`);
        if (!shared && opts.demo !== false) {
            r = await server.cli(['demo']);
            assert.equal(r.code, 0, `cityos demo: ${r.stderr}`);
        }
        await server.start();
    } catch (e) {
        server.proc?.kill('SIGKILL');
        server.proc = null;
        await server.stop().catch(() => {});
        throw e;
    }
    live.add(server);
    const stop = server.stop;
    server.stop = async () => { live.delete(server); await stop(); };
    return server;
}

// Servers still running when the test process exits (a crash, a hook that
// threw) are killed rather than left behind.
const live = new Set();
process.on('exit', () => {
    for (const s of live) {
        s.proc?.kill('SIGKILL');
        s.smtp.proc?.kill('SIGKILL');
    }
});

// The tag for startServer from a test file's URL: "signin" for
// .../signin.test.mjs.
export function tagOf(metaUrl) {
    return basename(fileURLToPath(metaUrl)).replace(/\.test\.mjs$/, '');
}

// ---- the browser --------------------------------------------------------

export async function launch() {
    return chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--disable-dev-shm-usage'],
    });
}

// A fresh context (its own cookies) for the server; pages in it fail the
// test on a CSP violation or an uncaught script error.
export async function newContext(browser, server, opts = {}) {
    const ctx = await browser.newContext({
        baseURL: server.url, locale: 'ja-JP', timezoneId: 'Asia/Tokyo',
        viewport: DESKTOP, ...opts,
    });
    ctx.problems = [];
    ctx.on('page', (page) => watchPage(ctx, page));
    return ctx;
}

function watchPage(ctx, page) {
    page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text()))
            ctx.problems.push(`CSP violation on ${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => ctx.problems.push(`script error on ${page.url()}: ${e.message}`));
}

// Fails when a page of the context broke the CSP or threw.
export function assertNoPageProblems(ctx) {
    assert.deepEqual(ctx.problems, [], ctx.problems.join('\n'));
}

// Signs in with the password step only; returns the response of the POST.
export async function signIn(page, login, password = DEMO_PASSWORD) {
    await page.goto('/login');
    await page.fill('#login', login);
    await page.fill('#password', password);
    const [res] = await Promise.all([
        page.waitForNavigation(),
        page.click('form[action="/login"] button[type="submit"]'),
    ]);
    return res;
}

export async function signOut(page) {
    await Promise.all([
        page.waitForNavigation(),
        page.locator('form[action="/logout"] button[type="submit"]').first().click(),
    ]);
}

// Submits the form holding the element sel after filling fields.
export async function submit(page, fields, button) {
    for (const [sel, v] of Object.entries(fields)) await page.fill(sel, v);
    const [res] = await Promise.all([page.waitForNavigation(), page.click(button)]);
    return res;
}

// fetch() run inside the page, so the browser sends the session cookie
// as it would for a form (playwright's own request API does not send
// Secure cookies over plain http).  form: an object sent urlencoded.
// Returns {status, url, type, text}; redirects are followed.
export async function pageFetch(page, path, { method = 'GET', form, headers = {} } = {}) {
    return page.evaluate(async ({ path, method, form, headers }) => {
        const init = { method, headers, credentials: 'same-origin' };
        if (form) init.body = new URLSearchParams(form);
        const r = await fetch(path, init);
        return {
            status: r.status, url: r.url, type: r.headers.get('content-type') ?? '',
            text: await r.text(),
        };
    }, { path, method, form, headers });
}

// The CSRF token of the page's forms.
export async function csrfOf(page) {
    return page.locator('input[name="csrf"]').first().getAttribute('value');
}

export function pathOf(page) {
    return new URL(page.url()).pathname;
}

// ---- TOTP (RFC 6238, HMAC-SHA1, 30 s, 6 digits) -------------------------

export function base32Decode(s) {
    const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const clean = s.toUpperCase().replace(/[\s=]/g, '');
    let bits = 0, value = 0;
    const out = [];
    for (const ch of clean) {
        const i = alpha.indexOf(ch);
        if (i < 0) throw new Error(`bad base32 character ${ch}`);
        value = (value << 5) | i;
        bits += 5;
        if (bits >= 8) {
            out.push((value >>> (bits - 8)) & 0xff);
            bits -= 8;
        }
    }
    return Buffer.from(out);
}

export function totpAt(secret, step) {
    const msg = Buffer.alloc(8);
    msg.writeBigUInt64BE(BigInt(step));
    const h = createHmac('sha1', base32Decode(secret)).update(msg).digest();
    const off = h[h.length - 1] & 0x0f;
    const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
    return String(bin % 1000000).padStart(6, '0');
}

export const stepNow = () => Math.floor(Date.now() / 1000 / 30);

// A code the server will accept: its step is inside the window (now and
// one either side) and after the last step used (state.last), which the
// server refuses to accept twice.  Waits for the clock when needed.
export async function freshCode(secret, state) {
    for (;;) {
        const now = stepNow();
        const step = Math.max(now, (state.last ?? 0) + 1);
        if (step <= now + 1) {
            // Too close to the end of the window's last step: wait.
            const msLeft = (now + 1) * 30000 - Date.now();
            if (step === now + 1 && msLeft < 2000) {
                await sleep(msLeft + 100);
                continue;
            }
            state.last = step;
            return totpAt(secret, step);
        }
        await sleep((step - 1) * 30000 - Date.now() + 200);
    }
}

// Completes TOTP enrolment on /account/totp/setup (where a privileged
// user lands at first sign-in).  Returns {secret, codes, state}; state
// remembers the last step used, for freshCode().
export async function enrolTotp(page) {
    assert.equal(pathOf(page), '/account/totp/setup', `expected the enrolment page, got ${page.url()}`);
    const secret = (await page.textContent('#totp-secret')).trim();
    const state = {};
    await submit(page, { '#code': await freshCode(secret, state) },
        'form[action="/account/totp/setup"] button[type="submit"]');
    const codes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
    assert.ok(codes.length >= 5, `recovery codes shown: ${codes}`);
    return { secret, codes, state };
}

// Signs in a user who has TOTP: password, then a fresh code.
export async function signInTotp(page, login, totp, password = DEMO_PASSWORD) {
    await signIn(page, login, password);
    assert.equal(pathOf(page), '/login/totp', `expected the code step, got ${page.url()}`);
    await submit(page, { '#code': await freshCode(totp.secret, totp.state) },
        'form[action="/login/totp"] button[type="submit"]');
}

// Signs in a privileged demo user (admin, auditor) with TOTP, enrolling
// at the first sign-in; keep the returned object for the next sign-ins.
export async function signInPrivileged(page, login, totp) {
    if (!totp) {
        await signIn(page, login);
        totp = await enrolTotp(page);
        await Promise.all([page.waitForNavigation(), page.click('#main a.button--primary[href="/"]')]);
        return totp;
    }
    await signInTotp(page, login, totp);
    return totp;
}

// ---- accessibility (NFR-4): axe-core, WCAG 2.1 A and AA ------------------

const AXE_SOURCE = readFileSync(join(ROOT, 'tests/e2e/node_modules/axe-core/axe.min.js'), 'utf8');

// Our CSP forbids inline scripts, so the context that runs axe bypasses
// it; use this context only for accessibility checks.
export async function newAxeContext(browser, server, viewport = DESKTOP) {
    return newContext(browser, server, { bypassCSP: true, viewport });
}

// Runs axe on the page as it is; fails on any violation, listing them.
export async function checkA11y(page, label = page.url()) {
    await page.addScriptTag({ content: AXE_SOURCE });
    const result = await page.evaluate(async () => {
        // eslint-disable-next-line no-undef
        const r = await axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        });
        return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
        }));
    });
    assert.deepEqual(result, [], `axe violations on ${label}:\n` +
        result.map((v) => `- ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join('\n    ')}`).join('\n'));
}
