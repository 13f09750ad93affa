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
    CHLOG_FORMAT_LIQUIBASE_XML,
    CHLOG_FORMAT_LIQUIBASE_JSON,
};

enum chlog_change_kind {
    CHLOG_CHANGE_SQL = 0,  /* `sql:` or a formatted-SQL changeset body */
    CHLOG_CHANGE_SQL_FILE, /* `sqlFile:` (sql holds the file's text) */
    CHLOG_CHANGE_TAG,      /* `tagDatabase:` */
    CHLOG_CHANGE_STRUCT,   /* a structured change (createTable, insert, ...) compiled
                              to PostgreSQL SQL by change.c: type, sql, checksum_v9,
                              rollback_auto */
};

struct chlog_change {
    enum chlog_change_kind kind;
    char *sql;            /* SQL text to run (SQL, SQL_FILE); NULL for TAG */
    char *path;           /* SQL_FILE: path as written in the changelog */
    char *tag;            /* TAG: the tag name */
    bool split_statements;/* default true */
    bool strip_comments;  /* default false */
    char *end_delimiter;  /* NULL = ";" */
    char *dbms;           /* change-level dbms filter (YAML sql/sqlFile), NULL = any */
    int line;             /* 1-based line of the change in its file, 0 if unknown */
    char *raw_sql;        /* SQL_FILE: the file's text before ${} expansion (what the
                             v9 checksum hashes since Liquibase 4.26); NULL otherwise */
    /* STRUCT only (append-only): */
    char *type;           /* Liquibase change name ("createTable") */
    char *rollback_auto;  /* SQL of Liquibase's automatic rollback of this change;
                             NULL when Liquibase derives none */
    char checksum_v9[40]; /* "9:<md5>" of Liquibase's serialisation of the change */
    char *description;    /* Liquibase's getDescription() ("createTable tableName=t",
                             "sqlFile path=x.sql"); NULL = the kind's name */
};

enum chlog_on_fail { CHLOG_ONFAIL_HALT = 0, CHLOG_ONFAIL_CONTINUE, CHLOG_ONFAIL_MARK_RAN, CHLOG_ONFAIL_WARN };

/* What one precondition node is (precond.c compiles Liquibase's
 * preConditions into a tree of these; the engine walks it with Liquibase's
 * short-circuits: and stops at the first failure, or at the first pass, not
 * needs every kid to fail; an error (a query that fails) ends the walk). */
enum chlog_precond_kind {
    CHLOG_PRECOND_CHECK = 0, /* sql (with params) -> its first value equals expected */
    CHLOG_PRECOND_AND,       /* every kid passes (a preConditions element is one) */
    CHLOG_PRECOND_OR,        /* one kid passes */
    CHLOG_PRECOND_NOT,       /* every kid fails */
    CHLOG_PRECOND_CONST,     /* decided when compiled (dbms): const_pass */
    CHLOG_PRECOND_EXECUTED,  /* changeSetExecuted: the engine looks in its history table */
};

