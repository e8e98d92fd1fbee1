// pickup_race.test.mjs - no double booking under concurrency (RSV-9,
// issue #3 "Concurrency"), through the real server over HTTP:
//
//  - 200 citizens, each signed in with a notice of his or her own (the
//    citizens' pages, as a browser posts them), press "予約する" at the
//    same moment for ONE slot of 5 places: exactly 5 bookings and 195
//    clear "full" pages (Japanese message, 409), nothing else;
//  - the same race through the JSON API (a staff session, 200 distinct
//    notices): 5 × 201 and 195 × 409 problem+json "full";
//  - the same notice booking twice in parallel (two devices of one
//    citizen, and the API): exactly one booking;
//  - all of it once with one server process, then again with TWO server
//    processes sharing the database (and key file), the clients split
//    across both: on PostgreSQL, and on SQLite too (one file, two
//    processes), since the engine promises it whatever the processes.
//
// Afterwards the database must agree: booked == 5 in the slot, 5 active
// bookings, one booking_members row per person booked, no member key in
// two active bookings, every booked person's notice "booked".  Timings
// (burst duration, p50 / p99 latency) are printed as test diagnostics.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE, startServer, tagOf } from './lib.mjs';
import {
    Client, addDays, citizenConfirmForm, citizenLogin, createLocation, dbInt, dbRows,
    everyDay, importNotices, jstToday, noticesCsv, percentile, redirected, slotsOf, staffLogin,
} from './pickup_lib.mjs';

const CLIENTS = 200;
const CAPACITY = 5;
const FULL_TEXT = 'この時間は、予約する人数分の空きがなくなりました';

let server, second, staff, loc;

// Notice numbers: 12 digits, never a demo notice (9 digits).  Each run
// (one server, two servers) has its own block of 1,000.
const noticeNo = (run, i) => `91${run}0${String(i).padStart(8, '0')}`;
const birthOf = (i) => `1985-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
const mmddOf = (i) => birthOf(i).slice(5).replace('-', '');
const PER_RUN = 2 * CLIENTS + 2; // two races, one citizen with two devices, one for the API

// Runs fn over items with at most n at once (set-up only, never the race).
async function pool(items, n, fn) {
    const out = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: n }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i], i);
        }
    }));
    return out;
}

before(async () => {
    server = await startServer({ tag: tagOf(import.meta.url) });
    second = await startServer({ tag: `${tagOf(import.meta.url)}-2`, shareWith: server });
    staff = await staffLogin(new Client(server.url), 'tanaka');
    loc = await createLocation(staff,
        { name: '競合試験会場', capacity: CAPACITY, slot_minutes: 30, window_days: 28, deadline_days: 2, max_party: 6 },
        everyDay('09:00', '17:00'));
    const rows = [];
    for (const run of [1, 2])
        for (let i = 0; i < PER_RUN; i++) rows.push({ no: noticeNo(run, i), kana: 'キョウゴウ　タロウ', birth: birthOf(i) });
    assert.equal(await importNotices(staff, Buffer.from(noticesCsv(rows)), 'race.csv'), rows.length);
});

after(async () => {
    await second?.stop();
    await server?.stop();
});

// The database's view of one slot: exactly what the engine promises.
async function checkSlot(slotId, want) {
    assert.equal(await dbInt(server, `SELECT booked FROM booking_slots WHERE id = ${slotId}`), want, 'booked counter');
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM bookings WHERE slot_id = ${slotId} AND status = 'active'`), want, 'active bookings');
    assert.equal(await dbInt(server, `SELECT COUNT(*) FROM bookings WHERE slot_id = ${slotId}`), want, 'no other booking rows');
    assert.equal(await dbInt(server, `SELECT COALESCE(SUM(party), 0) FROM bookings WHERE slot_id = ${slotId} AND status = 'active'`), want, 'people booked');
    assert.equal(await dbInt(server,
        `SELECT COUNT(*) FROM booking_members m JOIN bookings b ON b.id = m.booking_id WHERE b.slot_id = ${slotId}`), want,
    'booking_members rows of the slot');
}

