/* change_table: Liquibase's table and column changes for PostgreSQL -
 * createTable, addColumn, dropTable, dropColumn, renameColumn, renameTable,
 * modifyDataType, setTableRemarks, setColumnRemarks, addDefaultValue,
 * dropDefaultValue, addAutoIncrement, addNotNullConstraint,
 * dropNotNullConstraint.
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

/* DEFAULT clause value for a column of type (CreateTableGenerator.handleDefaultValue) */
static enum tm_code default_value(struct ddl_cx *c, struct tm_buf *b, const struct chlog_node *col,
                                  const char *type, bool *any)
{
    struct chlog_value v;
    enum tm_code rc = chlog_value_get(col, "defaultValue", &v, c->err);
    *any = rc == TM_OK && v.kind != CHLOG_VALUE_NONE && v.kind != CHLOG_VALUE_NULL;
    if (rc != TM_OK || !*any)
        return rc;
    rc = tm_buf_adds(b, " DEFAULT ");
    return rc == TM_OK ? chlog_value_sql(b, &v, chlog_type_kind_of(type), c->err) : rc;
}

/* " TYPE" of a column (chlog_sql_add_type) */
static enum tm_code add_column_type(struct ddl_cx *c, struct tm_buf *b, const char *type,
                                    bool auto_inc)
{
    enum tm_code rc = tm_buf_adds(b, " ");
    return rc == TM_OK ? chlog_sql_add_type(b, type, auto_inc, NULL, c->err) : rc;
}

/* " GENERATED ... AS IDENTITY [(...)]" of an autoIncrement column */
static enum tm_code add_identity(struct tm_buf *b, const struct chlog_node *col)
{
    enum tm_code rc = tm_buf_adds(b, " ");
    if (rc == TM_OK)
        rc = chlog_sql_add_auto_increment(b, chlog_node_text(col, "generationType"),
                                          chlog_node_text(col, "startWith"),
                                          chlog_node_text(col, "incrementBy"));
    return rc;
}

/* the uniqueConstraintName of a column declared unique="true", else NULL */
static const char *unique_name(const struct chlog_node *col)
{
    const struct chlog_node *cons = chlog_node_child(col, "constraints");
    if (!cons || !ddl_flag(cons, "unique"))
        return NULL;
    return chlog_node_text(cons, "uniqueConstraintName");
}

/* ---- createTable ------------------------------------------------------------- */

/* The table constraints CreateTableGenerator writes after the columns, as
 * the columns declare them: primary key columns, foreign keys, unnamed and
 * named unique constraints (each clause starts with ", "). */
struct table_constraints {
    struct tm_buf pk; /* "a, b": the primary key's columns */
    const char *pk_name, *pk_space;
    bool pk_deferrable, pk_deferred;
    struct tm_buf fks, uq_unnamed, uq_named;
};

static void constraints_init(struct table_constraints *tc)
{
    memset(tc, 0, sizeof *tc);
    tm_buf_init(&tc->pk, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&tc->fks, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&tc->uq_unnamed, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&tc->uq_named, TM_CAP_CHANGELOG_FILE);
}

static void constraints_release(struct table_constraints *tc)
{
    tm_buf_release(&tc->pk);
    tm_buf_release(&tc->fks);
    tm_buf_release(&tc->uq_unnamed);
    tm_buf_release(&tc->uq_named);
}

/* "CREATE [TABLETYPE ]TABLE [IF NOT EXISTS ][schema.]t (" */
static enum tm_code create_table_head(struct ddl_cx *c, struct tm_buf *b, const char *t)
{
    enum tm_code rc = tm_buf_adds(b, "CREATE ");
    const char *tt = ddl_txt(c, "tableType");
    if (rc == TM_OK && tt && *tt) {
        for (const char *p = tt; *p && rc == TM_OK; p++) {
            char u = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            rc = tm_buf_add(b, &u, 1);
        }
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " ");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "TABLE ");
    /* PostgresDatabase.supportsCreateIfNotExists(Table) */
    if (rc == TM_OK && ddl_flag(c->n, "ifNotExists"))
        rc = tm_buf_adds(b, "IF NOT EXISTS ");
    if (rc == TM_OK)
        rc = ddl_table(b, c->n, t);
    return rc == TM_OK ? tm_buf_adds(b, " (") : rc;
}

