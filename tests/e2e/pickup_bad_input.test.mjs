// pickup_bad_input.test.mjs - what the pickup service does with wrong
// input (issue #3 "Bad input"; RSV-1, RSV-4, RSV-6, RSV-9, RSV-11,
// RSV-14): an unknown notice and a wrong birthday get the same answer,
// repeated failures lock the notice (known or not, the same way); past
// and closed dates, a closed location, a party larger than the places
// left or than the location takes, a deadline that has passed, a bad
// e-mail address, malformed CSV rows and files, CSV in the wrong
// encoding: each gets a clear Japanese message, and nothing changes in
// the database (counts compared before and after).
//
// The citizen's side is a phone-sized Chromium where a citizen could
// type the input, and plain HTTP for what only a crafted request can
// send; the staff side posts the same forms as the staff pages.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    PHONE, assertNoPageProblems, dbExec, launch, newContext, pathOf, signIn, startServer, tagOf,
} from './lib.mjs';
import {
    Client, addDays, addException, citizenLogin, createLocation, dbInt, everyDay, hidden,
    encodeAs, importNotices, jstToday, noticesCsv, redirected, slotsOf, snapshot, staffLogin, textOf, toCp932,
} from './pickup_lib.mjs';

const P = {
    a: { no: '900000000301', birth: '1980-05-05', mmdd: '0505', kana: 'ニュウリョク　イチ' },
    b: { no: '900000000302', birth: '2000-02-29', mmdd: '0229', kana: 'ニュウリョク　ニ' },
    lock: { no: '900000000303', birth: '1970-12-31', mmdd: '1231', kana: 'ロック　サン' },
    late: { no: '900000000304', birth: '1990-07-07', mmdd: '0707', kana: 'キゲン　ヨン' },
    other: { no: '900000000305', birth: '1991-01-01', mmdd: '0101', kana: 'ホカノ　ゴ' },
};
const UNKNOWN = '999-888777666';
const MSG = {
    auth: '交付通知書番号またはパスワードが正しくありません。',
    locked: '続けて間違えたため、この交付通知書番号では15分間ログインできません。',
    past: '過ぎた日は予約できません。',
    notYet: 'この日はまだ予約を受け付けていません。',
    closed: 'この時間はもう予約・変更できません',
    full: 'この時間は、予約する人数分の空きがなくなりました。何も変更していません。',
    partyMax: 'この受取場所で一度に予約できる人数を超えています。何も変更していません。',
    locClosed: 'お選びの受取場所では、現在予約を受け付けていません。',
    deadline: '変更・取消の受付期限を過ぎたため、この画面からは変更・取消ができません。予約は変わっていません。',
    contact: 'マイナンバーカード予約センター',
    email: 'メールアドレスの形式が正しくありません。',
    noSlot: 'お選びの時間が見つかりません。',
};

let server, browser, ctx, page, staff, L1, L2, L3;
const today = jstToday();

before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    staff = await staffLogin(new Client(server.url), 'tanaka');
    // Every day 9:00-12:00, 2 places a slot, bookable 14 days ahead until
    // two days before.
    L1 = await createLocation(staff, { name: '入力試験会場', capacity: 2, window_days: 14, deadline_days: 2 },
        everyDay('09:00', '12:00'));
    L2 = await createLocation(staff, { name: 'ひとりずつ会場', capacity: 2, window_days: 14, deadline_days: 2, max_party: 1 },
        everyDay('09:00', '12:00'));
    L3 = await createLocation(staff, { name: '閉鎖予定会場', capacity: 2, window_days: 14, deadline_days: 2 },
        everyDay('09:00', '12:00'));
    assert.equal(await importNotices(staff, Buffer.from(noticesCsv(Object.values(P)))), 5);
    ctx = await newContext(browser, server, { viewport: PHONE, isMobile: true, hasTouch: true });
    page = await ctx.newPage();
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

