/* Unit tests of context and label selection (engine/select.c).
 *
 * Every expected value is Liquibase 4.33.0's: derived from its sources
 * (liquibase/util/ExpressionMatcher.java, ContextExpression.java,
 * Contexts.java, LabelExpression.java, Labels.java,
 * changelog/filter/ContextChangeSetFilter.java, LabelChangeSetFilter.java,
 * changelog/ChangeSet.java buildFullContext/buildFullLabels) and checked
 * against the liquibase-core-4.33.0 jar itself: each row was fed to
 * ContextChangeSetFilter/LabelChangeSetFilter (ExpressionMatcher.matches for
 * the expression rows) on a ChangeSet whose DatabaseChangeLog chain carries
 * the include-level values, and the jar's answer is the one written here. */
#include <stdlib.h>
#include <string.h>

#include "engine/select.h"
#include "engine_fixture.h"
#include "tm_test.h"

enum expect { X_FALSE = 0, X_TRUE, X_ERROR };

static const char *expect_name(enum expect e)
{
    return e == X_TRUE ? "selected" : e == X_FALSE ? "skipped" : "an error";
}

/* ContextChangeSetFilter: the run's --contexts, the changeset's context, the
 * include-level contexts above it (innermost first). */
struct ctx_row {
    const char *run;
    const char *own;
    const char *inherited[2];
    size_t ninherited;
    enum expect want;
    const char *why;
};

/* LabelChangeSetFilter: the run's --label-filter, the changeset's labels, the
 * include-level labels above it. */
struct label_row {
    const char *filter;
    const char *own;
    const char *inherited[2];
    size_t ninherited;
    enum expect want;
    const char *why;
};

