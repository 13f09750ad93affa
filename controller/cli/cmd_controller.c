/* The `tidemark controller` subcommand: flags -> struct tm_proc -> manager.
 *
 * Owns the process-level set-up the manager must not do itself: logging,
 * the metrics registry, the API config, the identity, and signal handling.
 * SIGTERM/SIGINT set the one file-scope flag (STYLE.md rule 5; an atomic,
 * see proc.h); a second
 * signal exits at once (like controller-runtime).  SIGPIPE is ignored
 * (sockets use MSG_NOSIGNAL, curl CURLOPT_NOSIGNAL).
 *
 * The flags are one table (controller_flags, common/flags.h) that drives
 * both their parsing and `--help`; the manager's defaults stay in mgr.h.
 * --namespace is repeatable and each value may be a comma-separated list
 * (what the chart's watchNamespaces passes): the names are checked as
 * Kubernetes namespace names and repeats dropped, in the order given.
 *
 * Exit codes: 0 after a requested stop, 1 on failure or lost leadership (the
 * pod restarts and rejoins the election), 2 on bad flags. */
#include "cli/cmd_controller.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/caps.h"
#include "common/clock.h"
#include "common/flags.h"
#include "engine/applim.h"
#include "engine/pgpool.h"
#include "kube/kube.h"
#include "log/log.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"

/* lock-free (checked at start): safe to touch from a signal handler */
static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_exchange(&stop_flag, 1))
        _exit(1);
}

#define NS_NAME_MAX 63 /* a namespace name is a DNS-1123 label */

/* What the flags fill: the manager's options and the process's logging. */
struct controller_args {
    const char *kubeconfig;
    const char *log_format;
    const char *log_level;
    struct tm_flag_list namespace_flags; /* --namespace values as given */
    /* the namespaces split out of them, each once: mo.namespaces points here */
    char ns_names[INFORMER_MAX_NAMESPACES][NS_NAME_MAX + 1];
    const char *ns_list[INFORMER_MAX_NAMESPACES + 1];
    size_t nns;
    struct mgr_opts mo;
    int max_per_server;     /* --max-connections-per-server */
    int64_t db_idle_ms;     /* --db-idle-timeout */
    int max_applies;        /* --max-concurrent-applies; -1: not given */
    int max_applies_server; /* --max-concurrent-applies-per-server; -1: not given */
    /* --workers-dbrollout, -dbinstance, -dbschema (0: --workers); mo.kind_workers points here */
    int workers_rollout, workers_instance, workers_schema;
    struct mgr_kind_workers kind_workers[4];
};

/* A Kubernetes namespace name (a DNS-1123 label): 1-63 of [a-z0-9-],
 * starting and ending with a letter or digit. */
static bool namespace_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > NS_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* One --namespace value: comma-separated namespace names. */
static bool parse_namespaces(const char *val, void *field, char *why, size_t whyn)
{
    for (const char *p = val;; p++) {
        size_t n = strcspn(p, ",");
        if (!namespace_name_ok(p, n)) {
            snprintf(why, whyn, "not a namespace name: \"%.*s\"", (int)(n > 80 ? 80 : n), p);
            return false;
        }
        p += n;
        if (!*p)
            return true;
    }
}

/* Splits the --namespace values into f->ns_names (repeats dropped) and
 * points f->mo.namespaces at them.  false when there are too many. */
static bool split_namespaces(struct controller_args *f)
{
    for (size_t i = 0; i < f->namespace_flags.n; i++) {
        for (const char *p = f->namespace_flags.items[i];; p++) {
            size_t n = strcspn(p, ","), j = 0;
            while (j < f->nns && !(strlen(f->ns_names[j]) == n &&
                                   strncmp(f->ns_names[j], p, n) == 0))
                j++;
            if (j == f->nns) {
                if (f->nns == INFORMER_MAX_NAMESPACES)
                    return false;
                memcpy(f->ns_names[f->nns], p, n); /* checked: n <= NS_NAME_MAX */
                f->ns_names[f->nns][n] = '\0';
                f->ns_list[f->nns] = f->ns_names[f->nns];
                f->nns++;
            }
            p += n;
            if (!*p)
                break;
        }
    }
    f->ns_list[f->nns] = NULL;
    f->mo.namespaces = f->nns ? f->ns_list : NULL;
    return true;
}

