/* Prometheus registry and text exposition (see metrics.h).
 *
 * Families sit in an array kept sorted by name; each family's series sit in
 * an array kept sorted by their label values (compared value by value), so
 * lookups are binary searches and the writer walks the arrays in order. */
#include "runtime/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const double metrics_default_buckets[11] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10};

struct series {
    char **values;      /* nlabels strings */
    double value;       /* counter / gauge; histogram: sum */
    uint64_t count;     /* histogram */
    uint64_t *buckets;  /* histogram: per bucket (not cumulative) */
};

struct metrics_family {
    struct metrics *m;
    enum metrics_type type;
    char *name;
    char *help;
    char *label_names[METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[METRICS_MAX_BUCKETS];
    size_t nbounds;
    struct series *series;
    size_t nseries, aseries;
};

struct collector {
    metrics_collect_fn fn;
    void *ctx;
};

struct metrics {
    pthread_mutex_t mu;
    struct metrics_family **fams;
    size_t nfams, afams;
    struct collector collectors[16];
    size_t ncollectors;
    uint64_t dropped;
};

struct metrics *metrics_new(struct tm_err *err)
{
    struct metrics *m = calloc(1, sizeof(*m));
    if (!m) {
        tm_err_set(err, TM_E_NOMEM, "metrics: out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void series_release(struct series *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
}

static void family_free(struct metrics_family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nseries; i++)
        series_release(&f->series[i], f->nlabels);
    free(f->series);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->label_names[i]);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfams; i++)
        family_free(m->fams[i]);
    free(m->fams);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool valid_name(const char *s, bool colon_ok)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon_ok && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* Splits "a,b" into f->label_names. */
static enum tm_code parse_labels(struct metrics_family *f, const char *labels, struct tm_err *err)
{
    if (!labels || !*labels)
        return TM_OK;
    const char *p = labels;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (f->nlabels == METRICS_MAX_LABELS)
            return tm_err_set(err, TM_E_INVAL, "metric %s: more than %d labels", f->name,
                              METRICS_MAX_LABELS);
        char *name = strndup(p, n);
        if (!name)
            return tm_err_set(err, TM_E_NOMEM, "metric %s: out of memory", f->name);
        f->label_names[f->nlabels++] = name;
        if (!valid_name(name, false) || strcmp(name, "le") == 0)
            return tm_err_set(err, TM_E_INVAL, "metric %s: bad label name \"%s\"", f->name, name);
        p += n;
        if (*p == ',')
            p++;
    }
    return TM_OK;
}

static int family_index(struct metrics *m, const char *name, bool *found)
{
    size_t lo = 0, hi = m->nfams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->fams[mid]->name, name);
        if (c == 0) {
            *found = true;
            return (int)mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return (int)lo;
}

static bool same_shape(const struct metrics_family *a, const struct metrics_family *b)
{
    if (a->type != b->type || a->nlabels != b->nlabels)
        return false;
    for (size_t i = 0; i < a->nlabels; i++)
        if (strcmp(a->label_names[i], b->label_names[i]) != 0)
            return false;
    return true;
}

static struct series *series_get(struct metrics_family *f, const char *const *values, bool create);

