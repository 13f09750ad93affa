/* cmd_controller: the `tidemark controller` subcommand (the Kubernetes
 * controller as a process).  It lives beside the engine CLI, not in
 * runtime/: it is a command (flags, logging, signals, exit codes) over the
 * manager (runtime/mgr.h), which knows nothing of argv or of the process. */
#ifndef TM_CLI_CMD_CONTROLLER_H
#define TM_CLI_CMD_CONTROLLER_H

#include "cli/command.h"
#include "runtime/mgr.h"

/* Parses flags (--kubeconfig, --namespace NS[,NS...] (repeatable), --workers, --leader-elect,
 * --leader-election-namespace, --leader-election-id, the lease timings,
 * --metrics-addr, --health-addr, --log-format json|text, --log-level,
 * --grace-period; `--help` lists them), sets up logging, metrics, the API
 * config and signal handling, and runs the manager with the given
 * reconcilers (NULL-terminated; argv[0] is "controller").  Returns the
 * process exit code: 0 after SIGTERM/SIGINT (or --help), 1 on failure or
 * lost leadership, 2 on bad flags.  Installs signal handlers: once per
 * process. */
int cli_controller_main(int argc, char **argv, const struct mgr_reconciler *const *reconcilers);

/* The controller subcommand and its flag table, for completion. */
struct cli_command cli_controller_command(void);

#endif