static const struct ctx_row ctx_rows[] = {
    {NULL, NULL, {NULL}, 0, X_TRUE, "no context on the changeset: always runs"},
    {NULL, "test", {NULL}, 0, X_TRUE, "no runtime contexts: every changeset runs"},
    {"", "test", {NULL}, 0, X_TRUE, "an empty --contexts is none"},
    {" , ", "test", {NULL}, 0, X_TRUE, "only commas: String.split gives no context"},
    {NULL, "!test", {NULL}, 0, X_TRUE, "no runtime contexts: a negated term is TRUE too"},
    {NULL, "@test", {NULL}, 0, X_FALSE, "a mandatory term needs its context given"},
    {NULL, "(a", {NULL}, 0, X_TRUE, "with no contexts the changeset expression is never evaluated"},
    {"prod", NULL, {NULL}, 0, X_TRUE, "no context on the changeset runs under any contexts"},
    {"prod", "prod", {NULL}, 0, X_TRUE, "plain match"},
    {"PROD", "Prod", {NULL}, 0, X_TRUE, "case-insensitive"},
    {"prod", "test", {NULL}, 0, X_FALSE, "no match"},
    {"prod", "test, prod", {NULL}, 0, X_TRUE, "',' is or"},
    {"prod", "test or prod", {NULL}, 0, X_TRUE, "or"},
    {"prod", "test OR prod", {NULL}, 0, X_TRUE,
     "operators in any case (expressions are lowercased)"},
    {"prod", "test and prod", {NULL}, 0, X_FALSE, "and"},
    {"prod,test", "test and prod", {NULL}, 0, X_TRUE, "and, both given"},
    {"prod , test", "test AND prod", {NULL}, 0, X_TRUE, "runtime list is trimmed"},
    {"prod", "!test", {NULL}, 0, X_TRUE, "! negates"},
    {"test", "!test", {NULL}, 0, X_FALSE, "! negates"},
    {"test", "not test", {NULL}, 0, X_FALSE, "not negates"},
    {"test", "NOT test", {NULL}, 0, X_FALSE, "NOT negates"},
    {"eu", "!test and eu", {NULL}, 0, X_TRUE, "negation binds tighter than and"},
    {"a", "a or b and c", {NULL}, 0, X_TRUE, "and binds tighter than or"},
    {"c", "a or b and c", {NULL}, 0, X_FALSE, "and binds tighter than or"},
    {"b,c", "a or b and c", {NULL}, 0, X_TRUE, "and binds tighter than or"},
    {"c", "(a or b) and c", {NULL}, 0, X_FALSE, "parentheses first"},
    {"b,c", "(a or b) and c", {NULL}, 0, X_TRUE, "parentheses first"},
    {"a", "!(a or b)", {NULL}, 0, X_FALSE, "negated group"},
    {"c", "!(a or b)", {NULL}, 0, X_TRUE, "negated group"},
    {"a", "not (a and b)", {NULL}, 0, X_TRUE, "not before a group"},
    {"a,b", "not (a and b)", {NULL}, 0, X_FALSE, "not before a group"},
    {"a,b", "((a and b) or c) and !d", {NULL}, 0, X_TRUE, "nested groups"},
    {"a,b,d", "((a and b) or c) and !d", {NULL}, 0, X_FALSE, "nested groups"},
    {"c", "((a and b) or c) and !d", {NULL}, 0, X_TRUE, "nested groups"},
    {"prod", "(a", {NULL}, 0, X_ERROR, "an unmatched ( is an error (Cannot parse expression)"},
    {"prod", "()", {NULL}, 0, X_ERROR, "an empty group is an error"},
    {"prod", "(a, b)", {NULL}, 0, X_ERROR,
     "',' splits first, so '(a, b)' is the pieces '(a' and 'b)'"},
    {"prod", "a or", {NULL}, 0, X_FALSE, "'a or' is one term: or needs whitespace on both sides"},
    {"prod", "!!prod", {NULL}, 0, X_TRUE, "'!!prod' is the term '!prod' negated"},
    {"prod", "@!prod", {NULL}, 0, X_FALSE, "'@!x' is 'not x'"},
    {"prod", "@prod", {NULL}, 0, X_TRUE, "a mandatory term given"},
    {"@prod", NULL, {NULL}, 0, X_FALSE,
     "a mandatory runtime context skips changesets without a context"},
    {"@prod", "prod", {NULL}, 0, X_TRUE, "a mandatory runtime context matches without its @"},
    {"@prod", "test", {NULL}, 0, X_FALSE, "a mandatory runtime context, other context"},
    {"!test", "prod", {NULL}, 0, X_TRUE,
     "a runtime context is also an expression over the changeset context"},
    {"prod\\", "prod", {NULL}, 0, X_TRUE, "the run's contexts lose every backslash"},
    {"prod", NULL, {"prod"}, 1, X_TRUE, "include-level context given"},
    {"test", NULL, {"prod"}, 1, X_FALSE, "include-level context not given"},
    {"test", "test", {"prod"}, 1, X_FALSE, "include-level context is ANDed"},
    {"prod,test", "test", {"prod"}, 1, X_TRUE, "include-level context is ANDed"},
    {NULL, "test", {"prod"}, 1, X_TRUE, "no runtime contexts: include-level too"},
    {NULL, NULL, {"@prod"}, 1, X_FALSE, "mandatory include-level context"},
    {"!x", NULL, {"prod"}, 1, X_FALSE, "include-level contexts match one way only"},
    {"!x", "prod", {NULL}, 0, X_TRUE, "changeset contexts match both ways"},
    {"prod", NULL, {"prod", "eu"}, 2, X_FALSE, "every include level must match"},
    {"prod,eu", NULL, {"prod", "eu"}, 2, X_TRUE, "every include level must match"},
    {"prod", "prod", {"(a"}, 1, X_ERROR, "an unparseable include-level context"},
    {"eu", "eu, (z", {NULL}, 0, X_TRUE, "HashSet order: 'eu' is tried before the unparseable '(z'"},
    {"dev", "dev, (z", {NULL}, 0, X_ERROR, "HashSet order: '(z' is tried before 'dev'"},
};

