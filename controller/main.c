/* tidemark: entry point.  Dispatches a subcommand to its module: the
 * engine CLI verbs (cli/cli.h: status, update, rollback, validate, lint,
 * tag, history), the Kubernetes controller (cli/cmd_controller.h), each
 * of which parses its flags from its own table (common/flags.h), and the
 * shell completion written from those tables (cli/completion.h).  Run as
 * kubectl-tidemark (a symlink), it is the kubectl plugin (cli/cmd_kubectl.h);
 * as kubectl_complete-tidemark, the plugin's completion for kubectl. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_controller.h"
#include "cli/cmd_kubectl.h"
#include "cli/completion.h"

#include "reconcilers/dbinstance.h"
#include "reconcilers/dbrollout.h"
#include "reconcilers/dbschema.h"

#ifndef TM_GIT_REVISION /* set by CMakeLists.txt: git describe, or "unknown" */
#define TM_GIT_REVISION "unknown"
#endif

static const char *const shells[] = {"bash", "zsh", NULL};

/* Every command, in usage order, as usage and completion see it (from the
 * tables that parse them); returns how many. */
static size_t commands(struct cli_command *cmds, size_t max)
{
    size_t n = 0;
    if (max < 3)
        return 0;
    cmds[n++] = (struct cli_command){.name = "version",
                                     .line = "print the version and the git revision"};
    n += cli_verb_commands(cmds + n, max - 3);
    cmds[n++] = cli_controller_command();
    cmds[n++] = (struct cli_command){.name = "completion",
                                     .line = "write a bash or zsh completion script",
                                     .args = shells};
    return n;
}

static int usage(FILE *out)
{
    struct cli_command cmds[32];
    size_t n = commands(cmds, sizeof(cmds) / sizeof(cmds[0]));
    fprintf(out, "usage: tidemark <command> [flags]\ncommands:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-12s %s\n", cmds[i].name, cmds[i].line);
    fprintf(out, "run `tidemark <command> --help` for a command's flags\n");
    return out == stderr ? 2 : 0;
}

/* `tidemark completion bash|zsh`. */
static int completion(int argc, char **argv)
{
    struct cli_command cmds[32];
    size_t n = commands(cmds, sizeof(cmds) / sizeof(cmds[0]));
    return cli_completion_main(argc, argv, cmds, n, stdout, stderr);
}

/* The name the binary was run under, without its folder. */
static const char *program_name(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    return slash ? slash + 1 : (argv0 ? argv0 : "");
}

/* The names the binary answers to besides tidemark: the kubectl plugin
 * (`kubectl tidemark`) and its completion (`kubectl tidemark <TAB>`, which
 * kubectl asks of kubectl_complete-tidemark).  Returns the exit code, or
 * -1 when name is neither. */
static int run_applet(const char *name, int argc, char **argv)
{
    if (strcmp(name, "kubectl-tidemark") == 0)
        return cli_kubectl_main(argc, argv, stdout, stderr);
    if (strcmp(name, "kubectl_complete-tidemark") == 0) {
        struct cli_command plugin = cli_kubectl_command();
        return cli_completion_cobra(argc, argv, &plugin, stdout);
    }
    return -1;
}

int main(int argc, char **argv)
{
    int applet = run_applet(program_name(argv[0]), argc, argv);
    if (applet >= 0)
        return applet;
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    /* an applet by name, as multi-call binaries allow (busybox APPLET): for
     * a wrapper that cannot set argv[0], such as the tests' valgrind one */
    applet = run_applet(cmd, argc - 1, argv + 1);
    if (applet >= 0)
        return applet;
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tidemark %s (revision %s)\n", TM_VERSION, TM_GIT_REVISION);
        return 0;
    }
    if (strcmp(cmd, "controller") == 0) /* reconcilers/ add theirs to this list */
        return cli_controller_main(argc - 1, argv + 1, (const struct mgr_reconciler *const[]){
                                            &dbschema_reconciler, &dbinstance_reconciler,
                                            &dbrollout_reconciler, NULL});
    if (strcmp(cmd, "completion") == 0)
        return completion(argc - 1, argv + 1);
    if (cli_is_verb(cmd))
        return cli_main(argc - 1, argv + 1, stdout, stderr);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage(stdout);
    fprintf(stderr, "tidemark: unknown command \"%s\"\n", cmd);
    return usage(stderr);
}
