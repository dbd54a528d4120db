-- Gatherings (issue 5): meet-ups, their RSVPs, their change history and what
-- was sent about them. Times are local wall-clock times in the gathering's
-- time zone (tz), so a weekly 17:30 stays 17:30 across a DST change.
CREATE TABLE gatherings (
    id                 TEXT PRIMARY KEY NOT NULL,
    title              TEXT NOT NULL,
    start_at           TEXT NOT NULL,               -- local "YYYY-MM-DDTHH:MM:SS" in tz
    end_at             TEXT NOT NULL,               -- local, after start_at
    tz                 TEXT NOT NULL DEFAULT 'Europe/Amsterdam',
    place              TEXT NOT NULL DEFAULT '',    -- street address
    online_url         TEXT NOT NULL DEFAULT '',
    host_member_id     TEXT REFERENCES members (id),
    host_collective_id TEXT REFERENCES collectives (id),
    description        TEXT NOT NULL DEFAULT '',    -- agenda, free text
    capacity           INTEGER CHECK (capacity IS NULL OR capacity >= 0),
    rsvp_by            TEXT,                        -- ISO date, inclusive
    audience           TEXT NOT NULL DEFAULT '{}',  -- JSON: the search filters it is for
    repeat_rule        TEXT NOT NULL DEFAULT '',    -- normalised: "weekly", "every 2 weeks", "monthly on last thursday"
    repeat_until       TEXT,                        -- ISO date, inclusive; NULL = open-ended
    status             TEXT NOT NULL DEFAULT 'confirmed'
                       CHECK (status IN ('confirmed', 'cancelled')),
    cancel_reason      TEXT NOT NULL DEFAULT '',
    sequence           INTEGER NOT NULL DEFAULT 0,  -- iCalendar SEQUENCE: raised by every edit and cancel
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    deleted            INTEGER NOT NULL DEFAULT 0,
    clocks             TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX gatherings_start ON gatherings (start_at);

-- One answer per member per gathering (id derived from both). state is what
-- the answer came to: a yes beyond the capacity waits on the waitlist.
CREATE TABLE gathering_rsvps (
    id           TEXT PRIMARY KEY NOT NULL,
    gathering_id TEXT NOT NULL REFERENCES gatherings (id),
    member_id    TEXT NOT NULL REFERENCES members (id),
    response     TEXT NOT NULL CHECK (response IN ('yes', 'no', 'maybe')),
    state        TEXT NOT NULL CHECK (state IN ('going', 'maybe', 'waitlist', 'no')),
    note         TEXT NOT NULL DEFAULT '',
    answered_at  TEXT NOT NULL,                     -- UTC; the waitlist is served in this order
    promoted_at  TEXT,                              -- UTC; set when moved off the waitlist
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    clocks       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX gathering_rsvps_gathering ON gathering_rsvps (gathering_id, state);

-- What changed, per edit or cancel, for the "UPDATED: new time 18:00" line.
CREATE TABLE gathering_history (
    id           TEXT PRIMARY KEY NOT NULL,
    gathering_id TEXT NOT NULL REFERENCES gatherings (id),
    sequence     INTEGER NOT NULL,                  -- the SEQUENCE this change led to
    kind         TEXT NOT NULL CHECK (kind IN ('edit', 'cancel')),
    changes      TEXT NOT NULL DEFAULT '{}',        -- JSON {field: [old, new]}
    reason       TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    clocks       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX gathering_history_gathering ON gathering_history (gathering_id, sequence);

-- What was announced or sent (id derived from what/who/when), so an hourly
-- `zpp gathering remind` never sends the same reminder twice, on any device.
CREATE TABLE gathering_sends (
    id           TEXT PRIMARY KEY NOT NULL,
    gathering_id TEXT NOT NULL REFERENCES gatherings (id),
    kind         TEXT NOT NULL CHECK (kind IN ('announce', 'reminder', 'promotion')),
    occurrence   TEXT NOT NULL DEFAULT '',          -- local start of the occurrence it was about
    recipient    TEXT NOT NULL DEFAULT '',          -- member id, or the channel of an announcement
    sequence     INTEGER NOT NULL DEFAULT 0,
    sent_at      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    clocks       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX gathering_sends_gathering ON gathering_sends (gathering_id, kind);