static bool parse_workers(const char *val, void *field, char *why, size_t whyn)
{
    long n;
    if (!tm_flag_long(val, 1, 1024, &n))
        return false;
    *(int *)field = (int)n;
    return true;
}

static bool parse_max_per_server(const char *val, void *field, char *why, size_t whyn)
{
    long n;
    if (!tm_flag_long(val, 1, 10000, &n))
        return false;
    *(int *)field = (int)n;
    return true;
}

static bool parse_max_applies(const char *val, void *field, char *why, size_t whyn)
{
    long n;
    if (!tm_flag_long(val, 0, 10000, &n))
        return false;
    *(int *)field = (int)n;
    return true;
}

static bool parse_duration(const char *val, void *field, char *why, size_t whyn)
{
    return tm_flag_duration_ms(val, field);
}

enum { CMD_CONTROLLER = 1 }; /* the table's one command bit */

#define ARG(field) offsetof(struct controller_args, field)
#define STR_FLAG(name, field, meta, text)                                                    \
    {.names = {name}, .kind = TM_FLAG_VALUE, .offset = ARG(field),                           \
     .commands = CMD_CONTROLLER, .metavar = meta, .help = text}
#define DUR_FLAG(name, field, text)                                                          \
    {.names = {name}, .kind = TM_FLAG_VALUE, .offset = ARG(field), .parse = parse_duration,  \
     .commands = CMD_CONTROLLER, .metavar = "D", .help = text}

static const struct tm_flag controller_flags[] = {
    STR_FLAG("--kubeconfig", kubeconfig, "PATH",
             "kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)"),
    {.names = {"--namespace"}, .kind = TM_FLAG_LIST, .offset = ARG(namespace_flags),
     .parse = parse_namespaces, .commands = CMD_CONTROLLER, .metavar = "NS[,NS...]",
     .help = "watch only these namespaces (repeatable; default: all)\n"
             "one Role per namespace is enough (no ClusterRole)"},
    {.names = {"--workers"}, .kind = TM_FLAG_VALUE, .offset = ARG(mo.workers),
     .parse = parse_workers, .commands = CMD_CONTROLLER, .metavar = "N",
     .help = "concurrent reconciles per kind (default 2)"},
    {.names = {"--workers-dbrollout"}, .kind = TM_FLAG_VALUE, .offset = ARG(workers_rollout),
     .parse = parse_workers, .commands = CMD_CONTROLLER, .metavar = "N",
     .help = "DBRollout reconciles at once (default --workers); an apply holds one\n"
             "for its whole run, so at least --max-concurrent-applies"},
    {.names = {"--workers-dbinstance"}, .kind = TM_FLAG_VALUE, .offset = ARG(workers_instance),
     .parse = parse_workers, .commands = CMD_CONTROLLER, .metavar = "N",
     .help = "DBInstance checks at once (default --workers)"},
    {.names = {"--workers-dbschema"}, .kind = TM_FLAG_VALUE, .offset = ARG(workers_schema),
     .parse = parse_workers, .commands = CMD_CONTROLLER, .metavar = "N",
     .help = "DBSchema reconciles at once (default --workers)"},
    {.names = {"--max-concurrent-applies"}, .kind = TM_FLAG_VALUE, .offset = ARG(max_applies),
     .parse = parse_max_applies, .commands = CMD_CONTROLLER, .metavar = "N",
     .help = "DBRollout applies and rollbacks running at once, all servers\n"
             "(default 8; 0: no overall limit); the rest wait their turn in order"},
    {.names = {"--max-concurrent-applies-per-server"}, .kind = TM_FLAG_VALUE,
     .offset = ARG(max_applies_server), .parse = parse_max_applies, .commands = CMD_CONTROLLER,
     .metavar = "N",
     .help = "applies at once on one database server (host:port)\n"
             "(default and at most --max-connections-per-server - 1)"},
    {.names = {"--leader-elect"}, .kind = TM_FLAG_BOOL, .offset = ARG(mo.leader_elect),
     .commands = CMD_CONTROLLER, .true_false = true,
     .help = "run only while holding the leader Lease"},
    STR_FLAG("--leader-election-namespace", mo.lease_ns, "NS",
             "Lease namespace (default: the config's)"),
    STR_FLAG("--leader-election-id", mo.lease_name, "NAME",
             "Lease name (default tidemark-controller)"),
    DUR_FLAG("--leader-elect-lease-duration", mo.lease_duration_ms, "default 15s"),
    DUR_FLAG("--leader-elect-renew-deadline", mo.renew_deadline_ms, "default 10s"),
    DUR_FLAG("--leader-elect-retry-period", mo.retry_period_ms, "default 2s"),
    {.names = {"--max-connections-per-server"}, .kind = TM_FLAG_VALUE,
     .offset = ARG(max_per_server), .parse = parse_max_per_server, .commands = CMD_CONTROLLER,
     .metavar = "N",
     .help = "connections to one database server, observers and applies together\n"
             "(default 4; applies hold at most N-1 when N >= 2)"},
    DUR_FLAG("--db-idle-timeout", db_idle_ms, "close idle database connections after (default 60s)"),
    STR_FLAG("--metrics-addr", mo.metrics_addr, "HOST:PORT",
             "/metrics listener (default :8080; 0 disables)"),
    STR_FLAG("--health-addr", mo.health_addr, "HOST:PORT",
             "/healthz, /readyz listener (default :8081; 0 disables)"),
    DUR_FLAG("--grace-period", mo.grace_ms, "in-flight reconciles at shutdown (default 30s)"),
    STR_FLAG("--log-format", log_format, "json|text", "default json"),
    STR_FLAG("--log-level", log_level, "debug|info|warn|error", "default info"),
};

