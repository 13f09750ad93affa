CREATE TABLE ${schema}.orders (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES ${schema}.customers (id),
    status      text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped')),
    total_cents bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ${schema}.orders IS 'one row per order; see 002-orders';
