-- Refund keys belong to their order: the same key on two orders is two refunds.
DROP INDEX payments_idempotency;
CREATE UNIQUE INDEX payments_idempotency ON payments (order_id, idempotency_key);

-- Variants that orders or the stock ledger refer to are archived, never deleted: their
-- order lines, reservations and history stay whole. An archived variant cannot be bought.
ALTER TABLE variants ADD COLUMN archived_at INTEGER;

-- SQLite cannot change a foreign key's ON DELETE without rebuilding tables that others refer
-- to; a trigger refuses the delete instead (cascades from a deleted product included).
CREATE TRIGGER variants_keep_history BEFORE DELETE ON variants
WHEN EXISTS (SELECT 1 FROM order_lines WHERE variant_id = OLD.id)
  OR EXISTS (SELECT 1 FROM stock_ledger WHERE variant_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'variant has orders or stock history: archive it instead');
END;
