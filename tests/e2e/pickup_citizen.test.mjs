// pickup_citizen.test.mjs - a citizen books the pickup of two My Number
// Cards on a phone (RSV-1 ... RSV-7, issue #3 "Tests and proof"):
// Chromium at 390×844 (isMobile, hasTouch) signs in with the notice ID
// and MMDD, adds a family member with the second notice, chooses the
// location, a day on the month calendar and a time, gives an e-mail
// address and books both; the confirmation arrives at the real SMTP sink
// on loopback with an iCalendar attachment (METHOD:REQUEST, DTSTART with
// TZID=Asia/Tokyo, the location) and the date with its weekday; the
// booking is moved to another time (mail with the change) and cancelled
// (mail, METHOD:CANCEL); the reminder (`cityos pickup remind --date`)
// mails a fresh booking the day before, once only.  axe-core finds no
// violation on any citizen page on the way (NFR-4).
//
// The notices are imported first by a member of staff through the staff
// import page (known birthdays: 1980-04-01 and 2012-09-15); the location
// is made through the staff settings forms, open every day.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
    PHONE, assertNoPageProblems, checkA11y, launch, mailsTo, newAxeContext,
    newContext, pathOf, signIn, sleep, startServer, tagOf, waitFor,
} from './lib.mjs';
import {
    Client, createLocation, dbInt, dbRows, everyDay, hhmm, icsUnfold, jpDate, parseMail,
    staffLogin, noticesCsv,
} from './pickup_lib.mjs';

const MAIN = { no: '900000000101', shown: '900-000000101', birth: '1980-04-01', mmdd: '0401', kana: 'シミン　タロウ' };
const CHILD = { no: '900000000102', shown: '900-000000102', birth: '2012-09-15', mmdd: '0915', kana: 'シミン　ハナコ' };
const PLACE = { name: '駅前出張所（試験）', address: 'シティ市駅前三丁目5番6号 2階' };
const EMAIL = `citizen-${process.pid}-${randomBytes(3).toString('hex')}@sink.test`;
const PHONE_OPTS = { viewport: PHONE, isMobile: true, hasTouch: true };

let server, browser, ctx, page, axeCtx, axePage, loc;

before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    browser = await launch();
    // A location open every day, bookable from tomorrow (deadline 1 day).
    const staff = await staffLogin(new Client(server.url), 'tanaka');
    loc = await createLocation(staff,
        { ...PLACE, slot_minutes: 30, capacity: 4, window_days: 28, deadline_days: 1, max_party: 6 },
        everyDay('09:00', '12:00'));
    // The two notices, imported by staff through the import page.
    const desk = await newContext(browser, server);
    const sp = await desk.newPage();
    await signIn(sp, 'tanaka');
    await sp.goto('/staff/pickup/import');
    await sp.setInputFiles('#file', {
        name: 'citizen.csv', mimeType: 'text/csv', buffer: Buffer.from(noticesCsv([MAIN, CHILD])),
    });
    await Promise.all([sp.waitForNavigation(), sp.click('#import-preview')]);
    assert.equal((await sp.textContent('#import-accepted')).trim(), '2');
    await Promise.all([sp.waitForNavigation(), sp.click('#import-commit')]);
    assert.equal((await sp.textContent('#import-imported')).trim(), '2');
    assertNoPageProblems(desk);
    await desk.close();

    ctx = await newContext(browser, server, PHONE_OPTS);
    page = await ctx.newPage();
    axeCtx = await newAxeContext(browser, server, PHONE);
    axePage = await axeCtx.newPage();
});

after(async () => {
    await browser?.close();
    await server?.stop();
});

// The page the citizen is on, checked by axe in a context that bypasses
// the CSP (and only there), with the citizen's cookies.
async function a11y(label, url = page.url(), status = 200) {
    await axeCtx.addCookies(await ctx.cookies());
    const res = await axePage.goto(url);
    assert.equal(res.status(), status, `${label}: ${url}`);
    await checkA11y(axePage, label);
}

// Nothing wider than the phone's screen.
async function fitsPhone(label) {
    const [sw, w] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(sw <= w, `${label}: page is ${sw}px wide on a ${w}px screen`);
}

async function tap(sel) {
    await Promise.all([page.waitForNavigation(), page.tap(sel)]);
}

async function mails() {
    return mailsTo(server.smtp.dir, EMAIL).map(parseMail);
}

async function mailCount(n) {
    return waitFor(`${n} mails to ${EMAIL}`, async () => {
        const m = await mails();
        return m.length >= n ? m : null;
    }, 30000);
}