/* One column: "name [TYPE] [DEFAULT x] [identity] [NOT NULL]". */
static enum tm_code column_definition(struct ddl_cx *c, struct tm_buf *b,
                                      const struct chlog_node *col)
{
    const struct chlog_node *cons = chlog_node_child(col, "constraints");
    const char *type = chlog_node_text(col, "type");
    bool auto_inc = ddl_flag(col, "autoIncrement") || chlog_type_is_auto_increment(type);
    bool is_pk = cons && ddl_flag(cons, "primaryKey");
    enum tm_code rc = chlog_sql_add_column(b, chlog_node_text(col, "name"),
                                           type != NULL && !ddl_flag(col, "computed"));
    if (rc == TM_OK && type)
        rc = add_column_type(c, b, type, auto_inc);
    bool any = false;
    /* serial types: no default (DatabaseDataType.isAutoIncrement) */
    if (rc == TM_OK && type)
        rc = default_value(c, b, col, type, &any);
    if (rc == TM_OK && auto_inc)
        rc = add_identity(b, col);
    if (rc == TM_OK && (is_pk || (cons && ddl_flag_false(cons, "nullable")))) {
        /* PostgresDatabase.supportsNotNullConstraintNames() is false:
         * notNullConstraintName is not written */
        rc = tm_buf_adds(b, " NOT NULL");
    }
    return rc;
}

/* ", CONSTRAINT fk FOREIGN KEY (name) REFERENCES ..." of a column's
 * constraints (references="t(c)" or referencedTableName + columns). */
static enum tm_code column_foreign_key(struct ddl_cx *c, struct tm_buf *fks,
                                       const struct chlog_node *cons, const char *name)
{
    const char *refs = chlog_node_text(cons, "references");
    const char *rt = chlog_node_text(cons, "referencedTableName");
    const char *rcols = chlog_node_text(cons, "referencedColumnNames");
    if (!refs && !(rt && rcols))
        return TM_OK;
    const char *fk = chlog_node_text(cons, "foreignKeyName");
    if (!ddl_nonblank(fk))
        return chlog_ld_fail(c->err, TM_E_INVAL, cons->file, cons->line, 0,
                             "createTable: a column with references needs foreignKeyName");
    enum tm_code rc = tm_buf_adds(fks, ", CONSTRAINT ");
    if (rc == TM_OK)
        rc = chlog_sql_add_name(fks, fk);
    if (rc == TM_OK)
        rc = tm_buf_adds(fks, " FOREIGN KEY (");
    if (rc == TM_OK)
        rc = chlog_sql_add_name(fks, name);
    if (rc == TM_OK)
        rc = tm_buf_adds(fks, ") REFERENCES ");
    if (rc == TM_OK && refs) {
        rc = tm_buf_adds(fks, refs);
    } else if (rc == TM_OK) {
        rc = chlog_sql_add_table(fks, NULL, chlog_node_text(cons, "referencedTableSchemaName"),
                                 rt);
        if (rc == TM_OK)
            rc = tm_buf_adds(fks, "(");
        if (rc == TM_OK)
            rc = chlog_sql_add_column_list(fks, rcols);
        if (rc == TM_OK)
            rc = tm_buf_adds(fks, ")");
    }
    if (rc == TM_OK && ddl_flag(cons, "deleteCascade"))
        rc = tm_buf_adds(fks, " ON DELETE CASCADE");
    if (rc == TM_OK && ddl_flag(cons, "initiallyDeferred"))
        rc = tm_buf_adds(fks, " INITIALLY DEFERRED");
    if (rc == TM_OK && ddl_flag(cons, "deferrable"))
        rc = tm_buf_adds(fks, " DEFERRABLE");
    return rc;
}

/* What a column's <constraints> add to the table's constraints (the named
 * unique ones are gathered by named_uniques()). */
