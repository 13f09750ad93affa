/* cmd_kubectl: `kubectl tidemark`, a DBRollout overview (see cmd_kubectl.h).
 *
 * One list of dbrollouts (all namespaces, or -n), turned into one cJSON
 * array of rows; the table and -o json|yaml are both written from that
 * array, so every format shows the same fields.  The plan column sums up
 * what the rollout does: from the applied tag to the target tag, how
 * many changesets it applied or rolled back so far, and the short hash of
 * its plan (status.plan, what an approval names). */
#include "cli/cmd_kubectl.h"

#include <stddef.h>
#include <string.h>

#include "cli/output.h"
#include "common/buf.h"
#include "common/flags.h"
#include "kube/kube.h"

struct kubectl_args {
    const char *kubeconfig;
    const char *ns;
    bool all; /* -A: the default; accepted as kubectl users type it */
    enum cli_output output;
};

enum { CMD_KUBECTL = 1 };

#define ARG(field) offsetof(struct kubectl_args, field)

static const struct tm_flag kubectl_flags[] = {
    {.names = {"-n", "--namespace"}, .kind = TM_FLAG_VALUE, .offset = ARG(ns),
     .commands = CMD_KUBECTL, .metavar = "NS", .help = "only this namespace (default: all)"},
    {.names = {"-A", "--all-namespaces"}, .kind = TM_FLAG_BOOL, .offset = ARG(all),
     .commands = CMD_KUBECTL, .help = "every namespace (the default)"},
    {.names = {"--kubeconfig"}, .kind = TM_FLAG_VALUE, .offset = ARG(kubeconfig),
     .commands = CMD_KUBECTL, .metavar = "PATH",
     .help = "kubeconfig (default: $KUBECONFIG, ~/.kube/config)"},
    {.names = {"-o", "--output"}, .kind = TM_FLAG_VALUE, .offset = ARG(output),
     .parse = cli_output_parse, .commands = CMD_KUBECTL, .metavar = CLI_OUTPUT_METAVAR,
     .help = "output format (default table)"},
};

#define NFLAGS (sizeof(kubectl_flags) / sizeof(kubectl_flags[0]))

struct cli_command cli_kubectl_command(void)
{
    return (struct cli_command){.name = "kubectl-tidemark",
                                .line = "list every DBRollout (kubectl tidemark)",
                                .flags = kubectl_flags, .nflags = NFLAGS, .bit = CMD_KUBECTL};
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* One row per DBRollout, in the list's order (namespace, then name). */
static cJSON *rows_of(const cJSON *list)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "status");
        const char *applied = str_at(st, "appliedTag", NULL);
        const char *target = str_at(st, "targetTag", NULL);
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(st, "plan");
        const char *short_hash = str_at(pl, "shortHash", NULL);
        char plan[512];
        if (!st || (!*applied && !*target && !cJSON_GetObjectItemCaseSensitive(st, "phase")))
            snprintf(plan, sizeof(plan), "(no status yet)");
        else
            snprintf(plan, sizeof(plan), "%s -> %s: %.0f applied, %.0f rolled back%s%s",
                     *applied ? applied : "(none)", *target ? target : "(none)",
                     num_at(st, "appliedChangeSets"), num_at(st, "rolledBackChangeSets"),
                     *short_hash ? ", plan " : "", short_hash);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "namespace", str_at(it, "metadata", "namespace"));
        cJSON_AddStringToObject(r, "name", str_at(it, "metadata", "name"));
        cJSON_AddStringToObject(r, "instance",
                                str_at(cJSON_GetObjectItemCaseSensitive(it, "spec"),
                                       "instanceRef", "name"));
        cJSON_AddStringToObject(r, "tag", str_at(it, "spec", "tag"));
        cJSON_AddStringToObject(r, "phase", str_at(st, "phase", NULL));
        cJSON_AddStringToObject(r, "appliedTag", applied);
        cJSON_AddStringToObject(r, "targetTag", target);
        cJSON_AddNumberToObject(r, "appliedChangeSets", num_at(st, "appliedChangeSets"));
        cJSON_AddNumberToObject(r, "rolledBackChangeSets", num_at(st, "rolledBackChangeSets"));
        cJSON_AddStringToObject(r, "plan", plan);
        cJSON_AddStringToObject(r, "planHash", str_at(pl, "hash", NULL));
        cJSON_AddStringToObject(r, "message", str_at(st, "message", NULL));
        cJSON_AddItemToArray(rows, r);
    }
    return rows;
}

