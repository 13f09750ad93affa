/* change_ddl: the registry of Liquibase's DDL change types - each type's
 * attribute schema (checksum + validation) and compiler - plus the helpers
 * the compilers share (change_ddl.h), and views and sequences.
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

#include "changelog/change_ddl.h"
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
       F("associatedWith", IGNORED), F("clustered", BOOL),
       F("using", IGNORED)); /* v9 excludes associatedWith and using */
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
    "createView", s_create_view_fields,
    sizeof s_create_view_fields / sizeof s_create_view_fields[0],
    "selectQuery"};
static const struct chlog_schema s_empty = {"empty", NULL, 0, NULL};
static const struct chlog_field s_output_fields[] = {F("message", STRING), F("target", STRING)};
static const struct chlog_schema s_output = {"output", s_output_fields, 2, "message"};

/* ---- compile context --------------------------------------------------------- */


const char *ddl_txt(const struct ddl_cx *c, const char *name)
{
    return chlog_node_text(c->n, name);
}

bool ddl_flag(const struct chlog_node *n, const char *name)
{
    const char *v = chlog_node_text(n, name);
    return v && strcasecmp(v, "true") == 0;
}

bool ddl_flag_false(const struct chlog_node *n, const char *name)
{
    const char *v = chlog_node_text(n, name);
    return v && strcasecmp(v, "true") != 0; /* Boolean.valueOf: "0", "${x}" are false */
}

enum tm_code ddl_need(struct ddl_cx *c, const char *name, const char **out)
{
    const char *v = ddl_txt(c, name);
    if (!v || !*v) {
        const struct chlog_node *n = c->n;
        return chlog_ld_fail(c->err, TM_E_INVAL, n->file, n->line, 0,
                             "%s: '%s' is required", c->type, name);
    }
    *out = v;
    return TM_OK;
}

enum tm_code ddl_need2(struct ddl_cx *c, const char *a, const char **va, const char *b,
                       const char **vb)
{
    enum tm_code rc = ddl_need(c, a, va);
    return rc == TM_OK ? ddl_need(c, b, vb) : rc;
}

enum tm_code ddl_need_column(struct ddl_cx *c, const char **table, const char **column)
{
    return ddl_need2(c, "tableName", table, "columnName", column);
}

/* drops trailing blanks of the statement being written (Liquibase's
 * update-sql prints statements trimmed: "NOT VALID " is "NOT VALID") */
void ddl_trim_tail(struct tm_buf *b)
{
    while (b->len && b->data[b->len - 1] == ' ')
        b->data[--b->len] = '\0';
}

/* begins a new statement in b */
enum tm_code ddl_next(struct tm_buf *b)
{
    ddl_trim_tail(b);
    return b->len ? tm_buf_adds(b, ";\n") : TM_OK;
}

enum tm_code ddl_table(struct tm_buf *b, const struct chlog_node *n, const char *name)
{
    return chlog_sql_add_table(b, chlog_node_text(n, "catalogName"),
                               chlog_node_text(n, "schemaName"), name);
}

enum tm_code ddl_table_stmt(struct tm_buf *b, const char *before, const struct chlog_node *n,
                            const char *t, const char *after, const char *name)
{
    enum tm_code rc = ddl_next(b);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, before);
    if (rc == TM_OK)
        rc = ddl_table(b, n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, after);
    return rc == TM_OK && name ? chlog_sql_add_name(b, name) : rc;
}

/* ALTER TABLE [schema.]t */
enum tm_code ddl_alter_table(struct tm_buf *b, const struct chlog_node *n, const char *t)
{
    return ddl_table_stmt(b, "ALTER TABLE ", n, t, "", NULL);
}

enum tm_code ddl_seq_name(struct tm_buf *b, struct ddl_cx *c, const char *name)
{
    return chlog_sql_add_table(b, NULL, ddl_txt(c, "schemaName"), name);
}

/* ---- column lists ------------------------------------------------------------ */


