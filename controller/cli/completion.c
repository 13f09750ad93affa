/* cli/completion: bash and zsh completion scripts written from the flag
 * tables (see completion.h).
 *
 * Quoting: names, metavar choices and argument words go into the scripts
 * unquoted, so a word with anything but [A-Za-z0-9_.=-] in it is left out
 * (no table has one; leaving it out beats emitting shell code).  zsh help
 * texts go inside single quotes with ' and _arguments' own specials
 * ([ ] : \) escaped. */
#include "cli/completion.h"

#include <stdbool.h>
#include <string.h>

static bool word_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '=' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool accepts(const struct cli_command *c, const struct tm_flag *f)
{
    return (f->commands & c->bit) != 0;
}

/* A metavar that lists its values ("table|json|yaml"). */
static bool has_choices(const struct tm_flag *f)
{
    return f->kind != TM_FLAG_BOOL && f->metavar && strchr(f->metavar, '|');
}

/* Writes the choices of f separated by sep. */
static void write_choices(FILE *out, const struct tm_flag *f, const char *sep)
{
    const char *p = f->metavar;
    bool first = true;
    while (*p) {
        size_t n = strcspn(p, "|");
        if (word_ok(p, n)) {
            fprintf(out, "%s%.*s", first ? "" : sep, (int)n, p);
            first = false;
        }
        p += n + (p[n] == '|');
    }
}

/* Writes the spellings of flags c accepts and that pick selects (NULL:
 * all), joined by sep; returns how many.  out NULL: only counts them. */
static size_t write_names(FILE *out, const struct cli_command *c,
                          bool (*pick)(const struct tm_flag *), const char *sep)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nflags; i++) {
        const struct tm_flag *f = &c->flags[i];
        if (!accepts(c, f) || (pick && !pick(f)))
            continue;
        for (int j = 0; j < TM_FLAG_NAMES && f->names[j]; j++) {
            if (!word_ok(f->names[j], strlen(f->names[j])))
                continue;
            if (out)
                fprintf(out, "%s%s", k ? sep : "", f->names[j]);
            k++;
        }
    }
    return k;
}

/* A value that names a file or folder (metavar PATH or DIR). */
static bool takes_file(const struct tm_flag *f)
{
    return f->kind != TM_FLAG_BOOL && f->metavar &&
           (strcmp(f->metavar, "PATH") == 0 || strcmp(f->metavar, "DIR") == 0);
}

/* Any other value: nothing to offer (a URL, a tag, a count). */
static bool takes_free_value(const struct tm_flag *f)
{
    return f->kind != TM_FLAG_BOOL && !has_choices(f) && !takes_file(f);
}

/* Whether the command has anything after its name to complete. */
static bool has_flags(const struct cli_command *c)
{
    return c->nflags > 0 || c->args;
}

/* ---- bash ----------------------------------------------------------------- */