static const struct label_row label_rows[] = {
    {NULL, "a", {NULL}, 0, X_TRUE, "no label filter: everything runs"},
    {"a", NULL, {NULL}, 0, X_TRUE, "an unlabelled changeset runs under any filter"},
    {"a", "a,b", {NULL}, 0, X_TRUE, "the filter matches one of the labels"},
    {"c", "a,b", {NULL}, 0, X_FALSE, "no label matches"},
    {"a and b", "a, b", {NULL}, 0, X_TRUE, "and over the label list"},
    {"a and c", "a,b", {NULL}, 0, X_FALSE, "and over the label list"},
    {"!a", "a", {NULL}, 0, X_FALSE, "negation"},
    {"!a", "b", {NULL}, 0, X_TRUE, "negation"},
    {"!a", NULL, {NULL}, 0, X_TRUE, "negation, unlabelled"},
    {"@a", NULL, {NULL}, 0, X_FALSE, "a mandatory label skips unlabelled changesets"},
    {"@a", "a", {NULL}, 0, X_TRUE, "a mandatory label present"},
    {"A", "a", {NULL}, 0, X_TRUE, "case-insensitive"},
    {"a", "A", {NULL}, 0, X_TRUE, "case-insensitive"},
    {"(a or b) and !c", "b", {NULL}, 0, X_TRUE, "groups"},
    {"(a or b) and !c", "b,c", {NULL}, 0, X_FALSE, "groups"},
    {"a, c", "c", {NULL}, 0, X_TRUE, "',' is or"},
    {"inc", "a", {"inc"}, 1, X_TRUE, "include-level labels are added to the list, not ANDed"},
    {"a and inc", "a", {"inc"}, 1, X_TRUE, "include-level labels are added to the list"},
    {"!inc", "a", {"inc"}, 1, X_FALSE, "include-level labels are added to the list"},
    {"(a", "a", {NULL}, 0, X_ERROR, "an unmatched ( is an error"},
    {"(a", NULL, {NULL}, 0, X_ERROR, "an unmatched ( is an error even for an unlabelled changeset"},
    {"x\\y", "xy", {NULL}, 0, X_TRUE, "the filter loses every backslash"},
};

static enum expect outcome(enum tm_code rc, bool sel)
{
    return rc != TM_OK ? X_ERROR : sel ? X_TRUE : X_FALSE;
}

TM_TEST(contexts_select_changesets_as_liquibase_does)
{
    for (size_t i = 0; i < sizeof(ctx_rows) / sizeof(ctx_rows[0]); i++) {
        const struct ctx_row *r = &ctx_rows[i];
        struct tm_err err;
        bool sel = false;
        tm_err_clear(&err);
        enum tm_code rc = select_contexts_accept(r->run, r->own, r->inherited, r->ninherited,
                                                 &sel, &err);
        enum expect got = outcome(rc, sel);
        if (got != r->want)
            TM_FAIL_("contexts row %zu (%s): run \"%s\", changeset \"%s\", %zu include "
                     "level(s): want %s, got %s %s",
                     i, r->why, TM_STR_OR_NULL_(r->run), TM_STR_OR_NULL_(r->own),
                     r->ninherited, expect_name(r->want), expect_name(got), err.msg);
        if (got == X_ERROR)
            TM_EXPECT_CONTAINS(err.msg, "cannot parse expression");
    }
}

TM_TEST(labels_select_changesets_as_liquibase_does)
{
    for (size_t i = 0; i < sizeof(label_rows) / sizeof(label_rows[0]); i++) {
        const struct label_row *r = &label_rows[i];
        struct tm_err err;
        bool sel = false;
        tm_err_clear(&err);
        enum tm_code rc = select_labels_accept(r->filter, r->own, r->inherited,
                                               r->ninherited, &sel, &err);
        enum expect got = outcome(rc, sel);
        if (got != r->want)
            TM_FAIL_("labels row %zu (%s): filter \"%s\", labels \"%s\": want %s, got %s %s",
                     i, r->why, TM_STR_OR_NULL_(r->filter), TM_STR_OR_NULL_(r->own),
                     expect_name(r->want), expect_name(got), err.msg);
    }
}

/* ExpressionMatcher.matches itself, with its items as given (no lowercasing:
 * "OR" is not an operator at this level). */