static enum tm_code cols_add(const struct chlog_node *kid, void *arg)
{
    struct ddl_cols *l = arg;
    const struct chlog_node **v = chlog_grow(l->v, l->n, &l->alloc, sizeof *v, 8);
    if (!v)
        return TM_E_NOMEM;
    l->v = v;
    l->v[l->n++] = kid;
    return TM_OK;
}

enum tm_code ddl_cols_get(struct ddl_cx *c, struct ddl_cols *l, bool required)
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


static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

const char *ddl_trim_blanks(const char *s, size_t *len)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n && is_blank(s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* remarks as SetTableRemarksGenerator/SetColumnRemarksGenerator write them:
 * escapeStringForDatabase(trimToEmpty(remarks)) in quotes */
enum tm_code ddl_add_remarks(struct tm_buf *b, const char *r)
{
    size_t n;
    const char *p = ddl_trim_blanks(r ? r : "", &n);
    char *t = strndup(p, n);
    if (!t)
        return TM_E_NOMEM;
    enum tm_code rc = chlog_sql_add_string(b, t);
    free(t);
    return rc;
}

enum tm_code ddl_comment_on_table(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                  const char *remarks)
{
    enum tm_code rc = ddl_table_stmt(b, "COMMENT ON TABLE ", n, t, " IS ", NULL);
    return rc == TM_OK ? ddl_add_remarks(b, remarks) : rc;
}

enum tm_code ddl_comment_on_column(struct tm_buf *b, const struct chlog_node *n,
                                   const char *t, const char *col, const char *remarks)
{
    enum tm_code rc = ddl_next(b);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "COMMENT ON COLUMN ");
    if (rc == TM_OK)
        rc = ddl_table(b, n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ".");
    if (rc == TM_OK)
        rc = chlog_sql_add_column(b, col, false);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " IS ");
    return rc == TM_OK ? ddl_add_remarks(b, remarks) : rc;
}

/* StringUtil.trimToNull */
bool ddl_nonblank(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++)
        if (!is_blank(*s))
            return true;
    return false;
}

enum tm_code ddl_alter_column(struct tm_buf *b, const struct chlog_node *n, const char *t,
                              const char *col, const char *what)
{
    /* SetNullableGenerator and AddDefaultValueGenerator write
     * "ALTER COLUMN  c" (two blanks); DropDefaultValueGenerator one */
    bool nullable = strstr(what, "NOT NULL") != NULL || strncmp(what, "SET DEFAULT", 11) == 0;
    enum tm_code rc = ddl_table_stmt(b, "ALTER TABLE ", n, t,
                                     nullable ? " ALTER COLUMN  " : " ALTER COLUMN ", col);
    return rc == TM_OK ? tm_buf_addf(b, " %s", what) : rc;
}

enum tm_code ddl_seq_owned_by(struct tm_buf *b, const char *seq_schema, const char *seq,
                              const struct chlog_node *n, const char *t, const char *col)
{
    enum tm_code rc = ddl_next(b);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, "ALTER SEQUENCE ");
    if (rc == TM_OK)
        rc = chlog_sql_add_table(b, NULL, seq_schema, seq);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, " OWNED BY ");
    if (rc == TM_OK)
        rc = ddl_table(b, n, t);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, ".");
    return rc == TM_OK ? chlog_sql_add_name(b, col) : rc;
}

/* ---- views and sequences -------------------------------------------------------- */

/* CreateViewChange.openSqlStream: path relative to the changelog file
 * (relativeToChangelogFile) or to the root ("classpath:" dropped), read under
 * the load's caps, then ChangeLogParameters.expandExpressions. */
static enum tm_code read_view_file(struct ddl_cx *c, const char *path)
{
    if (!c->env || !c->env->ld)
        return chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                             "createView: path '%s' needs the changelog's files", path);
    const char *rel = strncmp(path, "classpath:", 10) == 0 ? path + 10 : path;
    char *full = NULL, *data = NULL;
    size_t len = 0;
    enum tm_code rc = ddl_flag(c->n, "relativeToChangelogFile")
                          ? chlog_path_sibling(c->env->path, rel, &full, c->err)
                          : chlog_path_clean(rel[0] == '/' ? rel + 1 : rel, &full, c->err);
    if (rc == TM_OK)
        rc = chlog_ld_read(c->env->ld, full, &data, &len, c->err);
    if (rc == TM_OK) {
        c->view_query = chlog_ld_expand(c->env->ld, data);
        if (!c->view_query)
            rc = chlog_ld_fail(c->err, c->env->ld->over_cap ? TM_E_TOOBIG : TM_E_NOMEM,
                               c->n->file, c->n->line, 0, "createView: cannot expand %s", full);
    }
    free(data);
    free(full);
    return rc;
}

