-- Refund keys belong to their order: the same key on two orders is two refunds.
DROP INDEX payments_idempotency;
CREATE UNIQUE INDEX payments_idempotency ON payments (order_id, idempotency_key);

-- Variants that orders or the stock ledger refer to are archived, never deleted: their
-- order lines, reservations and history stay whole. An archived variant cannot be bought.
ALTER TABLE variants ADD COLUMN archived_at BIGINT;

-- Deleting such a variant (or its product) is refused rather than cascading into the ledger
-- or emptying the order lines.
ALTER TABLE stock_ledger DROP CONSTRAINT stock_ledger_variant_id_fkey,
    ADD CONSTRAINT stock_ledger_variant_id_fkey FOREIGN KEY (variant_id) REFERENCES variants (id) ON DELETE RESTRICT;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_variant_id_fkey,
    ADD CONSTRAINT order_lines_variant_id_fkey FOREIGN KEY (variant_id) REFERENCES variants (id) ON DELETE RESTRICT;