// And of everyone: no member in two active bookings, counters equal to
// the people booked, notices "booked" exactly for those.
async function checkEveryone() {
    const active = await dbRows(server, "SELECT id, members FROM bookings WHERE status = 'active'");
    const seen = new Map();
    for (const [id, members] of active) {
        for (const m of members.split(' ')) {
            assert.ok(!seen.has(m), `${m} in bookings ${seen.get(m)} and ${id}`);
            seen.set(m, id);
        }
    }
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM booking_members'), seen.size, 'one member row per person booked');
    assert.equal(await dbInt(server, "SELECT COUNT(*) FROM notices WHERE status = 'booked'"), seen.size, 'notices booked');
    assert.equal(await dbInt(server, 'SELECT COUNT(*) FROM booking_slots WHERE booked > capacity OR booked < 0'), 0);
    const counters = await dbRows(server,
        "SELECT s.id, s.booked, (SELECT COALESCE(SUM(b.party), 0) FROM bookings b WHERE b.slot_id = s.id AND b.status IN ('active', 'visited', 'noshow')) FROM booking_slots s WHERE s.booked > 0");
    for (const [id, booked, people] of counters) assert.equal(booked, people, `slot ${id}: counter ${booked}, people ${people}`);
}

// Fires every request at once; returns the answers and the burst time.
async function burst(fns) {
    const t0 = performance.now();
    const results = await Promise.all(fns.map((f) => f()));
    return { results, ms: performance.now() - t0 };
}

// Copies of the staff session for each server (sessions live in the
// database, so one sign-in works on both).
function staffClients(list) {
    return list.map((s) => {
        const c = new Client(s.url);
        c.jar = new Map(staff.jar);
        c.csrf = staff.csrf;
        return c;
    });
}

// Requests each server answered for path since mark (its access log).
function served(s, mark, path) {
    return s.output().slice(mark).split('\n').filter((l) => l.includes(`"POST ${path}`)).length;
}