enum tm_code ddl_compile_create_view(struct ddl_cx *c)
{
    const char *v = NULL;
    enum tm_code rc = ddl_need(c, "viewName", &v);
    const char *path = ddl_txt(c, "path");
    const char *q = chlog_node_text(c->n, "selectQuery");
    if (!q)
        q = c->n->value;
    if (rc == TM_OK && path)
        rc = read_view_file(c, path);
    else if (rc == TM_OK && q && !(c->view_query = strdup(q)))
        rc = TM_E_NOMEM;
    if (rc != TM_OK)
        return rc;
    q = c->view_query;
    if (!ddl_nonblank(q))
        rc = chlog_ld_fail(c->err, TM_E_INVAL, c->n->file, c->n->line, 0,
                           "createView: the select query is required");
    if (rc != TM_OK)
        return rc;
    /* trim the query (CreateViewChange setSelectQuery keeps it; the
     * generator trims via StringClauses) */
    size_t ql;
    q = ddl_trim_blanks(q, &ql);
    if (ddl_flag(c->n, "fullDefinition")) {
        rc = tm_buf_add(&c->sql, q, ql);
    } else {
        rc = tm_buf_adds(&c->sql, ddl_flag(c->n, "replaceIfExists") ? "CREATE OR REPLACE VIEW "
                                                               : "CREATE VIEW ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->sql, NULL, ddl_txt(c, "schemaName"), v);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " AS ");
        if (rc == TM_OK)
            rc = tm_buf_add(&c->sql, q, ql);
    }
    const char *r = ddl_txt(c, "remarks");
    if (rc == TM_OK && ddl_nonblank(r)) {
        rc = ddl_next(&c->sql);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, "COMMENT ON VIEW ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->sql, NULL, ddl_txt(c, "schemaName"), v);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->sql, " IS ");
        if (rc == TM_OK)
            rc = ddl_add_remarks(&c->sql, r);
    }
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "DROP VIEW ");
        if (rc == TM_OK)
            rc = chlog_sql_add_table(&c->rb, NULL, ddl_txt(c, "schemaName"), v);
    }
    return rc;
}

enum tm_code ddl_compile_drop_view(struct ddl_cx *c)
{
    const char *v = NULL;
    enum tm_code rc = ddl_need(c, "viewName", &v);
    if (rc == TM_OK)
        rc = tm_buf_addf(&c->sql, "DROP VIEW %s", ddl_flag(c->n, "ifExists") ? "IF EXISTS " : "");
    return rc == TM_OK ? chlog_sql_add_table(&c->sql, NULL, ddl_txt(c, "schemaName"), v) : rc;
}

/* CreateSequenceChange/AlterSequenceChange validate(): "ordered is not
 * allowed on postgresql" */
static enum tm_code refuse_ordered(struct ddl_cx *c)
{
    const struct chlog_node *o = chlog_node_child(c->n, "ordered");
    if (!o)
        return TM_OK;
    return chlog_ld_fail(c->err, TM_E_INVAL, o->file, o->line, 0,
                         "%s: ordered is not allowed on postgresql", c->type);
}

/* "<verb> [schema.]name [AS type]" then the numeric options Liquibase's
 * CreateSequenceGenerator / AlterSequenceGenerator write, in their order:
 * START WITH (create only), INCREMENT BY, MINVALUE, MAXVALUE, CACHE (0 is
 * written as 1).  *name gets sequenceName. */
