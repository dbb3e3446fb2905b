-- The stored register recomputed with two rules of tracker.queries' _HISTORIES_CTE (#8):
--
-- last_confirmed is the latest confirmation of any entry of the current run of one status, not of
-- the latest entry alone: "2023-03: continuing" added after "2023: continuing" took the structure's
-- confirmation back from 2023-12-31 (a year counts to its end) to 2023-03-31.
--
-- run_from (new) is the earliest day the current run can have begun: its first entry's start, or the
-- last day an earlier entry confirmed a status if that is later, within the first entry's period.
-- Survival dates a closure from it: "2023-06: continuing" then "2023: decommissioned" closed after
-- 2023-06-30, and was counted from 1 January 2023, before the structure was last known running.

ALTER TABLE structure_register ADD COLUMN run_from DATE;  -- no DEFAULT: PostgreSQL through DuckDB takes a plain ADD COLUMN only

DELETE FROM structure_register;

INSERT INTO structure_register BY NAME
WITH reached AS (
    SELECT e.*,
           least(e.date_end, max(e.date_start) OVER s) AS reach,
           least(e.date_end, max(CASE WHEN e.status IS NOT NULL THEN e.date_start END) OVER s) AS status_reach
    FROM entries e
    WHERE e.deleted_at IS NULL AND e.structure_key IS NOT NULL
    WINDOW s AS (PARTITION BY e.partnership, e.structure_key)
), ordered AS (
    SELECT e.*,
           CASE WHEN e.status IS NULL THEN NULL
                WHEN lag(e.status) OVER w IS NOT DISTINCT FROM e.status
                 AND lag(lower(trim(e.host))) OVER w IS NOT DISTINCT FROM lower(trim(e.host)) THEN 0
                ELSE 1 END AS starts_run
    FROM reached e
    WINDOW w AS (PARTITION BY e.partnership, e.structure_key, e.status IS NULL ORDER BY e.status_reach, e.seq)
), numbered AS (
    SELECT e.*,
           CASE WHEN e.status IS NOT NULL THEN sum(e.starts_run) OVER (
               PARTITION BY e.partnership, e.structure_key, e.status IS NULL ORDER BY e.status_reach, e.seq
               ROWS UNBOUNDED PRECEDING) END AS run
    FROM ordered e
), current_run AS (
    SELECT e.*, e.run = max(e.run) OVER (PARTITION BY e.partnership, e.structure_key) AS in_current_run
    FROM numbered e
)
SELECT partnership, structure_key,
       arg_max(structure, (reach, seq)) AS structure,
       arg_max(typology, (reach, seq)) AS typology,
       arg_max(status, (status_reach, seq)) FILTER (WHERE status IS NOT NULL) AS status,
       arg_max(host, (status_reach, seq)) FILTER (WHERE status IS NOT NULL) AS host,
       -- since: the earliest of the current run's entries ("2021: set up", then "2021-11-17: …"
       -- about it: since 2021), whichever of them the order above put first
       arg_min(date_text, (date_start, date_end, seq)) FILTER (WHERE in_current_run) AS since,
       min(date_start) FILTER (WHERE in_current_run) AS since_start,
       max(least(date_end, CAST(updated_at AS DATE))) FILTER (WHERE in_current_run) AS last_confirmed,
       least(greatest(min(date_start) FILTER (WHERE in_current_run),
                      max(least(date_end, CAST(updated_at AS DATE)))
                          FILTER (WHERE status IS NOT NULL AND NOT in_current_run)),
             arg_min(date_end, (date_start, date_end, seq)) FILTER (WHERE in_current_run)) AS run_from,
       max(date_start) FILTER (WHERE status IS NOT NULL) AS status_recorded,
       arg_max(date_text, (reach, seq)) AS last_entry,
       min(date_start) AS first_entry_start,
       max(date_end) AS last_entry_end,
       count(*) AS entries
FROM current_run
GROUP BY partnership, structure_key
ORDER BY partnership, structure_key;
