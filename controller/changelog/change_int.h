/* change_int: what the structured-change compilers share inside
 * controller/changelog/ (change.c, change_ddl.c, change_data.c, ...).
 *
 * Not part of the module's interface (change.h is).  Four helper groups, each
 * following the Liquibase 4.33.0 class cited, for PostgreSQL with Liquibase's
 * defaults (objectQuotingStrategy LEGACY, no defaultSchemaName):
 *   - identifiers:  PostgresDatabase / AbstractJdbcDatabase escape*Name
 *   - data types:   DataTypeFactory + liquibase/datatype/core/ *Type.java
 *   - values:       ColumnConfig value attributes -> SQL literals
 *                   (LiquibaseDataType.objectToSql for the Java object the
 *                   attribute becomes)
 *   - checksums:    StringChangeLogSerializer + CheckSum.compute (v9), driven
 *                   by a per-change field schema that also validates
 *                   attributes (an unknown one is an error naming it).
 * Every appending helper writes into a caller-owned struct tm_buf; on failure
 * the buffer is left as tm_buf leaves it (released) and err says why.
 *
 * Schema qualification: when no schemaName is given Liquibase writes the
 * connection's default schema ("public.t"); tidemark compiles without a
 * connection and writes the bare name, which PostgreSQL resolves to the same
 * current_schema().  Everything else is meant to be byte-identical. */
#ifndef TM_CHANGELOG_CHANGE_INT_H
#define TM_CHANGELOG_CHANGE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "changelog/change.h"
#include "changelog/node.h"
#include "common/buf.h"
#include "common/err.h"

/* ---- Data changes (change_data.c) ----------------------------------------
 * insert, update, delete, loadData, loadUpdateData.  change.c dispatches a
 * type to chlog_change_data_compile() when chlog_change_data_handles() says
 * so; the contract is chlog_change_compile()'s (change.h). */
bool chlog_change_data_handles(const char *type);
enum tm_code chlog_change_data_compile(const struct chlog_change_env *env,
                                       const struct chlog_node *node, struct chlog_change *ch,
                                       struct tm_err *err) TM_MUST_CHECK;

/* ---- DDL changes (change_ddl.c) -----------------------------------------
 * createTable, addColumn, createIndex, ... (the list in change_ddl.c); same
 * contract as the data changes above. */
bool chlog_change_ddl_handles(const char *type);
enum tm_code chlog_change_ddl_compile(const struct chlog_change_env *env,
                                      const struct chlog_node *node, struct chlog_change *ch,
                                      struct tm_err *err) TM_MUST_CHECK;

/* ---- Identifiers (change_sql.c) ------------------------------------------
 * PostgresDatabase.escapeObjectName (LEGACY): a name with both upper and lower
 * case letters is quoted; otherwise AbstractJdbcDatabase.mustQuoteObjectName:
 * quoted when it contains '-', starts with a digit, is one of PostgreSQL's
 * reserved words (PostgresDatabase reservedWords, case-insensitive) or holds
 * a character outside [A-Za-z0-9_] (then '"' is doubled; the mixed-case
 * branch quotes as is).  An unquoted name is trimmed.  Case is kept as
 * written (no lowercasing). */
bool chlog_sql_must_quote(const char *name);
/* One of PostgreSQL's reserved words as PostgresDatabase lists them
 * (case-insensitive); precond.c's correctObjectName reads the same list. */
bool chlog_sql_is_reserved(const char *name);
enum tm_code chlog_sql_add_name(struct tm_buf *b, const char *name) TM_MUST_CHECK;

/* escapeTableName/escapeIndexName/escapeSequenceName/escapeViewName:
 * "schema.name" (each part through chlog_sql_add_name) when schema is set
 * (trimmed, non-empty), else the bare name.  catalog is ignored, as
 * PostgreSQL supportsCatalogInObjectName() is false. */
enum tm_code chlog_sql_add_table(struct tm_buf *b, const char *catalog, const char *schema,
                                 const char *name) TM_MUST_CHECK;

