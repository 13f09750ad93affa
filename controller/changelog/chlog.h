/* chlog: the one model every changelog format is parsed into.
 *
 * A changelog is an ordered list of changesets.  Each has Liquibase's
 * identity (id, author, filename — FILENAME exactly as Liquibase writes it),
 * its changes (SQL text after ${property} substitution), rollback SQL, and
 * attributes.  A tag is attached to the changeset whose history row carries
 * it (Liquibase `tagDatabase`; for Flyway every version is a tag), so "the
 * database is at tag T" means: every changeset up to and including the one
 * tagged T is applied, and none after it.
 *
 * Ownership: a struct chlog owns everything reachable from it; chlog_free()
 * releases it all.  Parsers build it; the engine and reconcilers only read
 * it (const).  Files are read through struct chlog_fs so that the same
 * parsers serve a folder on disk (CLI, Git checkout) and an in-memory file
 * map (inline DBSchema, ConfigMap). */
#ifndef TM_CHANGELOG_CHLOG_H
#define TM_CHANGELOG_CHLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum chlog_format {
    CHLOG_FORMAT_LIQUIBASE_YAML = 0,
    CHLOG_FORMAT_LIQUIBASE_SQL,  /* formatted SQL */
    CHLOG_FORMAT_FLYWAY,         /* a folder of V/U/R files */
};

enum chlog_change_kind {
    CHLOG_CHANGE_SQL = 0,  /* `sql:` or a formatted-SQL changeset body */
    CHLOG_CHANGE_SQL_FILE, /* `sqlFile:` (sql holds the file's text) */
    CHLOG_CHANGE_TAG,      /* `tagDatabase:` */
};

struct chlog_change {
    enum chlog_change_kind kind;
    char *sql;            /* SQL text to run (SQL, SQL_FILE); NULL for TAG */
    char *path;           /* SQL_FILE: path as written in the changelog */
    char *tag;            /* TAG: the tag name */
    bool split_statements;/* default true */
    bool strip_comments;  /* default false */
    char *end_delimiter;  /* NULL = ";" */
};

enum chlog_on_fail { CHLOG_ONFAIL_HALT = 0, CHLOG_ONFAIL_CONTINUE, CHLOG_ONFAIL_MARK_RAN, CHLOG_ONFAIL_WARN };

struct chlog_precondition {
    char *sql;            /* sqlCheck: a query returning one value */
    char *expected;       /* expectedResult, compared as text */
    enum chlog_on_fail on_fail;
};

struct chlog_changeset {
    char *id;
    char *author;
    char *filename;       /* FILENAME as Liquibase writes it (or Flyway script name) */
    char *comment;        /* NULL when none */
    char *contexts;       /* context/contextFilter expression, NULL when none */
    char *labels;         /* NULL when none */
    char *dbms;           /* NULL when any */
    struct chlog_change *changes;
    size_t nchanges;
    char *rollback_sql;   /* NULL: no rollback given; "" : explicitly empty rollback */
    bool has_rollback;    /* a rollback was declared (even an empty one) */
    bool run_on_change;
    bool run_always;
    bool run_in_transaction; /* default true */
    bool fail_on_error;      /* default true */
    struct chlog_precondition *precondition; /* NULL when none */
    char **valid_checksums;  /* validCheckSum values ("ANY" allowed) */
    size_t nvalid_checksums;
    const char *tag;      /* borrowed from a TAG change of this changeset, NULL if none */
    char checksum[64];    /* "9:<md5hex>" (Liquibase v9) or Flyway CRC32 as decimal text */
    int line;             /* 1-based line of the changeset in filename, 0 if unknown */
    /* Flyway only */
    char *version;        /* "1.2" for V1_2__x.sql; NULL for repeatables */
    char *description;    /* Flyway description ("create orders") */
};

struct chlog {
    enum chlog_format format;
    struct chlog_changeset *sets; /* in changelog order */
    size_t nsets;
    char *entry;          /* the entry file or folder as given */
};

/* How parsers read files.  Paths are '/'-separated and relative to the
 * changelog root.  read: *data (NUL-terminated, malloc'd, caller frees) and
 * *len.  list: the names (not paths) of the regular files and folders directly
 * inside dir ("" = root), sorted bytewise; caller frees each and the array. */
struct chlog_fs {
    void *ctx;
    enum tm_code (*read)(void *ctx, const char *path, char **data, size_t *len, struct tm_err *err);
    enum tm_code (*list)(void *ctx, const char *dir, char ***names, size_t *n, struct tm_err *err);
    bool (*is_dir)(void *ctx, const char *path);
};

/* Frees a changelog and everything it owns. NULL ok. */
void chlog_free(struct chlog *c);

/* Index of the changeset carrying tag, or -1 when no changeset carries it.
 * When a tag appears more than once, the first (oldest) wins, as in Liquibase. */
long chlog_find_tag(const struct chlog *c, const char *tag);

#endif
