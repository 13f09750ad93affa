/* change_constraint: Liquibase's index and constraint changes for
 * PostgreSQL - createIndex, dropIndex, addForeignKeyConstraint,
 * dropForeignKeyConstraint, addUniqueConstraint, dropUniqueConstraint,
 * addPrimaryKey, dropPrimaryKey - and the constraint statements addColumn
 * reuses.
 *
 * Per type, the Liquibase 4.33.0 sources followed: change/core/<Type>Change.java
 * (generateStatements, createInverses) and sqlgenerator/core/<Statement>Generator.java
 * (PostgreSQL branch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/change_ddl.h"
#include "changelog/change_int.h"
#include "changelog/chlog_int.h"
#include "common/caps.h"

/* ---- createIndex / dropIndex -------------------------------------------------- */

/* associatedWith (comma list) names primaryKey, uniqueConstraint or, when
 * fk, foreignKey (Index.MARK_*) */
static bool associated_with_constraint(const char *list, bool fk)
{
    if (!list)
        return false;
    const char *p = list, *end = list + strlen(list), *s;
    size_t n;
    while (chlog_list_item(&p, end, false, &s, &n)) {
        if ((n == 10 && strncmp(s, "primaryKey", n) == 0) ||
            (n == 16 && strncmp(s, "uniqueConstraint", n) == 0) ||
            (fk && n == 10 && strncmp(s, "foreignKey", n) == 0))
            return true;
    }
    return false;
}

/* "DROP INDEX [schema.]idx" (DropIndexGenerator) */
static enum tm_code drop_index(struct ddl_cx *c, struct tm_buf *b, const char *idx)
{
    enum tm_code rc = tm_buf_adds(b, "DROP INDEX ");
    return rc == TM_OK ? chlog_sql_add_table(b, NULL, ddl_txt(c, "schemaName"), idx) : rc;
}

enum tm_code ddl_compile_create_index(struct ddl_cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL;
    struct ddl_cols l = {0};
    enum tm_code rc = ddl_need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = ddl_cols_get(c, &l, true);
    struct tm_buf *b = &c->sql;
    const char *idx = ddl_txt(c, "indexName");
    /* CreateIndexGeneratorPostgres: an index that backs a primary key, unique
     * or foreign key constraint (associatedWith) is not created; its
     * rollback (dropIndex) still is what createInverses says */
    bool skip = associated_with_constraint(ddl_txt(c, "associatedWith"), true);
    if (rc == TM_OK && !skip)
        rc = tm_buf_addf(b, "CREATE %sINDEX ", ddl_flag(n, "unique") ? "UNIQUE " : "");
    if (rc == TM_OK && idx && !skip) {
        rc = chlog_sql_add_name(b, idx);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " ");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "ON ");
    if (rc == TM_OK)
        rc = ddl_table(b, n, t);
    const char *using = ddl_txt(c, "using");
    if (rc == TM_OK && using)
        rc = tm_buf_addf(b, " USING %s", using);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "(");
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const struct chlog_node *col = l.v[i];
        const char *name = chlog_node_text(col, "name");
        if (i)
            rc = tm_buf_adds(b, ", ");
        const char *computed = chlog_node_text(col, "computed");
        if (rc == TM_OK && computed && strcasecmp(computed, "true") == 0)
            rc = tm_buf_adds(b, name);
        else if (rc == TM_OK && computed)
            rc = chlog_sql_add_name(b, name);
        else if (rc == TM_OK)
            rc = chlog_sql_add_column(b, name, false);
        if (rc == TM_OK && ddl_flag(col, "descending"))
            rc = tm_buf_adds(b, " DESC");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    const char *space = ddl_txt(c, "tablespace");
    if (rc == TM_OK && ddl_nonblank(space))
        rc = tm_buf_addf(b, " TABLESPACE %s", space);
    if (rc == TM_OK && skip)
        tm_buf_reset(b);
    if (rc == TM_OK && !skip && ddl_flag(n, "clustered") && idx)
        rc = ddl_table_stmt(b, "CLUSTER ", n, t, " USING ", idx);
    /* rollback: dropIndex (CreateIndexChange.createInverses) */
    if (rc == TM_OK && idx) {
        c->has_rb = true;
        rc = drop_index(c, &c->rb, idx);
    }
    free(l.v);
    return rc;
}