struct chlog_precondition {
    char *sql;            /* sqlCheck: a query returning one value */
    char *expected;       /* expectedResult, compared as text */
    enum chlog_on_fail on_fail;
    /* Appended for the full precondition set (precond.c); all zero for a
     * lone sqlCheck (kind CHECK, onError HALT).  Free with chlog_precond_free. */
    enum chlog_precond_kind kind;
    enum chlog_on_fail on_error;   /* onError (HALT, CONTINUE, MARK_RAN, WARN) */
    bool container;                /* a preConditions element: its onFail/onError WARN
                                      and messages apply where it sits (nested too) */
    char *on_fail_message;         /* onFailMessage / onErrorMessage, NULL when none */
    char *on_error_message;
    char *what;                    /* "file:line: Table public.t does not exist": what
                                      to say when this node fails; NULL = generic */
    bool report_value;             /* CHECK: append "expected 'x' got 'y'" on failure */
    char **params;                 /* CHECK: $1..$n (an element NULL = SQL NULL) */
    size_t nparams;
    struct chlog_precondition *kids; /* AND, OR, NOT: in document order */
    size_t nkids;
    bool const_pass;               /* CONST */
    char *cs_id;                   /* EXECUTED: the changeset looked for; cs_file NULL = */
    char *cs_author;               /* the changelog's own FILENAME (the changeset's, or */
    char *cs_file;                 /* the entry's for a changelog-level precondition) */
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
    /* Added by the parsers' owner (append-only): */
    char *own_tag;        /* owned tag when no TAG change carries it (formatted-SQL
                             `--tag` extension, Flyway version); `tag` then points here */
    char *path;           /* the file the changeset was read from, '/'-separated and
                             relative to the fs root (FILENAME may differ: it is
                             written as Liquibase writes it) */
    char checksum_legacy[64]; /* the v9 checksum Liquibase < 4.26 wrote when it
                                 differs (sqlFile text with ${} expanded), else "" */
    /* Flyway (appended): the script holds ALTER TYPE ... ADD VALUE, which
     * Flyway runs outside a transaction on PostgreSQL < 12 only (the engine
     * decides by the server's version; run_in_transaction is false when a
     * statement always needs it). */
    bool no_tx_below_pg12;
    /* The include- and changelog-level contexts and labels above this
     * changeset, innermost first (contexts/labels hold its own only);
     * engine/select.c combines them as Liquibase's getInheritable*(). */
    char **inherited_contexts;
    size_t ninherited_contexts;
    char **inherited_labels;
    size_t ninherited_labels;
};