async function phoneLogin(no, mmdd) {
    await page.goto('/pickup/login');
    await page.fill('#notice_no', no);
    await page.fill('#mmdd', mmdd);
    const [res] = await Promise.all([page.waitForNavigation(), page.tap('#pickup-login-submit')]);
    return res;
}

// A citizen signed in over HTTP (what a crafted request would come from).
async function citizen(...people) {
    const c = new Client(server.url);
    const r = await citizenLogin(c, people[0].no, people[0].mmdd);
    assert.ok(redirected(r), `sign-in ${people[0].no}`);
    for (const p of people.slice(1)) {
        const f = await c.get('/pickup/family');
        const x = await c.post('/pickup/family', {
            csrf: hidden(f.text, 'csrf'), pcsrf: c.pcsrf, notice_no: p.no, mmdd: p.mmdd,
        });
        assert.ok(redirected(x), `family ${p.no}: ${x.status}`);
        c.pcsrf = hidden((await c.get('/pickup/mine')).text, 'pcsrf');
    }
    return c;
}

// The POST of the confirm page, crafted for any slot.
async function confirm(c, slot, extra = {}) {
    const page0 = await c.get('/pickup/mine');
    const members = extra.members ?? (await c.get(`/pickup/confirm?slot=${slot}`)).text.match(/name="members" value="([^"]*)"/)?.[1] ?? '';
    return c.post('/pickup/confirm', {
        csrf: hidden(page0.text, 'csrf'), pcsrf: c.pcsrf, slot: String(slot), members, email: '', ...extra,
    });
}

function problemText(r) {
    return textOf(r.text, 'pickup-problem') ?? textOf(r.text, 'pickup-confirm-error') ?? textOf(r.text, 'pickup-cancel-error') ?? '';
}

test('an unknown notice and a wrong birthday get the same answer; format errors say what to type', async () => {
    const snap = await snapshot(server);
    let res = await phoneLogin(UNKNOWN, '0101');
    assert.equal(res.status(), 401);
    const unknown = (await page.textContent('#pickup-login-error')).trim();
    res = await phoneLogin(P.a.no, '0506');
    assert.equal(res.status(), 401);
    const wrong = (await page.textContent('#pickup-login-error')).trim();
    assert.equal(unknown, wrong, 'one message for both');
    assert.ok(wrong.startsWith(MSG.auth), wrong);
    assert.equal(pathOf(page), '/pickup/login');
    assert.equal(await page.getAttribute('#notice_no', 'aria-invalid'), 'true');
    // The same over HTTP: same status, same page but for the number typed.
    const h1 = new Client(server.url), h2 = new Client(server.url);
    const r1 = await citizenLogin(h1, '999888777665', '0101');
    const r2 = await citizenLogin(h2, P.b.no, '0228');
    assert.equal(r1.status, r2.status);
    const strip = (t) => t.replace(/value="[^"]*"/g, '').replace(/nonce="[^"]*"/g, '');
    assert.equal(strip(r1.text), strip(r2.text));
    assert.ok(!h1.jar.has('__Host-pickup') && !h2.jar.has('__Host-pickup'), 'no session');

    res = await phoneLogin('12345', '0505');
    assert.equal(res.status(), 400);
    assert.match(await page.textContent('#pickup-login-error'), /9けたから12けたの数字/);
    res = await phoneLogin(P.a.no, '1332');
    assert.equal(res.status(), 400);
    assert.match(await page.textContent('#pickup-login-error'), /誕生日の月日を4けたの数字/);
    res = await phoneLogin(P.a.no, '');
    assert.equal(res.status(), 400);
    assert.match(await page.textContent('#pickup-login-error'), /交付通知書番号とパスワードを入力してください/);
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM pickup_sessions'), 0);
    assert.deepEqual(await snapshot(server), snap);
    // Full-width digits and a leap-day birthday are fine.
    res = await phoneLogin('９００－００００００３０２', '０２２９');
    assert.equal(pathOf(page), '/pickup/mine');
    await Promise.all([page.waitForNavigation(), page.tap('#pickup-logout')]);
    assertNoPageProblems(ctx);
});

