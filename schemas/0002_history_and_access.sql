-- History, audit and access control (#4).
-- Every version of every entry is kept (entry_history, append-only) so that any past state
-- can be shown ("as at"), deletes are soft, and concurrent edits are detected by version.

ALTER TABLE entries ADD COLUMN version INTEGER DEFAULT 1;
ALTER TABLE entries ADD COLUMN created_by VARCHAR;
ALTER TABLE entries ADD COLUMN updated_by VARCHAR;
ALTER TABLE entries ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE entries ADD COLUMN deleted_by VARCHAR;

-- One row per version of an entry, never updated or deleted.
CREATE TABLE entry_history (
    id              VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    recorded_at     TIMESTAMP NOT NULL,
    recorded_by     VARCHAR NOT NULL,
    action          VARCHAR NOT NULL,       -- create | update | delete | restore
    audit_id        VARCHAR NOT NULL,       -- the audit_log event that made this version
    deleted         BOOLEAN NOT NULL,
    seq             BIGINT NOT NULL,
    partnership     VARCHAR NOT NULL,
    date_text       VARCHAR NOT NULL,
    date_precision  VARCHAR NOT NULL,
    date_start      DATE NOT NULL,
    date_end        DATE NOT NULL,
    kind            VARCHAR NOT NULL,
    title           VARCHAR NOT NULL,
    description     VARCHAR,
    typology        VARCHAR NOT NULL,
    status          VARCHAR,
    host            VARCHAR,
    structure       VARCHAR,
    structure_key   VARCHAR,
    source          VARCHAR,
    mechanisms      VARCHAR[] NOT NULL,
    sectors         VARCHAR[] NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (id, version)
);

-- Who did what, when: one row per event (a save, a delete, an import, a member change…).
CREATE TABLE audit_log (
    id          VARCHAR PRIMARY KEY,
    happened_at TIMESTAMP NOT NULL,
    actor       VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,   -- entry.create | entry.update | entry.delete | entry.restore | import | member.* | partnership.* | term.*
    entry_id    VARCHAR,
    detail      VARCHAR             -- JSON: counts, file name, before/after of non-entry changes
);

CREATE TABLE members (
    email       VARCHAR PRIMARY KEY,    -- lower-case
    role        VARCHAR NOT NULL,       -- admin | viewer | editor
    name        VARCHAR,
    added_at    TIMESTAMP NOT NULL,
    added_by    VARCHAR NOT NULL
);

CREATE TABLE member_partnerships (
    email       VARCHAR NOT NULL,
    partnership VARCHAR NOT NULL,
    PRIMARY KEY (email, partnership)
);

-- Entries that existed before history was kept get a first version now.
INSERT INTO audit_log VALUES ('migration-0002', now()::TIMESTAMP, 'system', 'migration', NULL,
                              '{"note": "history starts: existing entries recorded as version 1"}');
INSERT INTO entry_history
SELECT e.id, 1, e.updated_at, 'system', 'create', 'migration-0002', false, e.seq, e.partnership, e.date_text,
       e.date_precision, e.date_start, e.date_end, e.kind, e.title, e.description, e.typology, e.status,
       e.host, e.structure, e.structure_key, e.source,
       coalesce((SELECT list(m.mechanism ORDER BY m.mechanism) FROM entry_mechanisms m WHERE m.entry_id = e.id), []),
       coalesce((SELECT list(s.sector ORDER BY s.sector) FROM entry_sectors s WHERE s.entry_id = e.id), []),
       e.created_at
FROM entries e;
