-- A second typology (FSG's six conditions of systems change) and the crosswalk from the
-- first (#8). Seeded from data/crosswalk.toml; an entry counts under every condition its
-- typology maps to.

CREATE TABLE conditions (
    slug        VARCHAR PRIMARY KEY,
    label       VARCHAR NOT NULL,
    grp         VARCHAR,
    position    INTEGER NOT NULL
);

CREATE TABLE crosswalk (
    typology    VARCHAR NOT NULL,   -- terms.slug (typology)
    condition   VARCHAR NOT NULL,   -- conditions.slug
    PRIMARY KEY (typology, condition)
);