test('repeated failures lock a notice for 15 minutes, and an unknown number exactly the same way', async () => {
    const answers = async (no, tries) => {
        const out = [];
        for (let i = 0; i < tries; i++) {
            const r = await citizenLogin(new Client(server.url), no, '0102');
            out.push(`${r.status} ${textOf(r.text, 'pickup-login-error')?.slice(0, 30)}`);
        }
        return out;
    };
    const known = await answers(P.lock.no, 6);
    const unknown = await answers('999111222333', 6);
    assert.deepEqual(known, unknown, 'a known and an unknown number answer alike');
    assert.deepEqual(known.map((a) => a.split(' ')[0]), ['401', '401', '401', '401', '403', '403']);
    assert.ok(known[4].includes(MSG.locked.slice(0, 30)), known[4]);
    // Locked: even the right password is refused, with the same message.
    const r = await citizenLogin(new Client(server.url), P.lock.no, P.lock.mmdd);
    assert.equal(r.status, 403);
    assert.ok(textOf(r.text, 'pickup-login-error').startsWith(MSG.locked));
    assert.ok(await dbInt(server, `SELECT locked_until FROM notices WHERE notice_no = '${P.lock.no}'`) > Date.now() / 1000 + 800);
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM audit_log WHERE action = 'pickup.lockout' AND target_id = '${P.lock.no}'`), 1);
    // Others are not affected.
    assert.ok(redirected(await citizenLogin(new Client(server.url), P.a.no, P.a.mmdd)));
    // Staff may unlock it (the citizen called): then the right password works.
    const pg = await staff.get(`/staff/pickup/notices/${P.lock.no}`);
    assert.match(pg.text, /id="unlock-form"/);
    const u = await staff.post(`/staff/pickup/notices/${P.lock.no}/unlock`, { csrf: staff.csrf });
    assert.ok(redirected(u), `unlock: ${u.status}`);
    assert.ok(redirected(await citizenLogin(new Client(server.url), P.lock.no, P.lock.mmdd)));
});

test('past dates, dates outside the window and closed dates cannot be booked', async () => {
    const c = await citizen(P.a);
    const snap = await snapshot(server);
    let r = await c.get(`/pickup/day?loc=${L1}&date=${addDays(today, -1)}`);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.past), problemText(r));
    r = await c.get(`/pickup/day?loc=${L1}&date=${addDays(today, 20)}`);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.notYet), problemText(r));
    r = await c.get(`/pickup/day?loc=${L1}&date=2027-02-30`);
    assert.equal(r.status, 400);
    assert.match(problemText(r), /日付の指定が正しくありません/);
    // A slot of yesterday (slots of past days stay as history).
    await dbExec(server, `INSERT INTO booking_slots (resource_id, date, start_min, len_min, capacity) VALUES (${L1}, '${addDays(today, -1)}', 600, 30, 2)`);
    const past = (await slotsOf(server, L1, addDays(today, -1)))[0];
    r = await confirm(c, past.id);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.closed), problemText(r));
    // A slot beyond the window, by its id.
    const far = await dbInt(server, `SELECT COUNT(*) FROM booking_slots WHERE resource_id = ${L1} AND date > '${addDays(today, 14)}'`);
    assert.equal(far, 0, 'no slots are made beyond the window');
    assert.deepEqual(await snapshot(server), snap);

    // A closure on a day that had slots: gone from the calendar, and the
    // slot a citizen had open in another tab is refused.
    const closedDay = addDays(today, 5);
    const before = await slotsOf(server, L1, closedDay);
    assert.ok(before.length > 0);
    const form = await c.get(`/pickup/confirm?slot=${before[0].id}`);
    assert.equal(form.status, 200);
    await addException(staff, L1, { date: closedDay, kind: 'closed', note: '臨時休業' });
    assert.equal((await slotsOf(server, L1, closedDay)).length, 0);
    const snap2 = await snapshot(server);
    await page.context().clearCookies();
    await phoneLogin(P.a.no, P.a.mmdd);
    await page.goto(`/pickup/calendar?loc=${L1}&month=${closedDay.slice(0, 7)}`);
    assert.equal(await page.locator(`#day-${closedDay}`).count(), 0, 'no link on the closed day');
    const cell = page.locator('td.pickup-cal__cell--closed', { hasText: String(Number(closedDay.slice(8))) }).first();
    assert.match(await cell.textContent(), /予約できません/);
    await page.goto(`/pickup/day?loc=${L1}&date=${closedDay}`);
    assert.ok(await page.locator('#pickup-day-none').isVisible());
    assert.equal(await page.locator('input[name="slot"]').count(), 0);
    r = await c.post('/pickup/confirm', {
        csrf: hidden(form.text, 'csrf'), pcsrf: c.pcsrf, slot: String(before[0].id), members: hidden(form.text, 'members'), email: '',
    });
    assert.equal(r.status, 404);
    assert.ok(problemText(r).startsWith(MSG.noSlot), problemText(r));

    // A location closed by staff: its calendar and its slots are refused.
    const s3 = (await slotsOf(server, L3, addDays(today, 4)))[0];
    const f3 = await c.get(`/pickup/confirm?slot=${s3.id}`);
    const cl = await staff.post(`/staff/pickup/settings/${L3}/close`, { csrf: staff.csrf });
    assert.ok(redirected(cl));
    r = await c.get(`/pickup/calendar?loc=${L3}`);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.locClosed), problemText(r));
    r = await c.post('/pickup/confirm', {
        csrf: hidden(f3.text, 'csrf'), pcsrf: c.pcsrf, slot: String(s3.id), members: hidden(f3.text, 'members'), email: '',
    });
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.locClosed), problemText(r));
    const loc = await c.get('/pickup/locations');
    assert.doesNotMatch(loc.text, /閉鎖予定会場/, 'a closed location is not offered');
    assert.deepEqual(await snapshot(server), snap2);
    assertNoPageProblems(ctx);
});

