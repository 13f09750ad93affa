/* Unit tests of controller/common/flags (the table-driven flag parser and
 * help writer), over a small table of their own, and of the CLI's table
 * through cli_main for the cases that fail before any I/O. */
#include "../tm_test.h"

#include <stddef.h>

#include "cli/cli.h"
#include "common/flags.h"

struct opts {
    const char *name;
    const char *url;
    bool force;
    bool watch;
    long count;
    struct tm_flag_list sets;
};

enum { CMD_A = 1 << 0, CMD_B = 1 << 1 };

static bool parse_count(const char *val, void *field, char *why, size_t whyn)
{
    if (tm_flag_long(val, 0, 100, field))
        return true;
    snprintf(why, whyn, "not a count: \"%s\"", val);
    return false;
}

static bool parse_set(const char *val, void *field, char *why, size_t whyn)
{
    if (strchr(val, '='))
        return true;
    snprintf(why, whyn, "expected K=V");
    return false;
}

#define O(f) offsetof(struct opts, f)
static const struct tm_flag table[] = {
    {.names = {"--name", "-n", "--title"}, .kind = TM_FLAG_VALUE, .offset = O(name),
     .commands = CMD_A | CMD_B, .required = CMD_B, .metavar = "NAME",
     .help = "what to call it"},
    {.names = {"--url"}, .kind = TM_FLAG_VALUE, .offset = O(url), .commands = CMD_A | CMD_B,
     .metavar = "URL", .help = "where", .env = "TM_TEST_FLAGS_URL"},
    {.names = {"--force"}, .kind = TM_FLAG_BOOL, .offset = O(force), .commands = CMD_A,
     .help = "do it anyway\nand say so"},
    {.names = {"--watch"}, .kind = TM_FLAG_BOOL, .offset = O(watch), .commands = CMD_A,
     .true_false = true, .help = "keep going"},
    {.names = {"--count"}, .kind = TM_FLAG_VALUE, .offset = O(count), .parse = parse_count,
     .commands = CMD_B, .metavar = "N", .help = "how many"},
    {.names = {"--set"}, .kind = TM_FLAG_LIST, .offset = O(sets), .parse = parse_set,
     .commands = CMD_A, .metavar = "K=V", .help = "repeatable"},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

/* Parses the NULL-terminated arguments (after a command name) for command. */
static enum tm_code parse(unsigned command, bool help_stops, struct opts *o,
                          struct tm_flag_result *r, const char **args)
{
    char *argv[32] = {"cmd"};
    int argc = 1;
    for (; args[argc - 1] && argc < 32; argc++)
        argv[argc] = (char *)args[argc - 1];
    memset(o, 0, sizeof(*o));
    o->count = -1;
    const struct tm_flag_set set = {table, NTABLE, command, 1, help_stops};
    return tm_flags_parse(&set, argc, argv, o, r);
}

#define ARGS(...) ((const char *[]){__VA_ARGS__, NULL})

TM_TEST(flags_read_equals_and_separate_value_forms)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--name=a=b", "--url", "pg://x")), TM_OK);
    TM_EXPECT_STR(o.name, "a=b");
    TM_EXPECT_STR(o.url, "pg://x");
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--name=")), TM_OK);
    TM_EXPECT_STR(o.name, "");
    /* a separate value is taken as it is, even when it looks like a flag */
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--name", "--force")), TM_OK);
    TM_EXPECT_STR(o.name, "--force");
    TM_EXPECT(!o.force);
}

TM_TEST(flags_aliases_fill_the_same_field)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("-n", "x")), TM_OK);
    TM_EXPECT_STR(o.name, "x");
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--title=y")), TM_OK);
    TM_EXPECT_STR(o.name, "y");
}

TM_TEST(flags_report_an_unknown_flag_by_name_without_its_value)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--name", "x", "--frob=1", "--nope")),
                  TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_UNKNOWN);
    TM_EXPECT_INT(r.name_len, 6);
    TM_EXPECT(strncmp(r.name, "--frob", 6) == 0);
    TM_EXPECT_STR(r.arg, "--frob=1");
    TM_EXPECT_STR(o.name, "x"); /* what came before is read */
    /* a prefix of a flag is not the flag */
    TM_EXPECT_INT(parse(CMD_A, false, &o, &r, ARGS("--nam", "x")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_UNKNOWN);
    TM_EXPECT_INT(parse(CMD_A, false, &o, &r, ARGS("--namex")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_UNKNOWN);
}

TM_TEST(flags_report_a_missing_value_at_the_end)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--force", "--url")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_NEEDS_VALUE);
    TM_EXPECT_STR(r.arg, "--url");
    TM_EXPECT(r.flag == &table[1]);
}

TM_TEST(flags_keep_the_last_of_a_repeated_flag_and_every_list_value)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r,
                        ARGS("--name", "a", "--set", "k=1", "--name=b", "--set=k=2")),
                  TM_OK);
    TM_EXPECT_STR(o.name, "b");
    TM_ASSERT_INT(o.sets.n, 2);
    TM_EXPECT_STR(o.sets.items[0], "k=1");
    TM_EXPECT_STR(o.sets.items[1], "k=2");
}

