-- Programme links (#8): a structure carried on by another one, usually in a successor
-- programme (a Fulfilling Lives network continuing under Changing Futures).

CREATE TABLE structure_links (
    id                  VARCHAR PRIMARY KEY,
    from_partnership    VARCHAR NOT NULL,   -- the earlier structure
    from_structure      VARCHAR NOT NULL,   -- its structure_key
    to_partnership      VARCHAR NOT NULL,   -- the structure that carries it on
    to_structure        VARCHAR NOT NULL,
    note                VARCHAR,
    created_at          TIMESTAMP NOT NULL,
    created_by          VARCHAR NOT NULL
);