static enum tm_code column_constraints(struct ddl_cx *c, struct table_constraints *tc,
                                       const struct chlog_node *col)
{
    const struct chlog_node *cons = chlog_node_child(col, "constraints");
    if (!cons)
        return TM_OK;
    const char *name = chlog_node_text(col, "name");
    enum tm_code rc = TM_OK;
    if (ddl_flag(cons, "primaryKey")) {
        if (tc->pk.len == 0) {
            tc->pk_name = chlog_node_text(cons, "primaryKeyName");
            tc->pk_space = chlog_node_text(cons, "primaryKeyTablespace");
            tc->pk_deferrable = ddl_flag(cons, "deferrable");
            tc->pk_deferred = ddl_flag(cons, "initiallyDeferred");
        } else {
            rc = tm_buf_adds(&tc->pk, ", ");
        }
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&tc->pk, name);
    }
    if (rc == TM_OK)
        rc = column_foreign_key(c, &tc->fks, cons, name);
    if (rc == TM_OK && ddl_flag(cons, "unique") &&
        !chlog_node_text(cons, "uniqueConstraintName")) {
        rc = tm_buf_adds(&tc->uq_unnamed, ", UNIQUE (");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&tc->uq_unnamed, name);
        if (rc == TM_OK)
            rc = tm_buf_adds(&tc->uq_unnamed, ")");
    }
    return rc;
}

/* CreateTableGenerator: the named unique constraints in first-seen order,
 * the columns of one name merged into one clause. */
static enum tm_code named_uniques(const struct ddl_cols *l, struct tm_buf *uq)
{
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < l->n && rc == TM_OK; i++) {
        const char *un = unique_name(l->v[i]);
        bool seen = false;
        for (size_t j = 0; j < i && un && !seen; j++)
            seen = unique_name(l->v[j]) && strcmp(unique_name(l->v[j]), un) == 0;
        if (!un || seen)
            continue;
        rc = tm_buf_adds(uq, ", CONSTRAINT ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(uq, un);
        if (rc == TM_OK)
            rc = tm_buf_adds(uq, " UNIQUE (");
        bool first = true;
        for (size_t j = i; j < l->n && rc == TM_OK; j++) {
            const char *other = unique_name(l->v[j]);
            if (!other || strcmp(other, un) != 0)
                continue;
            if (!first)
                rc = tm_buf_adds(uq, ", ");
            if (rc == TM_OK)
                rc = chlog_sql_add_name(uq, chlog_node_text(l->v[j], "name"));
            first = false;
        }
        if (rc == TM_OK)
            rc = tm_buf_adds(uq, ")");
    }
    return rc;
}

/* ", CONSTRAINT name PRIMARY KEY (cols) ..." when a column is a primary key;
 * without primaryKeyName PostgresDatabase.generatePrimaryKeyName: <table>_pkey
 * (63 bytes max). */
static enum tm_code primary_key_clause(struct tm_buf *b, const struct table_constraints *tc,
                                       const char *t)
{
    if (tc->pk.len == 0)
        return TM_OK;
    enum tm_code rc = tm_buf_adds(b, ", CONSTRAINT ");
    if (rc == TM_OK && ddl_nonblank(tc->pk_name)) {
        rc = chlog_sql_add_name(b, tc->pk_name);
    } else if (rc == TM_OK) {
        char gen[128];
        snprintf(gen, sizeof gen, "%.58s_pkey", t);
        rc = chlog_sql_add_name(b, gen);
    }
    if (rc == TM_OK)
        rc = tm_buf_addf(b, " PRIMARY KEY (%s)", tm_buf_str(&tc->pk));
    if (rc == TM_OK && tc->pk_space && *tc->pk_space)
        rc = tm_buf_addf(b, " USING INDEX TABLESPACE %s", tc->pk_space);
    if (rc == TM_OK && tc->pk_deferred)
        rc = tm_buf_adds(b, " INITIALLY DEFERRED");
    if (rc == TM_OK && tc->pk_deferrable)
        rc = tm_buf_adds(b, " DEFERRABLE");
    return rc;
}

