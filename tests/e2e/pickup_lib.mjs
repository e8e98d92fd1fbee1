// pickup_lib.mjs - what the end-to-end tests of the My Number Card pickup
// service share (pickup_citizen, pickup_staff, pickup_bad_input,
// pickup_race): a small HTTP client with a cookie jar (for clients that
// are not a browser: the race's 200 parallel citizens and the call
// center's API), staff and citizen sign-in over plain HTTP, the staff
// settings and CSV import driven through the same forms a browser
// posts, Japan dates, CP932 encoding, and a MIME reader for the mail the
// SMTP sink stored.  Not a test file itself (node --test ignores it).

import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { dbExec } from './lib.mjs';

// ---- Japan dates --------------------------------------------------------

// "YYYY-MM-DD" of today in Japan (UTC+9, no daylight saving time).
export function jstToday() {
    return new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
}

// Minutes after midnight, Japan time, now.
export function jstMinutesNow() {
    const d = new Date(Date.now() + 9 * 3600e3);
    return d.getUTCHours() * 60 + d.getUTCMinutes();
}

export function addDays(ymd, n) {
    const d = new Date(`${ymd}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
}

// 0 = Sunday.
export function weekdayOf(ymd) {
    return new Date(`${ymd}T00:00:00Z`).getUTCDay();
}

// "令和8年11月22日（日）": how the pages and the mail write a date.
export function jpDate(ymd) {
    const [y, m, d] = ymd.split('-').map(Number);
    const era = y - 2018 === 1 ? '元' : String(y - 2018);
    return `令和${era}年${m}月${d}日（${'日月火水木金土'[weekdayOf(ymd)]}）`;
}

export const hhmm = (min) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

// ---- encodings ----------------------------------------------------------

// UTF-8 text in another encoding, with iconv.
export function encodeAs(text, encoding) {
    const r = spawnSync('iconv', ['-f', 'UTF-8', '-t', encoding], { input: Buffer.from(text, 'utf8') });
    assert.equal(r.status, 0, `iconv: ${r.stderr}`);
    return r.stdout;
}

// CP932: Shift_JIS as Windows (and Excel) writes it.
export const toCp932 = (text) => encodeAs(text, 'CP932');

export function fromCp932(buf) {
    return new TextDecoder('shift_jis', { fatal: true }).decode(buf);
}

// ---- database -----------------------------------------------------------

export async function dbInt(server, sql) {
    const out = (await dbExec(server, sql)).trim();
    assert.match(out, /^-?\d+$/, `${sql} gave ${JSON.stringify(out)}`);
    return Number(out);
}

export async function dbRows(server, sql) {
    const out = (await dbExec(server, sql)).trim();
    return out ? out.split('\n').map((l) => l.split('|')) : [];
}

// What the bad-input tests compare before and after: nothing changed.
export async function snapshot(server) {
    const q = async (sql) => (await dbExec(server, sql)).trim();
    return {
        bookings: await q("SELECT status || ':' || COUNT(*) FROM bookings GROUP BY status ORDER BY status"),
        booked: await q('SELECT COALESCE(SUM(booked), 0) FROM booking_slots'),
        members: await q('SELECT COUNT(*) FROM booking_members'),
        notices: await q("SELECT status || ':' || COUNT(*) FROM notices GROUP BY status ORDER BY status"),
        mail: await q('SELECT COUNT(*) FROM mail_queue'),
        history: await q('SELECT COUNT(*) FROM booking_history'),
    };
}

// ---- HTTP with a cookie jar ---------------------------------------------

// One client (one browser's worth of cookies).  Our cookies are
// __Host-/Secure; a client outside a browser sends them back over plain
// HTTP as any HTTP library does.
export class Client {
    constructor(base) {
        this.base = base;
        this.jar = new Map();
        this.csrf = null;  // staff session's token, or the pre-session one
        this.pcsrf = null; // citizen session's own token
    }

    cookieHeader() {
        return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }

    absorb(res) {
        for (const c of res.headers.getSetCookie()) {
            const [kv, ...attrs] = c.split(';');
            const i = kv.indexOf('=');
            const k = kv.slice(0, i).trim(), v = kv.slice(i + 1).trim();
            const gone = v === '' || attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) ||
                attrs.some((a) => /^\s*expires=.*1970/i.test(a));
            if (gone) this.jar.delete(k);
            else this.jar.set(k, v);
        }
    }

    // method, path; form (object or URLSearchParams: urlencoded), json,
    // multipart (FormData), headers.  Redirects are not followed.
    // Returns {status, location, type, text, buf, ms}.
    async request(method, path, { form, json, multipart, headers = {}, binary = false } = {}) {
        const h = { ...headers };
        if (this.jar.size) h.Cookie = this.cookieHeader();
        let body;
        if (form) {
            body = new URLSearchParams(form).toString();
            h['Content-Type'] = 'application/x-www-form-urlencoded';
        } else if (json !== undefined) {
            body = JSON.stringify(json);
            h['Content-Type'] = 'application/json';
        } else if (multipart) {
            body = multipart;
        }
        const t0 = performance.now();
        const res = await fetch(this.base + path, { method, headers: h, body, redirect: 'manual' });
        this.absorb(res);
        const buf = Buffer.from(await res.arrayBuffer());
        return {
            status: res.status,
            location: res.headers.get('location') ?? '',
            type: res.headers.get('content-type') ?? '',
            headers: res.headers,
            text: binary ? '' : buf.toString('utf8'),
            buf,
            ms: performance.now() - t0,
        };
    }

    get(path, opts) { return this.request('GET', path, opts); }
    post(path, form, opts = {}) { return this.request('POST', path, { ...opts, form }); }

    // A JSON API call with the staff session's CSRF token.
    api(method, path, json) {
        return this.request(method, path, {
            json, headers: { 'X-CSRF-Token': this.csrf, Accept: 'application/json' },
        });
    }
}

// A redirect (the server answers POSTs with 303 See Other).
export const redirected = (r) => r.status === 302 || r.status === 303;

// The value of a hidden input of a page.
export function hidden(html, name) {
    const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
    return m ? m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"') : null;
}

// Text content of the element with id (tags dropped, entities of the
// kinds our templates write undone), or null.
export function textOf(html, id) {
    const m = new RegExp(`<([a-z0-9]+)[^>]*\\sid="${id}"[^>]*>`).exec(html);
    if (!m) return null;
    const tag = m[1];
    const re = new RegExp(`<(/?)${tag}\\b[^>]*>`, 'g');
    re.lastIndex = m.index + m[0].length;
    let depth = 1, end = html.length;
    for (let x; (x = re.exec(html));) {
        depth += x[1] ? -1 : 1;
        if (depth === 0) {
            end = x.index;
            break;
        }
    }
    return html.slice(m.index + m[0].length, end).replace(/<[^>]+>/g, '')
        .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
}

// Staff sign-in over HTTP (password only: tanaka and operator1 are not
// privileged).  Leaves client.csrf set to the session's token.
export async function staffLogin(client, login, password = 'Cityos-Demo-2026') {
    let r = await client.get('/login');
    assert.equal(r.status, 200);
    r = await client.post('/login', { csrf: hidden(r.text, 'csrf'), login, password, next: '/' });
    assert.ok(redirected(r), `staff sign-in ${login}: ${r.status}`);
    r = await client.get('/');
    assert.equal(r.status, 200, `home after sign-in: ${r.status}`);
    client.csrf = hidden(r.text, 'csrf');
    assert.ok(client.csrf, 'session CSRF token on the home page');
    return client;
}

// Citizen sign-in over HTTP, as the sign-in form posts it.  Returns the
// answer of the POST (303 to /pickup/mine when it worked).
export async function citizenLogin(client, notice, mmdd) {
    let r = await client.get('/pickup/login');
    assert.equal(r.status, 200);
    client.csrf = hidden(r.text, 'csrf');
    r = await client.post('/pickup/login', { csrf: client.csrf, notice_no: notice, mmdd });
    if (redirected(r) && r.location.startsWith('/pickup/mine')) {
        const mine = await client.get('/pickup/mine');
        client.pcsrf = hidden(mine.text, 'pcsrf');
    }
    return r;
}

// The confirm step of a citizen for a slot: the fields the page's form
// posts (members is what the page showed as booked).
export async function citizenConfirmForm(client, slot) {
    const r = await client.get(`/pickup/confirm?slot=${slot}`);
    assert.equal(r.status, 200, `confirm page: ${r.status} ${r.text.slice(0, 300)}`);
    return {
        csrf: hidden(r.text, 'csrf'), pcsrf: hidden(r.text, 'pcsrf'),
        slot: String(slot), members: hidden(r.text, 'members'), email: '',
    };
}

// ---- staff settings through the forms -----------------------------------

// A new pickup location; returns its id.  hours: [{wd, start, end, cap}]
// ("09:00"), several per weekday allowed.
export async function createLocation(staff, loc, hours = []) {
    const form = {
        csrf: staff.csrf, name: loc.name, address: loc.address ?? '', note: loc.note ?? '',
        slot_minutes: String(loc.slot_minutes ?? 30), capacity: String(loc.capacity ?? 5),
        window_days: String(loc.window_days ?? 28), deadline_days: String(loc.deadline_days ?? 2),
        max_party: String(loc.max_party ?? 6),
    };
    const r = await staff.post('/staff/pickup/settings/new', form);
    assert.ok(redirected(r), `new location: ${r.status} ${r.text.slice(0, 500)}`);
    const id = Number(/\/staff\/pickup\/settings\/(\d+)\//.exec(r.location)?.[1]);
    assert.ok(id > 0, `location id from ${r.location}`);
    if (hours.length) await setHours(staff, id, hours);
    return id;
}

export async function setHours(staff, id, hours) {
    const form = new URLSearchParams({ csrf: staff.csrf });
    const n = {};
    for (const h of hours) {
        n[h.wd] = (n[h.wd] ?? 0) + 1;
        form.set(`start_${h.wd}_${n[h.wd]}`, h.start);
        form.set(`end_${h.wd}_${n[h.wd]}`, h.end);
        form.set(`cap_${h.wd}_${n[h.wd]}`, h.cap ? String(h.cap) : '');
    }
    const r = await staff.post(`/staff/pickup/settings/${id}/hours`, form);
    assert.ok(redirected(r), `hours: ${r.status} ${r.text.slice(0, 500)}`);
}

// Every weekday start-end.
export const everyDay = (start, end, cap) => [0, 1, 2, 3, 4, 5, 6].map((wd) => ({ wd, start, end, cap }));

export async function addException(staff, id, ex) {
    const r = await staff.post(`/staff/pickup/settings/${id}/exceptions`, {
        csrf: staff.csrf, date: ex.date, kind: ex.kind, start: ex.start ?? '', end: ex.end ?? '',
        capacity: ex.capacity ? String(ex.capacity) : '', note: ex.note ?? '',
    });
    assert.ok(redirected(r), `exception: ${r.status} ${r.text.slice(0, 500)}`);
}

// The slots of a location on a date: [{id, start, cap, booked}].
export async function slotsOf(server, loc, date) {
    const rows = await dbRows(server,
        `SELECT id, start_min, capacity, booked FROM booking_slots WHERE resource_id = ${Number(loc)} ` +
        `AND date = '${date}' ORDER BY start_min`);
    return rows.map(([id, start, cap, booked]) => ({ id: Number(id), start: Number(start), cap: Number(cap), booked: Number(booked) }));
}

// ---- CSV import through the upload form ---------------------------------

// Uploads a notices CSV (bytes) and imports it (mode "accepted").
// Returns the number imported.
export async function importNotices(staff, bytes, filename = 'notices.csv') {
    const fd = new FormData();
    fd.set('csrf', staff.csrf);
    fd.set('mode', 'accepted');
    fd.set('file', new Blob([bytes], { type: 'text/csv' }), filename);
    let r = await staff.request('POST', '/staff/pickup/import', { multipart: fd });
    assert.equal(r.status, 200, `import preview: ${r.status} ${r.text.slice(0, 800)}`);
    const token = hidden(r.text, 'token');
    assert.ok(token, `no token on the preview: ${r.text.slice(0, 800)}`);
    r = await staff.post('/staff/pickup/import/commit', { csrf: staff.csrf, token, mode: 'accepted' });
    assert.equal(r.status, 200, `import commit: ${r.status} ${r.text.slice(0, 800)}`);
    return Number(/id="import-imported">(\d+)</.exec(r.text)?.[1]);
}

// CSV of notices: [{no, birth, kana}] -> UTF-8 text with the documented
// header.
export function noticesCsv(rows) {
    return '通知書番号,氏名カナ,生年月日\r\n' +
        rows.map((r) => `${r.no},${r.kana},${r.birth}`).join('\r\n') + '\r\n';
}

// ---- mail (MIME as mail.c writes it) ------------------------------------

function decodeWords(s) {
    return s.replace(/=\?UTF-8\?B\?([^?]*)\?=\s*/gi, (_, b) => Buffer.from(b, 'base64').toString('utf8')).trim();
}

function headersOf(block) {
    const h = {};
    for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) h[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    return h;
}

function decodeBody(h, body) {
    if (/base64/i.test(h['content-transfer-encoding'] ?? ''))
        return Buffer.from(body.replace(/\s+/g, ''), 'base64');
    return Buffer.from(body, 'utf8');
}

// {headers, subject, text, attachments [{type, name, data (string)}]}.
export function parseMail(raw) {
    const split = raw.indexOf('\r\n\r\n');
    const h = headersOf(raw.slice(0, split));
    const body = raw.slice(split + 4);
    const out = { headers: h, subject: decodeWords(h.subject ?? ''), text: '', attachments: [] };
    const bm = /boundary="([^"]+)"/.exec(h['content-type'] ?? '');
    const parts = bm
        ? body.split(`--${bm[1]}`).slice(1).filter((p) => !p.startsWith('--'))
        : [`${raw.slice(0, split)}\r\n\r\n${body}`];
    for (const p of parts) {
        const s = p.replace(/^\r\n/, '');
        const i = s.indexOf('\r\n\r\n');
        const ph = headersOf(s.slice(0, i));
        const data = decodeBody(ph, s.slice(i + 4)).toString('utf8');
        const type = ph['content-type'] ?? '';
        if (/^text\/plain/i.test(type) && !/attachment/i.test(ph['content-disposition'] ?? ''))
            out.text += data;
        else
            out.attachments.push({ type, name: /name="([^"]*)"/.exec(type + (ph['content-disposition'] ?? ''))?.[1] ?? '', data });
    }
    return out;
}

// iCalendar text with folded lines joined and escapes undone.
export function icsUnfold(ics) {
    return ics.replace(/\r\n[ \t]/g, '').replace(/\\([,;\\])/g, '$1').replace(/\\n/gi, '\n');
}

// ---- measuring ----------------------------------------------------------

export function percentile(values, p) {
    const v = [...values].sort((a, b) => a - b);
    if (!v.length) return 0;
    return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)];
}
