/* tm_flags: the table-driven flag parser and help writer (see flags.h).
 *
 * One pass over argv, in order, so the first bad argument is the one
 * reported, whatever follows it.  A row is looked up by comparing every
 * spelling: tables are a few dozen rows and a parse runs once. */
#include "common/flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct tm_flag *flag_find(const struct tm_flag_set *set, const char *name,
                                       size_t len)
{
    for (size_t i = 0; i < set->nflags; i++) {
        const struct tm_flag *f = &set->flags[i];
        for (size_t k = 0; k < TM_FLAG_NAMES && f->names[k]; k++)
            if (strlen(f->names[k]) == len && strncmp(f->names[k], name, len) == 0)
                return f;
    }
    return NULL;
}

static enum tm_code flag_problem(struct tm_flag_result *res, enum tm_flag_problem p)
{
    res->problem = p;
    return TM_E_INVAL;
}

/* Reads the flag at argv[*i] (advancing *i past a separate value) into
 * opts.  TM_E_INVAL with res->problem when it cannot. */
static enum tm_code flag_read(const struct tm_flag_set *set, int argc, char **argv, int *i,
                              void *opts, struct tm_flag_result *res)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    res->arg = arg;
    res->name = arg;
    res->name_len = (int)(eq ? (size_t)(eq - arg) : strlen(arg));
    const struct tm_flag *f = flag_find(set, arg, (size_t)res->name_len);
    if (!f)
        return flag_problem(res, TM_FLAG_UNKNOWN);
    res->flag = f;
    void *field = (char *)opts + f->offset;
    if (f->kind == TM_FLAG_BOOL) {
        bool on = true;
        if (eq) {
            res->value = eq + 1;
            if (!f->true_false || (strcmp(eq + 1, "true") != 0 && strcmp(eq + 1, "false") != 0))
                return flag_problem(res, TM_FLAG_TAKES_NO_VALUE);
            on = strcmp(eq + 1, "true") == 0;
        }
        *(bool *)field = on;
    } else {
        const char *val = NULL;
        if (eq)
            val = eq + 1;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else
            return flag_problem(res, TM_FLAG_NEEDS_VALUE);
        res->value = val;
        if (f->parse && !f->parse(val, field, res->why, sizeof(res->why)))
            return flag_problem(res, TM_FLAG_BAD_VALUE);
        if (f->kind == TM_FLAG_LIST) {
            struct tm_flag_list *l = field;
            if (l->n == TM_FLAG_LIST_MAX)
                return flag_problem(res, TM_FLAG_TOO_MANY);
            l->items[l->n++] = val;
        } else if (!f->parse) {
            *(const char **)field = val;
        }
    }
    if (!(f->commands & set->command))
        return flag_problem(res, TM_FLAG_NOT_FOR_COMMAND);
    return TM_OK;
}

enum tm_code tm_flags_parse(const struct tm_flag_set *set, int argc, char **argv, void *opts,
                            struct tm_flag_result *res)
{
    memset(res, 0, sizeof(*res));
    uint64_t given = 0; /* bit i: set->flags[i] was read (tables have <= 64 rows) */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            res->help = true;
            if (set->help_stops)
                return TM_OK;
            continue;
        }
        if (arg[0] != '-') {
            size_t max = set->max_args;
            if (max > sizeof(res->args) / sizeof(res->args[0]))
                max = sizeof(res->args) / sizeof(res->args[0]);
            if (res->nargs == max) {
                res->arg = arg;
                return flag_problem(res, TM_FLAG_EXTRA_ARG);
            }
            res->args[res->nargs++] = arg;
            continue;
        }
        enum tm_code rc = flag_read(set, argc, argv, &i, opts, res);
        if (rc != TM_OK)
            return rc;
        size_t row = (size_t)(res->flag - set->flags);
        if (row < 64)
            given |= (uint64_t)1 << row;
    }
    res->flag = NULL;
    res->arg = res->name = res->value = NULL;
    res->name_len = 0;
    for (size_t i = 0; i < set->nflags && i < 64; i++) {
        const struct tm_flag *f = &set->flags[i];
        if (given & ((uint64_t)1 << i))
            continue;
        const char *env = f->env && f->kind == TM_FLAG_VALUE && !f->parse ? getenv(f->env) : NULL;
        if (env && *env) {
            *(const char **)((char *)opts + f->offset) = env;
            continue;
        }
        if (!res->help && (f->required & set->command)) {
            res->flag = f;
            return flag_problem(res, TM_FLAG_MISSING);
        }
    }
    return TM_OK;
}

void tm_flags_help(FILE *out, const struct tm_flag *flags, size_t nflags, unsigned mask,
                   int width)
{
    for (size_t i = 0; i < nflags; i++) {
        const struct tm_flag *f = &flags[i];
        if (!(f->commands & mask))
            continue;
        char left[128];
        snprintf(left, sizeof(left), "%s%s%s", f->names[0], f->metavar ? " " : "",
                 f->metavar ? f->metavar : "");
        fprintf(out, "  %-*s  ", width, left);
        for (const char *p = f->help ? f->help : ""; *p; p++) {
            fputc(*p, out);
            if (*p == '\n')
                fprintf(out, "%*s", width + 4, "");
        }
        if (f->env)
            fprintf(out, " (default $%s)", f->env);
        fputc('\n', out);
    }
}

bool tm_flag_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool tm_flag_duration_ms(const char *s, int64_t *ms)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !(v > 0))
        return false;
    double mult;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else
        return false;
    if (v * mult >= 9.2e18) /* past int64_t */
        return false;
    *ms = (int64_t)(v * mult);
    return *ms > 0;
}