// The booking of the family, from the database.
async function bookingRow(id) {
    const [row] = await dbRows(server,
        `SELECT b.ref, b.date, b.start_min, b.len_min, b.party, b.members, b.status, b.channel, b.slot_id, s.booked ` +
        `FROM bookings b LEFT JOIN booking_slots s ON s.id = b.slot_id WHERE b.id = ${Number(id)}`);
    const [ref, date, start, len, party, members, status, channel, slot, booked] = row;
    return { ref, date, start: Number(start), len: Number(len), party: Number(party), members, status, channel, slot: Number(slot), booked: Number(booked) };
}

// From "my booking" (or the start of a change) through the calendar, the
// times of the first day that can be booked, and the confirm page.
// Returns the slot id chosen.  avoid: a slot id not to take.
async function chooseDayAndTime(label, avoid = 0) {
    assert.equal(pathOf(page), '/pickup/calendar');
    if (await page.locator('a.pickup-cal__link').count() === 0) await tap('#pickup-cal-next');
    assert.ok(await page.locator('a.pickup-cal__link').count() > 0, 'a day that can be booked');
    // The calendar says each day's state in words too (screen readers).
    assert.match(await page.locator('a.pickup-cal__link .visually-hidden').first().textContent(),
        /空きあり|残りわずか/);
    await fitsPhone(`${label} calendar`);
    await a11y(`${label}: calendar`);
    await tap('a.pickup-cal__link');
    assert.equal(pathOf(page), '/pickup/day');
    await fitsPhone(`${label} day`);
    await a11y(`${label}: times of the day`);
    const radios = page.locator('input[name="slot"]:not([disabled])');
    let pick = null;
    for (let i = 0; i < await radios.count(); i++) {
        const v = Number(await radios.nth(i).getAttribute('value'));
        if (v !== avoid) {
            pick = v;
            break;
        }
    }
    assert.ok(pick, 'a time that can be chosen');
    await page.tap(`label[for="slot-${pick}"]`);
    await tap('#pickup-day-next');
    assert.equal(pathOf(page), '/pickup/confirm');
    await a11y(`${label}: confirm`);
    return pick;
}

let bookingId = 0, firstSlot = 0;

test('a citizen signs in on a phone with the notice ID and MMDD and adds a family member', async () => {
    await page.goto('/pickup');
    await a11y('start page');
    await tap('#pickup-start');
    assert.equal(pathOf(page), '/pickup/login');
    await a11y('sign-in page');
    // The number as printed on the postcard, with its hyphen.
    await page.fill('#notice_no', MAIN.shown);
    await page.fill('#mmdd', MAIN.mmdd);
    await tap('#pickup-login-submit');
    assert.equal(pathOf(page), '/pickup/mine');
    assert.match(await page.textContent('#pickup-who'), /900-000000101/);
    await a11y('my booking, one person');

    await tap('#pickup-add-family');
    assert.equal(pathOf(page), '/pickup/family');
    await a11y('add a family member');
    await page.fill('#notice_no', CHILD.no);
    await page.fill('#mmdd', CHILD.mmdd);
    await tap('#pickup-family-submit');
    assert.equal(pathOf(page), '/pickup/mine');
    assert.equal(await page.locator('#pickup-people li').count(), 2);
    assert.match(await page.textContent('#pickup-who'), /900-000000102/);
    await fitsPhone('my booking');
    await a11y('my booking, two people');
    assertNoPageProblems(ctx);
});

