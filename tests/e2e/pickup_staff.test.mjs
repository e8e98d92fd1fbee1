// pickup_staff.test.mjs - the staff and call-center side of the My Number
// Card pickup service in a desktop browser (RSV-8, RSV-10 ... RSV-16,
// WIN-8; issue #3 "A staff journey"):
//
//  - citizen-services staff (tanaka, role staff_citizen) sets up a
//    location: slot length, places, window and deadline, weekly hours
//    with a smaller afternoon, a holiday opening on a Sunday;
//  - imports new notices from CSV: a file with good and bad rows gives a
//    report with line numbers, then the good rows are imported; a CP932
//    file is accepted; a file in another encoding is refused clearly;
//  - books at the counter on a citizen's behalf (channel "counter");
//  - an operator (operator1, role operator) books by phone (channel
//    "callcenter") and may search notices ONLY by their number: a
//    crafted search by name is refused (403) and recorded;
//  - the live view shows a booking made through the API within two
//    polls, without reloading;
//  - staff records the visit, hands the card over (来庁 → 交付済 with a
//    reason), and the issued card cannot be booked again (a clear
//    message, nothing changed);
//  - imports the J-LIS card data, prints the pull list (storage boxes;
//    @media print hides the navigation);
//  - exports CSV by day and by slot, UTF-8 with a BOM and CP932, each
//    export audited.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
    assertNoPageProblems, launch, mailsTo, newContext, pageFetch, pathOf, signIn,
    startServer, tagOf, waitFor,
} from './lib.mjs';
import {
    Client, addDays, dbInt, dbRows, fromCp932, jpDate, jstMinutesNow, jstToday, parseMail,
    slotsOf, snapshot, staffLogin, toCp932, weekdayOf,
} from './pickup_lib.mjs';

const N = (i) => `9000000002${String(i).padStart(2, '0')}`; // staff test notices
const KANA = {
    1: 'マドグチ　イチロウ', 2: 'マドグチ　ハナコ', 3: 'デンワ　サブロウ', 4: 'ライブ　シロウ',
    5: 'コウフ　ゴロウ', 6: 'シフトジス　ロクロウ', 7: 'シフトジス　ナナコ',
};
const PLACE = '北口サービスセンター（試験）';
const EMAIL = `counter-${process.pid}-${randomBytes(3).toString('hex')}@sink.test`;

let server, browser, ctx, page, opCtx, op, loc;
// The first weekday at least three days ahead (the deadline is two days).
let day;
// The next Sunday at least three days ahead: the holiday opening.
let sunday;

before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    ctx = await newContext(browser, server);
    page = await ctx.newPage();
    page.on('dialog', (d) => d.accept());
    await signIn(page, 'tanaka');
    day = addDays(jstToday(), 3);
    while ([0, 6].includes(weekdayOf(day))) day = addDays(day, 1);
    sunday = addDays(jstToday(), 3);
    while (weekdayOf(sunday) !== 0) sunday = addDays(sunday, 1);
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

async function go(sel) {
    await Promise.all([page.waitForNavigation(), page.click(sel)]);
}

// A file chosen in the upload form and checked (the preview page).
async function upload(p, path, name, bytes) {
    await p.goto(path);
    await p.setInputFiles('#file', { name, mimeType: 'text/csv', buffer: bytes });
    const [res] = await Promise.all([p.waitForNavigation(), p.click('#import-preview')]);
    return res;
}

// Rows of the import report's table of refused rows: [[line, field, reason, detail]].
async function rejects(p) {
    return p.$$eval('#import-rejects tbody tr', (trs) => trs.map((tr) =>
        [...tr.querySelectorAll('th, td')].map((c) => c.textContent.trim())));
}

