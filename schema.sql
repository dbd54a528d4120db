-- zpp schema: the single source of truth. A new db is created from this file;
-- older dbs are brought here by zppcli/migrations/NNNN_*.sql, step by step.
--
-- Sync-ready from day one (see README "Sharing a directory"):
--   * every synced row has a UUID text primary key (never AUTOINCREMENT);
--   * created_at / updated_at are ISO 8601 UTC;
--   * deletes are tombstones: deleted = 1, the row stays;
--   * clocks holds a JSON object {field: hybrid logical clock} of the last write
--     of each field, so copies of this file merge field by field;
--   * no UNIQUE index except on ids: duplicates (an e-mail twice, a handle
--     taken twice) are checked in code, because two merged copies could both
--     hold a valid row each.
-- Foreign keys are declared for documentation and `zpp db check`; they are
-- not enforced, because a merge may bring a child row before its parent.

PRAGMA application_id = 1515212849;  -- 0x5A505031, "ZPP1": tells zpp files from other SQLite files

-- Local state of this file (not synced): the last clock issued, settings.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Every device that ever wrote to this file (synced by union).
CREATE TABLE devices (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    first_seen TEXT NOT NULL
);

CREATE TABLE members (
    id          TEXT PRIMARY KEY NOT NULL,
    handle      TEXT NOT NULL,
    given_name  TEXT NOT NULL DEFAULT '',
    particle    TEXT NOT NULL DEFAULT '',       -- tussenvoegsel: "van", "van den", "de", "ter" ...
    family_name TEXT NOT NULL DEFAULT '',
    display_name TEXT GENERATED ALWAYS AS (
        given_name
        || CASE WHEN particle <> '' THEN ' ' || particle ELSE '' END
        || CASE WHEN family_name <> '' THEN ' ' || family_name ELSE '' END
    ) VIRTUAL,
    -- Dutch directories sort on the family name without the particle.
    sort_key    TEXT GENERATED ALWAYS AS (
        CASE WHEN family_name <> ''
             THEN family_name || ', ' || given_name
                  || CASE WHEN particle <> '' THEN ' ' || particle ELSE '' END
             ELSE given_name END
    ) VIRTUAL,
    city        TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    website     TEXT NOT NULL DEFAULT '',
    links       TEXT NOT NULL DEFAULT '[]',     -- JSON array of URLs
    bio         TEXT NOT NULL DEFAULT '',
    languages   TEXT NOT NULL DEFAULT '[]',     -- JSON array of ISO 639-1 codes
    day_rate    INTEGER CHECK (day_rate IS NULL OR day_rate >= 0),  -- euros
    tags        TEXT NOT NULL DEFAULT '[]',     -- JSON array
    note        TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL DEFAULT 'network'
                CHECK (visibility IN ('public', 'network', 'private')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    clocks      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX members_handle ON members (handle);

-- E-mail addresses and phone numbers. The id is derived from (member, kind,
-- value), so the same address added on two devices merges into one row.
CREATE TABLE contacts (
    id         TEXT PRIMARY KEY NOT NULL,
    member_id  TEXT NOT NULL REFERENCES members (id),
    kind       TEXT NOT NULL CHECK (kind IN ('email', 'phone')),
    type       TEXT NOT NULL DEFAULT 'work' CHECK (type IN ('work', 'home', 'mobile', 'other')),
    value      TEXT NOT NULL,                   -- e-mail lower-cased; phone E.164
    position   INTEGER NOT NULL DEFAULT 0,      -- 0 = preferred
    private    INTEGER NOT NULL DEFAULT 0,      -- 1 = never leaves the directory
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    clocks     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX contacts_member ON contacts (member_id);
CREATE INDEX contacts_value ON contacts (value);

-- The skill catalogue. The id is derived from the slug of the name.
CREATE TABLE skills (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    clocks      TEXT NOT NULL DEFAULT '{}'
);

-- Other words for a skill, Dutch and English: "montage" = "video editing".
CREATE TABLE skill_aliases (
    id         TEXT PRIMARY KEY NOT NULL,      -- derived from (skill, folded alias)
    skill_id   TEXT NOT NULL REFERENCES skills (id),
    alias      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    clocks     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX skill_aliases_skill ON skill_aliases (skill_id);

CREATE TABLE member_skills (
    id             TEXT PRIMARY KEY NOT NULL,  -- derived from (member, skill)
    member_id      TEXT NOT NULL REFERENCES members (id),
    skill_id       TEXT NOT NULL REFERENCES skills (id),
    level          TEXT NOT NULL DEFAULT 'competent'
                   CHECK (level IN ('learning', 'competent', 'expert')),
    wants_to_learn INTEGER NOT NULL DEFAULT 0,
    can_mentor     INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    clocks         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX member_skills_member ON member_skills (member_id);
CREATE INDEX member_skills_skill ON member_skills (skill_id, member_id);

-- Availability periods; dates are inclusive ISO dates. No period = "unknown".
CREATE TABLE availability (
    id             TEXT PRIMARY KEY NOT NULL,
    member_id      TEXT NOT NULL REFERENCES members (id),
    start_date     TEXT NOT NULL,
    end_date       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('available', 'partly', 'booked')),
    hours_per_week REAL CHECK (hours_per_week IS NULL OR hours_per_week >= 0),
    note           TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    clocks         TEXT NOT NULL DEFAULT '{}',
    CHECK (start_date <= end_date)
);
CREATE INDEX availability_member ON availability (member_id, start_date);

CREATE TABLE collectives (
    id          TEXT PRIMARY KEY NOT NULL,
    handle      TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    website     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    clocks      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX collectives_handle ON collectives (handle);

CREATE TABLE collective_members (
    id            TEXT PRIMARY KEY NOT NULL,   -- derived from (collective, member)
    collective_id TEXT NOT NULL REFERENCES collectives (id),
    member_id     TEXT NOT NULL REFERENCES members (id),
    role          TEXT NOT NULL DEFAULT 'member',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    clocks        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX collective_members_member ON collective_members (member_id);
CREATE INDEX collective_members_collective ON collective_members (collective_id);

-- Who (which device) changed what, when: one row per write, for `zpp log`.
CREATE TABLE changes (
    id        TEXT PRIMARY KEY NOT NULL,
    hlc       TEXT NOT NULL,
    device_id TEXT NOT NULL,
    tbl       TEXT NOT NULL,
    row_id    TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    data      TEXT NOT NULL DEFAULT '{}'       -- JSON: the fields written, new values
);
CREATE INDEX changes_row ON changes (row_id, hlc);
CREATE INDEX changes_hlc ON changes (hlc);

-- Derived, local, rebuilt by `zpp db reindex`: full-text search over members.
-- Text is folded in Python (ł, ø, ß, æ) before it reaches the tokenizer; the
-- rowid is a hash of the member's UUID (searchindex.fts_rowid), so it survives VACUUM.
CREATE VIRTUAL TABLE members_fts USING fts5 (
    member_id UNINDEXED,
    name,
    skills,
    meta,
    bio,
    tokenize = "unicode61 remove_diacritics 2",
    prefix = '2 3'
);
CREATE VIRTUAL TABLE members_fts_vocab USING fts5vocab (members_fts, 'col');
-- ORDER BY rank ranks with these column weights (name and skills above bio);
-- FTS5 then sorts inside the index, several times faster than ORDER BY bm25(...).
INSERT INTO members_fts (members_fts, rank) VALUES ('rank', 'bm25(0.0, 10.0, 8.0, 3.0, 1.0)');

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

PRAGMA user_version = 3;
