/* select: which changesets a run selects by Liquibase contexts and labels.
 *
 * The rules are Liquibase 4.33.0's, read from its Apache-2.0 sources and
 * reproduced quirk for quirk (no code copied):
 *   liquibase/util/ExpressionMatcher.java      the expression evaluator
 *   liquibase/Contexts.java, Labels.java       lists (the run's contexts, a changeset's labels)
 *   liquibase/ContextExpression.java,
 *   liquibase/LabelExpression.java             expressions (a changeset's context, the
 *                                              run's --label-filter)
 *   liquibase/changelog/filter/ContextChangeSetFilter.java,
 *   liquibase/changelog/filter/LabelChangeSetFilter.java   what a run accepts
 *   liquibase/changelog/ChangeSet.java         getInheritableContextFilter/Labels,
 *                                              buildFullContext/buildFullLabels
 *
 * Rules decided there (and so here):
 *  - Contexts and labels are mirror images.  A changeset's `context` is an
 *    expression and the run's `--contexts` a list; a changeset's `labels` is a
 *    list and the run's `--label-filter` an expression.
 *  - A list is split on ',' (Java String.split: trailing empty pieces dropped),
 *    each piece trimmed and lowercased.  The run's contexts and label filter
 *    also lose every '\' first.  An expression is split the same way; its
 *    comma-separated pieces are ORed.
 *  - One piece is evaluated by ExpressionMatcher: the innermost "( ... )" is
 *    evaluated first and replaced by :TRUE/:FALSE (a '(' without a match, as in
 *    "(a" or "()", is an error); then "or" splits before "and" (so "and" binds
 *    tighter); then a leading "!" or "not " negates, "@" marks a term
 *    mandatory ("@!x" / "@not x" is a plain "not x").  A term is true when an
 *    item equals it case-insensitively ('@' before an item is ignored).
 *  - With no items (no runtime contexts; a changeset without labels) every
 *    non-mandatory term is TRUE, negated or not: so "!test" runs when no
 *    context is given, and "--label-filter !x" keeps unlabelled changesets.
 *    A mandatory "@x" term is FALSE then.
 *  - Contexts are matched both ways (ContextChangeSetFilter): the changeset's
 *    expression against the run's contexts, OR each run context, read as an
 *    expression, against the changeset's full context read as a list.  Hence:
 *    a changeset without a context runs under any contexts; with no contexts
 *    given every changeset runs except those with a mandatory "@x"; a run
 *    context "@x" skips every changeset without a context.
 *  - Include-level (and changelog-level) contexts must each match the run's
 *    contexts too (ANDed, one direction only).  Include-level labels are not
 *    ANDed: they are added to the changeset's label list.
 *
 * Where tidemark differs (documented, not silent):
 *  - Case folding is ASCII only (Java folds all of Unicode).
 *  - An expression longer than SELECT_MAX_EXPR bytes is an error (the
 *    evaluator is quadratic in the number of parentheses, as Liquibase's is).
 *  - Java's HashSet iteration order, which decides which of two pieces is
 *    tried first (and so whether an unparseable piece raises an error before
 *    a matching one returns true), is reproduced from String.hashCode and
 *    HashMap's bucket spread; collision chains past 8 (treeified in Java)
 *    are kept in insertion order.
 *  - The changelog model (chlog.h) keeps a changeset's own contexts and
 *    labels apart from the include- and changelog-level ones above it
 *    (inherited_contexts/inherited_labels, innermost first), as Liquibase's
 *    ChangeSet and DatabaseChangeLog do.
 *
 * Pure: no I/O, no globals; thread-safe.  Every function that can fail
 * returns enum tm_code and fills err; *out is meaningful only on TM_OK. */
#ifndef TM_ENGINE_SELECT_H
#define TM_ENGINE_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "changelog/chlog.h"
#include "common/err.h"

/* Longest context or label expression (or list) accepted, in bytes. */
#define SELECT_MAX_EXPR 8192

/* What a run selects by: the run's contexts as given to --contexts ("a, b";
 * NULL or "" = none) and its --label-filter expression (NULL or "" = none). */
struct select_run {
    const char *contexts;
    const char *label_filter;
};

/* ExpressionMatcher.matches: evaluates one expression piece (no splitting on
 * ',' into a set; a ',' inside is read as "or") against items, exactly as
 * Liquibase does.  Words "and"/"or" are matched as written (Liquibase
 * lowercases expressions before this step; the functions below do too).
 * TM_E_INVAL "cannot parse expression ..." for an unmatched '('; TM_E_TOOBIG
 * past SELECT_MAX_EXPR. */
enum tm_code select_expression_matches(const char *expr, const char *const *items,
                                       size_t nitems, bool *out,
                                       struct tm_err *err) TM_MUST_CHECK;

/* ContextChangeSetFilter.accepts.  run_contexts: the run's list (NULL = none);
 * own: the changeset's context expression (NULL = none); inherited: the
 * include- and changelog-level context expressions above it, innermost first
 * (NULL entries and empty ones are skipped). */
enum tm_code select_contexts_accept(const char *run_contexts, const char *own,
                                    const char *const *inherited, size_t ninherited,
                                    bool *out, struct tm_err *err) TM_MUST_CHECK;

/* LabelChangeSetFilter.accepts.  label_filter: the run's expression (NULL =
 * none: everything is accepted); own: the changeset's labels list; inherited:
 * the include-level labels lists above it, innermost first. */
enum tm_code select_labels_accept(const char *label_filter, const char *own,
                                  const char *const *inherited, size_t ninherited,
                                  bool *out, struct tm_err *err) TM_MUST_CHECK;

/* ChangeSet.buildFullContext / buildFullLabels: the text Liquibase writes to
 * the history's CONTEXTS and LABELS columns ("inc AND (a, b)"; labels
 * "inc,a,b", lowercased).  *out: a malloc'd string the caller frees, or NULL
 * when there is none. */
enum tm_code select_full_context(const char *own, const char *const *inherited,
                                 size_t ninherited, char **out,
                                 struct tm_err *err) TM_MUST_CHECK;
enum tm_code select_full_labels(const char *own, const char *const *inherited,
                                size_t ninherited, char **out,
                                struct tm_err *err) TM_MUST_CHECK;

/* Both filters for one changeset of the model (its own and inherited
 * parts).  run may be NULL (= nothing
 * given).  Errors name the changeset: "db/a.yaml:12: changeset a.yaml::1::bob:
 * context: cannot parse expression ...". */
enum tm_code select_changeset(const struct select_run *run, const struct chlog_changeset *cs,
                              bool *out, struct tm_err *err) TM_MUST_CHECK;

/* The CONTEXTS and LABELS values Liquibase writes in cs's history row
 * (MarkChangeSetRanGenerator: buildFullContext / buildFullLabels of the
 * inherited and own parts).  Each out is malloc'd or NULL (none);
 * on failure both are NULL. */
enum tm_code select_history_columns(const struct chlog_changeset *cs, char **contexts,
                                    char **labels, struct tm_err *err) TM_MUST_CHECK;

#endif
