-- 0004_booking.sql - the generic booking engine (src/booking; RSV-9,
-- RSV-11, RSV-12, RSV-18): resources, their weekly hours and date
-- exceptions, the slots generated from them, bookings, the member keys of
-- active bookings and a per-booking history.
--
-- Dates are Japan dates 'YYYY-MM-DD' (TEXT, so they sort and compare as
-- dates); times of day are minutes after midnight, Japan time; instants are
-- unix seconds.
--
-- No double booking is enforced here, not only in C:
--  - booking_slots.booked never exceeds capacity (CHECK), and the engine
--    changes it only by a conditional UPDATE whose row count decides;
--  - booking_members has one row per person of each active booking, keyed
--    by the member key, so nobody holds two active bookings.

CREATE TABLE booking_resources (
    id @ID@,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    is_open INTEGER NOT NULL DEFAULT 1 CHECK (is_open IN (0, 1)),
    slot_minutes INTEGER NOT NULL CHECK (slot_minutes IN (10, 15, 20, 30, 60)),
    capacity INTEGER NOT NULL CHECK (capacity >= 1),
    window_days INTEGER NOT NULL CHECK (window_days BETWEEN 1 AND 366),
    deadline_days INTEGER NOT NULL CHECK (deadline_days BETWEEN 0 AND 365),
    max_party INTEGER NOT NULL CHECK (max_party BETWEEN 1 AND 10),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX booking_resources_kind ON booking_resources(kind, is_open);

-- Weekly opening hours: weekday 0 = Sunday; several intervals a day.
-- capacity 0 = the resource's default.
CREATE TABLE booking_hours (
    id @ID@,
    resource_id BIGINT NOT NULL REFERENCES booking_resources(id),
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_min INTEGER NOT NULL CHECK (start_min >= 0),
    end_min INTEGER NOT NULL CHECK (end_min <= 1440 AND end_min > start_min),
    capacity INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0)
);
CREATE INDEX booking_hours_resource ON booking_hours(resource_id, weekday);

-- Date exceptions: one 'closed' row (start_min 0) closes the day; 'open'
-- rows (one per interval) replace the weekly hours of that day.
CREATE TABLE booking_exceptions (
    id @ID@,
    resource_id BIGINT NOT NULL REFERENCES booking_resources(id),
    date TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('closed', 'open')),
    start_min INTEGER NOT NULL DEFAULT 0 CHECK (start_min >= 0),
    end_min INTEGER NOT NULL DEFAULT 0 CHECK (end_min <= 1440),
    capacity INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (resource_id, date, start_min)
);

-- Slots: generated from the hours and exceptions (booking_slots_sync).
-- capacity_fixed: set by staff for this one slot; the schedule no longer
-- changes its capacity.
CREATE TABLE booking_slots (
    id @ID@,
    resource_id BIGINT NOT NULL REFERENCES booking_resources(id),
    date TEXT NOT NULL,
    start_min INTEGER NOT NULL CHECK (start_min >= 0 AND start_min < 1440),
    len_min INTEGER NOT NULL CHECK (len_min IN (10, 15, 20, 30, 60)),
    capacity INTEGER NOT NULL CHECK (capacity >= 1),
    capacity_fixed INTEGER NOT NULL DEFAULT 0,
    booked INTEGER NOT NULL DEFAULT 0,
    UNIQUE (resource_id, date, start_min),
    CHECK (booked >= 0 AND booked <= capacity)
);

-- Bookings in every state.  date, start_min and len_min copy the slot's at
-- the last change, so a booking still says when it was after its slot is
-- gone (slot_id then becomes NULL).  members: the member keys, separated
-- by single spaces (keys never contain spaces).
CREATE TABLE bookings (
    id @ID@,
    ref TEXT NOT NULL UNIQUE,
    resource_id BIGINT NOT NULL REFERENCES booking_resources(id),
    slot_id BIGINT REFERENCES booking_slots(id) ON DELETE SET NULL,
    date TEXT NOT NULL,
    start_min INTEGER NOT NULL,
    len_min INTEGER NOT NULL,
    party INTEGER NOT NULL CHECK (party BETWEEN 1 AND 10),
    members TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('active', 'cancelled', 'visited', 'noshow')),
    channel TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bookings_day ON bookings(resource_id, date, start_min);
CREATE INDEX bookings_slot ON bookings(slot_id);

-- One row per person of each ACTIVE booking: the primary key makes a
-- second active booking for the same person impossible.  Rows are deleted
-- when the booking is cancelled or marked visited / no-show.
CREATE TABLE booking_members (
    member_key TEXT PRIMARY KEY,
    booking_id BIGINT NOT NULL REFERENCES bookings(id)
);

-- Who changed what: each create, move, cancel and mark, with the channel,
-- the operator's login and the slots before and after.
CREATE TABLE booking_history (
    id @ID@,
    booking_id BIGINT NOT NULL REFERENCES bookings(id),
    ts BIGINT NOT NULL,
    action TEXT NOT NULL,
    login TEXT NOT NULL,
    channel TEXT NOT NULL,
    from_slot_id BIGINT,
    to_slot_id BIGINT,
    from_status TEXT,
    to_status TEXT,
    detail TEXT
);
CREATE INDEX booking_history_booking ON booking_history(booking_id);
