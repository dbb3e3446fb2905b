-- The stored register's last_confirmed, recomputed as tracker.queries' _HISTORIES_CTE now computes
-- it (#8): an entry's period capped at the day it was last saved (updated_at), not the day it was
-- first saved (created_at). An entry edited years later to a later date and status ("2020,
-- continuing" saved in 2021, edited to "2025-02, hosted elsewhere") was confirmed as of its first
-- save, a day before its own date: the register flagged it as not confirmed and the survival curves
-- left it out.

UPDATE structure_register r SET last_confirmed = (
    SELECT max(least(e.date_end, CAST(e.updated_at AS DATE)))
    FROM entries e
    WHERE e.deleted_at IS NULL AND e.status IS NOT NULL
      AND e.partnership = r.partnership AND e.structure_key = r.structure_key
);