test('staff sets up a location: slots, places, weekly hours and a holiday opening', async () => {
    await page.goto('/staff/pickup/settings');
    await go('#location-new');
    assert.equal(pathOf(page), '/staff/pickup/settings/new');
    await page.fill('#name', PLACE);
    await page.fill('#address', 'シティ市北町1番2号');
    await page.fill('#note', '北口を出てすぐです。');
    await page.selectOption('#slot_minutes', '15');
    await page.fill('#capacity', '3');
    await page.fill('#window_days', '28');
    await page.fill('#deadline_days', '2');
    await page.fill('#max_party', '4');
    await go('#location-save');
    const m = /^\/staff\/pickup\/settings\/(\d+)\/hours$/.exec(pathOf(page));
    assert.ok(m, `hours page after creating: ${page.url()}`);
    loc = Number(m[1]);
    const [r] = await dbRows(server,
        `SELECT kind, name, slot_minutes, capacity, window_days, deadline_days, max_party, is_open FROM booking_resources WHERE id = ${loc}`);
    assert.deepEqual(r, ['pickup', PLACE, '15', '3', '28', '2', '4', '1']);

    // Monday to Friday 9:00-12:00 (3 places a slot) and 13:00-15:00
    // with 2 places: the afternoon has fewer staff.
    for (const wd of [1, 2, 3, 4, 5]) {
        await page.fill(`#start_${wd}_1`, '09:00');
        await page.fill(`#end_${wd}_1`, '12:00');
        await page.fill(`#start_${wd}_2`, '13:00');
        await page.fill(`#end_${wd}_2`, '15:00');
        await page.fill(`#cap_${wd}_2`, '2');
    }
    await go('#hours-save');
    assert.equal(new URL(page.url()).searchParams.get('done'), 'pstaff_hours_saved');
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM booking_hours WHERE resource_id = ${loc}`), 10);
    const slots = await slotsOf(server, loc, day);
    assert.equal(slots.length, 12 + 8, `slots on ${day}`);
    assert.deepEqual([...new Set(slots.filter((s) => s.start < 720).map((s) => s.cap))], [3]);
    assert.deepEqual([...new Set(slots.filter((s) => s.start >= 780).map((s) => s.cap))], [2]);
    assert.equal((await slotsOf(server, loc, sunday)).length, 0, 'closed on Sundays');

    // A holiday opening: Sunday 10:00-12:00 with 2 places.
    await page.goto(`/staff/pickup/settings/${loc}/exceptions`);
    await page.fill('#date', sunday);
    await page.selectOption('#kind', 'open');
    await page.fill('#start', '10:00');
    await page.fill('#end', '12:00');
    await page.fill('#capacity', '2');
    await page.fill('#note', '休日開庁');
    await go('#exception-save');
    assert.equal(new URL(page.url()).searchParams.get('done'), 'pstaff_exc_saved');
    assert.match(await page.textContent('#exceptions'), /休日開庁/);
    const sun = await slotsOf(server, loc, sunday);
    assert.equal(sun.length, 8);
    assert.ok(sun.every((s) => s.cap === 2 && s.start >= 600 && s.start < 720));
    // The list of locations shows it.
    await page.goto('/staff/pickup/settings');
    assert.match(await page.textContent(`#location-${loc}`), /15分/);
    assertNoPageProblems(ctx);
});