static struct metrics_family *reg(struct metrics *m, enum metrics_type type, const char *name,
                                  const char *help, const char *labels, const double *buckets,
                                  size_t nbuckets, struct tm_err *err)
{
    struct metrics_family *f = calloc(1, sizeof(*f)), *ret = NULL;
    if (!f) {
        tm_err_set(err, TM_E_NOMEM, "metric %s: out of memory", name ? name : "");
        return NULL;
    }
    f->m = m;
    f->type = type;
    f->name = strdup(name ? name : "");
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help) {
        tm_err_set(err, TM_E_NOMEM, "metric: out of memory");
        goto out;
    }
    if (!valid_name(name, true)) {
        tm_err_set(err, TM_E_INVAL, "bad metric name \"%s\"", f->name);
        goto out;
    }
    if (parse_labels(f, labels, err) != TM_OK)
        goto out;
    if (type == METRICS_HISTOGRAM) {
        if (!buckets) {
            buckets = metrics_default_buckets;
            nbuckets = sizeof(metrics_default_buckets) / sizeof(metrics_default_buckets[0]);
        }
        if (nbuckets == 0 || nbuckets > METRICS_MAX_BUCKETS) {
            tm_err_set(err, TM_E_INVAL, "metric %s: %zu buckets", name, nbuckets);
            goto out;
        }
        for (size_t i = 0; i < nbuckets; i++) {
            if (i > 0 && !(buckets[i] > buckets[i - 1])) {
                tm_err_set(err, TM_E_INVAL, "metric %s: buckets not ascending", name);
                goto out;
            }
            f->bounds[i] = buckets[i];
        }
        f->nbounds = nbuckets;
    }
    pthread_mutex_lock(&m->mu);
    bool found;
    int idx = family_index(m, name, &found);
    if (found) {
        if (same_shape(m->fams[idx], f))
            ret = m->fams[idx];
        else
            tm_err_set(err, TM_E_INVAL, "metric %s registered again with another type or labels",
                       name);
        pthread_mutex_unlock(&m->mu);
        goto out;
    }
    if (m->nfams == m->afams) {
        size_t n = m->afams ? m->afams * 2 : 16;
        struct metrics_family **nf = realloc(m->fams, n * sizeof(*nf));
        if (!nf) {
            pthread_mutex_unlock(&m->mu);
            tm_err_set(err, TM_E_NOMEM, "metric %s: out of memory", name);
            goto out;
        }
        m->fams = nf;
        m->afams = n;
    }
    if (f->nlabels == 0 && !series_get(f, NULL, true)) {
        pthread_mutex_unlock(&m->mu);
        tm_err_set(err, TM_E_NOMEM, "metric %s: out of memory", name);
        goto out;
    }
    memmove(&m->fams[idx + 1], &m->fams[idx], (m->nfams - (size_t)idx) * sizeof(*m->fams));
    m->fams[idx] = f;
    m->nfams++;
    pthread_mutex_unlock(&m->mu);
    return f;
out:
    family_free(f);
    return ret;
}

struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *labels, struct tm_err *err)
{
    return reg(m, METRICS_COUNTER, name, help, labels, NULL, 0, err);
}

struct metrics_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                     const char *labels, struct tm_err *err)
{
    return reg(m, METRICS_GAUGE, name, help, labels, NULL, 0, err);
}

struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *labels, const double *buckets,
                                         size_t nbuckets, struct tm_err *err)
{
    return reg(m, METRICS_HISTOGRAM, name, help, labels, buckets, nbuckets, err);
}

static int cmp_values(const struct metrics_family *f, char *const *a, const char *const *b)
{
    for (size_t i = 0; i < f->nlabels; i++) {
        int c = strcmp(a[i], b[i] ? b[i] : "");
        if (c)
            return c;
    }
    return 0;
}

/* Lock held.  Finds (or creates) the series of values; NULL when absent and
 * not created (cap, allocation). */
static struct series *series_get(struct metrics_family *f, const char *const *values, bool create)
{
    size_t lo = 0, hi = f->nseries;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_values(f, f->series[mid].values, values);
        if (c == 0)
            return &f->series[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!create || f->nseries >= METRICS_MAX_SERIES)
        return NULL;
    if (f->nseries == f->aseries) {
        size_t n = f->aseries ? f->aseries * 2 : 4;
        struct series *ns = realloc(f->series, n * sizeof(*ns));
        if (!ns)
            return NULL;
        f->series = ns;
        f->aseries = n;
    }
    struct series s = {0};
    if (f->nlabels) {
        s.values = calloc(f->nlabels, sizeof(char *));
        if (!s.values)
            return NULL;
        for (size_t i = 0; i < f->nlabels; i++) {
            s.values[i] = strdup(values && values[i] ? values[i] : "");
            if (!s.values[i]) {
                series_release(&s, f->nlabels);
                return NULL;
            }
        }
    }
    if (f->type == METRICS_HISTOGRAM) {
        s.buckets = calloc(f->nbounds, sizeof(uint64_t));
        if (!s.buckets) {
            series_release(&s, f->nlabels);
            return NULL;
        }
    }
    memmove(&f->series[lo + 1], &f->series[lo], (f->nseries - lo) * sizeof(*f->series));
    f->series[lo] = s;
    f->nseries++;
    return &f->series[lo];
}

