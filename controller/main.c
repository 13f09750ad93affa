/* tidemark: entry point.  Dispatches a subcommand to its module: the
 * engine CLI verbs (cli/cli.h: status, update, rollback, validate, lint,
 * tag, history) and the Kubernetes controller (cli/cmd_controller.h), each
 * of which parses its flags from its own table (common/flags.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_controller.h"

#include "reconcilers/dbinstance.h"
#include "reconcilers/dbrollout.h"
#include "reconcilers/dbschema.h"

#ifndef TM_GIT_REVISION /* set by CMakeLists.txt: git describe, or "unknown" */
#define TM_GIT_REVISION "unknown"
#endif

static int usage(FILE *out)
{
    fprintf(out, "usage: tidemark <command> [flags]\n"
                 "commands:\n"
                 "  version      print the version and the git revision\n");
    cli_usage_write(out);
    fprintf(out, "  controller   run the Kubernetes controller\n"
                 "run `tidemark <command> --help` for a command's flags\n");
    return out == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tidemark %s (revision %s)\n", TM_VERSION, TM_GIT_REVISION);
        return 0;
    }
    if (strcmp(cmd, "controller") == 0) /* reconcilers/ add theirs to this list */
        return cli_controller_main(argc - 1, argv + 1, (const struct mgr_reconciler *const[]){
                                            &dbschema_reconciler, &dbinstance_reconciler,
                                            &dbrollout_reconciler, NULL});
    if (cli_is_verb(cmd))
        return cli_main(argc - 1, argv + 1, stdout, stderr);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage(stdout);
    fprintf(stderr, "tidemark: unknown command \"%s\"\n", cmd);
    return usage(stderr);
}