enum tm_code ddl_compile_drop_index(struct ddl_cx *c)
{
    const char *idx = NULL;
    enum tm_code rc = ddl_need(c, "indexName", &idx);
    /* associatedWith is not a change property of dropIndex
     * (isChangeProperty = false): Liquibase never reads it from a changelog */
    return rc == TM_OK ? drop_index(c, &c->sql, idx) : rc;
}

/* ---- foreign keys ----------------------------------------------------------------- */

enum tm_code ddl_add_fk(struct tm_buf *b, const char *schema, const char *t,
                        const char *base_cols, const char *ref_schema, const char *ref_table,
                        const char *ref_cols, const char *name, const char *on_update,
                        const char *on_delete, bool deferrable, bool deferred, bool validate)
{
    enum tm_code rc = ddl_next(b);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "ALTER TABLE ");
    if (rc == TM_OK)
        rc = chlog_sql_add_table(b, NULL, schema, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " ADD CONSTRAINT ");
    if (rc == TM_OK && name)
        rc = chlog_sql_add_name(b, name);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " FOREIGN KEY (");
    if (rc == TM_OK)
        rc = chlog_sql_add_column_list(b, base_cols);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ") REFERENCES ");
    if (rc == TM_OK)
        rc = chlog_sql_add_table(b, NULL, ref_schema, ref_table);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " (");
    if (rc == TM_OK)
        rc = chlog_sql_add_column_list(b, ref_cols);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    if (rc == TM_OK && on_update)
        rc = tm_buf_addf(b, " ON UPDATE %s", on_update);
    if (rc == TM_OK && on_delete)
        rc = tm_buf_addf(b, " ON DELETE %s", on_delete);
    if (rc == TM_OK && (deferrable || deferred))
        rc = tm_buf_adds(b, deferrable ? " DEFERRABLE" : "");
    if (rc == TM_OK && deferred)
        rc = tm_buf_adds(b, " INITIALLY DEFERRED");
    if (rc == TM_OK && !validate)
        rc = tm_buf_adds(b, " NOT VALID ");
    return rc;
}

/* "ALTER TABLE [baseTableSchemaName.]t DROP CONSTRAINT name"
 * (DropForeignKeyConstraintGenerator) */
static enum tm_code drop_fk(struct ddl_cx *c, struct tm_buf *b, const char *t, const char *name)
{
    enum tm_code rc = tm_buf_adds(b, "ALTER TABLE ");
    if (rc == TM_OK)
        rc = chlog_sql_add_table(b, NULL, ddl_txt(c, "baseTableSchemaName"), t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " DROP CONSTRAINT ");
    return rc == TM_OK ? chlog_sql_add_name(b, name) : rc;
}

enum tm_code ddl_compile_add_fk(struct ddl_cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL, *bc = NULL, *rt = NULL, *rcols = NULL, *name = NULL;
    enum tm_code rc = ddl_need2(c, "baseTableName", &t, "baseColumnNames", &bc);
    if (rc == TM_OK)
        rc = ddl_need(c, "referencedTableName", &rt);
    if (rc == TM_OK)
        rc = ddl_need(c, "referencedColumnNames", &rcols);
    if (rc == TM_OK)
        rc = ddl_need(c, "constraintName", &name);
    if (rc != TM_OK)
        return rc;
    /* AddForeignKeyConstraintChange.generateStatements: deleteCascade means
     * onDelete CASCADE */
    const char *on_delete = ddl_txt(c, "onDelete");
    if (ddl_flag(n, "deleteCascade"))
        on_delete = "CASCADE";
    rc = ddl_add_fk(&c->sql, ddl_txt(c, "baseTableSchemaName"), t, bc,
                    ddl_txt(c, "referencedTableSchemaName"),
                rt, rcols, name, ddl_txt(c, "onUpdate"), on_delete, ddl_flag(n, "deferrable"),
                ddl_flag(n, "initiallyDeferred"), !ddl_flag_false(n, "validate"));
    /* rollback: dropForeignKeyConstraint */
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = drop_fk(c, &c->rb, t, name);
    }
    return rc;
}