static void update(struct metrics_family *f, const char *const *values, double v, int op)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->m->mu);
    struct series *s = series_get(f, values, true);
    if (!s) {
        f->m->dropped++;
        goto out;
    }
    switch (op) {
    case 0: /* add */
        if (f->type == METRICS_COUNTER && !(v >= 0))
            break;
        s->value += v;
        break;
    case 1: /* set */
        s->value = v;
        break;
    default: /* observe */
        s->value += v;
        s->count++;
        for (size_t i = 0; i < f->nbounds; i++) {
            if (v <= f->bounds[i]) {
                s->buckets[i]++;
                break;
            }
        }
        break;
    }
out:
    pthread_mutex_unlock(&f->m->mu);
}

void metrics_add(struct metrics_family *f, const char *const *values, double delta)
{
    if (f && f->type != METRICS_HISTOGRAM)
        update(f, values, delta, 0);
}

void metrics_inc(struct metrics_family *f, const char *const *values)
{
    metrics_add(f, values, 1);
}

void metrics_set(struct metrics_family *f, const char *const *values, double v)
{
    if (f && f->type == METRICS_GAUGE)
        update(f, values, v, 1);
}

void metrics_observe(struct metrics_family *f, const char *const *values, double v)
{
    if (f && f->type == METRICS_HISTOGRAM)
        update(f, values, v, 2);
}

double metrics_value(struct metrics_family *f, const char *const *values)
{
    if (!f)
        return 0;
    pthread_mutex_lock(&f->m->mu);
    struct series *s = series_get(f, values, false);
    double v = 0;
    if (s)
        v = f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&f->m->mu);
    return v;
}

uint64_t metrics_dropped(struct metrics *m)
{
    pthread_mutex_lock(&m->mu);
    uint64_t d = m->dropped;
    pthread_mutex_unlock(&m->mu);
    return d;
}