test('imports notices from CSV: a report with line numbers, the good rows imported; CP932 accepted; another encoding refused', async () => {
    const before = await dbInt(server, 'SELECT COUNT(*) FROM notices');
    const csv = [
        '通知書番号,氏名カナ,生年月日,交付場所',
        `${N(1)},${KANA[1]},1975-01-15,${PLACE}`, // line 2
        `${N(2)},${KANA[2]},19780220,`, // 3
        `${N(1)},ダブリ　タロウ,1980-01-01,`, // 4: the same number again
        `${N(90)},Tanaka Taro,1980-01-01,`, // 5: not kana
        `${N(91)},ヒヅケ　マチガイ,2001-02-30,`, // 6: no such date
        `${N(92)},ミテイ　ショ,1980-01-01,存在しない庁舎`, // 7: unknown location
        `12AB,バンゴウ　マチガイ,1980-01-01,`, // 8: not a number
        `${N(3)},${KANA[3]},1990/03/03,`, // 9
        `${N(4)},${KANA[4]},1988-04-04,`, // 10
        `${N(5)},${KANA[5]},1966-05-05,`, // 11
    ].join('\r\n') + '\r\n';
    await upload(page, '/staff/pickup/import', 'shinki.csv', Buffer.from(csv));
    assert.equal((await page.textContent('#import-rows')).trim(), '10');
    assert.equal((await page.textContent('#import-accepted')).trim(), '5');
    assert.equal((await page.textContent('#import-rejected')).trim(), '5');
    assert.equal((await page.textContent('#import-encoding')).trim(), 'UTF-8');
    const bad = await rejects(page);
    assert.deepEqual(bad.map((r) => r[0]), ['4', '5', '6', '7', '8']);
    assert.match(bad[0].join(' '), /2行目/, 'the duplicate names the first line');
    assert.equal(bad[1][1], '氏名カナ');
    assert.equal(bad[2][1], '生年月日');
    assert.equal(bad[3][1], '交付場所');
    assert.equal(bad[4][1], '通知書番号');
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM notices'), before, 'nothing imported by the preview');
    await go('#import-commit');
    assert.equal((await page.textContent('#import-imported')).trim(), '5');
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM notices'), before + 5);
    assert.equal(await dbInt(server, `SELECT location_id FROM notices WHERE notice_no = '${N(1)}'`), loc);
    assert.equal(await dbInt(server,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'pickup.import.notices' AND login = 'tanaka' AND result = 'ok'"), 1);

    // CP932, as Excel saves it on Windows.
    const sj = toCp932(`通知書番号,氏名カナ,生年月日,交付場所\r\n${N(6)},${KANA[6]},1970-06-06,${PLACE}\r\n${N(7)},${KANA[7]},1972-07-07,\r\n`);
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(sj), 'the file really is not UTF-8');
    await upload(page, '/staff/pickup/import', 'sjis.csv', sj);
    assert.equal((await page.textContent('#import-encoding')).trim(), 'CP932');
    assert.equal((await page.textContent('#import-accepted')).trim(), '2');
    assert.match(await page.textContent('#import-accepted-rows'), /シフトジス　ロクロウ/);
    await go('#import-commit');
    assert.equal((await page.textContent('#import-imported')).trim(), '2');
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM notices'), before + 7);

    // UTF-16 (Excel's "Unicode text"): refused, with what to do.
    const snap = await snapshot(server);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`通知書番号,氏名カナ,生年月日\r\n${N(8)},ユニコード　ハチロウ,1980-08-08\r\n`, 'utf16le')]);
    const res = await upload(page, '/staff/pickup/import', 'unicode.csv', utf16);
    assert.equal(res.status(), 400);
    assert.match(await page.textContent('#file-error'), /文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で保存してください。/);
    assert.equal(await page.getAttribute('#file', 'aria-invalid'), 'true');
    assert.equal(await page.locator('#import-commit').count(), 0);
    assert.deepEqual(await snapshot(server), snap);
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM notices'), before + 7);
    assertNoPageProblems(ctx);
});

let counterRef;

