-- Entry counts per contributing mechanism, kept up to date on every write (#6), beside entry_counts
-- (0007): current (not deleted) entries per partnership, typology, kind and mechanism. An entry with
-- three mechanisms counts once under each. Rows are signed changes, appended by each write and
-- folded now and then, exactly as entry_counts (tracker/queries.py). The heatmaps that pair
-- mechanisms with partnerships or typologies read these few thousand rows instead of joining every
-- entry to its mechanisms (at a million entries, 1.7 million list rows).

CREATE TABLE mechanism_counts (
    partnership VARCHAR NOT NULL,
    typology    VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    mechanism   VARCHAR NOT NULL,
    entries     BIGINT NOT NULL
);

INSERT INTO mechanism_counts
SELECT e.partnership, e.typology, e.kind, m.mechanism, count(*) AS entries
FROM entries e
JOIN entry_mechanisms m ON m.entry_id = e.id
WHERE e.deleted_at IS NULL
GROUP BY ALL;