#define NFLAGS (sizeof(controller_flags) / sizeof(controller_flags[0]))

struct cli_command cli_controller_command(void)
{
    return (struct cli_command){.name = "controller", .line = "run the Kubernetes controller",
                                .flags = controller_flags, .nflags = NFLAGS,
                                .bit = CMD_CONTROLLER};
}

static void usage(FILE *out)
{
    fprintf(out, "usage: tidemark controller [flags]\n");
    tm_flags_help(out, controller_flags, NFLAGS, CMD_CONTROLLER, 33);
    fprintf(out, "durations: 500ms, 15s, 2m or plain seconds\n");
}

/* -1 to go on, or the exit code (0 after --help, 2 on a bad flag). */
static int parse_flags(int argc, char **argv, struct controller_args *f)
{
    f->log_format = "json";
    f->log_level = "info";
    f->max_applies = -1;
    f->max_applies_server = -1;
    f->mo.metrics_addr = ":8080";
    f->mo.health_addr = ":8081";
    const struct tm_flag_set set = {controller_flags, NFLAGS, CMD_CONTROLLER, 0, true};
    struct tm_flag_result r;
    if (tm_flags_parse(&set, argc, argv, f, &r) != TM_OK) {
        switch (r.problem) {
        case TM_FLAG_NEEDS_VALUE:
            fprintf(stderr, "tidemark controller: %s needs a value\n", r.arg);
            return 2;
        case TM_FLAG_BAD_VALUE:
            fprintf(stderr, "tidemark controller: bad value \"%s\" for %.*s%s%s\n", r.value,
                    r.name_len, r.name, r.why[0] ? ": " : "", r.why);
            return 2;
        case TM_FLAG_TOO_MANY:
            fprintf(stderr, "tidemark controller: %.*s given more than %d times\n", r.name_len,
                    r.name, TM_FLAG_LIST_MAX);
            return 2;
        default: /* unknown, --leader-elect=<not a boolean>, an argument */
            fprintf(stderr, "tidemark controller: unknown flag %s\n", r.arg);
            usage(stderr);
            return 2;
        }
    }
    if (r.help) {
        usage(stdout);
        return 0;
    }
    if (strcmp(f->log_format, "json") != 0 && strcmp(f->log_format, "text") != 0) {
        fprintf(stderr, "tidemark controller: --log-format must be json or text\n");
        return 2;
    }
    struct mgr_kind_workers *kw = f->kind_workers;
    if (f->workers_rollout)
        *kw++ = (struct mgr_kind_workers){"DBRollout", f->workers_rollout};
    if (f->workers_instance)
        *kw++ = (struct mgr_kind_workers){"DBInstance", f->workers_instance};
    if (f->workers_schema)
        *kw++ = (struct mgr_kind_workers){"DBSchema", f->workers_schema};
    *kw = (struct mgr_kind_workers){NULL, 0};
    f->mo.kind_workers = f->kind_workers;
    if (!split_namespaces(f)) {
        fprintf(stderr, "tidemark controller: --namespace: more than %d namespaces\n",
                INFORMER_MAX_NAMESPACES);
        return 2;
    }
    return -1; /* go on */
}