enum tm_code ddl_compile_create_table(struct ddl_cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL;
    enum tm_code rc = ddl_need(c, "tableName", &t);
    struct ddl_cols l;
    if (rc == TM_OK)
        rc = ddl_cols_get(c, &l, true);
    else
        memset(&l, 0, sizeof l);
    struct tm_buf *b = &c->sql;
    struct table_constraints tc;
    constraints_init(&tc);
    if (rc == TM_OK)
        rc = create_table_head(c, b, t);
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        if (i)
            rc = tm_buf_adds(b, ", ");
        if (rc == TM_OK)
            rc = column_definition(c, b, l.v[i]);
        if (rc == TM_OK)
            rc = column_constraints(c, &tc, l.v[i]);
    }
    /* unnamed unique constraints first, then the named ones */
    if (rc == TM_OK)
        rc = named_uniques(&l, &tc.uq_named);
    if (rc == TM_OK)
        rc = primary_key_clause(b, &tc, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, tm_buf_str(&tc.fks));
    if (rc == TM_OK)
        rc = tm_buf_adds(b, tm_buf_str(&tc.uq_unnamed));
    if (rc == TM_OK)
        rc = tm_buf_adds(b, tm_buf_str(&tc.uq_named));
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    const char *space = ddl_txt(c, "tablespace");
    if (rc == TM_OK && ddl_nonblank(space))
        rc = tm_buf_addf(b, " TABLESPACE %s", space);
    const char *remarks = ddl_txt(c, "remarks");
    if (rc == TM_OK && ddl_nonblank(remarks))
        rc = ddl_comment_on_table(b, n, t, remarks);
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const char *r = chlog_node_text(l.v[i], "remarks");
        if (ddl_nonblank(r))
            rc = ddl_comment_on_column(b, n, t, chlog_node_text(l.v[i], "name"), r);
    }
    /* rollback: dropTable (CreateTableChange.createInverses) */
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "DROP TABLE ");
        if (rc == TM_OK)
            rc = ddl_table(&c->rb, n, t);
    }
    constraints_release(&tc);
    free(l.v);
    return rc;
}

/* ---- addColumn ----------------------------------------------------------------- */

/* A new statement "UPDATE [schema.]t SET col = " (the value is the caller's). */
static enum tm_code update_set(struct tm_buf *b, const struct chlog_node *n, const char *t,
                               const char *col)
{
    enum tm_code rc = ddl_table_stmt(b, "UPDATE ", n, t, " SET ", col);
    return rc == TM_OK ? tm_buf_adds(b, " = ") : rc;
}

/* A new statement "ALTER TABLE [schema.]t DROP COLUMN col". */
static enum tm_code drop_column(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                const char *col)
{
    return ddl_table_stmt(b, "ALTER TABLE ", n, t, " DROP COLUMN ", col);
}

