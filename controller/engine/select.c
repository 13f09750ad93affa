/* select: Liquibase 4.33.0 context and label selection (rules and the Java
 * sources they come from: select.h).
 *
 * Design: the evaluator follows ExpressionMatcher.matches step by step as
 * string rewriting (innermost "( ... )" replaced by " :TRUE "/" :FALSE ",
 * ',' by " or ", split on "or", then on "and", then '!'/"not "/'@' on what is
 * left) instead of parsing into a tree, because Liquibase's observable quirks
 * live in that rewriting: "a or" is the single term "a or" (the split needs
 * whitespace on both sides), "!!a" is "!a" negated, "and"/"or" are only
 * operators in lower case (the callers lowercase first, as Liquibase does).
 * Java's String.trim (chars <= ' '), regex \s, String.split (trailing empty
 * pieces dropped) and HashSet iteration order are reproduced by the helpers
 * below.  Every string here is a private heap copy; nothing is kept. */
#include "engine/select.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/caps.h"

/* ---- Java string helpers ------------------------------------------------- */

static enum tm_code nomem(struct tm_err *err)
{
    return tm_err_set(err, TM_E_NOMEM, "select: out of memory");
}

/* String.trim() removes every char <= ' '. */
static bool is_trim(unsigned char c)
{
    return c <= ' ';
}