/* escapeColumnName(..., quoteNamesThatMayBeFunctions): a name holding '('
 * is written as is (or quoted when quote_functions); else chlog_sql_add_name. */
enum tm_code chlog_sql_add_column(struct tm_buf *b, const char *name, bool quote_functions)
    TM_MUST_CHECK;

/* escapeColumnNameList: "a, b DESC" - splits on ',', trims, keeps a trailing
 * " DESC" (dropping " ASC"), names through chlog_sql_add_name. */
enum tm_code chlog_sql_add_column_list(struct tm_buf *b, const char *names) TM_MUST_CHECK;

/* Appends s as a string literal: '...' with ' doubled
 * (AbstractJdbcDatabase.escapeStringForDatabase). */
enum tm_code chlog_sql_add_string(struct tm_buf *b, const char *s) TM_MUST_CHECK;

/* ---- Data types (change_types.c) -----------------------------------------
 * How a value of a column type is written as a literal (the LiquibaseDataType
 * class DataTypeFactory picked). */
enum chlog_type_kind {
    CHLOG_TYPE_OTHER = 0, /* UnknownType: values quoted as strings */
    CHLOG_TYPE_NUMERIC,   /* int, bigint, smallint, tinyint, decimal, number, float,
                             double, real, currency: values written as is */
    CHLOG_TYPE_BOOLEAN,   /* boolean/bit: TRUE/FALSE */
    CHLOG_TYPE_STRING,    /* char, varchar, nvarchar, text, clob */
    CHLOG_TYPE_DATE,      /* date */
    CHLOG_TYPE_TIME,      /* time */
    CHLOG_TYPE_DATETIME,  /* datetime, timestamp */
    CHLOG_TYPE_BLOB,      /* blob, bytea, binary */
    CHLOG_TYPE_UUID,      /* uuid: values written as is (UUIDType has no quoting) */
    CHLOG_TYPE_XML,       /* xml: xml '...' */
};

/* The PostgreSQL type Liquibase writes for type as written in a changelog
 * (DataTypeFactory.fromDescription(type + autoIncrement) then
 * toDatabaseDataType(PostgresDatabase)): e.g. "int" -> INTEGER, "datetime" ->
 * TIMESTAMP WITHOUT TIME ZONE, "varchar(255)" -> VARCHAR(255), "boolean" ->
 * BOOLEAN, "java.sql.Types.VARCHAR(10)" -> VARCHAR(10); with auto_increment
 * int/bigint/smallint become INTEGER/BIGINT/SMALLINT (the identity clause is
 * the generator's, see chlog_sql_add_auto_increment); unknown types are
 * written as given.  *kind (NULL ok) gets the kind for value literals.
 * TM_E_INVAL only for an empty type. */
enum tm_code chlog_sql_add_type(struct tm_buf *b, const char *type, bool auto_increment,
                                enum chlog_type_kind *kind, struct tm_err *err) TM_MUST_CHECK;

/* The kind of a type without writing it (CHLOG_TYPE_OTHER for NULL). */
enum chlog_type_kind chlog_type_kind_of(const char *type);

/* True when the type itself asks for an identity column (serial, bigserial,
 * smallserial, "int identity", "{autoIncrement:true}"). */
bool chlog_type_is_auto_increment(const char *type);

/* AbstractJdbcDatabase.getAutoIncrementClause for PostgreSQL >= 10, as
 * CreateTableGenerator and AddColumnGenerator write it (no leading blank):
 * "GENERATED BY DEFAULT AS IDENTITY" ("GENERATED <generationType> AS
 * IDENTITY" when given), then " (START WITH n INCREMENT BY m)" with only the
 * options that are set and differ from 1. */
enum tm_code chlog_sql_add_auto_increment(struct tm_buf *b, const char *generation_type,
                                          const char *start_with, const char *increment_by)
    TM_MUST_CHECK;

/* ---- Values (change_sql.c) -----------------------------------------------
 * A ColumnConfig carries at most one value under a prefix ("value" or
 * "defaultValue"): prefix, prefixNumeric, prefixBoolean, prefixDate,
 * prefixComputed, prefixSequenceNext, prefixSequenceCurrent (value only),
 * valueBlobFile/valueClobFile (data changes read those themselves). */
