/* cli/command: a top-level command of the tidemark binary as what
 * describes it sees it (the top-level usage and completion): its name, its
 * usage line and its flag table.
 *
 * Design: the flag tables stay private to the command that parses them
 * (cli.c, cmd_controller.c); each lends its table through this struct, so
 * whatever lists flags reads the same rows the parser reads and a new flag
 * shows up everywhere at once.  Everything here is borrowed static data. */
#ifndef TM_CLI_COMMAND_H
#define TM_CLI_COMMAND_H

#include <stddef.h>

#include "common/flags.h"

struct cli_command {
    const char *name;             /* "status" */
    const char *line;             /* its line in `tidemark --help` */
    const struct tm_flag *flags;  /* its table (shared with other commands), or NULL */
    size_t nflags;
    unsigned bit;                 /* the command's bit in the rows' .commands */
    const char *const *args;      /* words its first positional argument takes
                                   * (NULL-terminated), or NULL */
};

#endif
