/* cli: the engine as a command line tool (`tidemark status|update|...`).
 *
 * Liquibase's verbs, so its users know them: status, update, rollback,
 * validate, lint, tag, history.  Their flags are one table (cli.c, over
 * common/flags.h: `--flag value` or `--flag=value`).  A verb loads the
 * changelog from disk (chlog_load over a disk chlog_fs rooted at the folder
 * that holds --changelog), connects with --url or $TIDEMARK_DB_URL (never printed),
 * and prints a table (default), JSON (-o json) or the same data as YAML
 * (-o yaml) to out.  Diagnostics go to errout.  See controller/cli/README.md for the flags and exit codes.
 *
 * Exit codes: 0 ok; 1 the database or an apply failed (also lock busy);
 * 2 bad usage or input (flags, parse errors, unknown tag); 3 drift or a
 * policy violation.  Not thread-safe (one call per process). */
#ifndef TM_CLI_CLI_H
#define TM_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/command.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_DRIFT 3

/* True when verb is one of the CLI's verbs. */
bool cli_is_verb(const char *verb);

/* Runs verb with its arguments (argv[0] is the verb); returns the exit code. */
int cli_main(int argc, char **argv, FILE *out, FILE *errout);

/* Fills cmds with up to max of the verbs (their flag table shared), in
 * usage order, for the top-level usage and completion; returns how many it
 * filled. */
size_t cli_verb_commands(struct cli_command *cmds, size_t max);

#endif