enum tm_code metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *ctx,
                                struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    pthread_mutex_lock(&m->mu);
    if (m->ncollectors == sizeof(m->collectors) / sizeof(m->collectors[0]))
        rc = tm_err_set(err, TM_E_TOOBIG, "metrics: too many collectors");
    else
        m->collectors[m->ncollectors++] = (struct collector){fn, ctx};
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void metrics_off_collect(struct metrics *m, metrics_collect_fn fn, void *ctx)
{
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->ncollectors; i++) {
        if (m->collectors[i].fn == fn && m->collectors[i].ctx == ctx) {
            m->collectors[i] = m->collectors[--m->ncollectors];
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

uint64_t metrics_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2)
        return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

static void collect_process(void *ctx, struct metrics *m)
{
    metrics_set(ctx, NULL, (double)metrics_rss_bytes());
    (void)m;
}

enum tm_code metrics_add_process_collector(struct metrics *m, struct tm_err *err)
{
    struct metrics_family *f =
        metrics_gauge(m, "tidemark_process_resident_memory_bytes",
                      "Resident memory size in bytes.", NULL, err);
    if (!f)
        return err ? err->code : TM_E_NOMEM;
    return metrics_on_collect(m, collect_process, f, err);
}

enum tm_code metrics_format_value(struct tm_buf *out, double v)
{
    if (isnan(v))
        return tm_buf_adds(out, "NaN");
    if (isinf(v))
        return tm_buf_adds(out, v > 0 ? "+Inf" : "-Inf");
    /* The shortest precision that round-trips, then Go's choice between %e
     * and %f: exponent < -4 or >= 6 (strconv/ftoa.go: "if precision was the
     * shortest possible, use precision 6 for this decision"). */
    char tmp[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    int exp10 = 0;
    if (v != 0) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        const char *e = strchr(tmp, 'e');
        exp10 = e ? (int)strtol(e + 1, NULL, 10) : 0;
    }
    if (exp10 < -4 || exp10 >= 6)
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
    else
        snprintf(tmp, sizeof(tmp), "%.*g", prec > 6 ? prec : 6, v);
    return tm_buf_adds(out, tmp);
}

static enum tm_code add_escaped(struct tm_buf *out, const char *s, bool quote)
{
    enum tm_code rc = TM_OK;
    for (const char *p = s; rc == TM_OK && *p; p++) {
        if (*p == '\\')
            rc = tm_buf_adds(out, "\\\\");
        else if (*p == '\n')
            rc = tm_buf_adds(out, "\\n");
        else if (quote && *p == '"')
            rc = tm_buf_adds(out, "\\\"");
        else
            rc = tm_buf_add(out, p, 1);
    }
    return rc;
}

/* name{l1="v1",...,extra} */
static enum tm_code write_sample_name(struct tm_buf *out, const struct metrics_family *f,
                                      const char *suffix, const struct series *s,
                                      const char *le)
{
    enum tm_code rc = tm_buf_adds(out, f->name);
    if (rc == TM_OK)
        rc = tm_buf_adds(out, suffix);
    if (rc != TM_OK || (f->nlabels == 0 && !le))
        return rc;
    rc = tm_buf_adds(out, "{");
    for (size_t i = 0; rc == TM_OK && i < f->nlabels; i++) {
        rc = tm_buf_addf(out, "%s%s=\"", i ? "," : "", f->label_names[i]);
        if (rc == TM_OK)
            rc = add_escaped(out, s->values[i], true);
        if (rc == TM_OK)
            rc = tm_buf_adds(out, "\"");
    }
    if (rc == TM_OK && le)
        rc = tm_buf_addf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    if (rc == TM_OK)
        rc = tm_buf_adds(out, "}");
    return rc;
}

static enum tm_code write_line(struct tm_buf *out, const struct metrics_family *f,
                               const char *suffix, const struct series *s, const char *le,
                               double v)
{
    enum tm_code rc = write_sample_name(out, f, suffix, s, le);
    if (rc == TM_OK)
        rc = tm_buf_adds(out, " ");
    if (rc == TM_OK)
        rc = metrics_format_value(out, v);
    if (rc == TM_OK)
        rc = tm_buf_adds(out, "\n");
    return rc;
}

static enum tm_code write_family(struct tm_buf *out, const struct metrics_family *f)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    if (f->nseries == 0)
        return TM_OK;
    enum tm_code rc = tm_buf_addf(out, "# HELP %s ", f->name);
    if (rc == TM_OK)
        rc = add_escaped(out, f->help, false);
    if (rc == TM_OK)
        rc = tm_buf_addf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
    for (size_t i = 0; rc == TM_OK && i < f->nseries; i++) {
        const struct series *s = &f->series[i];
        if (f->type != METRICS_HISTOGRAM) {
            rc = write_line(out, f, "", s, NULL, s->value);
            continue;
        }
        uint64_t cum = 0;
        for (size_t b = 0; rc == TM_OK && b < f->nbounds; b++) {
            struct tm_buf le;
            tm_buf_init(&le, 64);
            cum += s->buckets[b];
            rc = metrics_format_value(&le, f->bounds[b]);
            if (rc == TM_OK)
                rc = write_line(out, f, "_bucket", s, tm_buf_str(&le), (double)cum);
            tm_buf_release(&le);
        }
        if (rc == TM_OK)
            rc = write_line(out, f, "_bucket", s, "+Inf", (double)s->count);
        if (rc == TM_OK)
            rc = write_line(out, f, "_sum", s, NULL, s->value);
        if (rc == TM_OK)
            rc = write_line(out, f, "_count", s, NULL, (double)s->count);
    }
    return rc;
}

enum tm_code metrics_write(struct metrics *m, struct tm_buf *out)
{
    struct collector cs[16];
    pthread_mutex_lock(&m->mu);
    size_t nc = m->ncollectors;
    memcpy(cs, m->collectors, nc * sizeof(cs[0]));
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < nc; i++)
        cs[i].fn(cs[i].ctx, m);

    enum tm_code rc = TM_OK;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; rc == TM_OK && i < m->nfams; i++)
        rc = write_family(out, m->fams[i]);
    pthread_mutex_unlock(&m->mu);
    return rc;
}