static void bash_command(FILE *out, const struct cli_command *c)
{
    fprintf(out, "    %s)\n        case $prev in\n", c->name);
    for (size_t i = 0; i < c->nflags; i++) {
        const struct tm_flag *f = &c->flags[i];
        if (!accepts(c, f) || !has_choices(f))
            continue;
        fprintf(out, "        ");
        for (int j = 0; j < TM_FLAG_NAMES && f->names[j]; j++)
            fprintf(out, "%s%s", j ? "|" : "", f->names[j]);
        fprintf(out, ") COMPREPLY=($(compgen -W \"");
        write_choices(out, f, " ");
        fprintf(out, "\" -- \"$cur\")); return ;;\n");
    }
    if (write_names(NULL, c, takes_file, "|") > 0) {
        fprintf(out, "        ");
        write_names(out, c, takes_file, "|");
        fprintf(out, ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n");
    }
    if (write_names(NULL, c, takes_free_value, "|") > 0) {
        fprintf(out, "        ");
        write_names(out, c, takes_free_value, "|");
        fprintf(out, ") return ;;\n");
    }
    fprintf(out, "        esac\n        flags=\"");
    if (write_names(out, c, NULL, " ") > 0)
        fprintf(out, " ");
    fprintf(out, "%s\"\n        args=\"", has_flags(c) ? "--help" : "");
    for (size_t i = 0; c->args && c->args[i]; i++)
        if (word_ok(c->args[i], strlen(c->args[i])))
            fprintf(out, "%s%s", i ? " " : "", c->args[i]);
    fprintf(out, "\" ;;\n");
}

static void bash_write(FILE *out, const struct cli_command *cmds, size_t n)
{
    fprintf(out, "# bash completion for tidemark, written by `tidemark completion bash` from its\n"
                 "# flag tables.  Load it with: source <(tidemark completion bash)\n"
                 "_tidemark() {\n"
                 "    local cur=${COMP_WORDS[COMP_CWORD]} prev= flags= args=\n"
                 "    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
                 "    COMPREPLY=()\n"
                 "    if ((COMP_CWORD == 1)); then\n"
                 "        COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < n; i++)
        if (word_ok(cmds[i].name, strlen(cmds[i].name)))
            fprintf(out, "%s%s", i ? " " : "", cmds[i].name);
    fprintf(out, "\" -- \"$cur\"))\n"
                 "        return 0\n"
                 "    fi\n"
                 "    case ${COMP_WORDS[1]} in\n");
    for (size_t i = 0; i < n; i++)
        if (word_ok(cmds[i].name, strlen(cmds[i].name)))
            bash_command(out, &cmds[i]);
    fprintf(out, "    *) return 0 ;;\n"
                 "    esac\n"
                 "    if [[ $cur == -* ]]; then\n"
                 "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
                 "    else\n"
                 "        COMPREPLY=($(compgen -W \"$args\" -- \"$cur\"))\n"
                 "    fi\n"
                 "    return 0\n"
                 "}\n"
                 "complete -F _tidemark tidemark\n");
}

/* ---- zsh ------------------------------------------------------------------ */

/* Writes s (its lines joined by spaces) for inside a single-quoted
 * _arguments or _describe word. */
static void zsh_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\n')
            fputc(' ', out);
        else if (*s == '\'')
            fputs("'\\''", out);
        else if (strchr("[]:\\", *s))
            fprintf(out, "\\%c", *s);
        else
            fputc(*s, out);
    }
}

static void zsh_command(FILE *out, const struct cli_command *c)
{
    if (!has_flags(c)) {
        fprintf(out, "  (%s)\n    _message 'no arguments'\n    ;;\n", c->name);
        return;
    }
    fprintf(out, "  (%s)\n    _arguments -s \\\n", c->name);
    for (size_t i = 0; i < c->nflags; i++) {
        const struct tm_flag *f = &c->flags[i];
        if (!accepts(c, f))
            continue;
        for (int j = 0; j < TM_FLAG_NAMES && f->names[j]; j++) {
            if (!word_ok(f->names[j], strlen(f->names[j])))
                continue;
            fprintf(out, "      '%s%s[", f->kind == TM_FLAG_LIST ? "*" : "", f->names[j]);
            zsh_text(out, f->help);
            fputc(']', out);
            if (f->kind != TM_FLAG_BOOL) {
                fputc(':', out);
                zsh_text(out, f->metavar ? f->metavar : "value");
                if (has_choices(f)) {
                    fputs(":(", out);
                    write_choices(out, f, " ");
                    fputc(')', out);
                } else {
                    fputs(takes_file(f) ? ":_files" : ": ", out);
                }
            }
            fputs("' \\\n", out);
        }
    }
    if (c->args) {
        fputs("      '1:argument:(", out);
        for (size_t i = 0; c->args[i]; i++)
            if (word_ok(c->args[i], strlen(c->args[i])))
                fprintf(out, "%s%s", i ? " " : "", c->args[i]);
        fputs(")' \\\n", out);
    }
    fputs("      '(- *)'{--help,-h}'[list the flags]'\n    ;;\n", out);
}