/* POD_NAME (downward API) or the hostname, plus pid and a random suffix so
 * two processes on one host never share an identity (client-go: host_uuid). */
static void make_identity(char *out, size_t n)
{
    char host[128] = "";
    const char *pod = getenv("POD_NAME");
    if (pod && *pod)
        snprintf(host, sizeof(host), "%s", pod);
    else if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "%s", "tidemark");
    host[sizeof(host) - 1] = '\0';
    unsigned r = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&r, sizeof(r), 1, f) != 1)
            r = 0;
        fclose(f);
    }
    if (!r) /* no /dev/urandom: the wall clock as a seed, not as a time */
        r = (unsigned)tm_wall_ms() ^ (unsigned)getpid();
    snprintf(out, n, "%s_%d_%08x", host, (int)getpid(), r);
}

/* ---- the database connection pool's upkeep: idle reaping and metrics ---- */

struct pool_upkeep {
    struct pgpool *pool;
    int64_t every_ms;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stop;
    bool started;
    pthread_t thread;
};

/* Closes idle connections past --db-idle-timeout, every every_ms, until stopped. */
static void *reaper_main(void *arg)
{
    struct pool_upkeep *u = arg;
    pthread_mutex_lock(&u->mu);
    while (!u->stop) {
        struct timespec at;
        clock_gettime(CLOCK_REALTIME, &at);
        int64_t ns = at.tv_nsec + (u->every_ms % 1000) * 1000000;
        at.tv_sec += u->every_ms / 1000 + ns / 1000000000;
        at.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&u->wake, &u->mu, &at);
        if (u->stop)
            break;
        pthread_mutex_unlock(&u->mu);
        pgpool_reap(u->pool);
        pthread_mutex_lock(&u->mu);
    }
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

static void pool_upkeep_stop(struct pool_upkeep *u)
{
    if (!u->started)
        return;
    pthread_mutex_lock(&u->mu);
    u->stop = true;
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->mu);
    pthread_join(u->thread, NULL);
    u->started = false;
}

static void set_pool_gauges(const struct pgpool_server_stats *st, void *ctx)
{
    struct metrics_family *f = ctx;
    metrics_set(f, (const char *[]){st->server, "open"}, st->open);
    metrics_set(f, (const char *[]){st->server, "idle"}, st->idle);
    metrics_set(f, (const char *[]){st->server, "apply"}, st->applies);
    metrics_set(f, (const char *[]){st->server, "waiting"}, st->waiting);
}

/* tidemark_db_connections{server,state}: the pool's figures at each scrape. */
static void collect_pool(void *ctx, struct metrics *m)
{
    struct metrics_family *f = metrics_gauge(
        m, "tidemark_db_connections",
        "Database connections per server (host:port): open (leased and idle), idle, apply "
        "(leased for applies), waiting (reconciles waiting for one).",
        "server,state", NULL);
    if (f)
        pgpool_stats(ctx, set_pool_gauges, f);
}

/* tidemark_db_connection_waits_total{server,use}: the pool's on_wait. */
static void count_pool_wait(void *ctx, const char *server, enum pgpool_use use)
{
    metrics_inc(ctx, (const char *[]){server, use == PGPOOL_APPLY ? "apply" : "observe"});
}

/* An Event the API server refused or could not take (the sender thread's): a log line, as
 * when Events were sent from the workers. */
static void log_event_failed(void *ctx, const struct kube_event *e, const struct tm_err *err)
{
    log_warn(ctx, "event not recorded", LF_S("kind", e->regarding.kind),
             LF_S("namespace", e->regarding.ns), LF_S("name", e->regarding.name),
             LF_S("reason", e->reason), LF_S("err", err->msg));
}

/* ---- the apply limiter: waking a DBRollout whose turn came, and its gauges ---- */

/* Who wakes a waiting apply: the manager, once it exists (cleared before it is freed). */
struct apply_waker {
    _Atomic(struct mgr *) m;
};

static void wake_rollout(void *ctx, const char *key)
{
    struct apply_waker *w = ctx;
    struct mgr *m = atomic_load(&w->m);
    if (m && mgr_enqueue_first(m, "DBRollout", key) != TM_OK) {
        /* out of memory, or no DBRollout reconciler: its own poll (APPLIM_POLL_MS) retries */
    }
}

