-- Entry counts kept up to date on every write (#6): current (not deleted) entries per partnership,
-- typology, kind and month of the date's start. Derived data, like structure_register: every write
-- of entries (tracker/entries.py) recomputes the rows of the partnerships it touched, in the same
-- transaction, so the overview figures, the partnership × typology heatmap and the binned timeline
-- read a few thousand counts instead of every entry. Filters the counts cannot answer (dates,
-- statuses, mechanisms, "as at" a past moment…) still read the entries (tracker.queries).

CREATE TABLE entry_counts (
    partnership VARCHAR NOT NULL,
    typology    VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    month       DATE NOT NULL,
    entries     BIGINT NOT NULL
);

INSERT INTO entry_counts
SELECT partnership, typology, kind, CAST(date_trunc('month', date_start) AS DATE) AS month, count(*) AS entries
FROM entries
WHERE deleted_at IS NULL
GROUP BY ALL;
