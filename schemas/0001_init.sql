-- Initial schema: reference data, entries, and their multi-valued fields.
-- Multi-valued fields (mechanisms, sectors) live in their own tables so that
-- "count by mechanism" is a plain join and GROUP BY.

CREATE TABLE partnerships (
    slug        VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL UNIQUE,
    programme   VARCHAR NOT NULL,
    area        VARCHAR NOT NULL,
    start_date  DATE,
    end_date    DATE
);

CREATE TABLE terms (
    vocabulary  VARCHAR NOT NULL,   -- typology | status | mechanism | sector
    slug        VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,
    grp         VARCHAR,            -- e.g. the mechanism group
    description VARCHAR,
    position    INTEGER NOT NULL,
    retired     BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (vocabulary, slug)
);

CREATE TABLE entries (
    id              VARCHAR PRIMARY KEY,
    seq             BIGINT NOT NULL,        -- order of entry, breaks ties between equal dates
    partnership     VARCHAR NOT NULL,       -- partnerships.slug
    date_text       VARCHAR NOT NULL,       -- as entered: YYYY, YYYY-MM or YYYY-MM-DD
    date_precision  VARCHAR NOT NULL,       -- year | month | day
    date_start      DATE NOT NULL,          -- first day of the period the date covers
    date_end        DATE NOT NULL,          -- last day of that period
    kind            VARCHAR NOT NULL,       -- milestone | setback
    title           VARCHAR NOT NULL,
    description     VARCHAR,
    typology        VARCHAR NOT NULL,       -- terms.slug (typology)
    status          VARCHAR,                -- terms.slug (status)
    host            VARCHAR,
    structure       VARCHAR,
    structure_key   VARCHAR,                -- structure folded for matching: one history per key
    source          VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE entry_mechanisms (
    entry_id    VARCHAR NOT NULL,
    mechanism   VARCHAR NOT NULL,
    PRIMARY KEY (entry_id, mechanism)
);

CREATE TABLE entry_sectors (
    entry_id    VARCHAR NOT NULL,
    sector      VARCHAR NOT NULL,
    PRIMARY KEY (entry_id, sector)
);