TM_TEST(expression_matcher_precedence_negation_and_quirks)
{
    static const struct {
        const char *expr;
        const char *items[3];
        size_t nitems;
        enum expect want;
    } rows[] = {
        {"a and b or c", {"c"}, 1, X_TRUE},
        {"a or", {"a"}, 1, X_FALSE},
        {"a,b", {"b"}, 1, X_TRUE},
        {":TRUE", {NULL}, 0, X_TRUE},
        {":FALSE", {"a"}, 1, X_FALSE},
        {"!a", {NULL}, 0, X_TRUE},
        {"@a", {NULL}, 0, X_FALSE},
        {"!@a", {NULL}, 0, X_TRUE},
        {"@!a", {NULL}, 0, X_TRUE},
        {"@ not a", {"a"}, 1, X_FALSE},
        {"(a) and (b)", {"a", "b"}, 2, X_TRUE},
        {"(a) and (b)", {"a"}, 1, X_FALSE},
        {"a)", {"a)"}, 1, X_TRUE},
        {"((a)", {"a"}, 1, X_ERROR},
        {"a  or  b", {"b"}, 1, X_TRUE},
        {"a or b", {"B"}, 1, X_TRUE},
        {"a OR b", {"b"}, 1, X_FALSE},
        {"@a", {"@a"}, 1, X_TRUE},
        {"x", {"@x"}, 1, X_TRUE},
        {"a and b and c", {"a", "b", "c"}, 3, X_TRUE},
        {"!a and !b", {"c"}, 1, X_TRUE},
        {"not a or b", {"a"}, 1, X_FALSE},
        {" a ", {"a"}, 1, X_TRUE},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct tm_err err;
        bool m = false;
        enum tm_code rc = select_expression_matches(rows[i].expr, rows[i].items,
                                                    rows[i].nitems, &m, &err);
        enum expect got = outcome(rc, m);
        if (got != rows[i].want)
            TM_FAIL_("expression \"%s\": want %s, got %s", rows[i].expr,
                     expect_name(rows[i].want), expect_name(got));
    }
}

/* The CONTEXTS and LABELS history columns Liquibase writes. */
TM_TEST(full_context_and_labels_are_what_liquibase_writes)
{
    static const struct {
        const char *own_ctx, *own_labels;
        const char *inh_ctx[2], *inh_labels[2];
        size_t ninh;
        const char *want_ctx, *want_labels;
    } rows[] = {
        {"a, b", "B, a", {"inc"}, {"Inc"}, 1, "inc AND (a, b)", "inc,b,a"},
        {"test", NULL, {NULL}, {NULL}, 0, "test", NULL},
        {NULL, NULL, {"x y"}, {NULL}, 1, "(x y)", NULL},
        {" , ", " , ", {NULL}, {NULL}, 0, NULL, NULL},
        {"b", "a", {"inner", "outer"}, {"in", "out"}, 2, "inner AND outer AND b", "in,out,a"},
        {" Test ", NULL, {NULL}, {NULL}, 0, "( Test )", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct tm_err err;
        char *ctx = NULL, *labels = NULL;
        TM_EXPECT_INT(select_full_context(rows[i].own_ctx, rows[i].inh_ctx, rows[i].ninh, &ctx,
                                          &err),
                      TM_OK);
        TM_EXPECT_INT(select_full_labels(rows[i].own_labels, rows[i].inh_labels, rows[i].ninh,
                                         &labels, &err),
                      TM_OK);
        TM_EXPECT_STR(ctx, rows[i].want_ctx);
        TM_EXPECT_STR(labels, rows[i].want_labels);
        free(ctx);
        free(labels);
    }
}

/* Sets cs's inherited contexts or labels (innermost first). */
static void inherit(char ***v, size_t *n, const char *a, const char *b)
{
    *n = b ? 2 : 1;
    *v = calloc(*n, sizeof(**v));
    (*v)[0] = strdup(a);
    if (b)
        (*v)[1] = strdup(b);
}

/* The loader keeps an include's context and labels apart from the
 * changeset's (inherited_*); select_changeset combines them as Liquibase:
 * contexts ANDed, labels added to the list. */
TM_TEST(changeset_model_include_context_is_anded_and_labels_are_listed)
{
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "c1", "select 1", NULL);
    cs->contexts = strdup("test");
    inherit(&cs->inherited_contexts, &cs->ninherited_contexts, "prod", NULL);
    cs->labels = strdup("a, b");
    inherit(&cs->inherited_labels, &cs->ninherited_labels, "inc", NULL);
    struct tm_err err;
    bool sel = true;
    struct select_run run = {"test", NULL};
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_OK);
    TM_EXPECT(!sel); /* the include's "prod" is not given */
    run.contexts = "prod, test";
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_OK);
    TM_EXPECT(sel);
    run.label_filter = "inc and b";
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_OK);
    TM_EXPECT(sel); /* labels from both levels */
    run.label_filter = "!inc";
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_OK);
    TM_EXPECT(!sel);
    /* two include levels: own c, include b, outer include a */
    free(cs->contexts);
    cs->contexts = strdup("c");
    free(cs->inherited_contexts[0]);
    free(cs->inherited_contexts);
    inherit(&cs->inherited_contexts, &cs->ninherited_contexts, "b", "a");
    run = (struct select_run){"a,c", NULL};
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_OK);
    TM_EXPECT(!sel);
    run.contexts = "a,b,c";
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_OK);
    TM_EXPECT(sel);
    /* an own expression that merely looks like the old merged form */
    free(cs->contexts);
    cs->contexts = strdup("(a) and (b)");
    for (size_t i = 0; i < cs->ninherited_contexts; i++)
        free(cs->inherited_contexts[i]);
    free(cs->inherited_contexts);
    cs->inherited_contexts = NULL;
    cs->ninherited_contexts = 0;
    run.contexts = "a,b";
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_OK);
    TM_EXPECT(sel);
    /* no run at all: Liquibase with neither --contexts nor --label-filter */
    TM_EXPECT_INT(select_changeset(NULL, cs, &sel, &err), TM_OK);
    TM_EXPECT(sel);
    fx_free(&cl);
}