enum chlog_value_kind {
    CHLOG_VALUE_NONE = 0,
    CHLOG_VALUE_STRING,   /* value / defaultValue */
    CHLOG_VALUE_NUMERIC,  /* valueNumeric (a number; text not a number = computed) */
    CHLOG_VALUE_BOOLEAN,  /* valueBoolean: true only when "true" (Boolean.valueOf: "1"
                             is false); text other than chlog_bool_text_ok() is
                             TM_E_INVAL */
    CHLOG_VALUE_DATE,     /* valueDate (ISO date/time; other text = computed) */
    CHLOG_VALUE_COMPUTED, /* valueComputed: SQL written as is */
    CHLOG_VALUE_SEQ_NEXT, /* valueSequenceNext: nextval('seq') */
    CHLOG_VALUE_SEQ_CURRENT, /* valueSequenceCurrent: currval('seq') */
    CHLOG_VALUE_NULL,     /* the attribute is present with no text (YAML null) */
};

struct chlog_value {
    enum chlog_value_kind kind;
    const char *text;              /* borrowed from the node; NULL for NONE/NULL */
    const struct chlog_node *node; /* the attribute node, for errors; NULL for NONE */
};

/* Reads the value col holds under prefix ("value" or "defaultValue").
 * Two of them set is TM_E_INVAL naming both (file:line). */
enum tm_code chlog_value_get(const struct chlog_node *col, const char *prefix,
                             struct chlog_value *v, struct tm_err *err) TM_MUST_CHECK;

/* A Boolean attribute's text Liquibase's XSD accepts: true, false, 1, 0 (any
 * case) or an unexpanded ${property}.  ParsedNode reads it with
 * Boolean.valueOf: only "true" is true. */
bool chlog_bool_text_ok(const char *text);

/* Whether text is what ColumnConfig accepts as valueNumeric (NumberFormat,
 * Locale.US, "(...)" stripped) / as valueDate (ISODateFormat.parse); text
 * that is not becomes valueComputed in Liquibase. */
bool chlog_value_is_number(const char *text);
bool chlog_value_is_date(const char *text);

/* The ISO form Liquibase's ISODateFormat gives a date attribute (valueDate,
 * defaultValueDate): "yyyy-MM-dd", "HH:mm:ss" or "yyyy-MM-ddTHH:mm:ss[.f]"
 * (a blank becomes 'T', a zero fraction is dropped, trailing zeros of a
 * fraction too).  A plain YAML scalar yyyy-MM-dd is a YAML timestamp to
 * SnakeYAML, i.e. a date time at midnight: "yyyy-MM-ddT00:00:00". */
void chlog_iso_date(const struct chlog_node *attr, char out[64]);

/* Appends v as SQL for a column whose type is of kind (pass
 * CHLOG_TYPE_OTHER when the type is unknown, as InsertGenerator does: then
 * the literal follows the value's own kind):
 *   STRING    quoted 'x' (' doubled); for a NUMERIC/BOOLEAN column the text
 *             as LiquibaseDataType.objectToSql writes it (numbers bare,
 *             booleans TRUE/FALSE); "NULL" (any case) -> NULL;
 *   NUMERIC   as written; BOOLEAN -> TRUE/FALSE; DATE -> 'text' (ISO, as
 *             written, normalised the way Liquibase's date types do);
 *   COMPUTED  as written; SEQ_NEXT -> nextval('name'), SEQ_CURRENT ->
 *             currval('name'); NULL -> NULL. */
enum tm_code chlog_value_sql(struct tm_buf *b, const struct chlog_value *v,
                             enum chlog_type_kind kind, struct tm_err *err) TM_MUST_CHECK;

/* ---- Attribute schemas and the v9 checksum (change_ser.c) ----------------
 * A schema lists the fields of a Liquibase change (or nested object) with
 * the Java type of the property, which decides how it serialises:
 * StringChangeLogSerializer writes  name:[\n<fields sorted>\n<indent>]  with
 * one line per non-null field  name="value"  (Boolean/Integer/BigInteger
 * through toString(): "true", "5"; a string as written), a nested object
 * without its name, and a list as  name=[\n<items>,\n...]. */