struct apply_gauges {
    struct metrics_family *by_server;
    int waiting;
};

static void set_apply_gauges(const struct applim_server_stats *st, void *ctx)
{
    struct apply_gauges *g = ctx;
    metrics_set(g->by_server, (const char *[]){st->server}, st->running);
    g->waiting += st->waiting;
}

/* tidemark_applies_in_flight, _by_server{server}, tidemark_applies_waiting at each scrape. */
static void collect_applies(void *ctx, struct metrics *m)
{
    struct apply_gauges g = {
        .by_server = metrics_gauge(m, "tidemark_applies_in_flight_by_server",
                                   "DBRollout applies and rollbacks running, per database "
                                   "server (host:port).",
                                   "server", NULL)};
    int total = 0;
    applim_stats(ctx, set_apply_gauges, &g, &total);
    metrics_set(metrics_gauge(m, "tidemark_applies_in_flight",
                              "DBRollout applies and rollbacks running, all servers.", NULL, NULL),
                NULL, total);
    metrics_set(metrics_gauge(m, "tidemark_applies_waiting",
                              "DBRollout applies waiting for their turn "
                              "(--max-concurrent-applies, --max-concurrent-applies-per-server).",
                              NULL, NULL),
                NULL, g.waiting);
}

/* The per-server apply limit: the flag, at most what the pool lets applies hold on one
 * server (--max-connections-per-server - 1, so one connection is left for observers). */
static int applies_per_server(const struct controller_args *f, struct tm_log *lg)
{
    int conns = f->max_per_server ? f->max_per_server : PGPOOL_DEFAULT_MAX_PER_SERVER;
    int cap = conns >= 2 ? conns - 1 : 1;
    if (f->max_applies_server < 0 || f->max_applies_server == 0)
        return cap;
    if (f->max_applies_server > cap) {
        log_warn(lg, "--max-concurrent-applies-per-server above what the connections allow",
                 LF_I("max_concurrent_applies_per_server", f->max_applies_server),
                 LF_I("max_connections_per_server", conns), LF_I("used", cap));
        return cap;
    }
    return f->max_applies_server;
}