/* Java regex \s: [ \t\n\x0B\f\r]. */
static bool is_jws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == 0x0b || c == '\f' || c == '\r';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* String.trim() of s[0..*n): returns where it starts, *n its length. */
static const char *trim_span(const char *s, size_t *n)
{
    while (*n > 0 && is_trim((unsigned char)*s)) {
        s++;
        (*n)--;
    }
    while (*n > 0 && is_trim((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

/* A trimmed copy of s[0..n). */
static char *dup_trim_n(const char *s, size_t n)
{
    s = trim_span(s, &n);
    return strndup(s, n);
}

/* Trims s in place (it must be writable); returns the new start. */
static char *trim_inplace(char *s)
{
    while (*s && is_trim((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_trim((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* equalsIgnoreCase of a[0..an) and the C string b (ASCII folding). */
static bool ieq_n(const char *a, size_t an, const char *b)
{
    if (strlen(b) != an)
        return false;
    for (size_t i = 0; i < an; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

/* s.trim().equals(word) */
static bool trimmed_equals(const char *s, const char *word)
{
    size_t n = strlen(s);
    s = trim_span(s, &n);
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* One code point from UTF-8 (U+FFFD and one byte for a bad sequence). */
static size_t utf8_next(const unsigned char *p, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t n = (p[0] & 0xe0) == 0xc0   ? 2
               : (p[0] & 0xf0) == 0xe0 ? 3
               : (p[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 0) {
        *cp = 0xfffd;
        return 1;
    }
    uint32_t v = p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3f);
    }
    *cp = v;
    return n;
}

/* java.lang.String.hashCode over the UTF-16 form of s. */
static uint32_t java_hash(const char *s)
{
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return h;
}

/* ---- sets of strings ------------------------------------------------------ */

/* A Java Set<String>: no duplicates; v in iteration order. */
struct strset {
    char **v;
    size_t n;
};

static void set_release(struct strset *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Set.add; takes s (freed when already present or on failure; NULL = out of
 * memory). */
static enum tm_code set_add_take(struct strset *l, char *s, struct tm_err *err)
{
    if (!s)
        return nomem(err);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            free(s);
            return TM_OK;
        }
    }
    char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (!nv) {
        free(s);
        return nomem(err);
    }
    l->v = nv;
    l->v[l->n++] = s;
    return TM_OK;
}

struct bucketed {
    uint32_t bucket;
    size_t order;
    char *s;
};

static int bucketed_cmp(const void *a, const void *b)
{
    const struct bucketed *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Reorders an insertion-ordered set the way java.util.HashSet iterates it:
 * by bucket (String.hashCode spread by h ^ h>>>16, masked by the table size,
 * 16 doubled while size > 0.75 * table), then insertion order in a bucket. */
static enum tm_code set_order_as_hashset(struct strset *l, struct tm_err *err)
{
    if (l->n < 2)
        return TM_OK;
    uint32_t cap = 16;
    while (l->n > (size_t)cap / 4 * 3)
        cap <<= 1;
    struct bucketed *b = malloc(l->n * sizeof(*b));
    if (!b)
        return nomem(err);
    for (size_t i = 0; i < l->n; i++) {
        uint32_t h = java_hash(l->v[i]);
        b[i] = (struct bucketed){(h ^ (h >> 16)) & (cap - 1), i, l->v[i]};
    }
    qsort(b, l->n, sizeof(*b), bucketed_cmp);
    for (size_t i = 0; i < l->n; i++)
        l->v[i] = b[i].s;
    free(b);
    return TM_OK;
}

/* The string constructors of Contexts, ContextExpression, Labels and
 * LabelExpression: [every '\' removed], trimToNull, split(","), each piece
 * trimmed and lowercased into a set.  hashed: a HashSet (contexts), else a
 * LinkedHashSet (labels).  NULL or blank text gives an empty set. */
static enum tm_code parse_list(const char *text, bool drop_backslashes, bool hashed,
                               struct strset *out, struct tm_err *err)
{
    out->v = NULL;
    out->n = 0;
    if (!text)
        return TM_OK;
    size_t len = strlen(text);
    if (len > SELECT_MAX_EXPR)
        return tm_err_set(err, TM_E_TOOBIG, "context or label text of %zu bytes (at most %d)",
                          len, SELECT_MAX_EXPR);
    char *t = malloc(len + 1);
    if (!t)
        return nomem(err);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!drop_backslashes || text[i] != '\\')
            t[n++] = ascii_lower(text[i]);
    t[n] = '\0';
    char *s = trim_inplace(t);
    enum tm_code rc = TM_OK;
    if (*s) {
        /* String.split(","): pieces between commas; a leading empty piece
         * stays, trailing empty ones go. */
        size_t slen = strlen(s), keep = slen;
        while (keep > 0 && s[keep - 1] == ',')
            keep--;
        size_t start = 0;
        for (size_t i = 0; i <= keep && rc == TM_OK; i++) {
            if (i == keep || s[i] == ',') {
                rc = set_add_take(out, dup_trim_n(s + start, i - start), err);
                start = i + 1;
            }
        }
        if (keep == 0)
            set_release(out); /* only commas: String.split gives nothing */
    }
    free(t);
    if (rc == TM_OK && hashed)
        rc = set_order_as_hashset(out, err);
    if (rc != TM_OK)
        set_release(out);
    return rc;
}

/* ---- ExpressionMatcher ---------------------------------------------------- */

/* Java's Pattern "\([^()]+\)".find(): the leftmost "(" ... ")" holding no
 * parenthesis and at least one character.  [*open, *close] on success. */
static bool innermost_group(const char *s, size_t *open, size_t *close)
{
    for (size_t i = 0; s[i]; i++) {
        if (s[i] != '(')
            continue;
        size_t k = i + 1;
        while (s[k] && s[k] != '(' && s[k] != ')')
            k++;
        if (s[k] == ')' && k > i + 1) {
            *open = i;
            *close = k;
            return true;
        }
    }
    return false;
}

/* s.replaceAll("\\s*,\\s*", " or ") */
static char *commas_to_or(const char *s)
{
    size_t commas = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++)
        commas += s[i] == ',';
    char *r = malloc(len + 4 * commas + 1);
    if (!r)
        return NULL;
    size_t n = 0, p = 0;
    while (p < len) {
        if (is_jws((unsigned char)s[p]) || s[p] == ',') {
            size_t q = p;
            while (is_jws((unsigned char)s[q]))
                q++;
            if (s[q] == ',') {
                q++;
                while (is_jws((unsigned char)s[q]))
                    q++;
                memcpy(r + n, " or ", 4);
                n += 4;
            } else {
                memcpy(r + n, s + p, q - p);
                n += q - p;
            }
            p = q;
            continue;
        }
        r[n++] = s[p++];
    }
    r[n] = '\0';
    return r;
}

struct span {
    size_t a, b;
};

/* s.split("\\s+WORD\\s+"): the pieces' spans, trailing empty ones dropped
 * (a leading empty one kept, as Java keeps it for a match at 0).  *out is
 * malloc'd; *n may be 0. */
static enum tm_code split_on_word(const char *s, const char *word, struct span **out,
                                  size_t *n, struct tm_err *err)
{
    size_t wl = strlen(word), len = strlen(s), cnt = 0, cap = 4, start = 0, p = 0;
    struct span *v = malloc(cap * sizeof(*v));
    if (!v)
        return nomem(err);
    for (;;) {
        bool found = false;
        size_t ms = 0, me = 0;
        while (p < len) {
            if (!is_jws((unsigned char)s[p])) {
                p++;
                continue;
            }
            /* a whitespace run: a match starts here or nowhere in it */
            size_t q = p;
            while (is_jws((unsigned char)s[q]))
                q++;
            if (strncmp(s + q, word, wl) == 0 && is_jws((unsigned char)s[q + wl])) {
                ms = p;
                me = q + wl;
                while (is_jws((unsigned char)s[me]))
                    me++;
                found = true;
                break;
            }
            p = q;
        }
        if (cnt == cap) {
            struct span *nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv) {
                free(v);
                return nomem(err);
            }
            v = nv;
            cap *= 2;
        }
        if (!found) {
            v[cnt++] = (struct span){start, len};
            break;
        }
        v[cnt++] = (struct span){start, ms};
        start = p = me;
    }
    while (cnt > 0 && v[cnt - 1].a == v[cnt - 1].b)
        cnt--;
    *out = v;
    *n = cnt;
    return TM_OK;
}

/* "@" \s* ("!" | "not ") followed by at least one character and no line
 * terminator to the end (String.matches("^@\\s*(!|not ).+")).  *plen: the
 * length of the prefix replaceFirst removes. */
static bool required_not_prefix(const char *s, size_t *plen)
{
    if (s[0] != '@')
        return false;
    size_t q = 1;
    while (is_jws((unsigned char)s[q]))
        q++;
    size_t m = s[q] == '!' ? 1 : strncmp(s + q, "not ", 4) == 0 ? 4 : 0;
    if (m == 0)
        return false;
    const unsigned char *r = (const unsigned char *)s + q + m;
    if (!*r)
        return false;
    for (; *r; r++) {
        if (*r == '\n' || *r == '\r' || (r[0] == 0xc2 && r[1] == 0x85) ||
            (r[0] == 0xe2 && r[1] == 0x80 && (r[2] == 0xa8 || r[2] == 0xa9)))
            return false;
    }
    *plen = q + m;
    return true;
}

static enum tm_code matches(const char *expr, const char *const *items, size_t nitems,
                            bool *out, struct tm_err *err);

/* Evaluates the pieces of s split on "or" (any) or "and" (all).  *split:
 * whether there were at least two pieces (else nothing is evaluated). */
static enum tm_code eval_split(const char *s, const char *word, bool any,
                               const char *const *items, size_t nitems, bool *split,
                               bool *out, struct tm_err *err)
{
    struct span *sp = NULL;
    size_t n = 0;
    enum tm_code rc = split_on_word(s, word, &sp, &n, err);
    *split = rc == TM_OK && n > 1;
    if (!*split) {
        free(sp);
        return rc;
    }
    *out = !any;
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        char *piece = strndup(s + sp[i].a, sp[i].b - sp[i].a);
        if (!piece) {
            rc = nomem(err);
            break;
        }
        bool m = false;
        rc = matches(piece, items, nitems, &m, err);
        free(piece);
        if (rc == TM_OK && m == any) {
            *out = any;
            break;
        }
    }
    free(sp);
    return rc;
}

/* The leaf of ExpressionMatcher.matches: negation, '@', then the items. */
static bool eval_term(char *s, const char *const *items, size_t nitems)
{
    bool neg = false, required = false;
    size_t plen = 0;
    if (s[0] == '!') {
        neg = true;
        s = trim_inplace(s + 1);
    } else if (ascii_lower(s[0]) == 'n' && ascii_lower(s[1]) == 'o' &&
               ascii_lower(s[2]) == 't' && s[3] == ' ') {
        neg = true;
        s = trim_inplace(s + 4);
    } else if (required_not_prefix(s, &plen)) {
        neg = true;
        s = trim_inplace(s + plen);
    }
    if (s[0] == '@') {
        required = true;
        s = trim_inplace(s + 1);
    }
    if (!required && nitems == 0)
        return true;
    if (trimmed_equals(s, ":TRUE"))
        return !neg;
    if (trimmed_equals(s, ":FALSE"))
        return neg;
    for (size_t i = 0; i < nitems; i++) {
        const char *it = items[i];
        size_t n = strlen(it);
        if (it[0] == '@') {
            it++;
            n--;
            while (n > 0 && is_trim((unsigned char)*it)) {
                it++;
                n--;
            }
            while (n > 0 && is_trim((unsigned char)it[n - 1]))
                n--;
        }
        if (ieq_n(it, n, s))
            return !neg;
    }
    return neg;
}

static enum tm_code matches(const char *expr, const char *const *items, size_t nitems,
                            bool *out, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    bool split = false;
    char *s = dup_trim_n(expr, strlen(expr));
    if (!s)
        return nomem(err);
    if (strcmp(s, ":TRUE") == 0 || strcmp(s, ":FALSE") == 0) {
        *out = s[1] == 'T';
        goto out;
    }
    while (strchr(s, '(')) {
        size_t open, close;
        if (!innermost_group(s, &open, &close)) {
            rc = tm_err_set(err, TM_E_INVAL, "cannot parse expression \"%s\"", s);
            goto out;
        }
        char *inner = strndup(s + open + 1, close - open - 1);
        if (!inner) {
            rc = nomem(err);
            goto out;
        }
        bool v = false;
        rc = matches(inner, items, nitems, &v, err);
        free(inner);
        if (rc != TM_OK)
            goto out;
        size_t n = strlen(s) + 16;
        char *ns = malloc(n);
        if (!ns) {
            rc = nomem(err);
            goto out;
        }
        snprintf(ns, n, "%.*s :%s %s", (int)open, s, v ? "TRUE" : "FALSE", s + close + 1);
        free(s);
        s = ns;
    }
    char *c = commas_to_or(s);
    if (!c) {
        rc = nomem(err);
        goto out;
    }
    free(s);
    s = c;
    rc = eval_split(s, "or", true, items, nitems, &split, out, err);
    if (rc != TM_OK || split)
        goto out;
    rc = eval_split(s, "and", false, items, nitems, &split, out, err);
    if (rc != TM_OK || split)
        goto out;
    *out = eval_term(s, items, nitems);
out:
    free(s);
    return rc;
}

enum tm_code select_expression_matches(const char *expr, const char *const *items,
                                       size_t nitems, bool *out, struct tm_err *err)
{
    *out = false;
    if (!expr)
        expr = "";
    if (strlen(expr) > SELECT_MAX_EXPR)
        return tm_err_set(err, TM_E_TOOBIG, "expression of %zu bytes (at most %d)",
                          strlen(expr), SELECT_MAX_EXPR);
    return matches(expr, items, nitems, out, err);
}

/* ---- the filters ----------------------------------------------------------- */

/* ContextExpression.matches(Contexts): any expression of exprs (HashSet
 * order) true against the items; an empty expression matches unless an item
 * is mandatory ('@'). */
static enum tm_code expression_set_matches(const struct strset *exprs,
                                           const struct strset *items, bool *out,
                                           struct tm_err *err)
{
    bool mandatory = false;
    for (size_t i = 0; i < items->n; i++)
        mandatory = mandatory || items->v[i][0] == '@';
    *out = exprs->n == 0 && !mandatory;
    for (size_t i = 0; i < exprs->n && !*out; i++) {
        enum tm_code rc = matches(exprs->v[i], (const char *const *)items->v, items->n, out, err);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

/* ContextExpression.isEmpty for an expression given as text. */
static enum tm_code text_is_empty(const char *text, bool *empty, struct tm_err *err)
{
    struct strset l;
    enum tm_code rc = parse_list(text, false, false, &l, err);
    *empty = l.n == 0;
    set_release(&l);
    return rc;
}

/* ChangeSet.appendContext */
static enum tm_code append_context(struct tm_buf *b, const char *text, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    bool complex = strchr(text, ',') || strchr(text, ' ');
    if (b->len)
        rc = tm_buf_adds(b, " AND ");
    if (rc == TM_OK)
        rc = tm_buf_addf(b, complex ? "(%s)" : "%s", text);
    if (rc == TM_E_NOMEM)
        return nomem(err);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "contexts longer than %u bytes", TM_CAP_SMALL);
    return TM_OK;
}

/* trimToNull of a built buffer into *out. */
static enum tm_code detach_trimmed(struct tm_buf *b, char **out, struct tm_err *err)
{
    *out = NULL;
    size_t n = strlen(tm_buf_str(b));
    const char *s = trim_span(tm_buf_str(b), &n);
    if (n > 0 && !(*out = strndup(s, n)))
        return nomem(err);
    return TM_OK;
}

/* Adds one level's contexts (ChangeSet.appendContext): skipped when empty. */
static enum tm_code add_context_level(struct tm_buf *b, const char *text, bool *first,
                                      struct tm_err *err)
{
    bool empty = true;
    enum tm_code rc = text_is_empty(text, &empty, err);
    if (rc == TM_OK && !empty)
        rc = append_context(b, text, err);
    return rc;
}

/* Adds one level's labels: Labels.toString, the set joined with ','; levels
 * joined with ',' (*first: nothing written yet). */
static enum tm_code add_label_level(struct tm_buf *b, const char *text, bool *first,
                                    struct tm_err *err)
{
    struct strset l;
    enum tm_code rc = parse_list(text, false, false, &l, err);
    for (size_t k = 0; k < l.n && rc == TM_OK; k++) {
        rc = tm_buf_addf(b, "%s%s", *first && k == 0 ? "" : ",", l.v[k]);
        if (rc != TM_OK)
            rc = rc == TM_E_NOMEM ? nomem(err)
                                  : tm_err_set(err, rc, "labels longer than %u bytes",
                                               TM_CAP_SMALL);
    }
    if (l.n > 0)
        *first = false;
    set_release(&l);
    return rc;
}

/* The inherited levels (innermost first), then own, through add; the result
 * trimmed to NULL into *out. */
static enum tm_code join_levels(const char *own, const char *const *inherited, size_t ninherited,
                                enum tm_code (*add)(struct tm_buf *, const char *, bool *,
                                                    struct tm_err *),
                                char **out, struct tm_err *err)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = TM_OK;
    *out = NULL;
    bool first = true;
    for (size_t i = 0; i <= ninherited && rc == TM_OK; i++)
        rc = add(&b, i < ninherited ? inherited[i] : own, &first, err);
    if (rc == TM_OK)
        rc = detach_trimmed(&b, out, err);
    tm_buf_release(&b);
    return rc;
}

enum tm_code select_full_context(const char *own, const char *const *inherited,
                                 size_t ninherited, char **out, struct tm_err *err)
{
    return join_levels(own, inherited, ninherited, add_context_level, out, err);
}

enum tm_code select_full_labels(const char *own, const char *const *inherited,
                                size_t ninherited, char **out, struct tm_err *err)
{
    return join_levels(own, inherited, ninherited, add_label_level, out, err);
}

enum tm_code select_contexts_accept(const char *run_contexts, const char *own,
                                    const char *const *inherited, size_t ninherited,
                                    bool *out, struct tm_err *err)
{
    struct strset run = {0}, own_set = {0}, full_items = {0};
    char *full = NULL;
    bool by_run = false, by_own = false;
    *out = false;
    /* new Contexts(String) for the run; new ContextExpression(String) for the
     * changeset; the run's contexts are also read as expressions
     * (ContextExpression(Collection): the same set in the same order). */
    enum tm_code rc = parse_list(run_contexts, true, true, &run, err);
    if (rc == TM_OK)
        rc = parse_list(own, false, true, &own_set, err);
    if (rc == TM_OK)
        rc = select_full_context(own, inherited, ninherited, &full, err);
    if (rc == TM_OK)
        rc = parse_list(full, true, true, &full_items, err);
    /* (run matches the full context || the own expression matches the run) */
    if (rc == TM_OK)
        rc = expression_set_matches(&run, &full_items, &by_run, err);
    if (rc == TM_OK && !by_run)
        rc = expression_set_matches(&own_set, &run, &by_own, err);
    bool accept = by_run || by_own;
    /* && every inherited expression matches the run (matchesAll) */
    for (size_t i = 0; i < ninherited && rc == TM_OK && accept; i++) {
        struct strset inh;
        rc = parse_list(inherited[i], false, true, &inh, err);
        if (rc == TM_OK && inh.n > 0)
            rc = expression_set_matches(&inh, &run, &accept, err);
        set_release(&inh);
    }
    if (rc == TM_OK)
        *out = accept;
    free(full);
    set_release(&run);
    set_release(&own_set);
    set_release(&full_items);
    return rc;
}

enum tm_code select_labels_accept(const char *label_filter, const char *own,
                                  const char *const *inherited, size_t ninherited,
                                  bool *out, struct tm_err *err)
{
    struct strset filter = {0}, labels = {0};
    char *full = NULL;
    *out = true;
    /* new LabelExpression(String): a LinkedHashSet, so in written order */
    enum tm_code rc = parse_list(label_filter, true, false, &filter, err);
    if (rc == TM_OK && filter.n > 0) {
        rc = select_full_labels(own, inherited, ninherited, &full, err);
        if (rc == TM_OK)
            rc = parse_list(full, false, false, &labels, err);
        *out = false;
        for (size_t i = 0; i < filter.n && rc == TM_OK && !*out; i++)
            rc = matches(filter.v[i], (const char *const *)labels.v, labels.n, out, err);
    }
    if (rc != TM_OK)
        *out = false;
    free(full);
    set_release(&filter);
    set_release(&labels);
    return rc;
}

/* ---- the changelog model ----------------------------------------------------- */

/* Runs the filter (labels or contexts) for run_value on cs's own and
 * inherited parts into *accept, or, when full is not NULL, builds the
 * history column text into *full instead. */
static enum tm_code run_filter(const struct chlog_changeset *cs, bool labels, const char *run_value,
                               bool *accept, char **full, struct tm_err *err)
{
    const char *own = labels ? cs->labels : cs->contexts;
    const char *const *inh =
        (const char *const *)(labels ? cs->inherited_labels : cs->inherited_contexts);
    size_t ninh = labels ? cs->ninherited_labels : cs->ninherited_contexts;
    if (full)
        return labels ? select_full_labels(own, inh, ninh, full, err)
                      : select_full_context(own, inh, ninh, full, err);
    return labels ? select_labels_accept(run_value, own, inh, ninh, accept, err)
                  : select_contexts_accept(run_value, own, inh, ninh, accept, err);
}

enum tm_code select_changeset(const struct select_run *run, const struct chlog_changeset *cs,
                              bool *out, struct tm_err *err)
{
    const char *contexts = run ? run->contexts : NULL;
    const char *label_filter = run ? run->label_filter : NULL;
    *out = false;
    /* the common case, decided without allocating: nothing on either side */
    if ((!contexts || !*contexts) && (!label_filter || !*label_filter) &&
        (!cs->contexts || !*cs->contexts) && (!cs->labels || !*cs->labels) &&
        !cs->ninherited_contexts && !cs->ninherited_labels) {
        *out = true;
        return TM_OK;
    }
    /* the context filter runs first; a rejected changeset is not labelled */
    bool ok = false, at_labels = false;
    enum tm_code rc = run_filter(cs, false, contexts, &ok, NULL, err);
    if (rc == TM_OK && ok) {
        at_labels = true;
        rc = run_filter(cs, true, label_filter, &ok, NULL, err);
    }
    if (rc != TM_OK) {
        tm_err_prefix(err, "%s:%d: changeset %s::%s::%s: %s",
                      cs->path ? cs->path : cs->filename ? cs->filename : "", cs->line,
                      cs->filename ? cs->filename : "", cs->id ? cs->id : "",
                      cs->author ? cs->author : "", at_labels ? "label filter" : "context");
        return rc;
    }
    *out = ok;
    return TM_OK;
}

enum tm_code select_history_columns(const struct chlog_changeset *cs, char **contexts,
                                    char **labels, struct tm_err *err)
{
    *labels = NULL;
    enum tm_code rc = run_filter(cs, false, NULL, NULL, contexts, err);
    if (rc == TM_OK)
        rc = run_filter(cs, true, NULL, NULL, labels, err);
    if (rc != TM_OK) {
        free(*contexts);
        *contexts = NULL;
    }
    return rc;
}