test('staff books at the counter on a citizen\'s behalf (two people, channel "counter")', async () => {
    const slots = await slotsOf(server, loc, day);
    const slot = slots[0];
    await page.goto(`/staff/pickup/book?location=${loc}&date=${day}`);
    assert.match(await page.textContent('#book-where'), new RegExp(PLACE.replace(/[()（）]/g, '.')));
    await page.fill('#notice_no', `${N(1).slice(0, 3)}-${N(1).slice(3)}`);
    await page.click('#book-family-toggle');
    await page.fill('#family-1', N(2));
    await page.fill('#email', EMAIL);
    await page.check(`#slot-${slot.id}`);
    await page.check('#identity_checked');
    await go('#book-submit');
    const m = /^\/staff\/pickup\/bookings\/([A-Z0-9]+)$/.exec(pathOf(page));
    assert.ok(m, `booking page: ${page.url()}`);
    counterRef = m[1];
    assert.equal((await page.textContent('#booking-ref')).trim(), counterRef);
    assert.match(await page.textContent('#booking-channel'), /窓口/);
    assert.match(await page.textContent('#booking-party'), /2/);
    assert.match(await page.textContent('#booking-members'), new RegExp(KANA[1]));
    assert.match(await page.textContent('#booking-history'), /tanaka/);
    const [b] = await dbRows(server, `SELECT channel, created_by, party, slot_id FROM bookings WHERE ref = '${counterRef}'`);
    assert.deepEqual(b, ['counter', 'tanaka', '2', String(slot.id)]);
    assert.equal(await dbInt(server, `SELECT booked FROM booking_slots WHERE id = ${slot.id}`), 2);
    assert.equal(await dbInt(server,
        `SELECT COUNT(*) FROM booking_history h JOIN bookings b ON b.id = h.booking_id WHERE b.ref = '${counterRef}' AND h.login = 'tanaka' AND h.channel = 'counter'`), 1);
    // The citizen gets the same confirmation as when booking online.
    const mail = await waitFor('confirmation of the counter booking', () => mailsTo(server.smtp.dir, EMAIL)[0]);
    const pm = parseMail(mail);
    assert.ok(pm.subject.includes(counterRef));
    assert.ok(pm.text.includes(jpDate(day)));
    assertNoPageProblems(ctx);
});

let phoneRef;

