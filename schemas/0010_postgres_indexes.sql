-- only on: postgres
-- Indexes for the shared PostgreSQL mode (#6). DuckDB hands PostgreSQL a scan's simple filters
-- (=, <, >, IN on a column) but not joins or aggregates, and PostgreSQL answers such a filter from
-- an index only if it has one; without, every lookup below read the whole table across (at a
-- million entries: the largest seq number 395 ms, a saved entry's lists ~110 ms each, the deleted
-- entries 410 ms). DuckDB needs none of them (its scans skip row groups by their min/max) and they
-- would slow its import (0008 removed the list tables' keys for that reason), so this file runs on
-- PostgreSQL only. Tables, columns and queries are the same on both backends.

CREATE INDEX entries_seq ON entries (seq);                           -- the next seq number (entries.Staging)
CREATE INDEX entries_deleted_at ON entries (deleted_at);             -- deleted entries, to restore
CREATE INDEX entries_date_start ON entries (date_start);             -- the latest entries (the overview)
CREATE INDEX entries_structure_key ON entries (structure_key);       -- a structure's entries (its register row)
CREATE INDEX entry_mechanisms_entry ON entry_mechanisms (entry_id);  -- an entry's lists
CREATE INDEX entry_sectors_entry ON entry_sectors (entry_id);
CREATE INDEX structure_register_key ON structure_register (structure_key);  -- a structure's register row
