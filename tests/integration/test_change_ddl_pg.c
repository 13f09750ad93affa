/* Integration test: the DDL change types (change_ddl.c, change_table.c,
 * change_constraint.c) through the whole pipeline - a Liquibase XML
 * changelog loaded by chlog_load, applied by the engine to a real PostgreSQL
 * (TIDEMARK_PG_URL), then rolled back with the automatic rollbacks.
 *
 * Expected values came from Liquibase 4.33.0 run on the very same changelog
 * against an empty PostgreSQL 15 database: `update` wrote these md5sums and
 * left the schema summarised below (SCHEMA_SQL on that database), and
 * `rollback-count --count=5` left the public schema empty again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "chlog_fixture.h"
#include "engine/engine.h"
#include "engine_pgdb.h"
#include "tm_test.h"

static const char changelog_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<databaseChangeLog xmlns=\"http://www.liquibase.org/xml/ns/dbchangelog\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.liquibase.org/xml/ns/dbchangelog http://www.liquibase.org/xml/ns/dbchangelog/dbchangelog-4.33.xsd\">\n"
    "  <changeSet id=\"1\" author=\"t\">\n"
    "    <createTable tableName=\"customer\" remarks=\"who buys\">\n"
    "      <column name=\"id\" type=\"bigint\" autoIncrement=\"true\"><constraints primaryKey=\"true\"/></column>\n"
    "      <column name=\"Email\" type=\"varchar(255)\" remarks=\"login\"><constraints nullable=\"false\" unique=\"true\" uniqueConstraintName=\"uq_customer_email\"/></column>\n"
    "      <column name=\"active\" type=\"boolean\" defaultValueBoolean=\"true\"/>\n"
    "      <column name=\"created\" type=\"datetime\" defaultValueComputed=\"CURRENT_TIMESTAMP\"/>\n"
    "      <column name=\"balance\" type=\"decimal(10,2)\" defaultValueNumeric=\"0.00\"/>\n"
    "      <column name=\"kind\" type=\"varchar(10)\" defaultValue=\"retail\"/>\n"
    "    </createTable>\n"
    "  </changeSet>\n"
    "  <changeSet id=\"2\" author=\"t\">\n"
    "    <createTable tableName=\"orders\">\n"
    "      <column name=\"id\" type=\"int\"><constraints primaryKey=\"true\" primaryKeyName=\"pk_orders\"/></column>\n"
    "      <column name=\"customer_id\" type=\"bigint\"><constraints nullable=\"false\" foreignKeyName=\"fk_orders_customer\" referencedTableName=\"customer\" referencedColumnNames=\"id\"/></column>\n"
    "      <column name=\"placed\" type=\"timestamp with time zone\"/>\n"
    "      <column name=\"note\" type=\"text\"/>\n"
    "    </createTable>\n"
    "    <createIndex tableName=\"orders\" indexName=\"ix_orders_placed\"><column name=\"placed\" descending=\"true\"/><column name=\"customer_id\"/></createIndex>\n"
    "  </changeSet>\n"
    "  <changeSet id=\"3\" author=\"t\">\n"
    "    <addColumn tableName=\"orders\">\n"
    "      <column name=\"status\" type=\"varchar(20)\" value=\"new\"><constraints nullable=\"false\"/></column>\n"
    "      <column name=\"total\" type=\"numeric(12,2)\" defaultValueNumeric=\"0\" remarks=\"gross\"/>\n"
    "    </addColumn>\n"
    "    <addDefaultValue tableName=\"orders\" columnName=\"status\" defaultValue=\"new\"/>\n"
    "  </changeSet>\n"
    "  <changeSet id=\"4\" author=\"t\">\n"
    "    <createTable tableName=\"item\"><column name=\"id\" type=\"int\"/><column name=\"order_id\" type=\"int\"/><column name=\"sku\" type=\"varchar(30)\"/></createTable>\n"
    "    <addPrimaryKey tableName=\"item\" columnNames=\"id\"/>\n"
    "    <addForeignKeyConstraint baseTableName=\"item\" baseColumnNames=\"order_id\" constraintName=\"fk_item_order\" referencedTableName=\"orders\" referencedColumnNames=\"id\" onDelete=\"CASCADE\"/>\n"
    "    <addUniqueConstraint tableName=\"item\" columnNames=\"order_id, sku\" constraintName=\"uq_item_order_sku\"/>\n"
    "    <addNotNullConstraint tableName=\"item\" columnName=\"sku\" defaultNullValue=\"?\"/>\n"
    "  </changeSet>\n"
    "  <changeSet id=\"5\" author=\"t\">\n"
    "    <renameColumn tableName=\"orders\" oldColumnName=\"note\" newColumnName=\"remark\"/>\n"
    "    <renameTable oldTableName=\"item\" newTableName=\"order_item\"/>\n"
    "    <createSequence sequenceName=\"invoice_seq\" startValue=\"1000\" incrementBy=\"10\"/>\n"
    "    <renameSequence oldSequenceName=\"invoice_seq\" newSequenceName=\"invoice_no_seq\"/>\n"
    "    <createView viewName=\"active_customer\">SELECT id, \"Email\" FROM customer WHERE active</createView>\n"
    "    <dropNotNullConstraint tableName=\"orders\" columnName=\"customer_id\" columnDataType=\"bigint\"/>\n"
    "  </changeSet>\n"
    "</databaseChangeLog>\n";

/* One line per column, constraint, index, comment, sequence and view of the
 * public schema (history tables left out), sorted. */
