/* change_ddl: Liquibase's DDL change types compiled to PostgreSQL SQL, each
 * with its attribute schema (checksum + validation) and automatic rollback.
 *
 * Per type, the Liquibase 4.33.0 sources followed: change/core/<Type>Change.java
 * (attributes, generateStatements, createInverses) and
 * sqlgenerator/core/<Statement>Generator.java (PostgreSQL branch).  Statements
 * are separated by ";\n".  Names are written without the default schema
 * (change_int.h says why). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/change_int.h"
#include "changelog/chlog_int.h"
#include "common/caps.h"

#define F(n, k) {n, CHLOG_FIELD_##k, NULL, NULL}
#define COLS(sub) {"columns", CHLOG_FIELD_LIST, &sub, "column"}
#define SCHEMA(var, name, ...)                                                             \
    static const struct chlog_field var##_fields[] = {__VA_ARGS__};                        \
    static const struct chlog_schema var = {name, var##_fields,                            \
                                            sizeof var##_fields / sizeof var##_fields[0], NULL}
#define TABLE3 F("catalogName", STRING), F("schemaName", STRING), F("tableName", STRING)

SCHEMA(s_create_table, "createTable", TABLE3, COLS(chlog_schema_column), F("tablespace", STRING),
       F("remarks", STRING), F("tableType", STRING), F("ifNotExists", IGNORED),
       F("rowDependencies", IGNORED));
SCHEMA(s_add_column, "addColumn", TABLE3, COLS(chlog_schema_add_column));
/* CreateIndexChange.getSerializableFieldValue("columns") clears type,
 * autoIncrement, constraints, defaultValue, value, startWith, incrementBy,
 * encoding and remarks of each column before it is serialised */
SCHEMA(s_index_column, "column", F("name", STRING), F("computed", BOOL), F("type", IGNORED),
       F("value", IGNORED), F("valueNumeric", NUMBER), F("valueDate", DATE),
       F("valueBoolean", BOOL), F("valueBlobFile", STRING), F("valueClobFile", STRING),
       F("encoding", IGNORED), F("valueComputed", STRING), F("valueSequenceNext", STRING),
       F("valueSequenceCurrent", STRING), F("defaultValue", IGNORED),
       F("defaultValueNumeric", NUMBER), F("defaultValueDate", DATE),
       F("defaultValueBoolean", BOOL), F("defaultValueComputed", STRING),
       F("defaultValueSequenceNext", STRING), F("defaultValueConstraintName", STRING),
       {"constraints", CHLOG_FIELD_IGNORED, NULL, NULL}, F("autoIncrement", IGNORED),
       F("generationType", STRING), F("defaultOnNull", BOOL), F("startWith", IGNORED),
       F("incrementBy", IGNORED), F("remarks", IGNORED), F("descending", BOOL),
       F("included", BOOL), F("afterColumn", STRING), F("beforeColumn", STRING),
       F("position", INT));
SCHEMA(s_create_index, "createIndex", F("indexName", STRING), TABLE3,
       COLS(s_index_column), F("tablespace", STRING), F("unique", BOOL),
       F("associatedWith", IGNORED), F("clustered", BOOL), F("using", IGNORED));
SCHEMA(s_add_fk, "addForeignKeyConstraint", F("baseTableCatalogName", STRING),
       F("baseTableSchemaName", STRING), F("baseTableName", STRING),
       F("baseColumnNames", STRING), F("referencedTableCatalogName", STRING),
       F("referencedTableSchemaName", STRING), F("referencedTableName", STRING),
       F("referencedColumnNames", STRING), F("constraintName", STRING), F("deferrable", BOOL),
       F("initiallyDeferred", BOOL), F("validate", BOOL), F("deleteCascade", IGNORED),
       F("onUpdate", STRING), F("onDelete", STRING), F("referencesUniqueColumn", IGNORED));
SCHEMA(s_set_column_remarks, "setColumnRemarks", TABLE3, F("columnName", STRING),
       F("remarks", STRING), F("columnDataType", STRING), F("columnParentType", STRING));
SCHEMA(s_modify_data_type, "modifyDataType", TABLE3, F("columnName", STRING),
       F("newDataType", STRING));
SCHEMA(s_drop_column, "dropColumn", F("columnName", STRING), TABLE3,
       COLS(chlog_schema_column));
SCHEMA(s_add_pk, "addPrimaryKey", TABLE3, F("columnNames", STRING), F("constraintName", STRING),
       F("forIndexName", STRING), F("forIndexSchemaName", STRING),
       F("forIndexCatalogName", STRING), F("tablespace", STRING), F("clustered", BOOL),
       F("validate", BOOL));
SCHEMA(s_add_unique, "addUniqueConstraint", TABLE3, F("columnNames", STRING),
       F("constraintName", STRING), F("tablespace", STRING), F("deferrable", BOOL),
       F("initiallyDeferred", BOOL), F("disabled", BOOL), F("validate", BOOL),
       F("clustered", BOOL), F("forIndexName", STRING), F("forIndexSchemaName", STRING),
       F("forIndexCatalogName", STRING));
SCHEMA(s_add_not_null, "addNotNullConstraint", TABLE3, F("columnName", STRING),
       F("defaultNullValue", STRING), F("columnDataType", STRING), F("constraintName", STRING),
       F("validate", BOOL));
SCHEMA(s_drop_table, "dropTable", TABLE3, F("cascadeConstraints", BOOL));
SCHEMA(s_rename_column, "renameColumn", TABLE3, F("oldColumnName", STRING),
       F("newColumnName", STRING), F("columnDataType", STRING), F("remarks", STRING));
SCHEMA(s_drop_not_null, "dropNotNullConstraint", TABLE3, F("columnName", STRING),
       F("columnDataType", STRING), F("constraintName", STRING));
SCHEMA(s_drop_fk, "dropForeignKeyConstraint", F("baseTableCatalogName", STRING),
       F("baseTableSchemaName", STRING), F("baseTableName", STRING),
       F("constraintName", STRING));
SCHEMA(s_drop_index, "dropIndex", F("catalogName", STRING), F("schemaName", STRING),
       F("indexName", STRING), F("tableName", STRING), F("associatedWith", IGNORED));
SCHEMA(s_set_table_remarks, "setTableRemarks", TABLE3, F("remarks", STRING));
SCHEMA(s_drop_default, "dropDefaultValue", TABLE3, F("columnName", STRING),
       F("columnDataType", STRING));
SCHEMA(s_rename_table, "renameTable", F("catalogName", STRING), F("schemaName", STRING),
       F("oldTableName", STRING), F("newTableName", STRING));
SCHEMA(s_drop_pk, "dropPrimaryKey", TABLE3, F("constraintName", STRING), F("dropIndex", BOOL));
SCHEMA(s_drop_unique, "dropUniqueConstraint", TABLE3, F("constraintName", STRING),
       F("uniqueColumns", STRING));
SCHEMA(s_create_sequence, "createSequence", F("catalogName", STRING), F("schemaName", STRING),
       F("sequenceName", STRING), F("startValue", INT), F("incrementBy", INT),
       F("maxValue", INT), F("minValue", INT), F("ordered", BOOL), F("cycle", BOOL),
       F("cacheSize", INT), F("dataType", STRING));
SCHEMA(s_add_default, "addDefaultValue", TABLE3, F("columnName", STRING),
       F("columnDataType", STRING), F("defaultValue", STRING), F("defaultValueNumeric", STRING),
       F("defaultValueDate", STRING), F("defaultValueBoolean", BOOL),
       F("defaultValueComputed", STRING), F("defaultValueSequenceNext", STRING),
       F("defaultValueConstraintName", STRING));