enum tm_code ddl_compile_drop_fk(struct ddl_cx *c)
{
    const char *t = NULL, *name = NULL;
    enum tm_code rc = ddl_need2(c, "baseTableName", &t, "constraintName", &name);
    return rc == TM_OK ? drop_fk(c, &c->sql, t, name) : rc;
}

/* ---- constraints ---------------------------------------------------------------- */

/* " ADD CONSTRAINT name <kind>", or " ADD <kind>" without a name */
static enum tm_code add_constraint(struct tm_buf *b, const char *name, const char *kind)
{
    enum tm_code rc = tm_buf_adds(b, " ADD ");
    if (rc == TM_OK && name) {
        rc = tm_buf_adds(b, "CONSTRAINT ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, name);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " ");
    }
    return rc == TM_OK ? tm_buf_adds(b, kind) : rc;
}

enum tm_code ddl_add_unique(struct tm_buf *b, const struct chlog_node *n, const char *t,
                            const char *cols, const char *name, bool deferrable, bool deferred,
                            const char *space, const char *for_index_schema,
                            const char *for_index)
{
    enum tm_code rc = ddl_alter_table(b, n, t);
    if (rc == TM_OK)
        rc = add_constraint(b, name, "UNIQUE (");
    if (rc == TM_OK)
        rc = chlog_sql_add_column_list(b, cols);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    /* USING INDEX [name] [TABLESPACE x], then (PostgreSQL) the deferral */
    if (rc == TM_OK && for_index) {
        rc = tm_buf_adds(b, " USING INDEX ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(b, NULL, for_index_schema, for_index);
    }
    if (rc == TM_OK && ddl_nonblank(space))
        rc = tm_buf_addf(b, "%s TABLESPACE %s", for_index ? "" : " USING INDEX", space);
    if (rc == TM_OK && deferrable)
        rc = tm_buf_adds(b, " DEFERRABLE");
    if (rc == TM_OK && deferred)
        rc = tm_buf_adds(b, " INITIALLY DEFERRED");
    return rc;
}

enum tm_code ddl_drop_constraint(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                 const char *name)
{
    return ddl_table_stmt(b, "ALTER TABLE ", n, t, " DROP CONSTRAINT ", name);
}

enum tm_code ddl_compile_add_unique(struct ddl_cx *c)
{
    const char *t = NULL, *cols = NULL;
    enum tm_code rc = ddl_need2(c, "tableName", &t, "columnNames", &cols);
    if (rc != TM_OK)
        return rc;
    const char *name = ddl_txt(c, "constraintName");
    /* disabled: Oracle only (AddUniqueConstraintGenerator) */
    rc = ddl_add_unique(&c->sql, c->n, t, cols, name, ddl_flag(c->n, "deferrable"),
                        ddl_flag(c->n, "initiallyDeferred"), ddl_txt(c, "tablespace"),
                        ddl_txt(c, "forIndexSchemaName"), ddl_txt(c, "forIndexName"));
    if (rc == TM_OK && name) {
        c->has_rb = true;
        rc = ddl_drop_constraint(&c->rb, c->n, t, name);
    }
    return rc;
}

enum tm_code ddl_compile_drop_unique(struct ddl_cx *c)
{
    const char *t = NULL, *name = NULL;
    enum tm_code rc = ddl_need2(c, "tableName", &t, "constraintName", &name);
    return rc == TM_OK ? ddl_drop_constraint(&c->sql, c->n, t, name) : rc;
}


enum tm_code ddl_compile_add_pk(struct ddl_cx *c)
{
    const char *t = NULL, *cols = NULL;
    enum tm_code rc = ddl_need2(c, "tableName", &t, "columnNames", &cols);
    if (rc != TM_OK)
        return rc;
    struct tm_buf *b = &c->sql;
    const char *name = ddl_txt(c, "constraintName");
    rc = ddl_alter_table(b, c->n, t);
    if (rc == TM_OK)
        rc = add_constraint(b, name, "PRIMARY KEY (");
    if (rc == TM_OK)
        rc = chlog_sql_add_column_list(b, cols);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    const char *space = ddl_txt(c, "tablespace");
    if (rc == TM_OK && ddl_nonblank(space))
        rc = tm_buf_addf(b, " USING INDEX TABLESPACE %s", space);
    const char *fi = ddl_txt(c, "forIndexName");
    if (rc == TM_OK && fi) {
        rc = tm_buf_adds(b, " USING INDEX ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(b, NULL, ddl_txt(c, "forIndexSchemaName"), fi);
    }
    if (rc == TM_OK && ddl_flag(c->n, "clustered") && name)
        rc = ddl_table_stmt(b, "CLUSTER ", c->n, t, " USING ", name);
    /* rollback: dropPrimaryKey (AddPrimaryKeyChange.createInverses) */
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = ddl_drop_pk(&c->rb, c->n, t, name);
    }
    return rc;
}

/* PostgresDatabase.correctObjectName: lower case unless the name needs quotes */
static void correct_name(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s", name);
    if (!chlog_sql_must_quote(name))
        for (char *p = dst; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
}

/* DropPrimaryKeyGenerator (PostgreSQL): by name, or without one a DO block
 * that looks the name up (TABLE_SCHEMA = current_schema() when no schema is
 * given, where Liquibase writes the connection's default schema) */
enum tm_code ddl_drop_pk(struct tm_buf *b, const struct chlog_node *n, const char *t,
                         const char *name)
{
    if (name)
        return ddl_drop_constraint(b, n, t, name);
    const char *schema = chlog_node_text(n, "schemaName");
    char ct[256], cs[256];
    correct_name(ct, sizeof ct, t);
    struct tm_buf qt;
    tm_buf_init(&qt, TM_CAP_SMALL);
    if (schema)
        correct_name(cs, sizeof cs, schema);
    enum tm_code rc = chlog_sql_add_table(&qt, NULL, schema ? cs : NULL, ct);
    if (rc == TM_OK)
        rc = ddl_next(b);
    if (rc == TM_OK)
        rc = tm_buf_addf(b,
                         "DO $$ DECLARE constraint_name varchar;\n"
                         "BEGIN\n"
                         "  SELECT tc.CONSTRAINT_NAME into strict constraint_name\n"
                         "    FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc\n"
                         "    WHERE CONSTRAINT_TYPE = 'PRIMARY KEY'\n"
                         "      AND TABLE_NAME = '%s' AND TABLE_SCHEMA = %s%s%s;\n"
                         "    EXECUTE 'alter table %s drop constraint \"' || constraint_name || "
                         "'\"';\n"
                         "END $$",
                         ct, schema ? "'" : "", schema ? cs : "current_schema()",
                         schema ? "'" : "", tm_buf_str(&qt));
    tm_buf_release(&qt);
    return rc;
}

enum tm_code ddl_compile_drop_pk(struct ddl_cx *c)
{
    const char *t = NULL;
    enum tm_code rc = ddl_need(c, "tableName", &t);
    return rc == TM_OK ? ddl_drop_pk(&c->sql, c->n, t, ddl_txt(c, "constraintName")) : rc;
}