static const char schema_sql[] =
    "SELECT string_agg(x, E'\\n' ORDER BY x) FROM (\n"
    " SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') || coalesce('(' || numeric_precision || ',' || numeric_scale || ')', '') || ' ' || is_nullable || ' ' || coalesce(column_default, '-') || ' ' || is_identity || coalesce(' ' || identity_generation, '') AS x FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'databasechangelog%'\n"
    " UNION ALL SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE 'databasechangelog%'\n"
    " UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE 'databasechangelog%'\n"
    " UNION ALL SELECT 'cmt ' || c.relname || '.' || coalesce(a.attname, '') || ' ' || d.description FROM pg_description d JOIN pg_class c ON c.oid = d.objoid LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0 WHERE c.relnamespace = 'public'::regnamespace\n"
    " UNION ALL SELECT 'seq ' || sequence_name || ' ' || start_value || ' ' || increment FROM information_schema.sequences WHERE sequence_schema = 'public'\n"
    " UNION ALL SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public') s";

/* The text of sql's one value (malloc'd; NULL for SQL NULL); "(error ...)"
 * copied on failure.  pgdb_val() is capped at 1 KiB, the summary is not. */
static char *query_text(struct pgx_conn *c, const char *sql)
{
    struct tm_err err = {0};
    char *v = NULL;
    if (pgx_query_value(c, sql, 0, NULL, &v, &err) != TM_OK) {
        size_t n = strlen(err.msg) + 16;
        v = malloc(n);
        if (v)
            snprintf(v, n, "(error: %s)", err.msg);
    }
    return v;
}