SCHEMA(s_add_auto_increment, "addAutoIncrement", TABLE3, F("columnName", STRING),
       F("columnDataType", STRING), F("startWith", INT), F("incrementBy", INT),
       F("defaultOnNull", BOOL), F("generationType", STRING));
SCHEMA(s_drop_sequence, "dropSequence", F("catalogName", STRING), F("schemaName", STRING),
       F("sequenceName", STRING));
SCHEMA(s_drop_view, "dropView", F("catalogName", STRING), F("schemaName", STRING),
       F("viewName", STRING), F("ifExists", BOOL));
SCHEMA(s_alter_sequence, "alterSequence", F("catalogName", STRING), F("schemaName", STRING),
       F("sequenceName", STRING), F("incrementBy", INT), F("maxValue", INT), F("minValue", INT),
       F("ordered", BOOL), F("cacheSize", INT), F("cycle", BOOL), F("dataType", STRING));
SCHEMA(s_rename_sequence, "renameSequence", F("catalogName", STRING), F("schemaName", STRING),
       F("oldSequenceName", STRING), F("newSequenceName", STRING));
/* createView: v9 excludes path, relativeToChangelogFile, selectQuery, encoding
 * and hashes the query separately (CreateViewChange.generateCheckSumLatest) */
static const struct chlog_field s_create_view_fields[] = {
    F("catalogName", STRING), F("schemaName", STRING), F("viewName", STRING),
    F("selectQuery", IGNORED), F("replaceIfExists", BOOL), F("fullDefinition", BOOL),
    F("path", IGNORED), F("relativeToChangelogFile", IGNORED), F("encoding", IGNORED),
    F("remarks", STRING)};
static const struct chlog_schema s_create_view = {
    "createView", s_create_view_fields, sizeof s_create_view_fields / sizeof s_create_view_fields[0],
    "selectQuery"};
static const struct chlog_schema s_empty = {"empty", NULL, 0, NULL};
static const struct chlog_field s_output_fields[] = {F("message", STRING), F("target", STRING)};
static const struct chlog_schema s_output = {"output", s_output_fields, 2, "message"};

/* ---- compile context --------------------------------------------------------- */

struct cx {
    const struct chlog_node *n;
    const char *type;
    struct tm_buf sql; /* statements, ";\n" between them */
    struct tm_buf rb;  /* rollback statements */
    bool has_rb;
    struct tm_err *err;
};

static const char *txt(const struct cx *c, const char *name)
{
    return chlog_node_text(c->n, name);
}

static bool flag(const struct chlog_node *n, const char *name)
{
    const char *v = chlog_node_text(n, name);
    return v && strcasecmp(v, "true") == 0;
}

static bool flag_false(const struct chlog_node *n, const char *name)
{
    const char *v = chlog_node_text(n, name);
    return v && strcasecmp(v, "false") == 0;
}

static enum tm_code need(struct cx *c, const char *name, const char **out)
{
    const char *v = txt(c, name);
    if (!v || !*v) {
        const struct chlog_node *n = c->n;
        return chlog_ld_fail(c->err, TM_E_INVAL, n->file, n->line, 0,
                             "%s: '%s' is required", c->type, name);
    }
    *out = v;
    return TM_OK;
}

/* drops trailing blanks of the statement being written (Liquibase's
 * update-sql prints statements trimmed: "NOT VALID " is "NOT VALID") */
static void trim_tail(struct tm_buf *b)
{
    while (b->len && b->data[b->len - 1] == ' ')
        b->data[--b->len] = '\0';
}

/* begins a new statement in b */
static enum tm_code next(struct tm_buf *b)
{
    trim_tail(b);
    return b->len ? tm_buf_adds(b, ";\n") : TM_OK;
}

static enum tm_code table(struct tm_buf *b, const struct chlog_node *n, const char *name)
{
    return chlog_sql_add_table(b, chlog_node_text(n, "catalogName"),
                               chlog_node_text(n, "schemaName"), name);
}

/* ALTER TABLE [schema.]t */
static enum tm_code alter_table(struct tm_buf *b, const struct chlog_node *n, const char *t)
{
    enum tm_code rc = next(b);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "ALTER TABLE ");
    return rc == TM_OK ? table(b, n, t) : rc;
}

static enum tm_code seq_name(struct tm_buf *b, struct cx *c, const char *name)
{
    return chlog_sql_add_table(b, NULL, txt(c, "schemaName"), name);
}

/* ---- column lists ------------------------------------------------------------ */

struct cols {
    const struct chlog_node **v;
    size_t n, alloc;
};

static enum tm_code cols_add(const struct chlog_node *kid, void *arg)
{
    struct cols *l = arg;
    if (l->n == l->alloc) {
        size_t na = l->alloc ? l->alloc * 2 : 8;
        const struct chlog_node **v = realloc(l->v, na * sizeof *v);
        if (!v)
            return TM_E_NOMEM;
        l->v = v;
        l->alloc = na;
    }
    l->v[l->n++] = kid;
    return TM_OK;
}

static enum tm_code cols_get(struct cx *c, struct cols *l, bool required)
{
    memset(l, 0, sizeof *l);
    enum tm_code rc = chlog_list_each(c->n, "column", "columns", cols_add, l);
    if (rc == TM_OK && required && l->n == 0)
        rc = chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                           "%s: at least one column is required", c->type);
    for (size_t i = 0; rc == TM_OK && i < l->n; i++)
        if (!chlog_node_text(l->v[i], "name"))
            rc = chlog_ld_fail(c->err, TM_E_INVAL, l->v[i]->file, l->v[i]->line, 0,
                               "%s: column 'name' is required", c->type);
    return rc;
}

/* DEFAULT clause value for a column of type (CreateTableGenerator.handleDefaultValue) */
static enum tm_code default_value(struct cx *c, struct tm_buf *b, const struct chlog_node *col,
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

/* remarks as SetTableRemarksGenerator/SetColumnRemarksGenerator write them:
 * escapeStringForDatabase(trimToEmpty(remarks)) in quotes */
static enum tm_code add_remarks(struct tm_buf *b, const char *r)
{
    const char *p = r ? r : "";
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    char *t = strndup(p, n);
    if (!t)
        return TM_E_NOMEM;
    enum tm_code rc = chlog_sql_add_string(b, t);
    free(t);
    return rc;
}

static enum tm_code comment_on_column(struct tm_buf *b, const struct chlog_node *n,
                                      const char *t, const char *col, const char *remarks)
{
    enum tm_code rc = next(b);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "COMMENT ON COLUMN ");
    if (rc == TM_OK)
        rc = table(b, n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ".");
    if (rc == TM_OK)
        rc = chlog_sql_add_column(b, col, false);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " IS ");
    return rc == TM_OK ? add_remarks(b, remarks) : rc;
}

/* StringUtil.trimToNull */
static bool nonblank(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return true;
    return false;
}

/* the uniqueConstraintName of a column declared unique="true", else NULL */
static const char *unique_name(const struct chlog_node *col)
{
    const struct chlog_node *cons = chlog_node_child(col, "constraints");
    if (!cons || !flag(cons, "unique"))
        return NULL;
    return chlog_node_text(cons, "uniqueConstraintName");
}

/* ---- createTable ------------------------------------------------------------- */

