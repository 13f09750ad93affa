--liquibase formatted sql
-- Orders service schema in Liquibase formatted SQL.  Releases are tagged with
-- the tidemark extension "--tag NAME" (a plain comment to Liquibase).
--property name:schema value:public

--changeset alice:001-customers labels:core
--comment: customers who place orders
--preconditions onFail:MARK_RAN
--precondition-sql-check expectedResult:0 SELECT count(*) FROM information_schema.tables WHERE table_schema = '${schema}' AND table_name = 'customers'
CREATE TABLE ${schema}.customers (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
--tag v1.0.0
--rollback DROP TABLE ${schema}.customers;

--changeset alice:002-orders
--comment: orders belong to customers
CREATE TABLE ${schema}.orders (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES ${schema}.customers (id),
    status      text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped')),
    total_cents bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ${schema}.orders IS 'one row per order; see 002-orders';
--rollback DROP TABLE ${schema}.orders;

--changeset alice:003-orders-customer-index runInTransaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON ${schema}.orders (customer_id);
--tag v1.1.0
--rollback DROP INDEX CONCURRENTLY IF EXISTS ${schema}.orders_customer_id_idx;

--changeset bob:004-order-totals-view runOnChange:true
CREATE OR REPLACE VIEW ${schema}.order_totals AS
SELECT c.id AS customer_id, c.email, count(o.id) AS orders,
       coalesce(sum(o.total_cents), 0) AS total_cents
  FROM ${schema}.customers c
  LEFT JOIN ${schema}.orders o ON o.customer_id = c.id
 GROUP BY c.id, c.email;
--tag v1.2.0
/* liquibase rollback
DROP VIEW IF EXISTS ${schema}.order_totals;
*/