int cli_controller_main(int argc, char **argv, const struct mgr_reconciler *const *reconcilers)
{
    struct controller_args f;
    memset(&f, 0, sizeof(f));
    int code = parse_flags(argc, argv, &f);
    if (code >= 0)
        return code;
    enum log_level lvl;
    if (!log_level_parse(f.log_level, &lvl)) {
        fprintf(stderr, "tidemark controller: --log-level must be debug, info, warn or error\n");
        return 2;
    }

    struct tm_log lg;
    log_init(&lg, stderr, lvl, strcmp(f.log_format, "json") == 0);
    struct tm_err err;
    tm_err_clear(&err);
    struct metrics *mx = NULL;
    struct kube_config *cfg = NULL;
    struct kube_eventer *events = NULL;
    struct mgr *m = NULL;
    struct pgpool *pool = NULL;
    struct applim *applies = NULL;
    struct apply_waker waker;
    atomic_init(&waker.m, NULL);
    bool workers_stuck = false; /* a reconcile outlived the grace period: it may hold a lease */
    struct pool_upkeep upkeep = {.mu = PTHREAD_MUTEX_INITIALIZER,
                                 .wake = PTHREAD_COND_INITIALIZER};
    code = 1;

    if (!atomic_is_lock_free(&stop_flag)) {
        fprintf(stderr, "tidemark controller: atomic_int is not lock-free here\n");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (kube_global_init(&err) != TM_OK)
        goto out;
    mx = metrics_new(&err);
    if (!mx || metrics_add_process_collector(mx, &err) != TM_OK)
        goto out;
    struct kube_config_opts ko = {.kubeconfig = f.kubeconfig};
    cfg = kube_config_load(&ko, &err);
    if (!cfg)
        goto out;
    char identity[256];
    make_identity(identity, sizeof(identity));
    events = kube_eventer_new(NULL, NULL, &err);
    if (!events)
        goto out;
    struct pgpool_opts po = {
        .max_per_server = f.max_per_server,
        .idle_timeout_ms = f.db_idle_ms,
        .on_wait = count_pool_wait,
        .on_wait_ctx = metrics_counter(mx, "tidemark_db_connection_waits_total",
                                       "Connection requests that found every connection "
                                       "allowed to their server (host:port) in use and waited, "
                                       "by use (observe, apply).",
                                       "server,use", &err)};
    if (!po.on_wait_ctx)
        goto out;
    pool = pgpool_new(&po);
    if (!pool) {
        tm_err_set(&err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (metrics_on_collect(mx, collect_pool, pool, &err) != TM_OK)
        goto out;
    struct applim_opts ao = {
        .limits = {.total = f.max_applies >= 0 ? f.max_applies : APPLIM_DEFAULT_MAX_TOTAL,
                   .per_server = applies_per_server(&f, &lg)},
        .wake = wake_rollout,
        .wake_ctx = &waker};
    applies = applim_new(&ao);
    if (!applies) {
        tm_err_set(&err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (metrics_on_collect(mx, collect_applies, applies, &err) != TM_OK)
        goto out;
    upkeep.pool = pool;
    upkeep.every_ms = (f.db_idle_ms > 0 ? f.db_idle_ms : PGPOOL_DEFAULT_IDLE_TIMEOUT_MS) / 4;
    if (upkeep.every_ms < 100)
        upkeep.every_ms = 100;
    if (upkeep.every_ms > 10000)
        upkeep.every_ms = 10000;
    if (pthread_create(&upkeep.thread, NULL, reaper_main, &upkeep) != 0) {
        tm_err_set(&err, TM_E_NOMEM, "cannot start the connection reaper thread");
        goto out;
    }
    upkeep.started = true;
    struct tm_proc proc = {
        .log = &lg,
        .clock = tm_clock_monotonic(),
        .metrics = mx,
        .stop = &stop_flag,
        .kube_config = cfg,
        .events = events,
        .identity = identity,
        .pgpool = pool,
        .applies = applies,
    };
    struct tm_buf watched; /* "a,b": the namespaces for the log ("" = all) */
    tm_buf_init(&watched, TM_CAP_SMALL);
    for (size_t i = 0; i < f.nns; i++)
        if (tm_buf_addf(&watched, "%s%s", i ? "," : "", f.ns_list[i]) != TM_OK)
            break; /* 64 names of 63 bytes fit; a shorter log field is harmless */
    log_info(&lg, "controller starting", LF_S("version", TM_VERSION),
             LF_S("server", kube_config_server(cfg)), LF_S("auth", kube_config_auth_kind(cfg)),
             LF_S("namespace", tm_buf_str(&watched)), LF_S("identity", identity),
             LF_I("leader_elect", f.mo.leader_elect),
             LF_I("max_connections_per_server",
                  f.max_per_server ? f.max_per_server : PGPOOL_DEFAULT_MAX_PER_SERVER),
             LF_I("max_concurrent_applies", ao.limits.total),
             LF_I("max_concurrent_applies_per_server", ao.limits.per_server));
    tm_buf_release(&watched);
    m = mgr_new(&proc, &f.mo, reconcilers, &err);
    if (!m)
        goto out;
    /* after mgr_new: the sender's requests count in tidemark_api_requests_total */
    if (kube_eventer_start(events, cfg, 0, log_event_failed, &lg, &err) != TM_OK)
        goto out;
    atomic_store(&waker.m, m);
    enum tm_code rc = mgr_run(m, &err);
    workers_stuck = rc == TM_E_TIMEOUT; /* mgr_run's "reconciles still running" */
    if (rc == TM_OK) {
        log_info(&lg, "controller stopped");
        code = 0;
    }
out:
    if (code != 0 && err.code != TM_OK)
        log_error(&lg, "controller failed", LF_S("err", err.msg),
                  LF_S("code", tm_code_name(err.code)));
    atomic_store(&waker.m, NULL);
    mgr_free(m);
    pool_upkeep_stop(&upkeep);
    if (!workers_stuck) { /* the workers have stopped: no lease or apply slot is out */
        if (mx && pool)
            metrics_off_collect(mx, collect_pool, pool);
        pgpool_free(pool);
        if (mx && applies)
            metrics_off_collect(mx, collect_applies, applies);
        applim_free(applies);
        kube_eventer_free(events); /* mgr_run flushed it within the grace period */
    } /* else, like mgr_free, leave them to the exiting process rather than free them under a
       * worker (a stuck one may still record an Event) */
    kube_config_free(cfg);
    metrics_free(mx);
    log_release(&lg);
    return code;
}