test('an operator books by phone and may search notices only by their number', async () => {
    opCtx = await newContext(browser, server);
    op = await opCtx.newPage();
    await signIn(op, 'operator1');
    await op.goto('/staff/pickup/notices');
    assert.equal(await op.locator('#notice_no').count(), 1);
    assert.equal(await op.locator('#name_kana').count(), 0, 'no name field for operators');
    assert.equal(await op.locator('#status').count(), 0, 'no status field for operators');
    assert.ok(await op.locator('#notices-key-note').isVisible());
    await op.fill('#notice_no', N(3));
    await Promise.all([op.waitForNavigation(), op.click('#notice-search-submit')]);
    assert.equal(await op.locator('#notices-table tbody tr').count(), 1);
    assert.match(await op.textContent('#notices-table'), /900-000000203/);

    // A search by name made by hand: refused and recorded.
    const denied0 = await dbInt(server,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'pickup.search' AND login = 'operator1' AND result = 'denied'");
    for (const q of [`name_kana=${encodeURIComponent(KANA[3])}`, 'status=mailed', `notice_no=${N(3)}&name_kana=${encodeURIComponent('デンワ')}`, 'resident_code=123']) {
        const r = await pageFetch(op, `/staff/pickup/notices?${q}`);
        assert.equal(r.status, 403, q);
        assert.doesNotMatch(r.text, /デンワ　サブロウ/, 'no result leaks');
    }
    const rows = await dbRows(server,
        "SELECT detail FROM audit_log WHERE action = 'pickup.search' AND login = 'operator1' AND result = 'denied' ORDER BY seq");
    assert.equal(rows.length, denied0 + 4);
    assert.match(rows[denied0][0], /name_kana/);
    // The API by notice number is allowed to operators.
    const api = await pageFetch(op, `/api/v1/pickup/notices/${N(3)}`);
    assert.equal(api.status, 200, api.text);
    assert.equal(JSON.parse(api.text).status, 'mailed');
    assert.equal(JSON.parse(api.text).name_kana, undefined, 'the API returns no names');

    // Booking by phone: the channel is the call center's; no deadline override.
    const slot = (await slotsOf(server, loc, day))[1];
    await op.goto(`/staff/pickup/book?location=${loc}&date=${day}`);
    assert.match(await op.textContent('#book-channel'), /コールセンター/);
    assert.equal(await op.locator('#override_deadline').count(), 0);
    await op.fill('#notice_no', N(3));
    await op.check(`#slot-${slot.id}`);
    await op.check('#identity_checked');
    await Promise.all([op.waitForNavigation(), op.click('#book-submit')]);
    const m = /^\/staff\/pickup\/bookings\/([A-Z0-9]+)$/.exec(pathOf(op));
    assert.ok(m, `booking page: ${op.url()}`);
    phoneRef = m[1];
    assert.match(await op.textContent('#booking-channel'), /コールセンター/);
    assert.match(await op.textContent('#booking-history'), /operator1/);
    const [b] = await dbRows(server, `SELECT channel, created_by FROM bookings WHERE ref = '${phoneRef}'`);
    assert.deepEqual(b, ['callcenter', 'operator1']);

    // A crafted override of the deadline is refused and recorded.
    const snap = await snapshot(server);
    const csrf = await op.locator('input[name="csrf"]').first().getAttribute('value');
    const r = await pageFetch(op, '/staff/pickup/book', {
        method: 'POST',
        form: { csrf, location: String(loc), date: day, notice_no: N(4), slot_id: String(slot.id), identity_checked: '1', override_deadline: '1' },
    });
    assert.equal(r.status, 403);
    assert.deepEqual(await snapshot(server), snap);
    assert.equal(await dbInt(server,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'booking.override' AND login = 'operator1' AND result = 'denied'"), 1);
    assertNoPageProblems(opCtx);
});

test('the live view shows a booking made through the API within two polls, without reloading', async (t) => {
    await page.goto(`/staff/pickup?location=${loc}&date=${day}`);
    assert.match(await page.textContent('#live-table'), new RegExp(counterRef));
    assert.match(await page.textContent('#live-table'), new RegExp(phoneRef));
    await page.evaluate(() => { window.__sameDocument = true; });
    const slot = (await slotsOf(server, loc, day))[2];
    const api = await staffLogin(new Client(server.url), 'operator1');
    const r = await api.api('POST', '/api/v1/pickup/bookings', { slot_id: slot.id, notices: [N(4)], channel: 'callcenter' });
    assert.equal(r.status, 201, r.text);
    const ref = JSON.parse(r.text).ref;
    const t0 = Date.now();
    await page.waitForFunction((x) => document.querySelector('#live-table')?.textContent.includes(x), ref, { timeout: 12000 });
    const seen = Date.now() - t0;
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    const row = await page.textContent(`#slot-${slot.id}`);
    assert.match(row, new RegExp(ref));
    assert.match(row, /コールセンター/);
    assert.match(await page.textContent('#live-count-places'), /予約\D*4/);
    t.diagnostic(`live view showed ${ref} ${seen} ms after the API booked it`);
    assertNoPageProblems(ctx);
});

test('staff records the visit and hands the card over; an issued card cannot be booked again', async () => {
    // Marking the visit before the day of the booking is refused.
    await page.goto(`/staff/pickup/bookings/${counterRef}`);
    const [res0] = await Promise.all([page.waitForNavigation(), page.click('#mark-visited')]);
    assert.equal(res0.status(), 409);
    assert.ok(await page.locator('.flash, .alert').first().isVisible());
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM bookings WHERE ref = '${counterRef}' AND status = 'active'`), 1);

    // Today: a slot still to come, booked past the citizens' deadline
    // (staff may), then the visit and the handing over.
    const today = jstToday();
    let visited = false;
    if (jstMinutesNow() < 23 * 60 + 20) {
        await page.goto(`/staff/pickup/settings/${loc}/exceptions`);
        await page.fill('#date', today);
        await page.selectOption('#kind', 'open');
        await page.fill('#start', '00:00');
        // (a time field cannot hold 24:00)
        await page.fill('#end', '23:45');
        await page.fill('#note', '試験用の終日窓口');
        await go('#exception-save');
        const later = (await slotsOf(server, loc, today)).find((s) => s.start > jstMinutesNow() + 1);
        await page.goto(`/staff/pickup/book?location=${loc}&date=${today}`);
        await page.fill('#notice_no', N(5));
        await page.check(`#slot-${later.id}`);
        await page.check('#identity_checked');
        await go('#book-submit');
        assert.match(await page.textContent('#slot_id-error, .field__error'), /締切/, 'staff is told to tick the override');
        await page.check('#override_deadline');
        await page.check('#identity_checked');
        await page.check(`#slot-${later.id}`);
        await go('#book-submit');
        assert.match(pathOf(page), /^\/staff\/pickup\/bookings\//);
        await go('#mark-visited');
        assert.equal(new URL(page.url()).searchParams.get('done'), 'pstaff_marked');
        assert.match(await page.textContent('#booking-status'), /来庁済み/);
        visited = true;
    } else {
        // Too late in the day for a slot today: the visit recorded on the
        // card's status instead.
        const [res] = await Promise.all([page.waitForNavigation(), page.goto(`/staff/pickup/notices/${N(5)}`)]);
        assert.equal(res.status(), 200);
        await page.selectOption('#status', 'visited');
        await page.fill('#reason', '来庁を確認');
        await go('#status-submit');
    }
    assert.equal((await dbRows(server, `SELECT status FROM notices WHERE notice_no = '${N(5)}'`))[0][0], 'visited');

    await page.goto(`/staff/pickup/notices/${N(5)}`);
    assert.match(await page.textContent('#notice-status'), /来庁/);
    await page.selectOption('#status', 'issued');
    await page.fill('#reason', '本人確認のうえ交付');
    await go('#status-submit');
    assert.equal(new URL(page.url()).searchParams.get('done'), 'pstaff_status');
    assert.match(await page.textContent('#notice-status'), /交付済/);
    assert.match(await page.textContent('#status-history'), /本人確認のうえ交付/);
    assert.ok(await page.locator('#status-final').isVisible(), 'issued is final');
    const [log] = await dbRows(server,
        `SELECT from_status, to_status, reason, login FROM notice_status_log l JOIN notices n ON n.id = l.notice_id WHERE n.notice_no = '${N(5)}' ORDER BY l.id DESC LIMIT 1`);
    assert.deepEqual(log, ['visited', 'issued', '本人確認のうえ交付', 'tanaka']);
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM audit_log WHERE action = 'pickup.status' AND target_id = '${N(5)}'`), visited ? 1 : 2);

    // Booking the issued card again: at the counter ...
    const snap = await snapshot(server);
    const slot = (await slotsOf(server, loc, day))[3];
    await page.goto(`/staff/pickup/book?location=${loc}&date=${day}`);
    await page.fill('#notice_no', N(5));
    await page.check(`#slot-${slot.id}`);
    await page.check('#identity_checked');
    const [res] = await Promise.all([page.waitForNavigation(), page.click('#book-submit')]);
    assert.equal(res.status(), 400);
    assert.match(await page.textContent('#notice_no-error'), /交付通知書番号 900-000000205 のカードは「交付済」のため予約できません。/);
    // ... and through the API.
    const csrf = await page.locator('input[name="csrf"]').first().getAttribute('value');
    const r = await page.evaluate(async ({ slot, no, csrf }) => {
        const x = await fetch('/api/v1/pickup/bookings', {
            method: 'POST', credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
            body: JSON.stringify({ slot_id: slot, notices: [no] }),
        });
        return { status: x.status, type: x.headers.get('content-type'), text: await x.text() };
    }, { slot: slot.id, no: N(5), csrf });
    assert.equal(r.status, 409);
    assert.match(r.type, /^application\/problem\+json/);
    assert.match(JSON.parse(r.text).type, /notice_final$/);
    assert.deepEqual(await snapshot(server), snap, 'nothing changed');
    assertNoPageProblems(ctx);
});

test('imports the J-LIS card data, linked to notices and bookings; the pull list shows the boxes and prints without navigation', async () => {
    const today = jstToday();
    const csv = [
        '通知書番号,カード番号,氏名カナ,作成日,保管箱',
        `${N(1)},AB1234567890,${KANA[1]},${today},B-014`, // 2
        `${N(2)},AB1234567891,${KANA[2]},${today},A-003`, // 3
        `${N(3)},CD0000123456,${KANA[3].replace('　', '')},${today},B-002`, // 4: no space: still the same name
        '999999999999,EF0000000001,ミトウロク　タロウ,2026-01-05,C-001', // 5: no such notice
        `${N(4)},EF0000000002,ベツジン　ハナコ,${today},C-002`, // 6: someone else's name
    ].join('\r\n') + '\r\n';
    await upload(page, '/staff/pickup/jlis', 'jlis.csv', Buffer.from(csv));
    assert.equal((await page.textContent('#import-accepted')).trim(), '3');
    const bad = await rejects(page);
    assert.deepEqual(bad.map((r) => r[0]), ['5', '6']);
    assert.equal(bad[1][1], '氏名カナ');
    // Each card is shown with the booking it belongs to.
    const accepted = await page.textContent('#import-accepted-rows');
    assert.ok(accepted.includes(counterRef) && accepted.includes(phoneRef), accepted);
    await go('#import-commit');
    assert.equal((await page.textContent('#import-imported')).trim(), '3');
    const cards = await dbRows(server,
        `SELECT notice_no, card_no, storage_box, production_date FROM notices WHERE card_no IS NOT NULL ORDER BY notice_no`);
    assert.deepEqual(cards, [
        [N(1), 'AB1234567890', 'B-014', today], [N(2), 'AB1234567891', 'A-003', today], [N(3), 'CD0000123456', 'B-002', today],
    ]);
    await page.goto(`/staff/pickup/notices/${N(1)}`);
    assert.match(await page.textContent('#notice-card'), /AB1234567890/);
    assert.match(await page.textContent('#notice-box'), /B-014/);

    // The pull list of the day, by storage box.
    await page.goto(`/staff/pickup/pull-list?location=${loc}&date=${day}`);
    assert.match(await page.textContent('#pull-title'), new RegExp(jpDate(day).replace(/[（）]/g, '.')));
    const rows = await page.$$eval('#pull-group-1 tbody tr', (trs) => trs.map((tr) =>
        [...tr.querySelectorAll('th, td')].map((c) => c.textContent.trim())));
    assert.deepEqual(rows.map((r) => r[0]), ['A-003', 'B-002', 'B-014', rows[3][0]]);
    assert.match(rows[3][0], /未登録/, 'the card not yet in storage comes last, marked');
    assert.deepEqual(rows.slice(0, 3).map((r) => r[2]), [counterRef, phoneRef, counterRef]);
    assert.match(await page.textContent('#pull-summary'), /4/);
    assert.ok(await page.locator('#pull-print').isVisible(), 'the print button (app.js)');
    assert.ok(await page.locator('nav.subnav').isVisible());

    // Printed: no navigation, no form, no header; the list stays.
    await page.emulateMedia({ media: 'print' });
    const shown = await page.evaluate(() => {
        const vis = (sel) => {
            const e = document.querySelector(sel);
            return e ? getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0 : null;
        };
        return {
            header: vis('.site-header'), nav: vis('nav.subnav'), form: vis('#pull-filter'),
            print: vis('#pull-print'), list: vis('#pull-group-1'), title: vis('#pull-title'),
        };
    });
    assert.deepEqual(shown, { header: false, nav: false, form: false, print: false, list: true, title: true });
    await page.screenshot({ path: join(server.dir, 'pull-list-print.png'), fullPage: true });
    const pdf = await page.pdf({ format: 'A4' });
    assert.ok(pdf.length > 1000 && pdf.subarray(0, 4).toString() === '%PDF');
    await page.emulateMedia({ media: 'screen' });
    assert.ok(await dbInt(server, "SELECT COUNT(*) FROM audit_log WHERE action = 'pickup.pull_list.read' AND login = 'tanaka'") >= 1);
    assertNoPageProblems(ctx);
});

test('exports CSV by day and by slot, in UTF-8 with a BOM and in CP932, each export audited', async () => {
    const audit0 = await dbInt(server, "SELECT COUNT(*) FROM audit_log WHERE action = 'pickup.export'");
    async function download(kind, encoding) {
        await page.goto('/staff/pickup/export');
        await page.selectOption('#location', String(loc));
        await page.fill('#from', day);
        await page.fill('#to', day);
        await page.selectOption('#kind', kind);
        await page.selectOption('#encoding', encoding);
        const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-submit')]);
        assert.match(dl.suggestedFilename(), new RegExp(`^pickup-${kind === 'day' ? 'bookings' : 'slots'}-${day.replaceAll('-', '')}-${day.replaceAll('-', '')}\\.csv$`));
        return readFileSync(await dl.path());
    }
    const byDayUtf8 = await download('day', 'utf8');
    assert.deepEqual([...byDayUtf8.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
    const text = byDayUtf8.subarray(3).toString('utf8');
    const lines = text.trim().split('\r\n');
    assert.equal(lines[0], '予約日,曜日,開始,終了,交付場所,予約番号,人数,通知書番号,氏名カナ,カードの状態,保管箱,予約の状態,受付経路,受付者,受付日時');
    assert.equal(lines.length, 1 + 4, text);
    const counter = lines.filter((l) => l.includes(counterRef));
    assert.equal(counter.length, 2, 'one row per person');
    assert.ok(counter.some((l) => l.includes(KANA[1]) && l.includes('B-014') && l.includes('窓口') && l.includes('tanaka')), counter.join('\n'));
    assert.ok(lines.some((l) => l.includes(phoneRef) && l.includes('コールセンター') && l.includes('operator1')));
    assert.ok(lines.slice(1).every((l) => l.startsWith(`${day},${'日月火水木金土'[weekdayOf(day)]},`)));

    const byDaySjis = await download('day', 'cp932');
    assert.notDeepEqual([...byDaySjis.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'no BOM in CP932');
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(byDaySjis), 'really CP932');
    const sj = fromCp932(byDaySjis);
    assert.ok(sj.startsWith('予約日,曜日,開始,終了,交付場所,予約番号,人数,通知書番号,氏名カナ,'), sj.slice(0, 80));
    // The same rows as the UTF-8 file, but the times of export are the same too.
    assert.deepEqual(sj.trim().split('\r\n').map((l) => l.split(',').slice(0, 14)), lines.map((l) => l.split(',').slice(0, 14)));

    const bySlot = (await download('slot', 'utf8')).subarray(3).toString('utf8').trim().split('\r\n');
    assert.equal(bySlot[0], '日付,曜日,交付場所,開始,終了,定員,予約人数,残り,予約件数');
    assert.equal(bySlot.length, 1 + 20, 'one row per slot of the day');
    assert.ok(bySlot.includes(`${day},${'日月火水木金土'[weekdayOf(day)]},${PLACE},09:00,09:15,3,2,1,1`), bySlot.slice(0, 3).join('\n'));
    const bySlotSjis = fromCp932(await download('slot', 'cp932')).trim().split('\r\n');
    assert.equal(bySlotSjis[0], '日付,曜日,交付場所,開始,終了,定員,予約人数,残り,予約件数');
    assert.deepEqual(bySlotSjis, bySlot);

    const audits = await dbRows(server,
        "SELECT login, detail FROM audit_log WHERE action = 'pickup.export' ORDER BY seq");
    assert.equal(audits.length, audit0 + 4);
    const details = audits.slice(audit0).map(([login, d]) => ({ login, ...JSON.parse(d) }));
    assert.deepEqual(details.map((d) => `${d.login} ${d.kind} ${d.encoding} ${d.rows}`),
        ['tanaka day utf8 4', 'tanaka day cp932 4', 'tanaka slot utf8 20', 'tanaka slot cp932 20']);
    // An operator has no export.
    const r = await pageFetch(op, `/staff/pickup/export.csv?from=${day}&to=${day}`);
    assert.equal(r.status, 403);
    assertNoPageProblems(ctx);
});