test('a party larger than the places left, or than the location takes, is refused', async () => {
    const fam = await citizen(P.a, P.b);
    const d = addDays(today, 4);
    const slot = (await slotsOf(server, L1, d))[1];
    // Someone else takes one of the two places (the call center).
    const api = await staff.api('POST', '/api/v1/pickup/bookings', { slot_id: slot.id, notices: [P.other.no] });
    assert.equal(api.status, 201, api.text);
    const snap = await snapshot(server);
    // The page shows the time, disabled, with the reason.
    await page.context().clearCookies();
    await phoneLogin(P.a.no, P.a.mmdd);
    await page.goto('/pickup/family');
    await page.fill('#notice_no', P.b.no);
    await page.fill('#mmdd', P.b.mmdd);
    await Promise.all([page.waitForNavigation(), page.tap('#pickup-family-submit')]);
    await page.goto(`/pickup/day?loc=${L1}&date=${d}`);
    assert.equal(await page.locator(`#slot-${slot.id}`).isDisabled(), true);
    assert.equal((await page.textContent(`#slot-${slot.id}-why`)).trim(), '残り1人のため、2人では予約できません');
    // A crafted POST for it: the clear "full" message, nothing booked.
    let r = await confirm(fam, slot.id);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).includes(MSG.full), problemText(r));
    // The API: two people for one place.
    r = await staff.api('POST', '/api/v1/pickup/bookings', { slot_id: slot.id, notices: [P.a.no, P.b.no] });
    assert.equal(r.status, 409);
    assert.match(JSON.parse(r.text).type, /pstaff\.err\.full$/);
    // A location that takes one person at a time.
    const loc = await fam.get('/pickup/locations');
    assert.doesNotMatch(loc.text, new RegExp(`id="pickup-place-${L2}"`), 'not offered as a link');
    assert.match(loc.text, /この受取場所は、一度に1人までしか予約できません。/);
    const s2 = (await slotsOf(server, L2, d))[0];
    r = await confirm(fam, s2.id);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.partyMax), problemText(r));
    r = await staff.api('POST', '/api/v1/pickup/bookings', { slot_id: s2.id, notices: [P.a.no, P.b.no] });
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(await snapshot(server), snap);
    assertNoPageProblems(ctx);
});