static void zsh_write(FILE *out, const struct cli_command *cmds, size_t n)
{
    fprintf(out, "#compdef tidemark\n"
                 "# zsh completion for tidemark, written by `tidemark completion zsh` from its\n"
                 "# flag tables.  Load it with: source <(tidemark completion zsh), or save it as\n"
                 "# _tidemark in a folder on $fpath.\n"
                 "_tidemark() {\n"
                 "  local -a commands\n"
                 "  commands=(\n");
    for (size_t i = 0; i < n; i++) {
        if (!word_ok(cmds[i].name, strlen(cmds[i].name)))
            continue;
        fprintf(out, "    '%s:", cmds[i].name);
        zsh_text(out, cmds[i].line);
        fputs("'\n", out);
    }
    fprintf(out, "  )\n"
                 "  if (( CURRENT == 2 )); then\n"
                 "    _describe -t commands 'tidemark command' commands\n"
                 "    return\n"
                 "  fi\n"
                 "  local cmd=${words[2]}\n"
                 "  shift words\n"
                 "  (( CURRENT-- ))\n"
                 "  case $cmd in\n");
    for (size_t i = 0; i < n; i++)
        if (word_ok(cmds[i].name, strlen(cmds[i].name)))
            zsh_command(out, &cmds[i]);
    fprintf(out, "  esac\n"
                 "}\n"
                 "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then\n"
                 "  _tidemark \"$@\"\n"
                 "else\n"
                 "  compdef _tidemark tidemark\n"
                 "fi\n");
}

/* ---- kubectl (cobra __complete) --------------------------------------------- */

#define COBRA_DEFAULT 0     /* the shell completes file names */
#define COBRA_NO_FILE 4     /* ShellCompDirectiveNoFileComp */

static const struct tm_flag *flag_named(const struct cli_command *c, const char *name)
{
    for (size_t i = 0; i < c->nflags; i++)
        for (int j = 0; j < TM_FLAG_NAMES && c->flags[i].names[j]; j++)
            if (accepts(c, &c->flags[i]) && strcmp(c->flags[i].names[j], name) == 0)
                return &c->flags[i];
    return NULL;
}

int cli_completion_cobra(int argc, char **argv, const struct cli_command *cmd, FILE *out)
{
    const char *cur = argc > 1 ? argv[argc - 1] : "";
    const struct tm_flag *prev = argc > 2 ? flag_named(cmd, argv[argc - 2]) : NULL;
    int directive = COBRA_NO_FILE;
    if (prev && prev->kind != TM_FLAG_BOOL) {
        if (has_choices(prev)) {
            const char *p = prev->metavar;
            while (*p) {
                size_t n = strcspn(p, "|");
                if (strncmp(p, cur, strlen(cur)) == 0 && strlen(cur) <= n)
                    fprintf(out, "%.*s\n", (int)n, p);
                p += n + (p[n] == '|');
            }
        } else if (takes_file(prev)) {
            directive = COBRA_DEFAULT;
        }
    } else if (cur[0] == '-') {
        for (size_t i = 0; i < cmd->nflags; i++)
            for (int j = 0; j < TM_FLAG_NAMES && cmd->flags[i].names[j]; j++)
                if (accepts(cmd, &cmd->flags[i]) &&
                    strncmp(cmd->flags[i].names[j], cur, strlen(cur)) == 0)
                    fprintf(out, "%s\n", cmd->flags[i].names[j]);
    }
    fprintf(out, ":%d\n", directive);
    return 0;
}

/* ---- entry ------------------------------------------------------------------ */

int cli_completion_main(int argc, char **argv, const struct cli_command *cmds, size_t n,
                        FILE *out, FILE *errout)
{
    static const char usage[] = "usage: tidemark completion bash|zsh\n";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fprintf(out, "write a shell completion script for tidemark\n\n%s\n"
                     "bash: source <(tidemark completion bash)   (or save it in\n"
                     "      /etc/bash_completion.d/tidemark)\n"
                     "zsh:  tidemark completion zsh > \"${fpath[1]}/_tidemark\"\n",
                usage);
        return 0;
    }
    if (argc != 2) {
        fprintf(errout, "tidemark completion: name one shell\n%s", usage);
        return 2;
    }
    if (strcmp(argv[1], "bash") == 0) {
        bash_write(out, cmds, n);
        return 0;
    }
    if (strcmp(argv[1], "zsh") == 0) {
        zsh_write(out, cmds, n);
        return 0;
    }
    fprintf(errout, "tidemark completion: unknown shell \"%s\" (bash or zsh)\n%s", argv[1], usage);
    return 2;
}