/* ColumnConfig.getValueObject() != null */
static bool has_value(const struct chlog_node *col)
{
    static const char *const names[] = {"value", "valueNumeric", "valueBoolean", "valueDate",
                                        "valueComputed", "valueSequenceNext",
                                        "valueSequenceCurrent", "valueBlobFile", "valueClobFile"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (chlog_node_text(col, names[i]))
            return true;
    return col->value != NULL && ddl_nonblank(col->value);
}

/* UpdateGenerator.convertToString: "NULL" is NULL, a string is quoted
 * unless it looks like a function call (to_date(..., NOW()), a number is
 * written as given, booleans TRUE/FALSE, functions as functions */
static enum tm_code update_value(struct tm_buf *b, const struct chlog_value *v,
                                 struct tm_err *err)
{
    const char *t = v->text;
    if (v->kind == CHLOG_VALUE_STRING &&
        (strncmp(t, "\"SYSIBM\"", 8) == 0 || strncmp(t, "to_date(", 8) == 0 ||
         strcasecmp(t, "NOW()") == 0))
        return tm_buf_adds(b, t);
    if (v->kind == CHLOG_VALUE_NUMERIC) {
        size_t len = strlen(t);
        if (t[0] == '(' && len > 2 && t[len - 1] == ')')
            return tm_buf_add(b, t + 1, len - 2);
        return tm_buf_adds(b, t);
    }
    return chlog_value_sql(b, v, CHLOG_TYPE_OTHER, err);
}

/* AddColumnGenerator.addForeignKeyStatements: the constraint a column's
 * references="[schema.]table(col)" or referencedTableName declares. */
static enum tm_code add_column_fk(struct ddl_cx *c, struct tm_buf *b, const char *t,
                                  const char *name, const struct chlog_node *cons)
{
    const char *refs = chlog_node_text(cons, "references");
    const char *rt = chlog_node_text(cons, "referencedTableName");
    if (!refs && !rt)
        return TM_OK;
    enum tm_code rc = TM_OK;
    char *rtab = NULL, *rcol = NULL, *rschema = NULL;
    if (refs) {
        const char *o = strchr(refs, '(');
        const char *e = strrchr(refs, ')');
        if (!o || !e || e < o)
            rc = chlog_ld_fail(c->err, TM_E_INVAL, cons->file, cons->line, 0,
                               "addColumn: cannot read table and column from "
                               "references '%s'", refs);
        else {
            rtab = strndup(refs, (size_t)(o - refs));
            rcol = strndup(o + 1, (size_t)(e - o - 1));
        }
    } else {
        rtab = strdup(rt);
        const char *rc2 = chlog_node_text(cons, "referencedColumnNames");
        rcol = strdup(rc2 ? rc2 : "");
    }
    if (rc == TM_OK && (!rtab || !rcol))
        rc = TM_E_NOMEM;
    if (rc == TM_OK) {
        char *dot = strchr(rtab, '.');
        if (dot && dot > rtab) {
            *dot = '\0';
            rschema = rtab;
        }
        rc = ddl_add_fk(b, chlog_node_text(c->n, "schemaName"), t, name, rschema,
                        rschema ? dot + 1 : rtab, rcol, chlog_node_text(cons, "foreignKeyName"),
                        NULL, ddl_flag(cons, "deleteCascade") ? "CASCADE" : NULL, false, false,
                        !ddl_flag_false(cons, "validateForeignKey"));
    }
    free(rtab);
    free(rcol);
    return rc;
}

/* "ALTER TABLE t ADD name [TYPE] [identity] [DEFAULT x] [CONSTRAINT nn] [NOT
 * NULL] [PRIMARY KEY]", then its unique and foreign key constraints. */
static enum tm_code add_column_statement(struct ddl_cx *c, struct tm_buf *b, const char *t,
                                         const struct chlog_node *col)
{
    const struct chlog_node *cons = chlog_node_child(col, "constraints");
    const char *name = chlog_node_text(col, "name");
    const char *type = chlog_node_text(col, "type");
    bool auto_inc = ddl_flag(col, "autoIncrement");
    enum tm_code rc = ddl_table_stmt(b, "ALTER TABLE ", c->n, t, " ADD ", name);
    if (rc == TM_OK && type)
        rc = add_column_type(c, b, type, auto_inc);
    if (rc == TM_OK && auto_inc)
        rc = add_identity(b, col);
    bool any = false;
    if (rc == TM_OK)
        rc = default_value(c, b, col, type, &any);
    bool is_pk = cons && ddl_flag(cons, "primaryKey");
    /* a column given a value gets NOT NULL after its UPDATE instead */
    bool later_not_null = cons && ddl_flag_false(cons, "nullable") && has_value(col);
    bool not_null = cons && ddl_flag_false(cons, "nullable") && !later_not_null;
    if (rc == TM_OK && (not_null || is_pk)) {
        const char *nn = chlog_node_text(cons, "notNullConstraintName");
        if (ddl_nonblank(nn)) {
            rc = tm_buf_adds(b, " CONSTRAINT ");
            if (rc == TM_OK)
                rc = chlog_sql_add_name(b, nn);
        }
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " NOT NULL");
    }
    if (rc == TM_OK && is_pk)
        rc = tm_buf_adds(b, " PRIMARY KEY");
    if (rc == TM_OK && cons && ddl_flag(cons, "unique"))
        rc = ddl_add_unique(b, c->n, t, name, chlog_node_text(cons, "uniqueConstraintName"),
                            false, false, NULL, NULL, NULL);
    if (rc == TM_OK && cons)
        rc = add_column_fk(c, b, t, name, cons);
    return rc;
}

/* AddColumnChange.generateStatements: an UPDATE per column given a value,
 * then NOT NULL for those of them declared nullable="false". */