for (const run of [1, 2]) {
    const list = () => (run === 1 ? [server] : [server, second]);
    const label = run === 1 ? 'one server' : 'two servers sharing the database';
    // A day of its own for each run, far enough for the deadline (2 days).
    const day = () => addDays(jstToday(), 4 + run);
    const report = (t, what, results, ms) => {
        const lat = results.map((r) => r.ms);
        t.diagnostic(`${ENGINE}, ${label}, ${what}: ${results.length} requests in ${ms.toFixed(0)} ms; ` +
            `latency p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms, ` +
            `max ${Math.max(...lat).toFixed(0)} ms`);
    };

    test(`${label}: ${CLIENTS} citizens race for one slot of ${CAPACITY} places through the citizens' pages`, async (t) => {
        const servers = list();
        const slot = (await slotsOf(server, loc, day()))[0];
        assert.equal(slot.cap, CAPACITY);
        // Each citizen signs in on one of the servers and opens the
        // confirm page of the slot (as a browser would, before the rush).
        const t0 = performance.now();
        const people = await pool(Array.from({ length: CLIENTS }, (_, i) => i), 16, async (i) => {
            const client = new Client(servers[i % servers.length].url);
            const r = await citizenLogin(client, noticeNo(run, i), mmddOf(i));
            assert.ok(redirected(r) && r.location.startsWith('/pickup/mine'), `sign-in ${i}: ${r.status} ${r.location}`);
            return { client, form: await citizenConfirmForm(client, slot.id) };
        });
        t.diagnostic(`${label}: ${CLIENTS} citizen sign-ins and confirm pages in ${(performance.now() - t0).toFixed(0)} ms`);

        const marks = servers.map((s) => s.output().length);
        const { results, ms } = await burst(people.map((p) => () => p.client.post('/pickup/confirm', p.form)));
        report(t, 'citizens POST /pickup/confirm', results, ms);
        const booked = results.filter((r) => redirected(r) && r.location.startsWith('/pickup/done?b='));
        const full = results.filter((r) => r.status === 409 && r.text.includes(FULL_TEXT) &&
            r.text.includes('id="pickup-confirm-error"'));
        const other = results.filter((r) => !booked.includes(r) && !full.includes(r));
        assert.deepEqual(other.map((r) => `${r.status} ${r.location} ${r.text.slice(0, 200)}`), [], 'answers neither booked nor "full"');
        assert.equal(booked.length, CAPACITY);
        assert.equal(full.length, CLIENTS - CAPACITY);
        await checkSlot(slot.id, CAPACITY);
        await checkEveryone();
        servers.forEach((s, i) => assert.equal(served(s, marks[i], '/pickup/confirm'), CLIENTS / servers.length,
            `server ${i + 1} answered its share`));
        // A winner sees the booking; one who lost may still book.
        const winner = people[results.indexOf(booked[0])];
        const done = await winner.client.get(booked[0].location);
        assert.equal(done.status, 200);
        assert.match(done.text, /id="pickup-done"/);
        const loser = people[results.indexOf(full[0])];
        const mine = await loser.client.get('/pickup/mine');
        assert.match(mine.text, /id="pickup-book"/, 'a citizen who lost the race may still book');
    });

    test(`${label}: ${CLIENTS} parallel API calls with distinct notices race for one slot of ${CAPACITY}`, async (t) => {
        const servers = list();
        const slot = (await slotsOf(server, loc, day()))[1];
        const clients = staffClients(servers);
        const marks = servers.map((s) => s.output().length);
        const { results, ms } = await burst(Array.from({ length: CLIENTS }, (_, i) => () =>
            clients[i % clients.length].api('POST', '/api/v1/pickup/bookings',
                { slot_id: slot.id, notices: [noticeNo(run, CLIENTS + i)], channel: 'api' })));
        report(t, 'POST /api/v1/pickup/bookings', results, ms);
        const created = results.filter((r) => r.status === 201);
        const full = results.filter((r) => r.status === 409 && /^application\/problem\+json/.test(r.type) &&
            JSON.parse(r.text).type.endsWith('/pstaff.err.full'));
        const other = results.filter((r) => r.status !== 201 && !full.includes(r));
        assert.deepEqual(other.map((r) => `${r.status} ${r.text.slice(0, 200)}`), [], 'answers neither 201 nor "full"');
        assert.equal(created.length, CAPACITY);
        assert.equal(full.length, CLIENTS - CAPACITY);
        for (const r of created) assert.equal(JSON.parse(r.text).slot_id, slot.id);
        await checkSlot(slot.id, CAPACITY);
        await checkEveryone();
        servers.forEach((s, i) => assert.equal(served(s, marks[i], '/api/v1/pickup/bookings'), CLIENTS / servers.length,
            `server ${i + 1} answered its share`));
    });

    test(`${label}: the same notice booking twice in parallel gets exactly one booking`, async (t) => {
        const servers = list();
        const slots = await slotsOf(server, loc, day());
        // One citizen on two devices (two sessions; one per server when
        // there are two), each pressing "予約する" ten times at once.
        const me = 2 * CLIENTS;
        const devices = await Promise.all([0, 1].map(async (d) => {
            const client = new Client(servers[d % servers.length].url);
            const r = await citizenLogin(client, noticeNo(run, me), mmddOf(me));
            assert.ok(redirected(r), `sign-in on device ${d}`);
            return { client, form: await citizenConfirmForm(client, slots[2 + d].id) };
        }));
        const { results, ms } = await burst(Array.from({ length: 20 }, (_, i) => () =>
            devices[i % 2].client.post('/pickup/confirm', devices[i % 2].form)));
        report(t, 'one citizen, 2 devices × 10 POSTs', results, ms);
        const booked = results.filter((r) => redirected(r) && r.location.startsWith('/pickup/done?b='));
        assert.equal(booked.length, 1, results.map((r) => `${r.status} ${r.location}`).join(', '));
        // The others were told that the person holds a booking already or
        // that who is booked changed, or were sent back to their booking:
        // never a second booking, never an error page.
        for (const r of results.filter((x) => x !== booked[0])) {
            const ok = (r.status === 409 && /すでに予約をお持ちの方|予約する方が変わりました/.test(r.text)) ||
                (redirected(r) && r.location === '/pickup/mine');
            assert.ok(ok, `unexpected answer ${r.status} ${r.location} ${r.text.slice(0, 300)}`);
        }
        const key = `notice:${noticeNo(run, me)}`;
        assert.equal(await dbInt(server, `SELECT COUNT(*) FROM bookings WHERE members = '${key}'`), 1);
        assert.equal(await dbInt(server, `SELECT COUNT(*) FROM booking_members WHERE member_key = '${key}'`), 1);

        // The API: one notice, 20 calls at once for 10 different slots.
        const other = 2 * CLIENTS + 1;
        const clients = staffClients(servers);
        const free = slots.slice(4, 14);
        const api = await burst(Array.from({ length: 20 }, (_, i) => () =>
            clients[i % clients.length].api('POST', '/api/v1/pickup/bookings',
                { slot_id: free[i % free.length].id, notices: [noticeNo(run, other)] })));
        report(t, 'one notice, 20 API calls', api.results, api.ms);
        assert.equal(api.results.filter((r) => r.status === 201).length, 1);
        for (const r of api.results.filter((x) => x.status !== 201)) {
            assert.equal(r.status, 409, r.text);
            assert.match(JSON.parse(r.text).type, /pstaff\.err\.duplicate$/);
        }
        const key2 = `notice:${noticeNo(run, other)}`;
        assert.equal(await dbInt(server, `SELECT COUNT(*) FROM bookings WHERE members = '${key2}'`), 1);
        assert.equal(await dbInt(server, `SELECT COUNT(*) FROM booking_members WHERE member_key = '${key2}'`), 1);
        await checkEveryone();
    });
}
