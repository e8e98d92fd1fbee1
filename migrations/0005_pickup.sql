-- 0005_pickup.sql - the My Number Card pickup service (src/pickup; seed
-- 004, RSV-1 ... RSV-16): the issuance notices (交付通知書) with each
-- card's status, the history of status changes, the citizens' own sign-in
-- sessions, sign-in throttling and the reminders already sent.
--
-- notices: one row per notice mailed to a citizen whose card is ready.
--   notice_no     the ID printed on the notice, digits only (9 to 12);
--                 printed grouped ("123-456789").
--   birth_check   the password check: field_blind_index() (keyed
--                 HMAC-SHA-256, the key lives in the key file, not here) of
--                 "<notice_no>:<MMDD>", context "notices.birth"; computed by
--                 pickup_birth_check().  MMDD has only 366 values, so an
--                 unkeyed hash would be no protection, and binding it to
--                 the notice keeps equal birthdays from having equal values.
--   name_kana     encrypted (field_encrypt, context "notices.name_kana");
--                 for staff only.  name_index is its blind index (context
--                 "notices.name_kana", pickup_name_index()) for exact search.
--   email         encrypted (context "notices.email"), NULL when none: the
--                 only personal data a citizen gives (RSV-5).
--   card_no, production_date, storage_box: from the J-LIS card production
--                 data (RSV-16), NULL until imported.
--   location_id   the preferred pickup location (booking_resources), NULL.
--   failed_count, locked_until: sign-in throttling of this notice.
-- notice_status_log: every status change, by whom and why (RSV-13).
-- pickup_sessions: citizens' sign-ins (cookie __Host-pickup), separate
--   from staff sessions; id is the SHA-256 of the cookie's token; notices
--   lists the ids of the signed-in family, separated by spaces.
-- pickup_auth_throttle: failures per typed notice number that does not
--   exist ("no:<blind index>") and per address ("ip:<address>"), so an
--   unknown number answers exactly like a known one.
-- pickup_reminders: the day-before reminder sent for a booking and date;
--   the primary key lets exactly one run send it.

CREATE TABLE notices (
    id @ID@,
    notice_no TEXT NOT NULL UNIQUE
        CHECK (length(notice_no) BETWEEN 9 AND 12),
    birth_check TEXT NOT NULL,
    name_kana TEXT NOT NULL DEFAULT '',
    name_index TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'mailed'
        CHECK (status IN ('mailed', 'booked', 'visited', 'issued',
                          'returned', 'held', 'discarded')),
    email TEXT,
    card_no TEXT UNIQUE,
    production_date TEXT,
    storage_box TEXT,
    location_id BIGINT REFERENCES booking_resources(id),
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notices_status ON notices(status);
CREATE INDEX notices_name ON notices(name_index);

CREATE TABLE notice_status_log (
    id @ID@,
    notice_id BIGINT NOT NULL REFERENCES notices(id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    login TEXT NOT NULL,
    ts BIGINT NOT NULL
);
CREATE INDEX notice_status_log_notice ON notice_status_log(notice_id, ts);

CREATE TABLE pickup_sessions (
    id TEXT PRIMARY KEY,
    notices TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX pickup_sessions_seen ON pickup_sessions(last_seen);

CREATE TABLE pickup_auth_throttle (
    throttle_key TEXT PRIMARY KEY,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE pickup_reminders (
    booking_id BIGINT NOT NULL REFERENCES bookings(id),
    date TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (booking_id, date)
);