static enum tm_code add_column_values(struct ddl_cx *c, struct tm_buf *b, const char *t,
                                      const struct ddl_cols *l)
{
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < l->n && rc == TM_OK; i++) {
        struct chlog_value v;
        rc = chlog_value_get(l->v[i], "value", &v, c->err);
        if (rc == TM_OK && v.kind == CHLOG_VALUE_NONE && ddl_nonblank(l->v[i]->value)) {
            v.kind = CHLOG_VALUE_STRING; /* <column name="x">text</column> */
            v.text = l->v[i]->value;
            v.node = l->v[i];
        }
        if (rc != TM_OK || v.kind == CHLOG_VALUE_NONE || v.kind == CHLOG_VALUE_NULL)
            continue;
        rc = update_set(b, c->n, t, chlog_node_text(l->v[i], "name"));
        if (rc == TM_OK)
            rc = update_value(b, &v, c->err);
    }
    for (size_t i = 0; i < l->n && rc == TM_OK; i++) {
        const struct chlog_node *cons = chlog_node_child(l->v[i], "constraints");
        if (cons && ddl_flag_false(cons, "nullable") && has_value(l->v[i]))
            rc = ddl_alter_column(b, c->n, t, chlog_node_text(l->v[i], "name"), "SET NOT NULL");
    }
    return rc;
}

enum tm_code ddl_compile_add_column(struct ddl_cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL;
    struct ddl_cols l = {0};
    enum tm_code rc = ddl_need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = ddl_cols_get(c, &l, true);
    /* AddColumnGenerator.validate: PostgreSQL allows no column position */
    static const char *const positions[][2] = {{"afterColumn", "addAfterColumn"},
                                               {"beforeColumn", "addBeforeColumn"},
                                               {"position", "addAtPosition"}};
    for (size_t i = 0; i < l.n && rc == TM_OK; i++)
        for (size_t k = 0; k < 3 && rc == TM_OK; k++) {
            const struct chlog_node *a = chlog_node_child(l.v[i], positions[k][0]);
            if (a)
                rc = chlog_ld_fail(c->err, TM_E_INVAL, a->file, a->line, 0,
                                   "addColumn: %s is not allowed on postgresql", positions[k][1]);
        }
    struct tm_buf *b = &c->sql;
    for (size_t i = 0; i < l.n && rc == TM_OK; i++)
        rc = add_column_statement(c, b, t, l.v[i]);
    if (rc == TM_OK)
        rc = add_column_values(c, b, t, &l);
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const char *r = chlog_node_text(l.v[i], "remarks");
        if (ddl_nonblank(r))
            rc = ddl_comment_on_column(b, n, t, chlog_node_text(l.v[i], "name"), r);
    }
    /* rollback: dropColumn of each column (AddColumnChange.createInverses) */
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        c->has_rb = true;
        rc = drop_column(&c->rb, n, t, chlog_node_text(l.v[i], "name"));
    }
    free(l.v);
    return rc;
}

/* ---- tables, columns, remarks ------------------------------------------------------ */

enum tm_code ddl_compile_drop_table(struct ddl_cx *c)
{
    const char *t = NULL;
    enum tm_code rc = ddl_need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, "DROP TABLE ");
    if (rc == TM_OK)
        rc = ddl_table(&c->sql, c->n, t);
    if (rc == TM_OK && ddl_flag(c->n, "cascadeConstraints"))
        rc = tm_buf_adds(&c->sql, " CASCADE");
    return rc;
}

enum tm_code ddl_compile_drop_column(struct ddl_cx *c)
{
    const char *t = NULL;
    struct ddl_cols l = {0};
    enum tm_code rc = ddl_need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = ddl_cols_get(c, &l, false);
    const char *one = ddl_txt(c, "columnName");
    if (rc == TM_OK && !one && l.n == 0)
        rc = chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                           "dropColumn: 'columnName' or columns is required");
    if (rc == TM_OK && one)
        rc = drop_column(&c->sql, c->n, t, one);
    for (size_t i = 0; i < l.n && rc == TM_OK; i++)
        rc = drop_column(&c->sql, c->n, t, chlog_node_text(l.v[i], "name"));
    free(l.v);
    return rc;
}

