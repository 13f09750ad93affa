/* leader: leader election on a coordination.k8s.io/v1 Lease, with client-go's
 * algorithm (tools/leaderelection/leaderelection.go), prefix leader_.
 *
 * One step, leader_try_acquire_or_renew():
 *   - get the Lease; absent: create it holding it (leaseTransitions 0);
 *   - when the record (holder, times, duration, transitions) differs from the
 *     one observed last, remember it and the time *we* saw it change;
 *   - held by someone else and observed_time + leaseDurationSeconds is still
 *     ahead of our clock: not ours, stop here.  Expiry is judged only by our
 *     own (monotonic, injectable) clock since the record last changed, never
 *     by renewTime, so clock skew between machines does not matter;
 *   - else write: holder = us, renewTime = now, acquireTime kept and
 *     leaseTransitions kept when we held it already, else acquireTime = now
 *     and leaseTransitions + 1; the update is conditional on the
 *     resourceVersion we read, so of two contenders one gets 409 and loses.
 *
 * The loop (leader_start, one thread): try every retry period (with up to 20%
 * jitter) until acquired -> on_started; then renew every retry period; a
 * round that cannot renew within the renew deadline loses leadership ->
 * on_stopped and the loop ends (leader_lost() true: the process should stop
 * working and exit, as client-go's users do).  leader_stop() ends the loop
 * and, when leading, releases the Lease (ReleaseOnCancel: holderIdentity
 * cleared, leaseDurationSeconds 1, so a successor need not wait).
 *
 * Defaults: lease 15 s, renew deadline 10 s, retry 2 s.  Requires
 * lease > renew deadline > retry * 1.2.
 *
 * Threads: callbacks run on the election thread (or the caller's, for the
 * step functions); leader_is_leader/leader_lost from any thread. */
#ifndef TM_RUNTIME_LEADER_H
#define TM_RUNTIME_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "runtime/proc.h"

struct leader;

struct leader_opts {
    const char *ns;                /* Lease namespace (required) */
    const char *name;              /* Lease name (required) */
    const char *identity;          /* this candidate (required, unique per process) */
    int64_t lease_duration_ms;     /* 0 = 15000 */
    int64_t renew_deadline_ms;     /* 0 = 10000 */
    int64_t retry_period_ms;       /* 0 = 2000 */
    bool no_release_on_cancel;     /* default: release the Lease on stop */
    void (*on_started)(void *ctx); /* became leader */
    void (*on_stopped)(void *ctx); /* was leader, is not any more (lost or stopped) */
    void (*on_new_leader)(void *ctx, const char *identity); /* observed holder changed */
    void *ctx;
};

/* cfg and proc borrowed (outlive l); opts' strings copied.  Checks the
 * durations (TM_E_INVAL).  NULL + err. */
struct leader *leader_new(struct kube_config *cfg, const struct tm_proc *proc,
                          const struct leader_opts *opts, struct tm_err *err);

/* Stops (and releases, see above) if running; frees.  NULL ok. */
void leader_free(struct leader *l);

/* One election step (see the header comment); true when we hold the Lease
 * afterwards.  err tells why not when the cause was an error (API down: the
 * caller retries); a Lease held by another live candidate is false with
 * err->code TM_E_LOCKED.  Not while the loop runs (tests drive it by hand
 * with a manual clock). */
bool leader_try_acquire_or_renew(struct leader *l, struct tm_err *err);

/* Gives the Lease up if we hold it (holderIdentity "", duration 1 s).  TM_OK
 * also when we do not hold it. */
enum tm_code leader_release(struct leader *l, struct tm_err *err) TM_MUST_CHECK;

/* Starts the election thread. */
enum tm_code leader_start(struct leader *l, struct tm_err *err) TM_MUST_CHECK;

/* Ends the loop; releases the Lease when leading (unless no_release_on_cancel);
 * calls on_stopped if we were leading.  Idempotent. */
void leader_stop(struct leader *l);

bool leader_is_leader(struct leader *l);
/* True once leadership was lost by failing to renew (not by leader_stop). */
bool leader_lost(struct leader *l);
/* The holder we observed last ("" when none), copied into out. */
void leader_holder(struct leader *l, char *out, size_t n);

#endif