/* MarkChangeSetRanGenerator writes buildFullContext / buildFullLabels. */
TM_TEST(history_columns_are_liquibase_full_context_and_labels)
{
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "c1", "select 1", NULL);
    cs->contexts = strdup("a, b");
    inherit(&cs->inherited_contexts, &cs->ninherited_contexts, "inc", NULL);
    cs->labels = strdup("B, a");
    inherit(&cs->inherited_labels, &cs->ninherited_labels, "Inc", NULL);
    struct tm_err err;
    char *ctx = NULL, *labels = NULL;
    TM_EXPECT_INT(select_history_columns(cs, &ctx, &labels, &err), TM_OK);
    TM_EXPECT_STR(ctx, "inc AND (a, b)");
    TM_EXPECT_STR(labels, "inc,b,a");
    free(ctx);
    free(labels);
    fx_free(&cl);
    memset(&cl, 0, sizeof(cl));
    cs = fx_add(&cl, "c1", "select 1", NULL);
    TM_EXPECT_INT(select_history_columns(cs, &ctx, &labels, &err), TM_OK);
    TM_EXPECT(ctx == NULL && labels == NULL);
    fx_free(&cl);
}

TM_TEST(unparseable_expression_names_the_changeset)
{
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "c1", "select 1", NULL);
    cs->contexts = strdup("(prod");
    cs->path = strdup("db/changelog.yaml");
    cs->line = 7;
    struct tm_err err;
    tm_err_clear(&err);
    bool sel = true;
    struct select_run run = {"prod", NULL};
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_E_INVAL);
    TM_EXPECT(!sel);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.yaml:7: changeset");
    TM_EXPECT_CONTAINS(err.msg, "::c1::");
    TM_EXPECT_CONTAINS(err.msg, "context: cannot parse expression \"(prod\"");
    /* a bad label filter is reported as such */
    free(cs->contexts);
    cs->contexts = NULL;
    run = (struct select_run){NULL, "(a"};
    TM_EXPECT_INT(select_changeset(&run, cs, &sel, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "label filter: cannot parse expression");
    fx_free(&cl);
}

TM_TEST(overlong_expression_is_refused)
{
    size_t n = SELECT_MAX_EXPR + 2;
    char *big = malloc(n + 1);
    TM_ASSERT(big != NULL);
    memset(big, 'a', n);
    big[n] = '\0';
    struct tm_err err;
    bool sel = true;
    TM_EXPECT_INT(select_contexts_accept("a", big, NULL, 0, &sel, &err), TM_E_TOOBIG);
    TM_EXPECT_INT(select_expression_matches(big, NULL, 0, &sel, &err), TM_E_TOOBIG);
    free(big);
}