TM_TEST(flags_refuse_a_list_past_its_cap)
{
    const char *args[2 * TM_FLAG_LIST_MAX + 3];
    size_t n = 0;
    for (int i = 0; i <= TM_FLAG_LIST_MAX; i++) {
        args[n++] = "--set";
        args[n++] = "k=v";
    }
    args[n] = NULL;
    char *argv[2 * TM_FLAG_LIST_MAX + 3] = {"cmd"};
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    struct opts o;
    memset(&o, 0, sizeof(o));
    struct tm_flag_result r;
    const struct tm_flag_set set = {table, NTABLE, CMD_A, 0, false};
    TM_ASSERT_INT(tm_flags_parse(&set, (int)n + 1, argv, &o, &r), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_TOO_MANY);
    TM_EXPECT_INT(o.sets.n, TM_FLAG_LIST_MAX);
}

TM_TEST(flags_refuse_a_flag_not_valid_for_the_command)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_B, false, &o, &r, ARGS("--name", "x", "--force")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_NOT_FOR_COMMAND);
    TM_EXPECT(r.flag == &table[2]);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--count", "3")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_NOT_FOR_COMMAND);
    TM_ASSERT_INT(parse(CMD_B, false, &o, &r, ARGS("--name", "x", "--count", "3")), TM_OK);
    TM_EXPECT_INT(o.count, 3);
}

TM_TEST(flags_booleans_take_no_value_unless_true_or_false_is_allowed)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--force")), TM_OK);
    TM_EXPECT(o.force);
    TM_EXPECT(!o.watch);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--force=true")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_TAKES_NO_VALUE);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--watch=true")), TM_OK);
    TM_EXPECT(o.watch);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--watch", "--watch=false")), TM_OK);
    TM_EXPECT(!o.watch);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--watch=yes")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_TAKES_NO_VALUE);
    TM_EXPECT_STR(r.value, "yes");
}

TM_TEST(flags_report_a_refused_value_with_the_reason)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_B, false, &o, &r, ARGS("--count=101")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_BAD_VALUE);
    TM_EXPECT_STR(r.why, "not a count: \"101\"");
    TM_EXPECT_STR(r.value, "101");
    TM_EXPECT_INT(o.count, -1);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--set", "novalue")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_BAD_VALUE);
    TM_EXPECT_INT(o.sets.n, 0);
}

TM_TEST(flags_check_required_flags_unless_help_is_asked)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_B, false, &o, &r, ARGS("--count", "1")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_MISSING);
    TM_EXPECT(r.flag == &table[0]);
    TM_ASSERT_INT(parse(CMD_B, false, &o, &r, ARGS("--count", "1", "-h")), TM_OK);
    TM_EXPECT(r.help);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--force")), TM_OK); /* not required */
}

TM_TEST(flags_help_stops_the_parse_only_when_asked_to)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, true, &o, &r, ARGS("--help", "--frob")), TM_OK);
    TM_EXPECT(r.help);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--help", "--frob")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_UNKNOWN);
    TM_EXPECT(r.help);
    TM_ASSERT_INT(parse(CMD_A, true, &o, &r, ARGS("--frob", "--help")), TM_E_INVAL);
    /* only the exact spellings */
    TM_ASSERT_INT(parse(CMD_A, true, &o, &r, ARGS("--help=1")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_UNKNOWN);
}

TM_TEST(flags_accept_positional_arguments_up_to_the_limit)
{
    struct opts o;
    struct tm_flag_result r;
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("one", "--force")), TM_OK);
    TM_ASSERT_INT(r.nargs, 1);
    TM_EXPECT_STR(r.args[0], "one");
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("one", "two")), TM_E_INVAL);
    TM_EXPECT_INT(r.problem, TM_FLAG_EXTRA_ARG);
    TM_EXPECT_STR(r.arg, "two");
}

TM_TEST(flags_fall_back_to_the_environment_only_when_not_given)
{
    struct opts o;
    struct tm_flag_result r;
    setenv("TM_TEST_FLAGS_URL", "pg://env", 1);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--force")), TM_OK);
    TM_EXPECT_STR(o.url, "pg://env");
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--url=")), TM_OK);
    TM_EXPECT_STR(o.url, "");
    setenv("TM_TEST_FLAGS_URL", "", 1);
    TM_ASSERT_INT(parse(CMD_A, false, &o, &r, ARGS("--force")), TM_OK);
    TM_EXPECT(o.url == NULL);
    unsetenv("TM_TEST_FLAGS_URL");
}

/* The help tm_flags_help writes for mask (free it). */
static char *capture_help(unsigned mask, int width)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    tm_flags_help(f, table, NTABLE, mask, width);
    fclose(f);
    return text;
}

