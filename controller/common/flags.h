/* tm_flags: one flag table per program part, driving both the parsing of
 * argv and the `--help` listing, so a flag is declared exactly once.
 *
 * Design: a flag is a row of a const array (struct tm_flag): its spellings,
 * whether it takes a value, where the value goes (an offsetof into the
 * caller's options struct), an optional converter, which commands accept
 * it and which need it, its help text and an environment fallback.  The
 * parser knows nothing of any command: commands are bits the caller
 * defines, and the parser reports a problem as data (struct tm_flag_result)
 * so each command keeps its own wording of the message and its exit code.
 *
 * Accepted forms: `--name value`, `--name=value` (a value may start with
 * '-': `--to-tag --x` takes "--x"), a boolean `--name` (and, where the row
 * says so, `--name=true` / `--name=false`).  `--help` and `-h`, exactly,
 * are built in and never listed.  Any argument not starting with '-' is a
 * positional argument.  The last of a repeated non-list flag wins.
 *
 * Invariants: the parser never copies or frees: strings it stores point
 * into argv (or the environment) and live as long as they do.  It never
 * touches a field that no given flag names, so defaults are whatever the
 * caller put in the options struct before parsing.  Reads getenv, so it
 * belongs in start-up code, before threads. */
#ifndef TM_COMMON_FLAGS_H
#define TM_COMMON_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

#define TM_FLAG_NAMES 4     /* spellings per flag */
#define TM_FLAG_LIST_MAX 64 /* values of one repeatable flag */
#define TM_FLAG_WHY 160     /* a converter's reason */

enum tm_flag_kind {
    TM_FLAG_BOOL,  /* no value; sets a bool field to true */
    TM_FLAG_VALUE, /* one value; a const char * field, or converted by parse */
    TM_FLAG_LIST,  /* repeatable value; appended to a struct tm_flag_list */
};

/* The field of a TM_FLAG_LIST flag: the values in the order given. */
struct tm_flag_list {
    const char *items[TM_FLAG_LIST_MAX];
    size_t n;
};

/* Converts or checks one value.  TM_FLAG_VALUE: stores val into field
 * (its own type: a long, an enum, ...).  TM_FLAG_LIST: only checks val
 * (field is the list, read-only); the parser appends it.  Returns false
 * with why set to the reason, without the flag's name ("not a count:
 * \"x\""), or left "" when the caller words the message itself. */
typedef bool (*tm_flag_parse_fn)(const char *val, void *field, char *why, size_t whyn);

struct tm_flag {
    const char *names[TM_FLAG_NAMES]; /* names[0] is listed by help; the
                                       * others are accepted aliases */
    enum tm_flag_kind kind;
    size_t offset;         /* offsetof the field in the options struct */
    tm_flag_parse_fn parse; /* NULL: store the string (VALUE), accept any (LIST) */
    unsigned commands;     /* bits of the commands that accept it */
    unsigned required;     /* bits of the commands that need it */
    const char *metavar;   /* help: "--url URL"; NULL for a boolean */
    const char *help;      /* '\n' starts a continuation line */
    const char *env;       /* TM_FLAG_VALUE without parse: read when the flag
                            * is not given and the variable is not empty;
                            * help adds " (default $ENV)" */
    bool true_false;       /* TM_FLAG_BOOL: also =true / =false */
};

/* What one parse runs over. */
struct tm_flag_set {
    const struct tm_flag *flags;
    size_t nflags;
    unsigned command;   /* the bit of the command being parsed */
    size_t max_args;    /* positional arguments accepted */
    bool help_stops;    /* --help ends the parse at once (flags after it are
                         * not read); otherwise every flag is still checked */
};

enum tm_flag_problem {
    TM_FLAG_OK,
    TM_FLAG_UNKNOWN,        /* no such flag (name) */
    TM_FLAG_NEEDS_VALUE,    /* last argument and no value */
    TM_FLAG_TAKES_NO_VALUE, /* --bool=x */
    TM_FLAG_BAD_VALUE,      /* parse refused it (why) */
    TM_FLAG_TOO_MANY,       /* a list past TM_FLAG_LIST_MAX */
    TM_FLAG_NOT_FOR_COMMAND, /* known, but not in this command's bits */
    TM_FLAG_EXTRA_ARG,      /* a positional argument past max_args (arg) */
    TM_FLAG_MISSING,        /* a required flag not given (flag) */
};

/* The outcome of a parse; every pointer borrows from argv or the table. */
struct tm_flag_result {
    enum tm_flag_problem problem;
    bool help;                /* --help or -h was given */
    const struct tm_flag *flag; /* the flag concerned, when known */
    const char *arg;          /* the argument concerned, whole ("--x=1") */
    const char *name;         /* the flag as typed, without "=value": */
    int name_len;             /* print with "%.*s", name_len, name */
    const char *value;        /* the value concerned, when one was read */
    char why[TM_FLAG_WHY];    /* parse's reason (TM_FLAG_BAD_VALUE) */
    const char *args[8];      /* positional arguments, in order */
    size_t nargs;
};

/* ---- parsing ---- */

/* Parses argv[1..argc-1] (argv[0] is the command) against set into the
 * options struct opts, stopping at the first problem.  TM_OK when every
 * argument was read (res->help tells whether help was asked for; required
 * flags are not checked then); TM_E_INVAL with res->problem and the
 * argument concerned otherwise; opts then holds what was read before it. */
enum tm_code tm_flags_parse(const struct tm_flag_set *set, int argc, char **argv, void *opts,
                            struct tm_flag_result *res) TM_MUST_CHECK;

/* ---- help ---- */

/* Writes one line per flag accepted by any of the commands in mask, in
 * table order: two spaces, names[0] and the metavar padded to width, two
 * spaces, the help text (continuation lines aligned under it). */
void tm_flags_help(FILE *out, const struct tm_flag *flags, size_t nflags, unsigned mask,
                   int width);

/* ---- value helpers for parse functions ---- */

/* A whole decimal number in [min, max] (no sign games, no trailing text). */
bool tm_flag_long(const char *s, long min, long max, long *out);

/* "500ms", "15s", "2m" or plain seconds ("3", "1.5") -> milliseconds > 0. */
bool tm_flag_duration_ms(const char *s, int64_t *ms);

#endif
