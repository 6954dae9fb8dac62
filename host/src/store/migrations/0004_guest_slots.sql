-- A second guest (the Tempo service's) serves beside the helloWatt one:
-- every guest row belongs to a slot, named after the guest that serves in
-- it, and the one-active / one-previous rules hold per slot. Rows written
-- before this migration all belong to the helloWatt slot.
ALTER TABLE guests ADD COLUMN slot TEXT NOT NULL DEFAULT 'hellowatt' CHECK (length(slot) > 0);

DROP INDEX guests_one_active;
DROP INDEX guests_one_previous;
CREATE UNIQUE INDEX guests_one_active ON guests (slot) WHERE state = 'active';
CREATE UNIQUE INDEX guests_one_previous ON guests (slot) WHERE state = 'previous';