test('chooses the location, a day and a time, gives an e-mail address and books for two', async () => {
    await tap('#pickup-book');
    assert.equal(pathOf(page), '/pickup/locations');
    assert.match(await page.textContent('.lead'), /2/);
    await a11y('locations');
    await tap(`#pickup-place-${loc}`);
    firstSlot = await chooseDayAndTime('booking');
    assert.match(await page.textContent('#pickup-confirm-where'), /駅前出張所（試験）/);
    const who = await page.textContent('#pickup-confirm-who');
    assert.match(who, /2人/);
    assert.match(who, /900-000000101/);
    assert.match(who, /900-000000102/);
    await page.fill('#email', EMAIL);
    await tap('#pickup-confirm-submit');
    assert.equal(pathOf(page), '/pickup/done');
    assert.match(await page.textContent('#pickup-done'), /予約/);
    assert.match(await page.textContent('#pickup-done-mail'), /メール/);
    await a11y('booking done');
    bookingId = Number(new URL(page.url()).searchParams.get('b'));
    const b = await bookingRow(bookingId);
    assert.equal(b.status, 'active');
    assert.equal(b.party, 2);
    assert.equal(b.channel, 'web');
    assert.equal(b.slot, firstSlot);
    assert.equal(b.booked, 2);
    assert.deepEqual(b.members.split(' ').sort(), [`notice:${MAIN.no}`, `notice:${CHILD.no}`]);
    // The page shows the date with its weekday and era, and the reference.
    assert.equal((await page.textContent(`#pickup-ref-${bookingId}`)).trim(), b.ref);
    assert.match(await page.textContent(`#pickup-when-${bookingId}`), new RegExp(jpDate(b.date).replace(/[（）]/g, '.')));
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM notices WHERE notice_no IN ('${MAIN.no}', '${CHILD.no}') AND status = 'booked'`), 2);

    // The confirmation, at the SMTP sink: one mail for the one address.
    const [m] = await mailCount(1);
    assert.match(m.subject, /受取予約を受け付けました/);
    assert.ok(m.subject.includes(b.ref), m.subject);
    assert.ok(m.text.includes(jpDate(b.date)), `date with weekday in:\n${m.text}`);
    assert.ok(m.text.includes(`${Math.floor(b.start / 60)}:${String(b.start % 60).padStart(2, '0')}`), m.text);
    assert.ok(m.text.includes(PLACE.name) && m.text.includes(PLACE.address), m.text);
    assert.ok(m.text.includes(b.ref), m.text);
    const ics = m.attachments.find((a) => /^text\/calendar/.test(a.type));
    assert.ok(ics, `calendar attachment in ${m.attachments.map((a) => a.type)}`);
    assert.match(ics.type, /method=REQUEST/);
    const cal = icsUnfold(ics.data);
    assert.match(cal, /^BEGIN:VCALENDAR/m);
    assert.match(cal, /^METHOD:REQUEST\r?$/m);
    const ymd = b.date.replaceAll('-', '');
    assert.match(cal, new RegExp(`^DTSTART;TZID=Asia/Tokyo:${ymd}T${hhmm(b.start).replace(':', '')}00\\r?$`, 'm'));
    assert.match(cal, new RegExp(`^DTEND;TZID=Asia/Tokyo:${ymd}T${hhmm(b.start + b.len).replace(':', '')}00\\r?$`, 'm'));
    assert.match(cal, /^BEGIN:VTIMEZONE/m);
    const where = /^LOCATION:(.*)$/m.exec(cal)?.[1] ?? '';
    assert.ok(where.includes(PLACE.name) && where.includes(PLACE.address), `LOCATION: ${where}`);
    assert.match(cal, new RegExp(`^UID:${b.ref}@`, 'm'));
    assertNoPageProblems(ctx);
});

test('changes the booking to another time: moved at once, mailed with the change', async () => {
    await tap('#pickup-done-mine');
    assert.equal(pathOf(page), '/pickup/mine');
    await a11y('my booking with a booking');
    await tap(`#pickup-change-${bookingId}`);
    assert.ok(await page.locator('#pickup-changing').isVisible(), 'the pages say a booking is being changed');
    const before = await bookingRow(bookingId);
    const newSlot = await chooseDayAndTime('change', firstSlot);
    await tap('#pickup-confirm-submit');
    assert.equal(pathOf(page), '/pickup/done');
    assert.equal(new URL(page.url()).searchParams.get('kind'), 'change');
    await a11y('change done');
    const b = await bookingRow(bookingId);
    assert.equal(b.status, 'active');
    assert.equal(b.ref, before.ref, 'the same booking, moved');
    assert.equal(b.slot, newSlot);
    assert.equal(b.booked, 2);
    assert.equal(await dbInt(server, `SELECT booked FROM booking_slots WHERE id = ${firstSlot}`), 0, 'the old time is free again');
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM bookings`), 1);

    const all = await mailCount(2);
    const m = all[1];
    assert.match(m.subject, /変更しました/);
    assert.ok(m.text.includes(jpDate(b.date)), m.text);
    const cal = icsUnfold(m.attachments.find((a) => /^text\/calendar/.test(a.type)).data);
    assert.match(cal, /^METHOD:REQUEST\r?$/m);
    assert.match(cal, new RegExp(`^DTSTART;TZID=Asia/Tokyo:${b.date.replaceAll('-', '')}T${hhmm(b.start).replace(':', '')}00\\r?$`, 'm'));
    assert.match(cal, new RegExp(`^UID:${b.ref}@`, 'm'), 'the same event, updated');
    assertNoPageProblems(ctx);
});

test('cancels the booking: asked first, then cancelled and mailed with METHOD:CANCEL', async () => {
    await tap('#pickup-done-mine');
    await tap(`#pickup-cancel-${bookingId}`);
    assert.equal(pathOf(page), '/pickup/cancel');
    await a11y('cancel, asked first');
    const b0 = await bookingRow(bookingId);
    await tap('#pickup-cancel-submit');
    assert.equal(pathOf(page), '/pickup/mine');
    await a11y('my booking after cancelling');
    assert.ok(await page.locator('#pickup-book').isVisible(), 'both may book again');
    // The error page (here: the cancelled booking opened again).
    await a11y('problem page', new URL(`/pickup/cancel?b=${bookingId}`, server.url).href, 409);
    assert.match(await axePage.textContent('#pickup-problem'), /すでに取り消された/);
    const b = await bookingRow(bookingId);
    assert.equal(b.status, 'cancelled');
    assert.equal(await dbInt(server, `SELECT booked FROM booking_slots WHERE id = ${b0.slot}`), 0);
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM booking_members'), 0);
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM notices WHERE notice_no IN ('${MAIN.no}', '${CHILD.no}') AND status = 'mailed'`), 2);

    const all = await mailCount(3);
    const m = all[2];
    assert.match(m.subject, /取り消しました/);
    assert.ok(m.subject.includes(b.ref));
    assert.ok(m.text.includes(jpDate(b0.date)), m.text);
    const ics = m.attachments.find((a) => /^text\/calendar/.test(a.type));
    assert.match(ics.type, /method=CANCEL/);
    const cal = icsUnfold(ics.data);
    assert.match(cal, /^METHOD:CANCEL\r?$/m);
    assert.match(cal, new RegExp(`^UID:${b.ref}@`, 'm'));
    assert.match(cal, /^STATUS:CANCELLED\r?$/m);
    assertNoPageProblems(ctx);
});

test('the day-before reminder mails a fresh booking, and only once', async () => {
    await tap('#pickup-book');
    await tap(`#pickup-place-${loc}`);
    await chooseDayAndTime('fresh booking');
    // The address given last time is offered again.
    assert.equal(await page.inputValue('#email'), EMAIL);
    await tap('#pickup-confirm-submit');
    assert.equal(pathOf(page), '/pickup/done');
    const id = Number(new URL(page.url()).searchParams.get('b'));
    const b = await bookingRow(id);
    await mailCount(4);

    let r = await server.cli(['pickup', 'remind', '--date', b.date]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1 reminders queued/m);
    const all = await mailCount(5);
    const m = all[4];
    assert.match(m.subject, /明日は受取の予約日です/);
    assert.ok(m.subject.includes(b.ref));
    assert.ok(m.text.includes(jpDate(b.date)), m.text);
    assert.ok(m.text.includes(PLACE.name), m.text);
    const cal = icsUnfold(m.attachments.find((a) => /^text\/calendar/.test(a.type)).data);
    assert.match(cal, /^METHOD:REQUEST\r?$/m);
    assert.match(cal, new RegExp(`^DTSTART;TZID=Asia/Tokyo:${b.date.replaceAll('-', '')}T${hhmm(b.start).replace(':', '')}00\\r?$`, 'm'));
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM pickup_reminders WHERE booking_id = ${id}`), 1);

    // A second run sends nothing more.
    r = await server.cli(['pickup', 'remind', '--date', b.date]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0 reminders queued/m);
    await sleep(3000);
    assert.equal((await mails()).length, 5, 'no second reminder');
    assert.equal(await dbInt(server, "SELECT COUNT(*) FROM mail_queue WHERE status <> 'sent'"), 0, 'nothing left to send');

    // Signing out ends the citizen's session.
    await tap('#pickup-logout');
    assert.equal(pathOf(page), '/pickup/login');
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM pickup_sessions'), 0);
    const res = await page.goto('/pickup/mine');
    assert.equal(pathOf(page), '/pickup/login');
    assert.equal(res.status(), 200);
    assertNoPageProblems(ctx);
});

test('a wrong password shows one clear message on an accessible page', async () => {
    await page.goto('/pickup/login');
    await page.fill('#notice_no', MAIN.no);
    await page.fill('#mmdd', '0402');
    await tap('#pickup-login-submit');
    assert.match(await page.textContent('#pickup-login-error'), /交付通知書番号またはパスワードが正しくありません/);
    assert.equal(await page.getAttribute('#mmdd', 'aria-invalid'), 'true');
    // The same answer for the axe context (a number that does not exist).
    await axePage.goto('/pickup/login');
    await axePage.fill('#notice_no', '999-999999999');
    await axePage.fill('#mmdd', '0101');
    await Promise.all([axePage.waitForNavigation(), axePage.click('#pickup-login-submit')]);
    assert.match(await axePage.textContent('#pickup-login-error'), /交付通知書番号またはパスワードが正しくありません/);
    await checkA11y(axePage, 'sign-in with an error');
    assertNoPageProblems(ctx);
});
