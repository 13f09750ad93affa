/* cli/output: the `-o table|json|yaml` flag shared by the commands that
 * print results (the engine verbs, the kubectl plugin): its converter for
 * a flag table row and the writer of a JSON tree in the chosen format.
 * A command builds one cJSON tree and never formats JSON or YAML itself. */
#ifndef TM_CLI_OUTPUT_H
#define TM_CLI_OUTPUT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

enum cli_output { CLI_OUTPUT_TABLE, CLI_OUTPUT_JSON, CLI_OUTPUT_YAML };

/* The metavar of the row, which completion reads as the choices. */
#define CLI_OUTPUT_METAVAR "table|json|yaml"

/* tm_flag_parse_fn for an enum cli_output field: "table", "json" or "yaml";
 * why "\"x\" is not table|json|yaml" otherwise. */
bool cli_output_parse(const char *val, void *field, char *why, size_t whyn);

/* Writes root (json or yaml; table is the caller's) to out, then frees
 * root.  A failure to write YAML is reported on errout as "<who>: <msg>". */
void cli_output_write(FILE *out, enum cli_output fmt, cJSON *root, FILE *errout,
                      const char *who);

#endif
