/* The `tidemark controller` subcommand: flags -> struct tm_proc -> manager.
 *
 * Owns the process-level set-up the manager must not do itself: logging,
 * the metrics registry, the API config, the identity, and signal handling.
 * SIGTERM/SIGINT set the one file-scope flag (STYLE.md rule 5; an atomic,
 * see proc.h); a second
 * signal exits at once (like controller-runtime).  SIGPIPE is ignored
 * (sockets use MSG_NOSIGNAL, curl CURLOPT_NOSIGNAL).
 *
 * Exit codes: 0 after a requested stop, 1 on failure or lost leadership (the
 * pod restarts and rejoins the election), 2 on bad flags. */
#include "runtime/mgr.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "log/log.h"
#include "runtime/metrics.h"

/* lock-free (checked at start): safe to touch from a signal handler */
static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_exchange(&stop_flag, 1))
        _exit(1);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tidemark controller [flags]\n"
            "  --kubeconfig PATH                  kubeconfig (default: $KUBECONFIG, in-cluster, "
            "~/.kube/config)\n"
            "  --namespace NS                     watch one namespace (default: all)\n"
            "  --workers N                        concurrent reconciles per kind (default 2)\n"
            "  --leader-elect                     run only while holding the leader Lease\n"
            "  --leader-election-namespace NS     Lease namespace (default: the config's)\n"
            "  --leader-election-id NAME          Lease name (default tidemark-controller)\n"
            "  --leader-elect-lease-duration D    default 15s\n"
            "  --leader-elect-renew-deadline D    default 10s\n"
            "  --leader-elect-retry-period D      default 2s\n"
            "  --metrics-addr HOST:PORT           /metrics listener (default :8080; 0 disables)\n"
            "  --health-addr HOST:PORT            /healthz, /readyz listener (default :8081; 0 "
            "disables)\n"
            "  --grace-period D                   in-flight reconciles at shutdown (default 30s)\n"
            "  --log-format json|text             default json\n"
            "  --log-level debug|info|warn|error  default info\n"
            "durations: 500ms, 15s, 2m or plain seconds\n");
}

/* "15s", "500ms", "2m", "3" (seconds) -> ms; false when malformed or <= 0. */
static bool parse_duration(const char *s, int64_t *ms)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !(v > 0))
        return false;
    double mult = 1000;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else
        return false;
    *ms = (int64_t)(v * mult);
    return *ms > 0;
}

static bool parse_int(const char *s, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 1024)
        return false;
    *out = (int)v;
    return true;
}

struct flags {
    const char *kubeconfig;
    const char *log_format;
    const char *log_level;
    struct mgr_opts mo;
};

/* Matches "--name value" or "--name=value"; advances *i past what it used. */
static bool flag_value(int argc, char **argv, int *i, const char *name, const char **out)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *out = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        *out = NULL;
        return true;
    }
    *out = argv[++*i];
    return true;
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
    f->log_format = "json";
    f->log_level = "info";
    f->mo.metrics_addr = ":8080";
    f->mo.health_addr = ":8081";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int64_t d = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--leader-elect") == 0 || strcmp(a, "--leader-elect=true") == 0) {
            f->mo.leader_elect = true;
            continue;
        }
        if (strcmp(a, "--leader-elect=false") == 0) {
            f->mo.leader_elect = false;
            continue;
        }
#define STR_FLAG(name, field)                                                                    \
    if (flag_value(argc, argv, &i, name, &v)) {                                                 \
        if (!v)                                                                                  \
            goto missing;                                                                        \
        field = v;                                                                               \
        continue;                                                                                \
    }
#define DUR_FLAG(name, field)                                                                    \
    if (flag_value(argc, argv, &i, name, &v)) {                                                 \
        if (!v)                                                                                  \
            goto missing;                                                                        \
        if (!parse_duration(v, &d))                                                              \
            goto bad;                                                                            \
        field = d;                                                                               \
        continue;                                                                                \
    }
        STR_FLAG("--kubeconfig", f->kubeconfig)
        STR_FLAG("--namespace", f->mo.ns)
        STR_FLAG("--leader-election-namespace", f->mo.lease_ns)
        STR_FLAG("--leader-election-id", f->mo.lease_name)
        STR_FLAG("--metrics-addr", f->mo.metrics_addr)
        STR_FLAG("--health-addr", f->mo.health_addr)
        STR_FLAG("--log-format", f->log_format)
        STR_FLAG("--log-level", f->log_level)
        DUR_FLAG("--leader-elect-lease-duration", f->mo.lease_duration_ms)
        DUR_FLAG("--leader-elect-renew-deadline", f->mo.renew_deadline_ms)
        DUR_FLAG("--leader-elect-retry-period", f->mo.retry_period_ms)
        DUR_FLAG("--grace-period", f->mo.grace_ms)
        if (flag_value(argc, argv, &i, "--workers", &v)) {
            if (!v)
                goto missing;
            if (!parse_int(v, &f->mo.workers))
                goto bad;
            continue;
        }
#undef STR_FLAG
#undef DUR_FLAG
        fprintf(stderr, "tidemark controller: unknown flag %s\n", a);
        usage(stderr);
        return 2;
    missing:
        fprintf(stderr, "tidemark controller: %s needs a value\n", a);
        return 2;
    bad:
        fprintf(stderr, "tidemark controller: bad value \"%s\" for %s\n", v, a);
        return 2;
    }
    if (strcmp(f->log_format, "json") != 0 && strcmp(f->log_format, "text") != 0) {
        fprintf(stderr, "tidemark controller: --log-format must be json or text\n");
        return 2;
    }
    if (f->mo.ns && !*f->mo.ns)
        f->mo.ns = NULL;
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
    if (!r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (unsigned)ts.tv_nsec ^ (unsigned)getpid();
    }
    snprintf(out, n, "%s_%d_%08x", host, (int)getpid(), r);
}

int mgr_main(int argc, char **argv, const struct mgr_reconciler *const *reconcilers)
{
    struct flags f;
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
    struct tm_proc proc = {
        .log = &lg,
        .clock = tm_clock_monotonic(),
        .metrics = mx,
        .stop = &stop_flag,
        .kube_config = cfg,
        .events = events,
        .identity = identity,
    };
    log_info(&lg, "controller starting", LF_S("version", TM_VERSION),
             LF_S("server", kube_config_server(cfg)), LF_S("auth", kube_config_auth_kind(cfg)),
             LF_S("namespace", f.mo.ns ? f.mo.ns : ""), LF_S("identity", identity),
             LF_I("leader_elect", f.mo.leader_elect));
    m = mgr_new(&proc, &f.mo, reconcilers, &err);
    if (!m)
        goto out;
    enum tm_code rc = mgr_run(m, &err);
    if (rc == TM_OK) {
        log_info(&lg, "controller stopped");
        code = 0;
    }
out:
    if (code != 0 && err.code != TM_OK)
        log_error(&lg, "controller failed", LF_S("err", err.msg),
                  LF_S("code", tm_code_name(err.code)));
    mgr_free(m);
    kube_eventer_free(events);
    kube_config_free(cfg);
    metrics_free(mx);
    log_release(&lg);
    return code;
}