test('after the deadline nothing can be booked, changed or cancelled online, and the page says whom to call', async () => {
    const tomorrow = addDays(today, 1);
    const slot = (await slotsOf(server, L1, tomorrow))[0];
    const c = await citizen(P.late);
    const snap0 = await snapshot(server);
    // Booking tomorrow (deadline: two days before): refused.
    let r = await confirm(c, slot.id);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.closed), problemText(r));
    const cal = await c.get(`/pickup/calendar?loc=${L1}&month=${tomorrow.slice(0, 7)}`);
    assert.doesNotMatch(cal.text, new RegExp(`id="day-${tomorrow}"`), 'tomorrow is not a link');
    assert.deepEqual(await snapshot(server), snap0);

    // Staff booked it at the counter past the deadline (staff may).
    let b = await staff.api('POST', '/api/v1/pickup/bookings', { slot_id: slot.id, notices: [P.late.no] });
    assert.equal(b.status, 409, 'not without the override');
    b = await staff.api('POST', '/api/v1/pickup/bookings', { slot_id: slot.id, notices: [P.late.no], override_deadline: true });
    assert.equal(b.status, 201, b.text);
    const ref = JSON.parse(b.text).ref;
    const id = await dbInt(server, `SELECT id FROM bookings WHERE ref = '${ref}'`);
    const snap = await snapshot(server);
    // The citizen sees it, without the buttons, and whom to call.
    await page.context().clearCookies();
    await phoneLogin(P.late.no, P.late.mmdd);
    const warn = await page.textContent(`#pickup-deadline-${id}`);
    assert.ok(warn.includes('変更・取消の受付期限を過ぎています') && warn.includes(MSG.contact), warn);
    assert.equal(await page.locator(`#pickup-change-${id}, #pickup-cancel-${id}`).count(), 0);
    // Crafted: change and cancel are refused.
    r = await c.get(`/pickup/calendar?loc=${L1}&b=${id}`);
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.deadline), problemText(r));
    const later = (await slotsOf(server, L1, addDays(today, 6)))[0];
    r = await confirm(c, later.id, { b: String(id), members: '' });
    assert.equal(r.status, 409);
    assert.ok(problemText(r).startsWith(MSG.deadline), problemText(r));
    const cp = await c.get(`/pickup/cancel?b=${id}`);
    r = await c.post('/pickup/cancel', { csrf: hidden(cp.text, 'csrf'), pcsrf: c.pcsrf, b: String(id) });
    assert.equal(r.status, 409);
    const t = problemText(r);
    assert.ok(t.startsWith(MSG.deadline) && t.includes(MSG.contact), t);
    // Operators keep the same rule (no override for them).
    const op = await staffLogin(new Client(server.url), 'operator1');
    r = await op.api('DELETE', `/api/v1/pickup/bookings/${ref}`);
    assert.equal(r.status, 409, r.text);
    r = await op.api('DELETE', `/api/v1/pickup/bookings/${ref}?override_deadline=1`);
    assert.equal(r.status, 403, r.text);
    assert.deepEqual(await snapshot(server), snap);
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM bookings WHERE id = ${id} AND status = 'active' AND slot_id = ${slot.id}`), 1);
    assertNoPageProblems(ctx);
});

test('a bad e-mail address, a missing citizen token or someone else\'s booking change nothing', async () => {
    const c = await citizen(P.b);
    const slot = (await slotsOf(server, L1, addDays(today, 7)))[0];
    const snap = await snapshot(server);
    let r = await confirm(c, slot.id, { email: 'taro@@example' });
    assert.equal(r.status, 400);
    assert.ok(textOf(r.text, 'email-error').includes(MSG.email), r.text.slice(0, 500));
    r = await confirm(c, slot.id, { pcsrf: '' });
    assert.equal(r.status, 403);
    // The booking of another citizen (P.late's) by its id.
    const theirs = await dbInt(server, `SELECT id FROM bookings WHERE members = 'notice:${P.late.no}'`);
    const cp = await c.get(`/pickup/cancel?b=${theirs}`);
    assert.equal(cp.status, 404);
    r = await c.post('/pickup/cancel', { csrf: hidden((await c.get('/pickup/mine')).text, 'csrf'), pcsrf: c.pcsrf, b: String(theirs) });
    assert.equal(r.status, 404);
    assert.match(problemText(r), /お探しの予約が見つかりません/);
    assert.deepEqual(await snapshot(server), snap);
});

test('malformed CSV rows and files are refused with a clear message and nothing is imported', async () => {
    const desk = await newContext(browser, server);
    const sp = await desk.newPage();
    await signIn(sp, 'tanaka');
    const snap = await snapshot(server);
    const upload = async (path, name, bytes, mode = 'accepted') => {
        await sp.goto(path);
        await sp.setInputFiles('#file', { name, mimeType: 'text/csv', buffer: bytes });
        await sp.check(`#mode-${mode}`);
        const [res] = await Promise.all([sp.waitForNavigation(), sp.click('#import-preview')]);
        return res;
    };
    const rejectLines = () => sp.$$eval('#import-rejects tbody tr', (trs) => trs.map((tr) =>
        [...tr.querySelectorAll('th, td')].map((c) => c.textContent.trim()).join(' | ')));

    // Good and bad rows, "nothing unless every row is right".
    const csv = [
        '通知書番号,氏名カナ,生年月日',
        '900000000401,タダシイ　イチ,1980-01-01', // 2
        '900000000402,,1980-01-01', // 3: no name
        '900000000403,ミライ　ニ,2999-01-01', // 4: born in the future
        '900000000404,カンジ　山田,1980-01-01', // 5: kanji
        '9000000004,ミジカイ　バンゴウ,1980-01-01', // 6: 10 digits is fine
        `${P.a.no},スデニ　アル,1980-05-05`, // 7: imported already
        '900000000406,ゴ　ロク,1980/13/01', // 8: month 13
    ].join('\n') + '\n';
    await upload('/staff/pickup/import', 'mixed.csv', Buffer.from(csv), 'all');
    assert.equal((await sp.textContent('#import-accepted')).trim(), '2');
    const lines = await rejectLines();
    assert.deepEqual(lines.map((l) => l.split(' | ')[0]), ['3', '4', '5', '7', '8']);
    assert.match(lines[0], /氏名カナ/);
    assert.match(lines[3], /通知書番号/);
    const [res] = await Promise.all([sp.waitForNavigation(), sp.click('#import-commit')]);
    assert.equal(res.status(), 409);
    assert.match(await sp.textContent('#import-refused'), /不備のある行があるため、何も取り込みませんでした。/);
    assert.deepEqual(await snapshot(server), snap);

    // Files refused as a whole, each with its reason.
    const refused = [
        ['mynumber.csv', '通知書番号,氏名カナ,生年月日,個人番号\n900000000410,ア　イ,1980-01-01,123412341234\n', /個人番号（マイナンバー）などの列は取り込めません。.*「個人番号」/],
        ['noheader.csv', '通知書番号,氏名カナ\n900000000411,ア　イ\n', /見出しに「生年月日」がありません/],
        ['quote.csv', '通知書番号,氏名カナ,生年月日\n900000000412,"ア　イ,1980-01-01\n', /CSVの形式に誤りがあるため、ファイル全体を取り込みません。/],
        ['only-header.csv', '通知書番号,氏名カナ,生年月日\n', /見出しの後にデータの行がありません。/],
        ['latin1.csv', Buffer.concat([Buffer.from('通知書番号,氏名カナ,生年月日\n900000000413,'), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(',1980-01-01\n')]),
            /文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で保存してください。/],
        ['utf16.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('通知書番号,氏名カナ,生年月日\n900000000414,ア　イ,1980-01-01\n', 'utf16le').swap16()]),
            /文字コードを判別できません。/],
    ];
    for (const [name, body, msg] of refused) {
        const r = await upload('/staff/pickup/import', name, Buffer.isBuffer(body) ? body : Buffer.from(body));
        assert.equal(r.status(), 400, name);
        assert.match(await sp.textContent('#file-error'), msg, name);
        assert.equal(await sp.locator('#import-commit').count(), 0, name);
    }
    // EUC-JP (old Unix systems): neither UTF-8 nor CP932.
    const euc = await upload('/staff/pickup/import', 'eucjp.csv',
        encodeAs('通知書番号,氏名カナ,生年月日\n900000000415,イーユーシー　タロウ,1980-01-01\n', 'EUC-JP'));
    assert.equal(euc.status(), 400);
    assert.match(await sp.textContent('#file-error'), /文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で保存してください。/);
    assert.deepEqual(await snapshot(server), snap);

    // J-LIS rows with a bad card number, a future date and a bad box.
    const jlis = [
        '通知書番号,カード番号,氏名カナ,作成日,保管箱',
        `${P.a.no},AB12,${P.a.kana},2026-01-05,A-001`, // 2: card number too short
        `${P.b.no},AB1234567899,${P.b.kana},2999-01-01,A-001`, // 3: made in the future
        `${P.other.no},AB1234567898,${P.other.kana},2026-01-05,<b>`, // 4: markup in the box
        `${P.late.no},AB1234567897,${P.late.kana},2014-12-31,A-002`, // 5: before cards existed
    ].join('\n') + '\n';
    await upload('/staff/pickup/jlis', 'jlis-bad.csv', Buffer.from(jlis));
    assert.equal((await sp.textContent('#import-accepted')).trim(), '0');
    const jl = await rejectLines();
    assert.deepEqual(jl.map((l) => l.split(' | ')[0]), ['2', '3', '4', '5']);
    assert.match(jl[0], /カード番号/);
    assert.match(jl[1], /作成日/);
    assert.match(jl[2], /保管箱/);
    assert.ok(await sp.locator('#import-nothing').isVisible());
    assert.equal(await sp.locator('#import-commit').count(), 0);
    // CP932 with a bad row: the row's line is reported, the file is read.
    await upload('/staff/pickup/import', 'sjis-bad.csv',
        toCp932('通知書番号,氏名カナ,生年月日\r\n900000000420,ｼﾌﾄ ｼﾞｽ,1980-01-01\r\n900000000421,漢字　名前,1980-01-01\r\n'), 'all');
    assert.equal((await sp.textContent('#import-encoding')).trim(), 'CP932');
    assert.equal((await sp.textContent('#import-accepted')).trim(), '1');
    assert.match((await rejectLines())[0], /^3 \| 氏名カナ/);
    assert.match(await sp.textContent('#import-accepted-rows'), /シフト　ジス/, 'half-width kana made full-width');
    const [r2] = await Promise.all([sp.waitForNavigation(), sp.click('#import-commit')]);
    assert.equal(r2.status(), 409);
    assert.deepEqual(await snapshot(server), snap);
    assert.equal(await dbInt(server, "SELECT COUNT(*) FROM notices WHERE notice_no LIKE '9000000004%'"), 0);
    assertNoPageProblems(desk);
    await desk.close();
});
