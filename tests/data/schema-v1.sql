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
-- rowid is derived from the member's UUID, so it survives VACUUM.
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

PRAGMA user_version = 1;
