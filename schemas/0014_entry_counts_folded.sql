-- Which rows of entry_counts are folded (#6). A folded row is the only row of its group (partnership,
-- typology, kind, month) when it was written, with a count that is not zero: compact_counts and
-- rebuild_register write them, and mark them. The rows every write appends are not marked. So the
-- groups whose counts are not zero are at least the folded rows less the negative rows (each can
-- bring one group to zero): the binned timeline knows from that whether its months can fit on the
-- chart without grouping every count first (12 ms at a million entries). An unmarked row only makes
-- that bound lower, never wrong.

ALTER TABLE entry_counts ADD COLUMN folded BOOLEAN;  -- NULL: appended, not folded (no DEFAULT: PostgreSQL through DuckDB takes a plain ADD COLUMN only)

CREATE TEMP TABLE entry_counts_0014 AS
SELECT partnership, typology, kind, month, sum(entries) AS entries
FROM entry_counts GROUP BY ALL HAVING sum(entries) <> 0;

DELETE FROM entry_counts;

INSERT INTO entry_counts (partnership, typology, kind, month, entries, folded)
SELECT partnership, typology, kind, month, entries, true FROM entry_counts_0014;

DROP TABLE entry_counts_0014;