static enum tm_code c_create_table(struct cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    struct cols l;
    if (rc == TM_OK)
        rc = cols_get(c, &l, true);
    else
        memset(&l, 0, sizeof l);
    struct tm_buf *b = &c->sql;
    struct tm_buf pk, fks, uq_unnamed, uq_named;
    tm_buf_init(&pk, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&fks, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&uq_unnamed, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&uq_named, TM_CAP_CHANGELOG_FILE);
    const char *pk_name = NULL, *pk_space = NULL;
    bool pk_deferrable = false, pk_deferred = false;
    if (rc == TM_OK) {
        rc = tm_buf_adds(b, "CREATE ");
        const char *tt = txt(c, "tableType");
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
        if (rc == TM_OK)
            rc = table(b, n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " (");
    }
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const struct chlog_node *col = l.v[i];
        const struct chlog_node *cons = chlog_node_child(col, "constraints");
        const char *name = chlog_node_text(col, "name");
        const char *type = chlog_node_text(col, "type");
        bool auto_inc = flag(col, "autoIncrement") || chlog_type_is_auto_increment(type);
        bool is_pk = cons && flag(cons, "primaryKey");
        if (i)
            rc = tm_buf_adds(b, ", ");
        if (rc == TM_OK)
            rc = chlog_sql_add_column(b, name, type != NULL && !flag(col, "computed"));
        if (rc == TM_OK && type) {
            rc = tm_buf_adds(b, " ");
            if (rc == TM_OK)
                rc = chlog_sql_add_type(b, type, auto_inc, NULL, c->err);
        }
        bool any = false;
        /* serial types: no default (DatabaseDataType.isAutoIncrement) */
        if (rc == TM_OK && type)
            rc = default_value(c, b, col, type, &any);
        if (rc == TM_OK && auto_inc) {
            rc = tm_buf_adds(b, " ");
            if (rc == TM_OK)
                rc = chlog_sql_add_auto_increment(b, chlog_node_text(col, "generationType"),
                                                  chlog_node_text(col, "startWith"),
                                                  chlog_node_text(col, "incrementBy"));
        }
        if (rc == TM_OK && (is_pk || (cons && flag_false(cons, "nullable")))) {
            /* PostgresDatabase.supportsNotNullConstraintNames() is false:
             * notNullConstraintName is not written */
            rc = tm_buf_adds(b, " NOT NULL");
        }
        if (rc != TM_OK || !cons)
            continue;
        if (is_pk) {
            if (pk.len == 0) {
                pk_name = chlog_node_text(cons, "primaryKeyName");
                pk_space = chlog_node_text(cons, "primaryKeyTablespace");
                pk_deferrable = flag(cons, "deferrable");
                pk_deferred = flag(cons, "initiallyDeferred");
            } else {
                rc = tm_buf_adds(&pk, ", ");
            }
            if (rc == TM_OK)
                rc = chlog_sql_add_name(&pk, name);
        }
        const char *refs = chlog_node_text(cons, "references");
        const char *rt = chlog_node_text(cons, "referencedTableName");
        const char *rcols = chlog_node_text(cons, "referencedColumnNames");
        if (rc == TM_OK && (refs || (rt && rcols))) {
            const char *fk = chlog_node_text(cons, "foreignKeyName");
            if (!nonblank(fk)) {
                rc = chlog_ld_fail(c->err, TM_E_INVAL, cons->file, cons->line, 0,
                                   "createTable: a column with references needs foreignKeyName");
                break;
            }
            rc = tm_buf_adds(&fks, ", CONSTRAINT ");
            if (rc == TM_OK)
                rc = chlog_sql_add_name(&fks, fk);
            if (rc == TM_OK)
                rc = tm_buf_adds(&fks, " FOREIGN KEY (");
            if (rc == TM_OK)
                rc = chlog_sql_add_name(&fks, name);
            if (rc == TM_OK)
                rc = tm_buf_adds(&fks, ") REFERENCES ");
            if (rc == TM_OK && refs) {
                rc = tm_buf_adds(&fks, refs);
            } else if (rc == TM_OK) {
                rc = chlog_sql_add_table(&fks, NULL,
                                         chlog_node_text(cons, "referencedTableSchemaName"), rt);
                if (rc == TM_OK)
                    rc = tm_buf_adds(&fks, "(");
                if (rc == TM_OK)
                    rc = chlog_sql_add_column_list(&fks, rcols);
                if (rc == TM_OK)
                    rc = tm_buf_adds(&fks, ")");
            }
            if (rc == TM_OK && flag(cons, "deleteCascade"))
                rc = tm_buf_adds(&fks, " ON DELETE CASCADE");
            if (rc == TM_OK && flag(cons, "initiallyDeferred"))
                rc = tm_buf_adds(&fks, " INITIALLY DEFERRED");
            if (rc == TM_OK && flag(cons, "deferrable"))
                rc = tm_buf_adds(&fks, " DEFERRABLE");
        }
        if (rc == TM_OK && flag(cons, "unique")) {
            const char *un = chlog_node_text(cons, "uniqueConstraintName");
            if (!un) { /* named ones are written after the loop, merged by name */
                rc = tm_buf_adds(&uq_unnamed, ", UNIQUE (");
                if (rc == TM_OK)
                    rc = chlog_sql_add_name(&uq_unnamed, name);
                if (rc == TM_OK)
                    rc = tm_buf_adds(&uq_unnamed, ")");
            }
        }
    }
    /* CreateTableGenerator: unnamed unique constraints first, then the named
     * ones in first-seen order, the columns of one name merged into one */
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const char *un = unique_name(l.v[i]);
        bool seen = false;
        for (size_t j = 0; j < i && un && !seen; j++)
            seen = unique_name(l.v[j]) && strcmp(unique_name(l.v[j]), un) == 0;
        if (!un || seen)
            continue;
        rc = tm_buf_adds(&uq_named, ", CONSTRAINT ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&uq_named, un);
        if (rc == TM_OK)
            rc = tm_buf_adds(&uq_named, " UNIQUE (");
        bool first = true;
        for (size_t j = i; j < l.n && rc == TM_OK; j++) {
            const char *other = unique_name(l.v[j]);
            if (!other || strcmp(other, un) != 0)
                continue;
            if (!first)
                rc = tm_buf_adds(&uq_named, ", ");
            if (rc == TM_OK)
                rc = chlog_sql_add_name(&uq_named, chlog_node_text(l.v[j], "name"));
            first = false;
        }
        if (rc == TM_OK)
            rc = tm_buf_adds(&uq_named, ")");
    }
    if (rc == TM_OK && pk.len) {
        /* PostgresDatabase.generatePrimaryKeyName: <table>_pkey (63 bytes max) */
        rc = tm_buf_adds(b, ", CONSTRAINT ");
        if (rc == TM_OK && nonblank(pk_name)) {
            rc = chlog_sql_add_name(b, pk_name);
        } else if (rc == TM_OK) {
            char gen[128];
            snprintf(gen, sizeof gen, "%.58s_pkey", t);
            rc = chlog_sql_add_name(b, gen);
        }
        if (rc == TM_OK)
            rc = tm_buf_addf(b, " PRIMARY KEY (%s)", tm_buf_str(&pk));
        if (rc == TM_OK && pk_space && *pk_space)
            rc = tm_buf_addf(b, " USING INDEX TABLESPACE %s", pk_space);
        if (rc == TM_OK && pk_deferred)
            rc = tm_buf_adds(b, " INITIALLY DEFERRED");
        if (rc == TM_OK && pk_deferrable)
            rc = tm_buf_adds(b, " DEFERRABLE");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(b, tm_buf_str(&fks));
    if (rc == TM_OK)
        rc = tm_buf_adds(b, tm_buf_str(&uq_unnamed));
    if (rc == TM_OK)
        rc = tm_buf_adds(b, tm_buf_str(&uq_named));
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    const char *space = txt(c, "tablespace");
    if (rc == TM_OK && nonblank(space))
        rc = tm_buf_addf(b, " TABLESPACE %s", space);
    const char *remarks = txt(c, "remarks");
    if (rc == TM_OK && nonblank(remarks)) {
        rc = next(b);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, "COMMENT ON TABLE ");
        if (rc == TM_OK)
            rc = table(b, n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " IS ");
        if (rc == TM_OK)
            rc = add_remarks(b, remarks);
    }
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const char *r = chlog_node_text(l.v[i], "remarks");
        if (nonblank(r))
            rc = comment_on_column(b, n, t, chlog_node_text(l.v[i], "name"), r);
    }
    /* rollback: dropTable (CreateTableChange.createInverses) */
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "DROP TABLE ");
        if (rc == TM_OK)
            rc = table(&c->rb, n, t);
    }
    tm_buf_release(&pk);
    tm_buf_release(&fks);
    tm_buf_release(&uq_unnamed);
    tm_buf_release(&uq_named);
    free(l.v);
    return rc;
}

