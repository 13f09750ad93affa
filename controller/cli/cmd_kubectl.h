/* cmd_kubectl: the kubectl plugin (`kubectl tidemark`).  The tidemark
 * binary run under the name kubectl-tidemark (a symlink on PATH: kubectl
 * finds plugins by that name) lists every DBRollout with its phase, tag,
 * instance and plan, across namespaces or in one (-n), as a table or as
 * JSON/YAML (-o).  Read-only: one list call, with the kubeconfig kubectl
 * would use ($KUBECONFIG, ~/.kube/config, or --kubeconfig). */
#ifndef TM_CLI_CMD_KUBECTL_H
#define TM_CLI_CMD_KUBECTL_H

#include <stdio.h>

#include "cli/command.h"

/* Runs the plugin (argv[0] is its name).  Returns 0, 1 when the API or
 * the kubeconfig failed (message on errout), 2 on bad flags. */
int cli_kubectl_main(int argc, char **argv, FILE *out, FILE *errout);

/* The plugin and its flag table, for kubectl's completion. */
struct cli_command cli_kubectl_command(void);

#endif