static void write_table(FILE *out, const cJSON *rows)
{
    static const char *const keys[] = {"namespace", "name", "instance", "tag", "phase", "plan"};
    static const char *const heads[] = {"NAMESPACE", "NAME", "INSTANCE", "TAG", "PHASE", "PLAN"};
    enum { NCOL = sizeof(keys) / sizeof(keys[0]) };
    int width[NCOL];
    for (int c = 0; c < NCOL; c++)
        width[c] = (int)strlen(heads[c]);
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
    for (int c = 0; c < NCOL; c++) {
        int n = (int)strlen(str_at(r, keys[c], NULL));
        if (n > width[c])
            width[c] = n;
    }
    for (int c = 0; c < NCOL; c++) /* the last column is not padded */
        fprintf(out, "%-*s%s", c + 1 < NCOL ? width[c] : 0, heads[c], c + 1 < NCOL ? "   " : "\n");
    cJSON_ArrayForEach(r, rows)
    for (int c = 0; c < NCOL; c++) {
        const char *v = str_at(r, keys[c], NULL);
        fprintf(out, "%-*s%s", c + 1 < NCOL ? width[c] : 0, *v ? v : "-",
                c + 1 < NCOL ? "   " : "\n");
    }
}

static enum tm_code list_rollouts(const struct kubectl_args *a, cJSON **list, struct tm_err *err)
{
    struct kube_config *cfg = NULL;
    struct kube_client *kc = NULL;
    struct tm_buf path;
    tm_buf_init(&path, 1024);
    enum tm_code rc = kube_global_init(err);
    if (rc != TM_OK)
        goto out;
    struct kube_config_opts ko = {.kubeconfig = a->kubeconfig};
    cfg = kube_config_load(&ko, err);
    if (!cfg) {
        rc = err->code;
        goto out;
    }
    kc = kube_client_new(cfg, NULL, err);
    if (!kc) {
        rc = err->code;
        goto out;
    }
    const struct kube_ref ref = {.group = "tidemark.dev", .version = "v1alpha1",
                                 .ns = a->ns, .resource = "dbrollouts"};
    rc = kube_path(&path, &ref, err);
    if (rc == TM_OK)
        rc = kube_list(kc, tm_buf_str(&path), NULL, list, err);
out:
    tm_buf_release(&path);
    kube_client_free(kc);
    kube_config_free(cfg);
    return rc;
}

static int flag_error(FILE *errout, const struct tm_flag_result *r)
{
    int nl = r->name_len;
    const char *name = r->name ? r->name : "";
    fprintf(errout, "kubectl tidemark: ");
    switch (r->problem) {
    case TM_FLAG_NEEDS_VALUE:
        fprintf(errout, "flag %.*s needs a value", nl, name);
        break;
    case TM_FLAG_TAKES_NO_VALUE:
        fprintf(errout, "flag %.*s takes no value", nl, name);
        break;
    case TM_FLAG_BAD_VALUE:
        fprintf(errout, "%s: %s", r->flag->names[0], r->why);
        break;
    case TM_FLAG_EXTRA_ARG:
        fprintf(errout, "unexpected argument \"%s\"", r->arg);
        break;
    default:
        fprintf(errout, "unknown flag \"%.*s\"", nl, name);
        break;
    }
    fprintf(errout, "\nusage: kubectl tidemark [-n NS] [-o %s]\n", CLI_OUTPUT_METAVAR);
    return 2;
}

int cli_kubectl_main(int argc, char **argv, FILE *out, FILE *errout)
{
    struct kubectl_args a = {0};
    const struct tm_flag_set set = {kubectl_flags, NFLAGS, CMD_KUBECTL, 0, false};
    struct tm_flag_result r;
    if (tm_flags_parse(&set, argc, argv, &a, &r) != TM_OK)
        return flag_error(errout, &r);
    if (r.help) {
        fprintf(out, "list every DBRollout with its phase, tag, instance and plan\n\n"
                     "usage: kubectl tidemark [-n NS] [-o %s]\n\nflags:\n",
                CLI_OUTPUT_METAVAR);
        tm_flags_help(out, kubectl_flags, NFLAGS, CMD_KUBECTL, 22);
        return 0;
    }
    if (a.all)
        a.ns = NULL;
    struct tm_err err;
    tm_err_clear(&err);
    cJSON *list = NULL;
    if (list_rollouts(&a, &list, &err) != TM_OK) {
        fprintf(errout, "kubectl tidemark: %s\n", err.msg);
        cJSON_Delete(list);
        return 1;
    }
    cJSON *rows = rows_of(list);
    cJSON_Delete(list);
    if (a.output == CLI_OUTPUT_TABLE) {
        if (cJSON_GetArraySize(rows) == 0)
            fprintf(out, "No DBRollouts found%s%s.\n", a.ns ? " in namespace " : "",
                    a.ns ? a.ns : "");
        else
            write_table(out, rows);
        cJSON_Delete(rows);
    } else {
        cli_output_write(out, a.output, rows, errout, "kubectl tidemark");
    }
    return 0;
}