enum tm_code ddl_compile_rename_column(struct ddl_cx *c)
{
    const char *t = NULL, *o = NULL, *nw = NULL;
    enum tm_code rc = ddl_need2(c, "tableName", &t, "oldColumnName", &o);
    if (rc == TM_OK)
        rc = ddl_need(c, "newColumnName", &nw);
    for (int pass = 0; pass < 2 && rc == TM_OK; pass++) {
        struct tm_buf *b = pass ? &c->rb : &c->sql;
        rc = ddl_table_stmt(b, "ALTER TABLE ", c->n, t, " RENAME COLUMN ", pass ? nw : o);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " TO ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, pass ? o : nw);
    }
    /* remarks: RenameColumnGenerator writes them for MySQL only */
    c->has_rb = rc == TM_OK;
    return rc;
}

enum tm_code ddl_compile_rename_table(struct ddl_cx *c)
{
    const char *o = NULL, *nw = NULL;
    enum tm_code rc = ddl_need2(c, "oldTableName", &o, "newTableName", &nw);
    for (int pass = 0; pass < 2 && rc == TM_OK; pass++) {
        struct tm_buf *b = pass ? &c->rb : &c->sql;
        rc = ddl_table_stmt(b, "ALTER TABLE ", c->n, pass ? nw : o, " RENAME TO ",
                            pass ? o : nw);
    }
    c->has_rb = rc == TM_OK;
    return rc;
}

enum tm_code ddl_compile_modify_data_type(struct ddl_cx *c)
{
    const char *t = NULL, *col = NULL, *nt = NULL;
    enum tm_code rc = ddl_need_column(c, &t, &col);
    if (rc == TM_OK)
        rc = ddl_need(c, "newDataType", &nt);
    struct tm_buf ty, cn;
    tm_buf_init(&ty, TM_CAP_SMALL);
    tm_buf_init(&cn, TM_CAP_SMALL);
    if (rc == TM_OK)
        rc = chlog_sql_add_type(&ty, nt, false, NULL, c->err);
    if (rc == TM_OK)
        rc = chlog_sql_add_name(&cn, col);
    if (rc == TM_OK)
        rc = ddl_alter_table(&c->sql, c->n, t);
    /* ModifyDataTypeGenerator (PostgreSQL): ALTER COLUMN c TYPE x USING (c::x) */
    if (rc == TM_OK)
        rc = tm_buf_addf(&c->sql, " ALTER COLUMN %s TYPE %s USING (%s::%s)", tm_buf_str(&cn),
                         tm_buf_str(&ty), tm_buf_str(&cn), tm_buf_str(&ty));
    tm_buf_release(&ty);
    tm_buf_release(&cn);
    return rc;
}

enum tm_code ddl_compile_set_table_remarks(struct ddl_cx *c)
{
    const char *t = NULL;
    enum tm_code rc = ddl_need(c, "tableName", &t);
    return rc == TM_OK ? ddl_comment_on_table(&c->sql, c->n, t, ddl_txt(c, "remarks")) : rc;
}

enum tm_code ddl_compile_set_column_remarks(struct ddl_cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = ddl_need_column(c, &t, &col);
    const char *r = ddl_txt(c, "remarks");
    const char *pt = ddl_txt(c, "columnParentType");
    if (rc == TM_OK && pt && strcasecmp(pt, "VIEW") != 0 && strcasecmp(pt, "TABLE") != 0)
        return chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                             "setColumnRemarks: columnParentType must be TABLE or VIEW");
    if (rc == TM_OK)
        rc = ddl_comment_on_column(&c->sql, c->n, t, col, r);
    return rc;
}

/* The rollback "ALTER TABLE t ALTER COLUMN col <what>" (createInverses). */
static enum tm_code rollback_alter_column(struct ddl_cx *c, const char *t, const char *col,
                                          const char *what)
{
    c->has_rb = true;
    return ddl_alter_column(&c->rb, c->n, t, col, what);
}

