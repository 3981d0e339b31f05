-- 0004_shop_order_movements: tie stock movements to the order they serve.
--
-- Cancelling an order restocks exactly what its checkout took. For a kit
-- that is the components as they were at checkout, which the current
-- kit_components rows no longer tell once an admin edits the kit; the
-- checkout's own movements do. order_id finds them through an index instead
-- of a scan of every movement ever recorded.
ALTER TABLE stock_movements ADD COLUMN order_id bigint REFERENCES orders (id);
CREATE INDEX stock_movements_order_idx ON stock_movements (order_id) WHERE order_id IS NOT NULL;