TM_TEST(ddl_changes_apply_and_roll_back_like_liquibase)
{
    struct pgdb d;
    struct chlog *cl = NULL;
    struct tm_err err = {0};
    TM_ASSERT(pgdb_open(&d, "change_ddl"));
    enum tm_code rc = load_mem("changelog.xml", &cl, &err, "changelog.xml", changelog_xml, NULL);
    if (rc != TM_OK)
        fprintf(stderr, "load: %s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(cl->nsets, 5);

    struct engine_opts o;
    struct engine_result res;
    engine_opts_init(&o);
    engine_result_init(&res);
    rc = engine_run(d.c, cl, &o, &res, &err);
    if (rc != TM_OK)
        fprintf(stderr, "run: %s\n", err.msg);
    TM_EXPECT_INT(rc, TM_OK);
    TM_EXPECT_INT(res.applied, 5);
    engine_result_release(&res);

    /* Liquibase 4.33.0 `update`, same changelog */
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id || '=' || md5sum, ',' ORDER BY "
                                "orderexecuted) FROM databasechangelog"),
                  "1=9:9f815aa10cd464260fa4cb129bb946c0,2=9:e341903458905a874e1f4d8e6f9640f9,"
                  "3=9:99a02704ee88f45a5cd2c9f4513b961d,4=9:9fdd3e7f347b28dea978d936e1b841bd,"
                  "5=9:839b0ef1fb2a9b7fae8e68ab235e6371");
    char *schema = query_text(d.c, schema_sql);
    TM_EXPECT_STR(schema,
                  "cmt customer. who buys\n"
                  "cmt customer.Email login\n"
                  "cmt orders.total gross\n"
                  "col active_customer.Email character varying(255) YES - NO\n"
                  "col active_customer.id bigint(64,0) YES - NO\n"
                  "col customer.Email character varying(255) NO - NO\n"
                  "col customer.active boolean YES true NO\n"
                  "col customer.balance numeric(10,2) YES 0 NO\n"
                  "col customer.created timestamp without time zone YES now() NO\n"
                  "col customer.id bigint(64,0) NO - YES BY DEFAULT\n"
                  "col customer.kind character varying(10) YES 'retail'::character varying NO\n"
                  "col order_item.id integer(32,0) NO - NO\n"
                  "col order_item.order_id integer(32,0) YES - NO\n"
                  "col order_item.sku character varying(30) NO - NO\n"
                  "col orders.customer_id bigint(64,0) YES - NO\n"
                  "col orders.id integer(32,0) NO - NO\n"
                  "col orders.placed timestamp with time zone YES - NO\n"
                  "col orders.remark text YES - NO\n"
                  "col orders.status character varying(20) NO 'new'::character varying NO\n"
                  "col orders.total numeric(12,2) YES 0 NO\n"
                  "con customer customer_pkey PRIMARY KEY (id)\n"
                  "con customer uq_customer_email UNIQUE (\"Email\")\n"
                  "con order_item fk_item_order FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE\n"
                  "con order_item item_pkey PRIMARY KEY (id)\n"
                  "con order_item uq_item_order_sku UNIQUE (order_id, sku)\n"
                  "con orders fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customer(id)\n"
                  "con orders pk_orders PRIMARY KEY (id)\n"
                  "idx CREATE INDEX ix_orders_placed ON public.orders USING btree (placed DESC, customer_id)\n"
                  "idx CREATE UNIQUE INDEX customer_pkey ON public.customer USING btree (id)\n"
                  "idx CREATE UNIQUE INDEX item_pkey ON public.order_item USING btree (id)\n"
                  "idx CREATE UNIQUE INDEX pk_orders ON public.orders USING btree (id)\n"
                  "idx CREATE UNIQUE INDEX uq_customer_email ON public.customer USING btree (\"Email\")\n"
                  "idx CREATE UNIQUE INDEX uq_item_order_sku ON public.order_item USING btree (order_id, sku)\n"
                  "seq invoice_no_seq 1000 10\n"
                  "view active_customer  SELECT customer.id,\n"
                  "    customer.\"Email\"\n"
                  "   FROM customer\n"
                  "  WHERE customer.active;");
    free(schema);

    /* back to the empty database with the automatic rollbacks */
    engine_opts_init(&o);
    o.tag = "";
    engine_result_init(&res);
    rc = engine_run(d.c, cl, &o, &res, &err);
    if (rc != TM_OK)
        fprintf(stderr, "rollback: %s\n", err.msg);
    TM_EXPECT_INT(rc, TM_OK);
    TM_EXPECT_INT(res.rolled_back, 5);
    engine_result_release(&res);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM databasechangelog"), "0");
    char *left = query_text(d.c, schema_sql);
    TM_EXPECT_STR(left, NULL); /* nothing left in public: no row at all */
    free(left);

    chlog_free(cl);
    pgdb_close(&d);
}

TM_TEST_MAIN()