/* c1..c4, c2 labelled "eu", c3 context "test", c4 context "@prod". */
static void four(struct chlog *cl)
{
    memset(cl, 0, sizeof(*cl));
    fx_add(cl, "c1", "create table a(id int)", "drop table a");
    fx_add(cl, "c2", "create table b(id int)", "drop table b")->labels = strdup("eu");
    fx_add(cl, "c3", "create table c(id int)", "drop table c")->contexts = strdup("test");
    fx_add(cl, "c4", "create table d(id int)", "drop table d")->contexts = strdup("@prod");
}

static const char *ids(const struct chlog *cl, const struct plan *p, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < p->nsteps; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", i ? "," : "", cl->sets[p->steps[i].set].id);
    }
    return buf;
}

TM_TEST(plan_applies_what_contexts_and_labels_select)
{
    static const struct {
        const char *contexts, *labels, *want;
        size_t skipped;
    } rows[] = {
        {NULL, NULL, "c1,c2,c3", 1},         /* @prod needs --contexts prod */
        {"prod", NULL, "c1,c2,c4", 1},        /* "test" not given */
        {"prod,test", NULL, "c1,c2,c3,c4", 0},
        {NULL, "eu", "c1,c2,c3", 1},          /* unlabelled changesets run too */
        {NULL, "!eu", "c1,c3", 2},
        {"@prod", "!eu", "c4", 3},            /* mandatory: no-context changesets skipped */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct chlog cl;
        struct engine_history h;
        struct plan p;
        struct tm_err err;
        char buf[64];
        four(&cl);
        engine_history_init(&h);
        struct plan_opts o = {.tag = NULL, .count = -1, .context = rows[i].contexts,
                              .label_filter = rows[i].labels};
        TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_OK);
        TM_EXPECT_STR(ids(&cl, &p, buf, sizeof(buf)), rows[i].want);
        TM_EXPECT_INT(p.nskipped_context, rows[i].skipped);
        plan_release(&p);
        engine_history_release(&h);
        fx_free(&cl);
    }
}

TM_TEST(status_pending_follows_contexts_and_labels)
{
    struct chlog cl;
    struct engine_history h;
    struct engine_status s;
    struct tm_err err;
    four(&cl);
    engine_history_init(&h);
    TM_EXPECT_INT(engine_status_compute_filtered(&cl, &h, "prod", "!eu", &s, &err), TM_OK);
    TM_EXPECT_INT(s.npending, 2); /* c1 and c4 */
    TM_EXPECT_INT(s.pending[1], 3);
    engine_status_release(&s);
    free(cl.sets[2].contexts);
    cl.sets[2].contexts = strdup("(test");
    TM_EXPECT_INT(engine_status_compute_filtered(&cl, &h, "prod", NULL, &s, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "::c3::");
    engine_history_release(&h);
    fx_free(&cl);
}

/* Liquibase's rollback runs the context and label filters before its count
 * filter (AbstractRollbackCommandStep): unselected rows stay, and --count N
 * counts selected rows. */
TM_TEST(rollback_skips_unselected_rows_and_counts_selected_ones)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    char buf[64];
    four(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 4);
    struct plan_opts o = {.tag = "", .count = -1, .context = "prod"};
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_OK);
    TM_EXPECT_STR(ids(&cl, &p, buf, sizeof(buf)), "c4,c2,c1"); /* c3 ("test") stays */
    plan_release(&p);
    o = (struct plan_opts){.tag = NULL, .count = 2, .context = "prod", .label_filter = "!eu"};
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_OK);
    TM_EXPECT_STR(ids(&cl, &p, buf, sizeof(buf)), "c4,c1");
    plan_release(&p);
    o = (struct plan_opts){.tag = NULL, .count = 2, .context = "prod,test"};
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_OK);
    TM_EXPECT_STR(ids(&cl, &p, buf, sizeof(buf)), "c4,c3");
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST_MAIN()
