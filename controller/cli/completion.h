/* cli/completion: `tidemark completion bash|zsh`, a shell completion
 * script generated from the commands' flag tables (cli/command.h).
 *
 * Nothing is listed by hand: the commands, each command's flags (every
 * spelling), which flags take a value, and the values of a flag whose
 * metavar is a choice ("table|json|yaml") all come from the tables, so a
 * new flag or verb completes as soon as it exists.  A value flag without
 * choices completes file names. */
#ifndef TM_CLI_COMPLETION_H
#define TM_CLI_COMPLETION_H

#include <stdio.h>

#include "cli/command.h"

/* Runs `completion SHELL` (argv[0] is "completion"): writes the script for
 * cmds[0..n-1] to out and returns 0; `--help` writes how to install it;
 * a missing or unknown shell writes a message to errout and returns 2. */
int cli_completion_main(int argc, char **argv, const struct cli_command *cmds, size_t n,
                        FILE *out, FILE *errout);

/* Completes for kubectl (`kubectl tidemark <TAB>`): kubectl runs
 * kubectl_complete-tidemark with the plugin's arguments, the last being the
 * word under the cursor, and reads cobra's __complete answer: one
 * candidate per line, then ":<directive>" (0 = let the shell complete
 * files, 4 = no file completion).  Offers cmd's flags for a word starting
 * with '-', a choice flag's values after it, files after a PATH/DIR flag.
 * argv[0] is the program; returns 0. */
int cli_completion_cobra(int argc, char **argv, const struct cli_command *cmd, FILE *out);

#endif
