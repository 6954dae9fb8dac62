-- Contract 4.0.0: a contract's subscribed power (kVA), when the site gives
-- it. Existing rows have none until their next sync reads it.
ALTER TABLE contracts ADD COLUMN subscribed_kva REAL CHECK (subscribed_kva IS NULL OR subscribed_kva > 0);