/* ---- addColumn ----------------------------------------------------------------- */

static enum tm_code add_unique(struct tm_buf *b, const struct chlog_node *n, const char *t,
                               const char *cols, const char *name, bool deferrable,
                               bool deferred, const char *space, bool disabled);
static enum tm_code add_fk(struct tm_buf *b, const char *schema, const char *t,
                           const char *base_cols, const char *ref_schema, const char *ref_table,
                           const char *ref_cols, const char *name, const char *on_update,
                           const char *on_delete, bool deferrable, bool deferred, bool validate);

static enum tm_code alter_column(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                 const char *col, const char *what);

/* ColumnConfig.getValueObject() != null */
static bool has_value(const struct chlog_node *col)
{
    static const char *const names[] = {"value", "valueNumeric", "valueBoolean", "valueDate",
                                        "valueComputed", "valueSequenceNext",
                                        "valueSequenceCurrent", "valueBlobFile", "valueClobFile"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (chlog_node_text(col, names[i]))
            return true;
    return col->value != NULL && nonblank(col->value);
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

static enum tm_code c_add_column(struct cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL;
    struct cols l = {0};
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = cols_get(c, &l, true);
    struct tm_buf *b = &c->sql;
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const struct chlog_node *col = l.v[i];
        const struct chlog_node *cons = chlog_node_child(col, "constraints");
        const char *name = chlog_node_text(col, "name");
        const char *type = chlog_node_text(col, "type");
        bool auto_inc = flag(col, "autoIncrement");
        rc = alter_table(b, n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " ADD ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, name);
        if (rc == TM_OK && type) {
            rc = tm_buf_adds(b, " ");
            if (rc == TM_OK)
                rc = chlog_sql_add_type(b, type, auto_inc, NULL, c->err);
        }
        if (rc == TM_OK && auto_inc) {
            rc = tm_buf_adds(b, " ");
            if (rc == TM_OK)
                rc = chlog_sql_add_auto_increment(b, chlog_node_text(col, "generationType"),
                                                  chlog_node_text(col, "startWith"),
                                                  chlog_node_text(col, "incrementBy"));
        }
        bool any = false;
        if (rc == TM_OK)
            rc = default_value(c, b, col, type, &any);
        bool is_pk = cons && flag(cons, "primaryKey");
        /* a column given a value gets NOT NULL after its UPDATE instead */
        bool later_not_null = cons && flag_false(cons, "nullable") && has_value(col);
        if (rc == TM_OK && cons && ((flag_false(cons, "nullable") && !later_not_null) || is_pk)) {
            const char *nn = chlog_node_text(cons, "notNullConstraintName");
            if (nonblank(nn)) {
                rc = tm_buf_adds(b, " CONSTRAINT ");
                if (rc == TM_OK)
                    rc = chlog_sql_add_name(b, nn);
            }
            if (rc == TM_OK)
                rc = tm_buf_adds(b, " NOT NULL");
        }
        if (rc == TM_OK && is_pk)
            rc = tm_buf_adds(b, " PRIMARY KEY");
        if (rc == TM_OK && cons && flag(cons, "unique"))
            rc = add_unique(b, n, t, name, chlog_node_text(cons, "uniqueConstraintName"), false,
                            false, NULL, false);
        const char *refs = cons ? chlog_node_text(cons, "references") : NULL;
        const char *rt = cons ? chlog_node_text(cons, "referencedTableName") : NULL;
        if (rc == TM_OK && (refs || rt)) {
            /* AddColumnGenerator.addForeignKeyStatements: references is "table(col)" */
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
                rc = add_fk(b, chlog_node_text(n, "schemaName"), t, name, rschema, rschema ? dot + 1 : rtab, rcol,
                            chlog_node_text(cons, "foreignKeyName"), NULL,
                            flag(cons, "deleteCascade") ? "CASCADE" : NULL, false, false,
                            !flag_false(cons, "validateForeignKey"));
            }
            free(rtab);
            free(rcol);
        }
    }
    /* AddColumnChange.generateStatements: an UPDATE per column given a value,
     * then NOT NULL for those of them declared nullable="false" */
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        struct chlog_value v;
        rc = chlog_value_get(l.v[i], "value", &v, c->err);
        if (rc != TM_OK || v.kind == CHLOG_VALUE_NONE || v.kind == CHLOG_VALUE_NULL)
            continue;
        rc = next(b);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, "UPDATE ");
        if (rc == TM_OK)
            rc = table(b, n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " SET ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, chlog_node_text(l.v[i], "name"));
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " = ");
        if (rc == TM_OK)
            rc = update_value(b, &v, c->err);
    }
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const struct chlog_node *cons = chlog_node_child(l.v[i], "constraints");
        if (cons && flag_false(cons, "nullable") && has_value(l.v[i]))
            rc = alter_column(b, n, t, chlog_node_text(l.v[i], "name"), "SET NOT NULL");
    }
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        const char *r = chlog_node_text(l.v[i], "remarks");
        if (nonblank(r))
            rc = comment_on_column(b, n, t, chlog_node_text(l.v[i], "name"), r);
    }
    /* rollback: dropColumn of each column (AddColumnChange.createInverses) */
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        c->has_rb = true;
        rc = alter_table(&c->rb, n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->rb, " DROP COLUMN ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->rb, chlog_node_text(l.v[i], "name"));
    }
    free(l.v);
    return rc;
}

/* ---- createIndex / dropIndex -------------------------------------------------- */

static enum tm_code c_create_index(struct cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL;
    struct cols l = {0};
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = cols_get(c, &l, true);
    struct tm_buf *b = &c->sql;
    const char *idx = txt(c, "indexName");
    if (rc == TM_OK)
        rc = tm_buf_addf(b, "CREATE %sINDEX ", flag(n, "unique") ? "UNIQUE " : "");
    if (rc == TM_OK && idx) {
        rc = chlog_sql_add_name(b, idx);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " ");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "ON ");
    if (rc == TM_OK)
        rc = table(b, n, t);
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
        if (rc == TM_OK && flag(col, "descending"))
            rc = tm_buf_adds(b, " DESC");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    const char *space = txt(c, "tablespace");
    if (rc == TM_OK && nonblank(space))
        rc = tm_buf_addf(b, " TABLESPACE %s", space);
    if (rc == TM_OK && flag(n, "clustered") && idx) {
        rc = next(b);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, "CLUSTER ");
        if (rc == TM_OK)
            rc = table(b, n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " USING ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, idx);
    }
    /* rollback: dropIndex (CreateIndexChange.createInverses) */
    if (rc == TM_OK && idx) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "DROP INDEX ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->rb, NULL, txt(c, "schemaName"), idx);
    }
    free(l.v);
    return rc;
}