static enum tm_code sequence_head(struct ddl_cx *c, const char *verb, bool start_with,
                                  const char **name)
{
    static const char *const opts[][2] = {{"startValue", " START WITH "},
                                          {"incrementBy", " INCREMENT BY "},
                                          {"minValue", " MINVALUE "},
                                          {"maxValue", " MAXVALUE "}};
    struct tm_buf *b = &c->sql;
    enum tm_code rc = refuse_ordered(c);
    if (rc == TM_OK)
        rc = ddl_need(c, "sequenceName", name);
    if (rc == TM_OK)
        rc = tm_buf_adds(b, verb);
    if (rc == TM_OK)
        rc = ddl_seq_name(b, c, *name);
    const char *dt = ddl_txt(c, "dataType");
    if (rc == TM_OK && dt)
        rc = tm_buf_addf(b, " AS %s", dt);
    for (size_t i = start_with ? 0 : 1; i < 4 && rc == TM_OK; i++) {
        const char *v = ddl_txt(c, opts[i][0]);
        if (v)
            rc = tm_buf_addf(b, "%s%s", opts[i][1], v);
    }
    const char *cache = ddl_txt(c, "cacheSize");
    if (rc == TM_OK && cache)
        rc = tm_buf_addf(b, " CACHE %s", strcmp(cache, "0") == 0 ? "1" : cache);
    return rc;
}

enum tm_code ddl_compile_create_sequence(struct ddl_cx *c)
{
    const char *s = NULL;
    /* "  IF NOT EXISTS": two blanks, as 4.33 writes it */
    enum tm_code rc = sequence_head(c, "CREATE SEQUENCE  IF NOT EXISTS ", true, &s);
    if (rc == TM_OK && ddl_flag(c->n, "cycle"))
        rc = tm_buf_adds(&c->sql, " CYCLE");
    if (rc == TM_OK) {
        c->has_rb = true;
        rc = tm_buf_adds(&c->rb, "DROP SEQUENCE ");
        if (rc == TM_OK)
            rc = ddl_seq_name(&c->rb, c, s);
        if (rc == TM_OK)
            rc = tm_buf_adds(&c->rb, " CASCADE"); /* DropSequenceGenerator */
    }
    return rc;
}

enum tm_code ddl_compile_alter_sequence(struct ddl_cx *c)
{
    const char *s = NULL;
    enum tm_code rc = sequence_head(c, "ALTER SEQUENCE ", false, &s);
    const char *v = ddl_txt(c, "cycle");
    if (rc == TM_OK && v)
        rc = tm_buf_adds(&c->sql, strcasecmp(v, "true") == 0 ? " CYCLE " : " NO CYCLE ");
    return rc;
}

enum tm_code ddl_compile_drop_sequence(struct ddl_cx *c)
{
    const char *s = NULL;
    enum tm_code rc = ddl_need(c, "sequenceName", &s);
    if (rc == TM_OK)
        rc = tm_buf_adds(&c->sql, "DROP SEQUENCE ");
    if (rc == TM_OK)
        rc = ddl_seq_name(&c->sql, c, s);
    return rc == TM_OK ? tm_buf_adds(&c->sql, " CASCADE") : rc;
}

enum tm_code ddl_compile_rename_sequence(struct ddl_cx *c)
{
    const char *o = NULL, *nw = NULL;
    enum tm_code rc = ddl_need2(c, "oldSequenceName", &o, "newSequenceName", &nw);
    for (int pass = 0; pass < 2 && rc == TM_OK; pass++) {
        struct tm_buf *b = pass ? &c->rb : &c->sql;
        rc = tm_buf_adds(b, "ALTER SEQUENCE ");
        if (rc == TM_OK)
            rc = ddl_seq_name(b, c, pass ? nw : o);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, " RENAME TO ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, pass ? o : nw);
    }
    c->has_rb = rc == TM_OK;
    return rc;
}

enum tm_code ddl_compile_empty(struct ddl_cx *c)
{
    c->has_rb = true; /* EmptyChange.createInverses: an empty change */
    return TM_OK;
}

enum tm_code ddl_compile_output(struct ddl_cx *c)
{
    c->has_rb = true; /* OutputChange.createInverses: nothing to undo */
    return TM_OK;
}

