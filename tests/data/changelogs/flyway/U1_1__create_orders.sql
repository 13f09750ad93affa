DROP VIEW IF EXISTS order_totals;
DROP INDEX IF EXISTS orders_customer_id_idx;
DROP TABLE orders;
