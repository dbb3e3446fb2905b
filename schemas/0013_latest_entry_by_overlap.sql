-- The stored register recomputed with the latest entry of a structure chosen as tracker.queries'
-- _HISTORIES_CTE now chooses it (#8): the greatest (least(date_end, M), seq), M the latest date_start
-- of the structure's entries (of those with a status, for status, host, since and last confirmed).
-- Entries whose periods overlap are simultaneous and the one recorded last wins. The latest was the
-- greatest (date_start, date_end, seq), which took a year-only date as 1 January: "2023-06:
-- continuing" outranked "2023: decommissioned" recorded after it, and last_confirmed, the greatest of
-- any status entry, came from the closure for a structure shown as continuing.

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
       arg_max(least(date_end, CAST(updated_at AS DATE)), (status_reach, seq))
           FILTER (WHERE status IS NOT NULL) AS last_confirmed,
       max(date_start) FILTER (WHERE status IS NOT NULL) AS status_recorded,
       arg_max(date_text, (reach, seq)) AS last_entry,
       min(date_start) AS first_entry_start,
       max(date_end) AS last_entry_end,
       count(*) AS entries
FROM current_run
GROUP BY partnership, structure_key
ORDER BY partnership, structure_key;