static enum tm_code c_drop_index(struct cx *c)
{
    const char *idx = NULL;
    enum tm_code rc = need(c, "indexName", &idx);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, "DROP INDEX ");
    return rc == TM_OK ? chlog_sql_add_table(&c->sql, NULL, txt(c, "schemaName"), idx) : rc;
}

/* ---- foreign keys ----------------------------------------------------------------- */

static enum tm_code add_fk(struct tm_buf *b, const char *schema, const char *t,
                           const char *base_cols, const char *ref_schema, const char *ref_table,
                           const char *ref_cols, const char *name, const char *on_update,
                           const char *on_delete, bool deferrable, bool deferred, bool validate)
{
    enum tm_code rc = next(b);
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

static enum tm_code c_add_fk(struct cx *c)
{
    const struct chlog_node *n = c->n;
    const char *t = NULL, *bc = NULL, *rt = NULL, *rcols = NULL, *name = NULL;
    enum tm_code rc = need(c, "baseTableName", &t);
    if (rc == TM_OK)
        rc = need(c, "baseColumnNames", &bc);
    if (rc == TM_OK)
        rc = need(c, "referencedTableName", &rt);
    if (rc == TM_OK)
        rc = need(c, "referencedColumnNames", &rcols);
    if (rc == TM_OK)
        rc = need(c, "constraintName", &name);
    if (rc != TM_OK)
        return rc;
    /* AddForeignKeyConstraintChange.generateStatements: deleteCascade means
     * onDelete CASCADE */
    const char *on_delete = txt(c, "onDelete");
    if (flag(n, "deleteCascade"))
        on_delete = "CASCADE";
    rc = add_fk(&c->sql, txt(c, "baseTableSchemaName"), t, bc, txt(c, "referencedTableSchemaName"),
                rt, rcols, name, txt(c, "onUpdate"), on_delete, flag(n, "deferrable"),
                flag(n, "initiallyDeferred"), !flag_false(n, "validate"));
    /* rollback: dropForeignKeyConstraint */
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "ALTER TABLE ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->rb, NULL, txt(c, "baseTableSchemaName"), t);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->rb, " DROP CONSTRAINT ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->rb, name);
    }
    return rc;
}

static enum tm_code c_drop_fk(struct cx *c)
{
    const char *t = NULL, *name = NULL;
    enum tm_code rc = need(c, "baseTableName", &t);
    if (rc == TM_OK)
        rc = need(c, "constraintName", &name);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, "ALTER TABLE ");
    if (rc == TM_OK)
        rc = chlog_sql_add_table(&c->sql, NULL, txt(c, "baseTableSchemaName"), t);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, " DROP CONSTRAINT ");
    return rc == TM_OK ? chlog_sql_add_name(&c->sql, name) : rc;
}

/* ---- constraints ---------------------------------------------------------------- */

