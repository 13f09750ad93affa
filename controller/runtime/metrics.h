/* metrics: a small thread-safe Prometheus registry (counters, gauges,
 * histograms with labels) and its text exposition (format 0.0.4).
 *
 * Design: one mutex per registry guards every family and series; updates are
 * a lookup in a sorted array plus an add, which is far cheaper than the
 * reconciles they count, so one lock is enough.  Families are written sorted
 * by name and series sorted by label values, so the output is deterministic
 * (tests compare it byte for byte).  Numbers are formatted like the Go client
 * (strconv 'g', shortest): 1, 0.005, 1e+06, +Inf, NaN.
 *
 * A family without labels has its one series from registration on (value 0);
 * a family with labels is written only once it has a series, like a Go
 * *Vec.  Each family holds at most METRICS_MAX_SERIES series; updates that
 * would create more, or cannot allocate, are dropped and counted
 * (metrics_dropped()): metrics never fail the caller.
 *
 * Collectors (metrics_on_collect) run at the start of every metrics_write,
 * outside the lock, to refresh gauges computed on demand (memory, queue
 * depth).  Families live as long as the registry: the pointers returned by
 * metrics_counter() and friends are borrowed from it and safe to share
 * between threads. */
#ifndef TM_RUNTIME_METRICS_H
#define TM_RUNTIME_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define METRICS_MAX_SERIES 10000
#define METRICS_MAX_LABELS 8
#define METRICS_MAX_BUCKETS 32

struct metrics;
struct metrics_family;

enum metrics_type { METRICS_COUNTER = 0, METRICS_GAUGE, METRICS_HISTOGRAM };

/* The Go client's default buckets (seconds): .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10. */
extern const double metrics_default_buckets[11];

/* ---- registry ---- */

struct metrics *metrics_new(struct tm_err *err);
/* Frees m and every family (NULL ok).  No thread may be using it. */
void metrics_free(struct metrics *m);

/* ---- families ----
 * name must match [a-zA-Z_:][a-zA-Z0-9_:]*; labels is a comma-separated list
 * of label names ("kind,result"; "" or NULL: none).  Registering a name again
 * returns the existing family when type and labels agree (so modules may
 * register lazily), TM_E_INVAL otherwise.  NULL + err on failure. */
struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *labels, struct tm_err *err);
struct metrics_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                     const char *labels, struct tm_err *err);
/* buckets: ascending upper bounds without +Inf (added implicitly); NULL =
 * metrics_default_buckets. */
struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *labels, const double *buckets,
                                         size_t nbuckets, struct tm_err *err);

/* ---- updates ----
 * values: one label value per label name, in order (NULL when the family has
 * no labels).  f NULL is ignored (so optional metrics need no checks). */
void metrics_add(struct metrics_family *f, const char *const *values, double delta); /* counter: delta >= 0 */
void metrics_inc(struct metrics_family *f, const char *const *values);
void metrics_set(struct metrics_family *f, const char *const *values, double v);     /* gauge */
void metrics_observe(struct metrics_family *f, const char *const *values, double v); /* histogram */

/* Current value of a counter/gauge series (count for a histogram); 0 when
 * the series does not exist.  For tests and logs. */
double metrics_value(struct metrics_family *f, const char *const *values);

/* Updates dropped (cardinality cap or allocation failure). */
uint64_t metrics_dropped(struct metrics *m);

/* ---- collection ---- */

typedef void (*metrics_collect_fn)(void *ctx, struct metrics *m);

/* Adds a collector called at the start of each metrics_write (any thread,
 * without the registry lock: it may update families).  At most 16. */
enum tm_code metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *ctx,
                                struct tm_err *err) TM_MUST_CHECK;

/* Removes a collector added with the same fn and ctx (before ctx is freed).
 * Waits for nothing: the caller makes sure no metrics_write runs it now. */
void metrics_off_collect(struct metrics *m, metrics_collect_fn fn, void *ctx);

/* Registers tidemark_process_resident_memory_bytes, read from
 * /proc/self/statm at each scrape. */
enum tm_code metrics_add_process_collector(struct metrics *m, struct tm_err *err) TM_MUST_CHECK;

/* Resident set size of this process in bytes from /proc/self/statm (0 when
 * unreadable). */
uint64_t metrics_rss_bytes(void);

/* Appends the exposition text of every family to out.  TM_E_TOOBIG /
 * TM_E_NOMEM from out (then out is empty). */
enum tm_code metrics_write(struct metrics *m, struct tm_buf *out) TM_MUST_CHECK;

/* Appends v formatted like Go's strconv.FormatFloat(v, 'g', -1, 64) with
 * Prometheus' +Inf/-Inf/NaN spelling. */
enum tm_code metrics_format_value(struct tm_buf *out, double v) TM_MUST_CHECK;

/* The content type of metrics_write's output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
