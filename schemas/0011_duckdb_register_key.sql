-- only on: duckdb
-- The stored register's structure key, indexed in DuckDB too (#6; PostgreSQL has had it since 0010).
-- A page of the legacy register names the other ends of its structures' links across programmes by
-- looking up those few structures by key (verification._name_links): without the index DuckDB read
-- the key column of every stored structure for it, 10 ms at a million entries (300,000 structures);
-- with it, under 1 ms. A save's refresh of its structure's register row finds the row the same way.
-- Its cost at an import was within the noise (300,000 entries, four runs).

CREATE INDEX structure_register_key ON structure_register (structure_key);