struct chlog {
    enum chlog_format format;
    struct chlog_changeset *sets; /* in changelog order */
    size_t nsets;
    char *entry;          /* the entry file or folder as given */
    /* Appended: */
    struct chlog_precondition *precondition; /* changelog-level preConditions (all files'
                                                 joined by AND), NULL when none */
    char **warnings;      /* "file:line: what was tolerated" (quirks Liquibase ignores) */
    size_t nwarnings;
    size_t cap_sets;      /* allocated length of sets (chlog_add_set) */
    /* Flyway settings the engine needs (flyway_conf.c; "" = not set): */
    char flyway_schema[128];       /* default schema: holds the history table and leads
                                      search_path; "" = the connection's (public) */
    char flyway_schemas[512];      /* schemas Flyway manages, comma-separated as given; the
                                      missing ones are created with the history table */
    char flyway_table[128];        /* history table name (default flyway_schema_history) */
    char flyway_installed_by[101]; /* installed_by; "" = the database user */
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

/* ---- Properties: ${name} substitution ------------------------------------
 * A small ordered map.  chlog_load() copies the caller's properties first;
 * `property` entries of the changelog do not override them (Liquibase: a
 * property, once set, keeps its first value).  Unknown ${x} stay as written. */
struct chlog_prop {
    char *name;
    char *value;
};

struct chlog_props {
    struct chlog_prop *items;
    size_t n;
    size_t alloc;
};

/* Empty map; cannot fail, allocates nothing. */
void chlog_props_init(struct chlog_props *p);
/* Sets name to value (copies both), replacing an existing value. */
enum tm_code chlog_props_set(struct chlog_props *p, const char *name, const char *value,
                             struct tm_err *err) TM_MUST_CHECK;
/* Value of name, or NULL (borrowed until the next change of p). */
const char *chlog_props_get(const struct chlog_props *p, const char *name);
/* Frees everything; p is left empty and reusable. NULL ok. */
void chlog_props_release(struct chlog_props *p);

/* ---- File systems -------------------------------------------------------- */

/* A folder on disk.  Every path is resolved below root: '..' that would leave
 * it, absolute paths, and symlinks that point outside root are refused.
 * list() leaves out hidden entries (".git", ".editorconfig") and anything
 * that is not a file, folder or symlink.
 * Files larger than TM_CAP_CHANGELOG_FILE fail with TM_E_TOOBIG.
 * Returns TM_E_NOMEM only; release with chlog_fs_disk_release(). */
enum tm_code chlog_fs_disk_init(struct chlog_fs *fs, const char *root) TM_MUST_CHECK;
void chlog_fs_disk_release(struct chlog_fs *fs);

/* An in-memory map path -> content (inline DBSchema files, ConfigMap keys,
 * tests).  Folders are implied by the paths.  _add copies path and data;
 * it refuses paths that escape the root (TM_E_INVAL), a path added twice
 * (TM_E_INVAL), a file over TM_CAP_CHANGELOG_FILE or a total over
 * TM_CAP_CHANGELOG_TOTAL (TM_E_TOOBIG).  On failure the map is unchanged. */
enum tm_code chlog_fs_mem_init(struct chlog_fs *fs) TM_MUST_CHECK;
enum tm_code chlog_fs_mem_add(struct chlog_fs *fs, const char *path, const char *data,
                              size_t len, struct tm_err *err) TM_MUST_CHECK;
void chlog_fs_mem_release(struct chlog_fs *fs);

/* A view of inner with its root placed at the folder prefix (a clean
 * relative path such as "db/changelog"): "db/changelog/x.yaml" reads inner's
 * "x.yaml"; the folders leading to prefix list only the next segment; any
 * other path is not found.  inner must outlive fs.  TM_E_INVAL for an empty
 * or escaping prefix, TM_E_NOMEM.  Release with chlog_fs_mount_release(). */
enum tm_code chlog_fs_mount_init(struct chlog_fs *fs, const struct chlog_fs *inner,
                                 const char *prefix, struct tm_err *err) TM_MUST_CHECK;
void chlog_fs_mount_release(struct chlog_fs *fs);

/* The one file walker (includeAll, Flyway locations, content revisions):
 * every file below dir ("" = root), recursively, as paths from the root,
 * sorted bytewise.  opt NULL = every file at any depth; else a file directly
 * in dir has depth 1 and is kept when min_depth <= depth, and folders are
 * entered while their files' depth stays <= max_depth; keep (NULL = all)
 * filters by path.  Folders nested deeper than CHLOG_WALK_MAX_DEPTH fail
 * with TM_E_INVAL.  Free *paths with chlog_paths_free(). */
#define CHLOG_WALK_MAX_DEPTH 32
struct chlog_walk {
    int min_depth;
    int max_depth;
    bool (*keep)(const char *path, void *arg);
    void *arg;
};
enum tm_code chlog_fs_walk(const struct chlog_fs *fs, const char *dir, const struct chlog_walk *opt,
                           char ***paths, size_t *n, struct tm_err *err) TM_MUST_CHECK;
void chlog_paths_free(char **paths, size_t n);

/* Normalises a relative '/'-separated path: drops "" and "." segments,
 * resolves "..".  *out is malloc'd ("" for the root).  TM_E_INVAL when the
 * path is absolute or climbs above the root. */
enum tm_code chlog_path_clean(const char *path, char **out, struct tm_err *err) TM_MUST_CHECK;

/* sha256 (lowercase hex, 64 chars + NUL) over every file below dir ("" =
 * all) taken in bytewise path order: for each file, its path, a NUL, its
 * length in decimal, a NUL, then its bytes.  DBSchema status.revision for
 * sources that have no Git commit. */
enum tm_code chlog_revision(const struct chlog_fs *fs, const char *dir, char out[65],
                            struct tm_err *err) TM_MUST_CHECK;

/* ---- Loading -------------------------------------------------------------
 * Detects the format of entry and parses it (with its includes):
 *   - a folder holding V<ver>__<desc>.sql files: Flyway;
 *   - a file whose first non-blank line is `--liquibase formatted sql`;
 *   - a .yaml/.yml file: Liquibase YAML.
 * props (NULL ok) are extra ${name} properties.  Computes every checksum and
 * validates identities (no duplicate id+author+filename, no empty id or
 * author).  On success *out owns the changelog (chlog_free); on failure *out
 * is NULL and err says "file:line[:col]: what was expected".  Codes:
 * TM_E_PARSE (syntax), TM_E_INVAL (bad value, duplicate, escaping path),
 * TM_E_NOTFOUND (missing file), TM_E_TOOBIG (caps), TM_E_IO, TM_E_NOMEM. */
enum tm_code chlog_load(const struct chlog_fs *fs, const char *entry,
                        const struct chlog_props *props, struct chlog **out,
                        struct tm_err *err) TM_MUST_CHECK;

/* ---- Checksums -----------------------------------------------------------
 * Liquibase checksum v9 of a changeset's changes ("9:<32 hex>"), as
 * chlog_load() computes it; see checksum.c for the rules and sources.
 * _legacy hashes sqlFile text after ${} expansion, as Liquibase before 4.26
 * did; a history row carrying either value matches. */
enum tm_code chlog_checksum_v9(const struct chlog_changeset *cs, char out[64]) TM_MUST_CHECK;
enum tm_code chlog_checksum_v9_legacy(const struct chlog_changeset *cs, char out[64])
    TM_MUST_CHECK;
/* Flyway checksum of a script's bytes: CRC32 of each line without its line
 * terminator (BOM stripped), as a signed 32-bit integer. */
int chlog_checksum_flyway(const char *data, size_t len);

/* ---- SQL statements ------------------------------------------------------
 * Splits sql into statements the way PostgreSQL (psql) lexes it: ';' ends a
 * statement only outside '...', E'...', "...", $tag$...$tag$, -- and nested
 * block comments, and parentheses.  end_delimiter NULL or "" means ";";
 * any other delimiter is matched literally outside those constructs; a word
 * delimiter (e.g. "GO"), "/" and one written "\nX" only on a line of its own
 * (case-insensitive).
 * Each statement is trimmed and has no delimiter; statements holding only
 * whitespace and comments are dropped.  strip_comments removes comments from
 * the returned text.  *stmts and each string are malloc'd: free with
 * chlog_statements_free().  TM_E_PARSE for an unterminated quote or comment
 * is NOT raised: the rest of the text becomes the last statement, as the
 * server will report the error itself. */
enum tm_code chlog_split_statements(const char *sql, const char *end_delimiter,
                                    bool strip_comments, char ***stmts, size_t *n,
                                    struct tm_err *err) TM_MUST_CHECK;
void chlog_statements_free(char **stmts, size_t n);

/* What PostgreSQL's JDBC driver sends for sql (Liquibase and Flyway both go
 * through it): "??" outside literals, quoted identifiers, dollar quotes and
 * comments becomes "?".  A malloc'd copy when that changes anything; NULL
 * when sql is to be sent as it is (or on allocation failure, when the
 * caller then sends sql as it is). */
char *chlog_jdbc_sql(const char *sql);

/* ---- Building a changelog ----------------------------------------------
 * The builder every parser appends to (through chlog_int.h's load state) and
 * that tools and tests use to make one by hand: start from a zeroed struct
 * chlog, add changesets and changes, then chlog_finish().  chlog_release()
 * frees what a struct chlog owns (chlog_free() frees the struct too). */

/* Appends a changeset with Liquibase's defaults (runInTransaction and
 * failOnError true) and copies of id, author and filename (each NULL ok);
 * NULL on allocation failure. */
struct chlog_changeset *chlog_add_set(struct chlog *c, const char *id, const char *author,
                                      const char *filename);
/* Appends a zeroed change (split_statements true) to cs; NULL on failure. */
struct chlog_change *chlog_set_add_change(struct chlog_changeset *cs);
/* Appends a `sql` change holding a copy of sql; NULL on failure. */
struct chlog_change *chlog_set_add_sql(struct chlog_changeset *cs, const char *sql);
/* Appends a `tagDatabase` change and tags cs with it; NULL on failure. */
struct chlog_change *chlog_set_add_tag(struct chlog_changeset *cs, const char *tag);
/* What chlog_load() does once everything is parsed: the tag of each
 * changeset, every checksum, and the identity checks (id and author set, no
 * duplicate id+author+filename).  TM_E_INVAL with "file:line: ..." */
enum tm_code chlog_finish(struct chlog *c, struct tm_err *err) TM_MUST_CHECK;
/* Frees everything c owns and leaves it zeroed. NULL ok. */
void chlog_release(struct chlog *c);

/* Frees a changelog and everything it owns. NULL ok. */
void chlog_free(struct chlog *c);

/* Index of the changeset carrying tag, or -1 when no changeset carries it.
 * When a tag appears more than once, the first (oldest) wins, as in Liquibase. */
long chlog_find_tag(const struct chlog *c, const char *tag);

#endif