enum chlog_field_kind {
    CHLOG_FIELD_STRING = 0, /* String (written as given) */
    CHLOG_FIELD_BOOL,       /* Boolean: "true"/"false" (case-insensitive input) */
    CHLOG_FIELD_INT,        /* Integer/BigInteger: decimal text */
    CHLOG_FIELD_NUMBER,     /* valueNumeric-style Number: parsed like Liquibase */
    CHLOG_FIELD_DATE,       /* valueDate: ISODateFormat of the parsed date */
    CHLOG_FIELD_OBJECT,     /* a nested object (sub), serialised without its name */
    CHLOG_FIELD_LIST,       /* a list of objects (sub) named item, wrapper wraps them */
    CHLOG_FIELD_IGNORED,    /* accepted, never serialised (excluded fields) */
};

struct chlog_schema;

struct chlog_field {
    const char *name;                /* attribute / element / list property name */
    enum chlog_field_kind kind;
    const struct chlog_schema *sub;  /* OBJECT/LIST */
    const char *item;                /* LIST: element name of one item ("column") */
};

struct chlog_schema {
    const char *name;                /* serialised object name ("createTable", "column") */
    const struct chlog_field *fields;
    size_t nfields;
    const char *text_field;          /* field that holds the element's text (XML body:
                                        createView selectQuery, where), NULL if none */
};

/* Shared nested schemas: ColumnConfig ("column", with "constraints"),
 * AddColumnConfig (+ position, afterColumn, beforeColumn), LoadDataColumnConfig
 * (+ header, index), ConstraintsConfig. */
extern const struct chlog_schema chlog_schema_column;
extern const struct chlog_schema chlog_schema_add_column;
extern const struct chlog_schema chlog_schema_load_column;
extern const struct chlog_schema chlog_schema_constraints;

/* AbstractChange.load: a list wrapper ("columns") without any item child
 * ("column") is itself one item - YAML written `columns: {name: x, ...}`
 * (jade-data-repo does).  Calls fn for every item of the LIST field named
 * wrapper/item under node, in document order, that way. */
enum tm_code chlog_list_each(const struct chlog_node *node, const char *item, const char *wrapper,
                             enum tm_code (*fn)(const struct chlog_node *kid, void *arg),
                             void *arg) TM_MUST_CHECK;

/* Checks every child of node against s (recursively into OBJECT/LIST
 * fields): an unknown attribute or element is TM_E_INVAL
 * "file:line: <change>: unknown attribute 'x'" in XML (Liquibase validates
 * XML against its XSD); in YAML and JSON, which Liquibase reads without a
 * schema and where it ignores what no property reads, it is a warning added
 * through ld (NULL ld: always an error).  A BOOL/INT field that does not
 * parse is TM_E_INVAL in every format. */
enum tm_code chlog_schema_check(struct chlog_ld *ld, const struct chlog_node *node,
                                const struct chlog_schema *s,
                                struct tm_err *err) TM_MUST_CHECK;

/* "9:<md5>" of StringChangeLogSerializer.serialize(node as s) through
 * CheckSum.compute (line endings standardised).  ColumnConfig-like schemas
 * (those with valueComputed) also follow ColumnConfig.load: an unparsable
 * valueNumeric/valueDate is hashed as valueComputed, valueDate adds
 * rawDateValue.  Change-specific quirks (createView's query, addFK's
 * deleteCascade) are the caller's. */
enum tm_code chlog_schema_checksum(const struct chlog_node *node, const struct chlog_schema *s,
                                   char out[40], struct tm_err *err) TM_MUST_CHECK;


/* Division of work: chlog_change_compile() (change.c) validates nothing
 * itself; it sets ch->kind = CHLOG_CHANGE_STRUCT and ch->type, then calls the
 * type's compiler, which fills ch->sql, ch->rollback_auto (NULL when none)
 * and ch->checksum_v9.  On failure change.c frees whatever was set. */

#endif