static enum tm_code add_unique(struct tm_buf *b, const struct chlog_node *n, const char *t,
                               const char *cols, const char *name, bool deferrable,
                               bool deferred, const char *space, bool disabled)
{
    enum tm_code rc = alter_table(b, n, t);
    if (rc == TM_OK && name) {
        rc = tm_buf_adds(b, " ADD CONSTRAINT ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, name);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " UNIQUE (");
    } else if (rc == TM_OK) {
        rc = tm_buf_adds(b, " ADD UNIQUE (");
    }
    if (rc == TM_OK)
        rc = chlog_sql_add_column_list(b, cols);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    if (rc == TM_OK && deferrable)
        rc = tm_buf_adds(b, " DEFERRABLE");
    if (rc == TM_OK && deferred)
        rc = tm_buf_adds(b, " INITIALLY DEFERRED");
    if (rc == TM_OK && disabled)
        rc = tm_buf_adds(b, " DISABLE");
    if (rc == TM_OK && nonblank(space))
        rc = tm_buf_addf(b, " USING INDEX TABLESPACE %s", space);
    return rc;
}

static enum tm_code drop_constraint(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                    const char *name)
{
    enum tm_code rc = alter_table(b, n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " DROP CONSTRAINT ");
    return rc == TM_OK ? chlog_sql_add_name(b, name) : rc;
}

static enum tm_code c_add_unique(struct cx *c)
{
    const char *t = NULL, *cols = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnNames", &cols);
    if (rc != TM_OK)
        return rc;
    const char *name = txt(c, "constraintName");
    rc = add_unique(&c->sql, c->n, t, cols, name, flag(c->n, "deferrable"),
                    flag(c->n, "initiallyDeferred"), txt(c, "tablespace"),
                    flag(c->n, "disabled"));
    if (rc == TM_OK && name) {
        c->has_rb = true;
        rc = drop_constraint(&c->rb, c->n, t, name);
    }
    return rc;
}

static enum tm_code c_drop_unique(struct cx *c)
{
    const char *t = NULL, *name = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "constraintName", &name);
    return rc == TM_OK ? drop_constraint(&c->sql, c->n, t, name) : rc;
}

static enum tm_code drop_pk(struct tm_buf *b, const struct chlog_node *n, const char *t,
                            const char *name);

static enum tm_code c_add_pk(struct cx *c)
{
    const char *t = NULL, *cols = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnNames", &cols);
    if (rc != TM_OK)
        return rc;
    struct tm_buf *b = &c->sql;
    const char *name = txt(c, "constraintName");
    rc = alter_table(b, c->n, t);
    if (rc == TM_OK && name) {
        rc = tm_buf_adds(b, " ADD CONSTRAINT ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, name);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " PRIMARY KEY");
    } else if (rc == TM_OK) {
        rc = tm_buf_adds(b, " ADD PRIMARY KEY");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " (");
    if (rc == TM_OK)
        rc = chlog_sql_add_column_list(b, cols);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ")");
    const char *space = txt(c, "tablespace");
    if (rc == TM_OK && nonblank(space))
        rc = tm_buf_addf(b, " USING INDEX TABLESPACE %s", space);
    const char *fi = txt(c, "forIndexName");
    if (rc == TM_OK && fi) {
        rc = tm_buf_adds(b, " USING INDEX ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(b, NULL, txt(c, "forIndexSchemaName"), fi);
    }
    if (rc == TM_OK && flag(c->n, "clustered") && name) {
        rc = next(b);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, "CLUSTER ");
        if (rc == TM_OK)
            rc = table(b, c->n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " USING ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, name);
    }
    /* rollback: dropPrimaryKey (AddPrimaryKeyChange.createInverses) */
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = drop_pk(&c->rb, c->n, t, name);
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
static enum tm_code drop_pk(struct tm_buf *b, const struct chlog_node *n, const char *t,
                            const char *name)
{
    if (name)
        return drop_constraint(b, n, t, name);
    const char *schema = chlog_node_text(n, "schemaName");
    char ct[256], cs[256];
    correct_name(ct, sizeof ct, t);
    struct tm_buf qt;
    tm_buf_init(&qt, TM_CAP_SMALL);
    if (schema)
        correct_name(cs, sizeof cs, schema);
    enum tm_code rc = chlog_sql_add_table(&qt, NULL, schema ? cs : NULL, ct);
    if (rc == TM_OK)
        rc = next(b);
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

static enum tm_code c_drop_pk(struct cx *c)
{
    const char *t = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    return rc == TM_OK ? drop_pk(&c->sql, c->n, t, txt(c, "constraintName")) : rc;
}

static enum tm_code alter_column(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                 const char *col, const char *what)
{
    /* SetNullableGenerator and AddDefaultValueGenerator write
     * "ALTER COLUMN  c" (two blanks); DropDefaultValueGenerator one */
    bool nullable = strstr(what, "NOT NULL") != NULL || strncmp(what, "SET DEFAULT", 11) == 0;
    enum tm_code rc = alter_table(b, n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, nullable ? " ALTER COLUMN  " : " ALTER COLUMN ");
    if (rc == TM_OK)
        rc = chlog_sql_add_name(b, col);
    return rc == TM_OK ? tm_buf_addf(b, " %s", what) : rc;
}

static enum tm_code c_add_not_null(struct cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnName", &col);
    if (rc != TM_OK)
        return rc;
    const char *dnv = txt(c, "defaultNullValue");
    if (dnv) {
        /* AddNotNullConstraintChange: UPDATE t SET col = value WHERE col IS NULL */
        rc = tm_buf_adds(&c->sql, "UPDATE ");
        if (rc == TM_OK)
            rc = table(&c->sql, c->n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " SET ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->sql, col);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " = ");
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
        rc = alter_column(&c->sql, c->n, t, col, "SET NOT NULL");
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = alter_column(&c->rb, c->n, t, col, "DROP NOT NULL");
    }
    return rc;
}

static enum tm_code c_drop_not_null(struct cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnName", &col);
    if (rc == TM_OK)
        rc = alter_column(&c->sql, c->n, t, col, "DROP NOT NULL");
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = alter_column(&c->rb, c->n, t, col, "SET NOT NULL");
    }
    return rc;
}

/* ---- tables, columns, remarks ------------------------------------------------------ */

static enum tm_code c_drop_table(struct cx *c)
{
    const char *t = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, "DROP TABLE ");
    if (rc == TM_OK)
        rc = table(&c->sql, c->n, t);
    if (rc == TM_OK && flag(c->n, "cascadeConstraints"))
        rc = tm_buf_adds(&c->sql, " CASCADE");
    return rc;
}

static enum tm_code c_drop_column(struct cx *c)
{
    const char *t = NULL;
    struct cols l = {0};
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = cols_get(c, &l, false);
    const char *one = txt(c, "columnName");
    if (rc == TM_OK && !one && l.n == 0)
        rc = chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                           "dropColumn: 'columnName' or columns is required");
    if (rc == TM_OK && one) {
        rc = alter_table(&c->sql, c->n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " DROP COLUMN ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->sql, one);
    }
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        rc = alter_table(&c->sql, c->n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " DROP COLUMN ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->sql, chlog_node_text(l.v[i], "name"));
    }
    free(l.v);
    return rc;
}

static enum tm_code c_rename_column(struct cx *c)
{
    const char *t = NULL, *o = NULL, *nw = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "oldColumnName", &o);
    if (rc == TM_OK)
        rc = need(c, "newColumnName", &nw);
    for (int pass = 0; pass < 2 && rc == TM_OK; pass++) {
        struct tm_buf *b = pass ? &c->rb : &c->sql;
        rc = alter_table(b, c->n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " RENAME COLUMN ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, pass ? nw : o);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " TO ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, pass ? o : nw);
    }
    /* remarks: RenameColumnGenerator writes them for MySQL only */
    c->has_rb = rc == TM_OK;
    return rc;
}

static enum tm_code c_rename_table(struct cx *c)
{
    const char *o = NULL, *nw = NULL;
    enum tm_code rc = need(c, "oldTableName", &o);
    if (rc == TM_OK)
        rc = need(c, "newTableName", &nw);
    for (int pass = 0; pass < 2 && rc == TM_OK; pass++) {
        struct tm_buf *b = pass ? &c->rb : &c->sql;
        rc = alter_table(b, c->n, pass ? nw : o);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " RENAME TO ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, pass ? o : nw);
    }
    c->has_rb = rc == TM_OK;
    return rc;
}

static enum tm_code c_modify_data_type(struct cx *c)
{
    const char *t = NULL, *col = NULL, *nt = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnName", &col);
    if (rc == TM_OK)
        rc = need(c, "newDataType", &nt);
    struct tm_buf ty, cn;
    tm_buf_init(&ty, TM_CAP_SMALL);
    tm_buf_init(&cn, TM_CAP_SMALL);
    if (rc == TM_OK)
        rc = chlog_sql_add_type(&ty, nt, false, NULL, c->err);
    if (rc == TM_OK)
        rc = chlog_sql_add_name(&cn, col);
    if (rc == TM_OK)
        rc = alter_table(&c->sql, c->n, t);
    /* ModifyDataTypeGenerator (PostgreSQL): ALTER COLUMN c TYPE x USING (c::x) */
    if (rc == TM_OK)
        rc = tm_buf_addf(&c->sql, " ALTER COLUMN %s TYPE %s USING (%s::%s)", tm_buf_str(&cn),
                         tm_buf_str(&ty), tm_buf_str(&cn), tm_buf_str(&ty));
    tm_buf_release(&ty);
    tm_buf_release(&cn);
    return rc;
}

static enum tm_code c_set_table_remarks(struct cx *c)
{
    const char *t = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    const char *r = txt(c, "remarks");
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, "COMMENT ON TABLE ");
    if (rc == TM_OK)
        rc = table(&c->sql, c->n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, " IS ");
    return rc == TM_OK ? add_remarks(&c->sql, r) : rc;
}

static enum tm_code c_set_column_remarks(struct cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnName", &col);
    const char *r = txt(c, "remarks");
    const char *pt = txt(c, "columnParentType");
    if (rc == TM_OK && pt && strcasecmp(pt, "VIEW") != 0 && strcasecmp(pt, "TABLE") != 0)
        return chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                             "setColumnRemarks: columnParentType must be TABLE or VIEW");
    if (rc == TM_OK)
        rc = comment_on_column(&c->sql, c->n, t, col, r);
    return rc;
}

static enum tm_code c_add_default(struct cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnName", &col);
    struct chlog_value v;
    if (rc == TM_OK)
        rc = chlog_value_get(c->n, "defaultValue", &v, c->err);
    if (rc == TM_OK && v.kind == CHLOG_VALUE_NONE)
        rc = chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                           "addDefaultValue: a defaultValue* attribute is required");
    if (rc == TM_OK)
        rc = alter_column(&c->sql, c->n, t, col, "SET DEFAULT ");
    /* AddDefaultValueGenerator: DataTypeFactory.fromObject(value) - the
     * value's own type, not columnDataType ("5" is '5') */
    if (rc == TM_OK)
        rc = chlog_value_sql(&c->sql, &v, CHLOG_TYPE_OTHER, c->err);
    /* AddDefaultValueGeneratorPostgres: the sequence becomes owned by the column */
    if (rc == TM_OK && v.kind == CHLOG_VALUE_SEQ_NEXT) {
        rc = next(&c->sql);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, "ALTER SEQUENCE ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->sql, v.text);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " OWNED BY ");
        if (rc == TM_OK)
            rc = table(&c->sql, c->n, t);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, ".");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(&c->sql, col);
    }
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = alter_column(&c->rb, c->n, t, col, "DROP DEFAULT");
    }
    return rc;
}