/* ---- registry ------------------------------------------------------------------ */

struct ddl_type {
    const char *name;
    const struct chlog_schema *schema;
    enum tm_code (*fn)(struct ddl_cx *c);
};

static const struct ddl_type ddl_types[] = {
    {"createTable", &s_create_table, ddl_compile_create_table},
    {"addColumn", &s_add_column, ddl_compile_add_column},
    {"createIndex", &s_create_index, ddl_compile_create_index},
    {"addForeignKeyConstraint", &s_add_fk, ddl_compile_add_fk},
    {"setColumnRemarks", &s_set_column_remarks, ddl_compile_set_column_remarks},
    {"modifyDataType", &s_modify_data_type, ddl_compile_modify_data_type},
    {"dropColumn", &s_drop_column, ddl_compile_drop_column},
    {"addPrimaryKey", &s_add_pk, ddl_compile_add_pk},
    {"addUniqueConstraint", &s_add_unique, ddl_compile_add_unique},
    {"addNotNullConstraint", &s_add_not_null, ddl_compile_add_not_null},
    {"dropTable", &s_drop_table, ddl_compile_drop_table},
    {"renameColumn", &s_rename_column, ddl_compile_rename_column},
    {"dropNotNullConstraint", &s_drop_not_null, ddl_compile_drop_not_null},
    {"createView", &s_create_view, ddl_compile_create_view},
    {"dropForeignKeyConstraint", &s_drop_fk, ddl_compile_drop_fk},
    {"dropIndex", &s_drop_index, ddl_compile_drop_index},
    {"setTableRemarks", &s_set_table_remarks, ddl_compile_set_table_remarks},
    {"dropDefaultValue", &s_drop_default, ddl_compile_drop_default},
    {"renameTable", &s_rename_table, ddl_compile_rename_table},
    {"dropPrimaryKey", &s_drop_pk, ddl_compile_drop_pk},
    {"dropUniqueConstraint", &s_drop_unique, ddl_compile_drop_unique},
    {"createSequence", &s_create_sequence, ddl_compile_create_sequence},
    {"addDefaultValue", &s_add_default, ddl_compile_add_default},
    {"addAutoIncrement", &s_add_auto_increment, ddl_compile_add_auto_increment},
    {"dropSequence", &s_drop_sequence, ddl_compile_drop_sequence},
    {"dropView", &s_drop_view, ddl_compile_drop_view},
    {"alterSequence", &s_alter_sequence, ddl_compile_alter_sequence},
    {"renameSequence", &s_rename_sequence, ddl_compile_rename_sequence},
    {"empty", &s_empty, ddl_compile_empty},
    {"output", &s_output, ddl_compile_output},
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
static enum tm_code view_checksum(const char *q, char sum[40], struct tm_err *err)
{
    char qh[33];
    enum tm_code rc = chlog_md5_sql_hex(q, qh);
    if (rc == TM_OK)
        rc = chlog_checksum_of_parts(sum, qh, sum);
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
    const struct ddl_type *ty = find_type(node->name);
    if (!ty)
        return chlog_ld_fail(err, TM_E_INVAL, node->file, node->line, 0,
                             "unknown change type '%s'", node->name);
    enum tm_code rc = chlog_schema_check(env ? env->ld : NULL, node, ty->schema, err);
    if (rc != TM_OK)
        return rc;
    struct ddl_cx c = {.env = env, .n = node, .type = ty->name, .err = err};
    tm_buf_init(&c.sql, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&c.rb, TM_CAP_CHANGELOG_FILE);
    rc = ty->fn(&c);
    if (rc == TM_OK && ty->fn == ddl_compile_add_fk && ddl_flag(node, "deleteCascade") &&
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
    if (rc == TM_OK && ty->fn == ddl_compile_create_view)
        rc = view_checksum(c.view_query, ch->checksum_v9, err);
    ddl_trim_tail(&c.sql);
    ddl_trim_tail(&c.rb);
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
    free(c.view_query);
    return rc;
}