enum tm_code ddl_compile_add_default(struct ddl_cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = ddl_need_column(c, &t, &col);
    struct chlog_value v;
    if (rc == TM_OK)
        rc = chlog_value_get(c->n, "defaultValue", &v, c->err);
    if (rc == TM_OK && v.kind == CHLOG_VALUE_NONE)
        rc = chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                           "addDefaultValue: a defaultValue* attribute is required");
    if (rc == TM_OK)
        rc = ddl_alter_column(&c->sql, c->n, t, col, "SET DEFAULT ");
    /* AddDefaultValueGenerator: DataTypeFactory.fromObject(value) - the
     * value's own type, not columnDataType ("5" is '5') */
    if (rc == TM_OK)
        rc = chlog_value_sql(&c->sql, &v, CHLOG_TYPE_OTHER, c->err);
    /* AddDefaultValueGeneratorPostgres: the sequence becomes owned by the column */
    if (rc == TM_OK && v.kind == CHLOG_VALUE_SEQ_NEXT)
        rc = ddl_seq_owned_by(&c->sql, NULL, v.text, c->n, t, col);
    if (rc == TM_OK)
        rc = rollback_alter_column(c, t, col, "DROP DEFAULT");
    return rc;
}

enum tm_code ddl_compile_drop_default(struct ddl_cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = ddl_need_column(c, &t, &col);
    return rc == TM_OK ? ddl_alter_column(&c->sql, c->n, t, col, "DROP DEFAULT") : rc;
}

enum tm_code ddl_compile_add_auto_increment(struct ddl_cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = ddl_need_column(c, &t, &col);
    if (rc != TM_OK)
        return rc;
    /* AddAutoIncrementChange.generateStatements (PostgreSQL): a sequence
     * <table>_<column>_seq (lower-cased unless a name needs quotes), NOT NULL,
     * DEFAULT nextval, OWNED BY; generationType/defaultOnNull are unused */
    char seq[256];
    snprintf(seq, sizeof seq, "%s_%s_seq", t, col);
    if (!chlog_sql_must_quote(t) && !chlog_sql_must_quote(col))
        for (char *p = seq; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    struct tm_buf *b = &c->sql;
    rc = tm_buf_adds(b, "CREATE SEQUENCE  IF NOT EXISTS ");
    if (rc == TM_OK)
        rc = ddl_seq_name(b, c, seq);
    const char *v = ddl_txt(c, "startWith");
    if (rc == TM_OK && v)
        rc = tm_buf_addf(b, " START WITH %s", v);
    v = ddl_txt(c, "incrementBy");
    if (rc == TM_OK && v)
        rc = tm_buf_addf(b, " INCREMENT BY %s", v);
    if (rc == TM_OK)
        rc = ddl_alter_column(b, c->n, t, col, "SET NOT NULL");
    if (rc == TM_OK)
        rc = ddl_alter_column(b, c->n, t, col, "SET DEFAULT nextval('");
    if (rc == TM_OK)
        rc = ddl_seq_name(b, c, seq);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "')");
    return rc == TM_OK ? ddl_seq_owned_by(b, ddl_txt(c, "schemaName"), seq, c->n, t, col) : rc;
}

enum tm_code ddl_compile_add_not_null(struct ddl_cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = ddl_need_column(c, &t, &col);
    if (rc != TM_OK)
        return rc;
    const char *dnv = ddl_txt(c, "defaultNullValue");
    if (dnv) {
        /* AddNotNullConstraintChange: UPDATE t SET col = value WHERE col IS NULL */
        rc = update_set(&c->sql, c->n, t, col);
        /* AddNotNullConstraintChange: UpdateStatement with the String value */
        struct chlog_value v = {CHLOG_VALUE_STRING, dnv, NULL};
        if (rc == TM_OK)
            rc = chlog_value_sql(&c->sql, &v, CHLOG_TYPE_STRING, c->err);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " WHERE ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->sql, col);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " IS NULL");
    }
    if (rc == TM_OK)
        rc = ddl_alter_column(&c->sql, c->n, t, col, "SET NOT NULL");
    if (rc == TM_OK)
        rc = rollback_alter_column(c, t, col, "DROP NOT NULL");
    return rc;
}

enum tm_code ddl_compile_drop_not_null(struct ddl_cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = ddl_need_column(c, &t, &col);
    if (rc == TM_OK)
        rc = ddl_alter_column(&c->sql, c->n, t, col, "DROP NOT NULL");
    if (rc == TM_OK)
        rc = rollback_alter_column(c, t, col, "SET NOT NULL");
    return rc;
}