static enum tm_code c_drop_default(struct cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnName", &col);
    return rc == TM_OK ? alter_column(&c->sql, c->n, t, col, "DROP DEFAULT") : rc;
}

static enum tm_code c_add_auto_increment(struct cx *c)
{
    const char *t = NULL, *col = NULL;
    enum tm_code rc = need(c, "tableName", &t);
    if (rc == TM_OK)
        rc = need(c, "columnName", &col);
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
        rc = seq_name(b, c, seq);
    const char *v = txt(c, "startWith");
    if (rc == TM_OK && v)
        rc = tm_buf_addf(b, " START WITH %s", v);
    v = txt(c, "incrementBy");
    if (rc == TM_OK && v)
        rc = tm_buf_addf(b, " INCREMENT BY %s", v);
    if (rc == TM_OK)
        rc = alter_column(b, c->n, t, col, "SET NOT NULL");
    if (rc == TM_OK)
        rc = alter_column(b, c->n, t, col, "SET DEFAULT nextval('");
    if (rc == TM_OK)
        rc = seq_name(b, c, seq);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "')");
    if (rc == TM_OK)
        rc = next(b);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "ALTER SEQUENCE ");
    if (rc == TM_OK)
        rc = seq_name(b, c, seq);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " OWNED BY ");
    if (rc == TM_OK)
        rc = table(b, c->n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ".");
    if (rc == TM_OK)
        rc = chlog_sql_add_name(b, col);
    return rc;
}

/* ---- views and sequences -------------------------------------------------------- */

static enum tm_code c_create_view(struct cx *c)
{
    const char *v = NULL;
    enum tm_code rc = need(c, "viewName", &v);
    const char *q = chlog_node_text(c->n, "selectQuery");
    if (!q)
        q = c->n->value;
    if (rc == TM_OK && txt(c, "path"))
        return chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                             "createView: 'path' is not supported yet; inline the query");
    if (rc == TM_OK && !nonblank(q))
        rc = chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                           "createView: the select query is required");
    if (rc != TM_OK)
        return rc;
    /* trim the query (CreateViewChange setSelectQuery keeps it; the
     * generator trims via StringClauses) */
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
        q++;
    size_t ql = strlen(q);
    while (ql && (q[ql - 1] == ' ' || q[ql - 1] == '\t' || q[ql - 1] == '\n' || q[ql - 1] == '\r'))
        ql--;
    if (flag(c->n, "fullDefinition")) {
        rc = tm_buf_add(&c->sql, q, ql);
    } else {
        rc = tm_buf_adds(&c->sql, flag(c->n, "replaceIfExists") ? "CREATE OR REPLACE VIEW "
                                                               : "CREATE VIEW ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->sql, NULL, txt(c, "schemaName"), v);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " AS ");
        if (rc == TM_OK)
            rc = tm_buf_add(&c->sql, q, ql);
    }
    const char *r = txt(c, "remarks");
    if (rc == TM_OK && nonblank(r)) {
        rc = next(&c->sql);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, "COMMENT ON VIEW ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->sql, NULL, txt(c, "schemaName"), v);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " IS ");
        if (rc == TM_OK)
            rc = add_remarks(&c->sql, r);
    }
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "DROP VIEW ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->rb, NULL, txt(c, "schemaName"), v);
    }
    return rc;
}

static enum tm_code c_drop_view(struct cx *c)
{
    const char *v = NULL;
    enum tm_code rc = need(c, "viewName", &v);
    if (rc == TM_OK)
        rc = tm_buf_addf(&c->sql, "DROP VIEW %s", flag(c->n, "ifExists") ? "IF EXISTS " : "");
    return rc == TM_OK ? chlog_sql_add_table(&c->sql, NULL, txt(c, "schemaName"), v) : rc;
}

/* CreateSequenceChange/AlterSequenceChange validate(): "ordered is not
 * allowed on postgresql" */
static enum tm_code refuse_ordered(struct cx *c)
{
    const struct chlog_node *o = chlog_node_child(c->n, "ordered");
    if (!o)
        return TM_OK;
    return chlog_ld_fail(c->err, TM_E_INVAL, o->file, o->line, 0,
                         "%s: ordered is not allowed on postgresql", c->type);
}

static enum tm_code c_create_sequence(struct cx *c)
{
    const char *s = NULL;
    enum tm_code rc = refuse_ordered(c);
    if (rc == TM_OK)
        rc = need(c, "sequenceName", &s);
    struct tm_buf *b = &c->sql;
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "CREATE SEQUENCE  IF NOT EXISTS "); /* as 4.33 writes it */
    if (rc == TM_OK)
        rc = seq_name(b, c, s);
    const char *dt = txt(c, "dataType");
    if (rc == TM_OK && dt)
        rc = tm_buf_addf(b, " AS %s", dt);
    static const char *const opts[][2] = {{"startValue", " START WITH "},
                                          {"incrementBy", " INCREMENT BY "},
                                          {"minValue", " MINVALUE "},
                                          {"maxValue", " MAXVALUE "}};
    for (size_t i = 0; i < 4 && rc == TM_OK; i++) {
        const char *v = txt(c, opts[i][0]);
        if (v)
            rc = tm_buf_addf(b, "%s%s", opts[i][1], v);
    }
    const char *cache = txt(c, "cacheSize");
    if (rc == TM_OK && cache)
        rc = tm_buf_addf(b, " CACHE %s", strcmp(cache, "0") == 0 ? "1" : cache);
    if (rc == TM_OK && flag(c->n, "cycle"))
        rc = tm_buf_adds(b, " CYCLE");
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "DROP SEQUENCE ");
        if (rc == TM_OK)
            rc = seq_name(&c->rb, c, s);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->rb, " CASCADE"); /* DropSequenceGenerator */
    }
    return rc;
}

static enum tm_code c_alter_sequence(struct cx *c)
{
    const char *s = NULL;
    enum tm_code rc = refuse_ordered(c);
    if (rc == TM_OK)
        rc = need(c, "sequenceName", &s);
    struct tm_buf *b = &c->sql;
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "ALTER SEQUENCE ");
    if (rc == TM_OK)
        rc = seq_name(b, c, s);
    const char *dt = txt(c, "dataType");
    if (rc == TM_OK && dt)
        rc = tm_buf_addf(b, " AS %s", dt);
    const char *v = txt(c, "incrementBy");
    if (rc == TM_OK && v)
        rc = tm_buf_addf(b, " INCREMENT BY %s", v);
    v = txt(c, "minValue");
    if (rc == TM_OK && v)
        rc = tm_buf_addf(b, " MINVALUE %s", v);
    v = txt(c, "maxValue");
    if (rc == TM_OK && v)
        rc = tm_buf_addf(b, " MAXVALUE %s", v);
    const char *cache = txt(c, "cacheSize");
    if (rc == TM_OK && cache)
        rc = tm_buf_addf(b, " CACHE %s", strcmp(cache, "0") == 0 ? "1" : cache);
    v = txt(c, "cycle");
    if (rc == TM_OK && v)
        rc = tm_buf_adds(b, strcasecmp(v, "true") == 0 ? " CYCLE " : " NO CYCLE ");
    return rc;
}

