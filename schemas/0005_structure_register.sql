-- The legacy register kept up to date on every write (#6): one row per structure (a partnership's
-- entries sharing a structure_key), as tracker.queries' _GROUPED_CTE computes it from all of the
-- structure's current entries. Derived data: every write of entries (tracker/entries.py) recomputes
-- the rows of the structures it touched, in the same transaction, so pages read the register
-- without a window over every entry. Reads "as at" a past moment still compute it from history.
-- Changing the columns of _GROUPED_CTE needs a new migration that changes this table and refills it.

CREATE TABLE structure_register (
    partnership         VARCHAR NOT NULL,
    structure_key       VARCHAR NOT NULL,
    structure           VARCHAR,
    typology            VARCHAR,
    status              VARCHAR,
    host                VARCHAR,
    since               VARCHAR,
    since_start         DATE,
    last_confirmed      DATE,
    status_recorded     DATE,
    last_entry          VARCHAR,
    first_entry_start   DATE,
    last_entry_end      DATE,
    entries             BIGINT NOT NULL
);

INSERT INTO structure_register BY NAME
WITH ordered AS (
    SELECT e.*,
           CASE WHEN e.status IS NULL THEN NULL
                WHEN lag(e.status) OVER w IS NOT DISTINCT FROM e.status
                 AND lag(lower(trim(e.host))) OVER w IS NOT DISTINCT FROM lower(trim(e.host)) THEN 0
                ELSE 1 END AS starts_run
    FROM entries e
    WHERE e.deleted_at IS NULL AND e.structure_key IS NOT NULL
    WINDOW w AS (PARTITION BY e.partnership, e.structure_key, e.status IS NULL
                 ORDER BY e.date_start, e.date_end, e.seq)
)
SELECT partnership, structure_key,
       arg_max(structure, (date_start, date_end, seq)) AS structure,
       arg_max(typology, (date_start, date_end, seq)) AS typology,
       arg_max(status, (date_start, date_end, seq)) FILTER (WHERE status IS NOT NULL) AS status,
       arg_max(host, (date_start, date_end, seq)) FILTER (WHERE status IS NOT NULL) AS host,
       arg_max(date_text, (date_start, date_end, seq)) FILTER (WHERE starts_run = 1) AS since,
       arg_max(date_start, (date_start, date_end, seq)) FILTER (WHERE starts_run = 1) AS since_start,
       max(least(date_end, CAST(created_at AS DATE))) FILTER (WHERE status IS NOT NULL) AS last_confirmed,
       max(date_start) FILTER (WHERE status IS NOT NULL) AS status_recorded,
       arg_max(date_text, (date_start, date_end, seq)) AS last_entry,
       min(date_start) AS first_entry_start,
       max(date_end) AS last_entry_end,
       count(*) AS entries
FROM ordered
GROUP BY partnership, structure_key;
