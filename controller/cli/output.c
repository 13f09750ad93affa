/* cli/output: -o's converter and the JSON/YAML writer (see output.h). */
#include "cli/output.h"

#include <string.h>

#include "common/json_yaml.h"

bool cli_output_parse(const char *val, void *field, char *why, size_t whyn)
{
    static const char *const names[] = {"table", "json", "yaml"};
    static const enum cli_output values[] = {CLI_OUTPUT_TABLE, CLI_OUTPUT_JSON,
                                             CLI_OUTPUT_YAML};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(val, names[i]) == 0) {
            *(enum cli_output *)field = values[i];
            return true;
        }
    }
    snprintf(why, whyn, "\"%s\" is not %s", val, CLI_OUTPUT_METAVAR);
    return false;
}

void cli_output_write(FILE *out, enum cli_output fmt, cJSON *root, FILE *errout,
                      const char *who)
{
    if (fmt == CLI_OUTPUT_YAML) {
        struct tm_err err;
        tm_err_clear(&err);
        if (tm_json_yaml_write(out, root, &err) != TM_OK)
            fprintf(errout, "%s: %s\n", who, err.msg);
    } else {
        char *s = cJSON_Print(root);
        if (s) {
            fprintf(out, "%s\n", s);
            cJSON_free(s);
        }
    }
    cJSON_Delete(root);
}