static enum tm_code c_drop_sequence(struct cx *c)
{
    const char *s = NULL;
    enum tm_code rc = need(c, "sequenceName", &s);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, "DROP SEQUENCE ");
    if (rc == TM_OK)
        rc = seq_name(&c->sql, c, s);
    return rc == TM_OK ? tm_buf_adds(&c->sql, " CASCADE") : rc;
}

static enum tm_code c_rename_sequence(struct cx *c)
{
    const char *o = NULL, *nw = NULL;
    enum tm_code rc = need(c, "oldSequenceName", &o);
    if (rc == TM_OK)
        rc = need(c, "newSequenceName", &nw);
    for (int pass = 0; pass < 2 && rc == TM_OK; pass++) {
        struct tm_buf *b = pass ? &c->rb : &c->sql;
        rc = tm_buf_adds(b, "ALTER SEQUENCE ");
        if (rc == TM_OK)
            rc = seq_name(b, c, pass ? nw : o);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " RENAME TO ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, pass ? o : nw);
    }
    c->has_rb = rc == TM_OK;
    return rc;
}

static enum tm_code c_empty(struct cx *c)
{
    c->has_rb = true; /* EmptyChange.createInverses: an empty change */
    return TM_OK;
}

static enum tm_code c_output(struct cx *c)
{
    c->has_rb = true; /* OutputChange.createInverses: nothing to undo */
    return TM_OK;
}

/* ---- registry ------------------------------------------------------------------ */

struct ddl_type {
    const char *name;
    const struct chlog_schema *schema;
    enum tm_code (*fn)(struct cx *c);
};

static const struct ddl_type ddl_types[] = {
    {"createTable", &s_create_table, c_create_table},
    {"addColumn", &s_add_column, c_add_column},
    {"createIndex", &s_create_index, c_create_index},
    {"addForeignKeyConstraint", &s_add_fk, c_add_fk},
    {"setColumnRemarks", &s_set_column_remarks, c_set_column_remarks},
    {"modifyDataType", &s_modify_data_type, c_modify_data_type},
    {"dropColumn", &s_drop_column, c_drop_column},
    {"addPrimaryKey", &s_add_pk, c_add_pk},
    {"addUniqueConstraint", &s_add_unique, c_add_unique},
    {"addNotNullConstraint", &s_add_not_null, c_add_not_null},
    {"dropTable", &s_drop_table, c_drop_table},
    {"renameColumn", &s_rename_column, c_rename_column},
    {"dropNotNullConstraint", &s_drop_not_null, c_drop_not_null},
    {"createView", &s_create_view, c_create_view},
    {"dropForeignKeyConstraint", &s_drop_fk, c_drop_fk},
    {"dropIndex", &s_drop_index, c_drop_index},
    {"setTableRemarks", &s_set_table_remarks, c_set_table_remarks},
    {"dropDefaultValue", &s_drop_default, c_drop_default},
    {"renameTable", &s_rename_table, c_rename_table},
    {"dropPrimaryKey", &s_drop_pk, c_drop_pk},
    {"dropUniqueConstraint", &s_drop_unique, c_drop_unique},
    {"createSequence", &s_create_sequence, c_create_sequence},
    {"addDefaultValue", &s_add_default, c_add_default},
    {"addAutoIncrement", &s_add_auto_increment, c_add_auto_increment},
    {"dropSequence", &s_drop_sequence, c_drop_sequence},
    {"dropView", &s_drop_view, c_drop_view},
    {"alterSequence", &s_alter_sequence, c_alter_sequence},
    {"renameSequence", &s_rename_sequence, c_rename_sequence},
    {"empty", &s_empty, c_empty},
    {"output", &s_output, c_output},
};

static const struct ddl_type *find_type(const char *name)
{
    for (size_t i = 0; i < sizeof ddl_types / sizeof ddl_types[0]; i++)
        if (strcmp(ddl_types[i].name, name) == 0)
            return &ddl_types[i];
    return NULL;
}

bool chlog_change_ddl_handles(const char *type)
{
    return find_type(type) != NULL;
}

/* CreateViewChange.generateCheckSumLatest: compute(super + ":" + md5 of the
 * query with blanks removed) */
static enum tm_code view_checksum(const struct chlog_node *n, char sum[40], struct tm_err *err)
{
    const char *q = chlog_node_text(n, "selectQuery");
    if (!q)
        q = n->value ? n->value : "";
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = TM_OK;
    for (const char *p = q; *p && rc == TM_OK; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            rc = tm_buf_add(&b, p, 1);
    char qh[33];
    if (rc == TM_OK)
        rc = chlog_md5_hex(tm_buf_str(&b), b.len, qh);
    tm_buf_release(&b);
    if (rc == TM_OK) {
        char both[128];
        snprintf(both, sizeof both, "%s:9:%s", sum, qh);
        char hex[33];
        rc = chlog_md5_hex(both, strlen(both), hex);
        if (rc == TM_OK)
            snprintf(sum, 40, "9:%s", hex);
    }
    if (rc != TM_OK && err) {
        err->code = rc;
        snprintf(err->msg, sizeof err->msg, "createView: cannot compute the checksum");
    }
    return rc;
}

enum tm_code chlog_change_ddl_compile(const struct chlog_change_env *env,
                                      const struct chlog_node *node, struct chlog_change *ch,
                                      struct tm_err *err)
{
    (void)env;
    const struct ddl_type *ty = find_type(node->name);
    if (!ty)
        return chlog_ld_fail(err, TM_E_INVAL, node->file, node->line, 0,
                             "unknown change type '%s'", node->name);
    enum tm_code rc = chlog_schema_check(node, ty->schema, err);
    if (rc != TM_OK)
        return rc;
    struct cx c = {.n = node, .type = ty->name, .err = err};
    tm_buf_init(&c.sql, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&c.rb, TM_CAP_CHANGELOG_FILE);
    rc = ty->fn(&c);
    if (rc == TM_OK && ty->fn == c_add_fk && flag(node, "deleteCascade") &&
        !chlog_node_child(node, "onDelete")) {
        /* AddForeignKeyConstraintChange.setDeleteCascade(true) sets onDelete
         * CASCADE, which is what gets serialised (getDeleteCascade() is null) */
        struct chlog_node *copy = chlog_node_dup(node);
        if (!copy || !chlog_node_add_new(copy, "onDelete", "CASCADE", node->line, node->col))
            rc = TM_E_NOMEM;
        if (rc == TM_OK)
            rc = chlog_schema_checksum(copy, ty->schema, ch->checksum_v9, err);
        chlog_node_free(copy);
    } else if (rc == TM_OK) {
        rc = chlog_schema_checksum(node, ty->schema, ch->checksum_v9, err);
    }
    if (rc == TM_OK && ty->fn == c_create_view)
        rc = view_checksum(node, ch->checksum_v9, err);
    trim_tail(&c.sql);
    trim_tail(&c.rb);
    if (rc == TM_OK) {
        ch->sql = tm_buf_detach(&c.sql, NULL);
        if (!ch->sql)
            rc = TM_E_NOMEM;
    }
    if (rc == TM_OK && c.has_rb) {
        ch->rollback_auto = tm_buf_detach(&c.rb, NULL);
        if (!ch->rollback_auto)
            rc = TM_E_NOMEM;
    }
    if (rc == TM_E_NOMEM && err && err->code != TM_E_NOMEM) {
        err->code = TM_E_NOMEM;
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", ty->name);
    }
    tm_buf_release(&c.sql);
    tm_buf_release(&c.rb);
    return rc;
}
