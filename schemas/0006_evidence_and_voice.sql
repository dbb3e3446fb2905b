-- Evidence and voice (#8): an entry can carry a short quote with the speaker's role (as the
-- evaluation reports do: "Stakeholder, Housing", "Person with lived experience") and a rating of
-- the programme's contribution to the change (direct, contributory, influenced, unclear).

ALTER TABLE entries ADD COLUMN quote VARCHAR;
ALTER TABLE entries ADD COLUMN speaker VARCHAR;
ALTER TABLE entries ADD COLUMN contribution VARCHAR;

ALTER TABLE entry_history ADD COLUMN quote VARCHAR;
ALTER TABLE entry_history ADD COLUMN speaker VARCHAR;
ALTER TABLE entry_history ADD COLUMN contribution VARCHAR;