TM_TEST(flags_help_lists_the_commands_flags_aligned_in_table_order)
{
    char *a = capture_help(CMD_A, 12);
    TM_EXPECT_STR(a, "  --name NAME   what to call it\n"
                     "  --url URL     where (default $TM_TEST_FLAGS_URL)\n"
                     "  --force       do it anyway\n"
                     "                and say so\n"
                     "  --watch       keep going\n"
                     "  --set K=V     repeatable\n");
    free(a);
    char *b = capture_help(CMD_B, 6); /* a longer left side pushes its text right */
    TM_EXPECT_STR(b, "  --name NAME  what to call it\n"
                     "  --url URL  where (default $TM_TEST_FLAGS_URL)\n"
                     "  --count N  how many\n");
    free(b);
}

TM_TEST(flags_value_helpers_parse_numbers_and_durations)
{
    long n = 0;
    TM_EXPECT(tm_flag_long("42", 0, 100, &n) && n == 42);
    TM_EXPECT(!tm_flag_long("101", 0, 100, &n));
    TM_EXPECT(!tm_flag_long("4x", 0, 100, &n));
    TM_EXPECT(!tm_flag_long("", 0, 100, &n));
    TM_EXPECT(!tm_flag_long("99999999999999999999", 0, 100, &n));
    int64_t ms = 0;
    TM_EXPECT(tm_flag_duration_ms("500ms", &ms) && ms == 500);
    TM_EXPECT(tm_flag_duration_ms("15s", &ms) && ms == 15000);
    TM_EXPECT(tm_flag_duration_ms("2m", &ms) && ms == 120000);
    TM_EXPECT(tm_flag_duration_ms("1.5", &ms) && ms == 1500);
    TM_EXPECT(!tm_flag_duration_ms("0", &ms));
    TM_EXPECT(!tm_flag_duration_ms("-1s", &ms));
    TM_EXPECT(!tm_flag_duration_ms("2h", &ms));
    TM_EXPECT(!tm_flag_duration_ms("1e400", &ms));
    TM_EXPECT(!tm_flag_duration_ms("0.1ms", &ms));
}

/* ---- the CLI's table, through cli_main (no database reached) ---- */

struct cli_run {
    int code;
    char *out;
    char *err;
};

static struct cli_run cli(const char *const *args)
{
    char *argv[16];
    int argc = 0;
    for (; args[argc] && argc < 16; argc++)
        argv[argc] = (char *)args[argc];
    struct cli_run r = {0};
    size_t no = 0, ne = 0;
    FILE *out = open_memstream(&r.out, &no);
    FILE *err = open_memstream(&r.err, &ne);
    r.code = cli_main(argc, argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static void cli_run_free(struct cli_run *r)
{
    free(r->out);
    free(r->err);
}

TM_TEST(cli_help_lists_every_flag_for_every_verb)
{
    static const char *const verbs[] = {"status", "update", "rollback", "validate",
                                        "lint",   "tag",    "history"};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        struct cli_run r = cli(ARGS(verbs[i], "--help"));
        TM_EXPECT_INT(r.code, CLI_EXIT_OK);
        TM_EXPECT_CONTAINS(r.out, "\nflags:\n  --url URL                 PostgreSQL URL or "
                                  "conninfo (default $TIDEMARK_DB_URL)\n");
        TM_EXPECT_CONTAINS(r.out, "  --statement-timeout SECONDS  per statement (default none)\n"
                                  "  -o table|json|yaml        output format (default table)\n");
        TM_EXPECT_STR(r.err, "");
        cli_run_free(&r);
    }
}

TM_TEST(cli_flag_errors_name_the_flag_and_exit_2)
{
    static const struct {
        const char *args[5];
        const char *message;
    } cases[] = {
        {{"status", "--frob=1"}, "tidemark status: unknown flag \"--frob\"\n"},
        {{"history", "--to-tag", "x"}, "tidemark history: flag --to-tag does not apply"},
        {{"history", "--labels", "x"}, "tidemark history: flag --labels does not apply"},
        {{"status", "--changelog"}, "tidemark status: flag --changelog needs a value"},
        {{"update", "--allow-drift=1"}, "tidemark update: flag --allow-drift takes no value"},
        {{"status", "--output=xml"}, "tidemark status: -o: \"xml\" is not table|json|yaml"},
        {{"update", "--strategy", "x"}, "--strategy: \"x\" is not rollback|mark-next-run|fail"},
        {{"rollback", "--count", "-1"}, "tidemark rollback: --count: not a count: \"-1\""},
        {{"status", "--lock-timeout=86401"}, "--lock-timeout: not seconds: \"86401\""},
        {{"status", "--property", "=v"}, "--property: expected NAME=VALUE, got \"=v\""},
        {{"status", "--search-path", "a,b"}, "--search-path: one folder only"},
        {{"status"}, "tidemark status: needs --changelog PATH\nusage: tidemark status "},
        {{"tag", "a", "b"}, "tidemark tag: unexpected argument \"b\""},
        {{"rollback", "--changelog", "x"}, "tidemark rollback: needs --to-tag T or --count N"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli_run r = cli(cases[i].args);
        TM_EXPECT_INT(r.code, CLI_EXIT_USAGE);
        TM_EXPECT_CONTAINS(r.err, cases[i].message);
        TM_EXPECT_CONTAINS(r.err, "\nusage: tidemark ");
        TM_EXPECT_STR(r.out, "");
        cli_run_free(&r);
    }
}

TM_TEST_MAIN()
