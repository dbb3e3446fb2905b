-- The entry_mechanisms and entry_sectors lists without their primary keys (#6). An entry's lists
-- are always written whole, deduplicated by the model (EntryIn sorts a set of slugs), and replaced
-- whole on every change, so the keys guarded nothing the code does not already guarantee; their
-- indexes were 4.5 s of a 30 s import of a million rows (building them, and writing them out at
-- COMMIT), for no query that used them. tests/test_importer.py checks a repeated term is stored once.

CREATE TABLE entry_mechanisms_0008 (
    entry_id    VARCHAR NOT NULL,
    mechanism   VARCHAR NOT NULL
);
INSERT INTO entry_mechanisms_0008 SELECT entry_id, mechanism FROM entry_mechanisms;
DROP TABLE entry_mechanisms;
ALTER TABLE entry_mechanisms_0008 RENAME TO entry_mechanisms;

CREATE TABLE entry_sectors_0008 (
    entry_id    VARCHAR NOT NULL,
    sector      VARCHAR NOT NULL
);
INSERT INTO entry_sectors_0008 SELECT entry_id, sector FROM entry_sectors;
DROP TABLE entry_sectors;
ALTER TABLE entry_sectors_0008 RENAME TO entry_sectors;
