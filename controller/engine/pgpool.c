/* pgpool: bounded, shared PostgreSQL connections per database server (see pgpool.h for the
 * rules).  This file owns the slot accounting, the idle lists and the waiting; connecting is
 * pgx_conn_new's, parsing a URL is libpq's (PQconninfoParse), digests are OpenSSL's. */
#include "engine/pgpool.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct idle_conn {
    struct pool_server *srv; /* whose slot it holds */
    struct pgx_conn *conn;
    char *conn_key;
    int64_t since_ms;
    struct idle_conn *next;
};

struct pool_server {
    char *key;
    char display[160];
    int open;    /* slots taken: leased + idle + being connected + being closed */
    int applies; /* leased for applies (and being connected for one) */
    int apply_waiters;
    int waiters;
    struct idle_conn *idle; /* most recently released first */
    struct pool_server *next;
};

struct pgpool {
    pthread_mutex_t mu;
    pthread_cond_t freed; /* a slot was given back or an idle connection appeared */
    int max;
    int64_t idle_timeout_ms;
    struct tm_clock clock;
    void (*on_wait)(void *ctx, const char *server, enum pgpool_use use);
    void *on_wait_ctx;
    struct pool_server *servers;
};

struct pgpool_lease {
    struct pgx_conn *conn;
    struct pool_server *srv;
    char *conn_key;
    enum pgpool_use use;
};

/* ---------------------------------------------------------------- keys */

#define KEY_SEP "\x1f"

/* host, port, user, sslmode, dbname, password from params: the URL's (libpq parses it)
 * overridden by the discrete fields.  Values point into *opts (free with
 * PQconninfoFree) or params. */
struct conn_fields {
    const char *host, *port, *user, *sslmode, *dbname, *password;
};

static bool looks_like_conninfo(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 ||
           strchr(s, '=') != NULL;
}

static enum tm_code fields_of(const struct pgx_params *p, struct conn_fields *f,
                              PQconninfoOption **opts, struct tm_err *err)
{
    memset(f, 0, sizeof(*f));
    *opts = NULL;
    if (p->url && *p->url) {
        if (looks_like_conninfo(p->url)) {
            char *msg = NULL;
            *opts = PQconninfoParse(p->url, &msg);
            if (!*opts) {
                /* libpq's message names the bad part, never the password's value */
                tm_err_set(err, TM_E_INVAL, "connection URL: %s", msg ? msg : "out of memory");
                PQfreemem(msg);
                return TM_E_INVAL;
            }
            for (PQconninfoOption *o = *opts; o->keyword; o++) {
                if (!o->val || !*o->val)
                    continue;
                if (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0) {
                    if (!f->host)
                        f->host = o->val;
                } else if (strcmp(o->keyword, "port") == 0) {
                    f->port = o->val;
                } else if (strcmp(o->keyword, "user") == 0) {
                    f->user = o->val;
                } else if (strcmp(o->keyword, "sslmode") == 0) {
                    f->sslmode = o->val;
                } else if (strcmp(o->keyword, "dbname") == 0) {
                    f->dbname = o->val;
                } else if (strcmp(o->keyword, "password") == 0) {
                    f->password = o->val;
                }
            }
        } else {
            f->dbname = p->url; /* a plain database name, as libpq reads it */
        }
    }
#define OVERRIDE(field) \
    if (p->field && *p->field) \
        f->field = p->field;
    OVERRIDE(host)
    OVERRIDE(port)
    OVERRIDE(user)
    OVERRIDE(sslmode)
    OVERRIDE(dbname)
    OVERRIDE(password)
#undef OVERRIDE
    return TM_OK;
}

static enum tm_code key_printf(char *out, size_t n, struct tm_err *err, const char *fmt, ...)
    TM_PRINTF(4, 5);
static enum tm_code key_printf(char *out, size_t n, struct tm_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n)
        return tm_err_set(err, TM_E_TOOBIG, "connection key longer than %zu bytes", n);
    return TM_OK;
}

#define S(x) ((x) ? (x) : "")

enum tm_code pgpool_server_key(const struct pgx_params *params, char *out, size_t n,
                               struct tm_err *err)
{
    struct conn_fields f;
    PQconninfoOption *opts;
    enum tm_code rc = fields_of(params, &f, &opts, err);
    if (rc == TM_OK)
        rc = key_printf(out, n, err, "%s" KEY_SEP "%s" KEY_SEP "%s" KEY_SEP "%s", S(f.host),
                        S(f.port), S(f.user), S(f.sslmode));
    PQconninfoFree(opts);
    return rc;
}

/* SHA-256 of s as hex ("" for NULL or ""). */
static void digest_hex(const char *s, char out[65])
{
    out[0] = '\0';
    if (!s || !*s)
        return;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL))
        return;
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

enum tm_code pgpool_conn_key(const struct pgx_params *params, char *out, size_t n,
                             struct tm_err *err)
{
    struct conn_fields f;
    PQconninfoOption *opts;
    enum tm_code rc = fields_of(params, &f, &opts, err);
    if (rc == TM_OK) {
        char pw[65];
        digest_hex(f.password, pw);
        rc = key_printf(out, n, err,
                        "%s" KEY_SEP "%s" KEY_SEP "%s" KEY_SEP "%s" KEY_SEP "%s" KEY_SEP
                        "%s" KEY_SEP "%s" KEY_SEP "%d" KEY_SEP "%d" KEY_SEP "%d" KEY_SEP "%s",
                        S(f.host), S(f.port), S(f.user), S(f.sslmode), S(f.dbname), pw,
                        S(params->sslrootcert), params->connect_timeout_s,
                        params->statement_timeout_ms, params->lock_timeout_ms,
                        S(params->application_name));
    }
    PQconninfoFree(opts);
    return rc;
}

/* "host:port" of a server key, for messages and metrics. */
static void display_of(const char *key, char *out, size_t n)
{
    const char *sep1 = strstr(key, KEY_SEP);
    const char *host = key;
    size_t hlen = sep1 ? (size_t)(sep1 - key) : strlen(key);
    const char *port = sep1 ? sep1 + 1 : "";
    const char *sep2 = strstr(port, KEY_SEP);
    size_t plen = sep2 ? (size_t)(sep2 - port) : strlen(port);
    snprintf(out, n, "%.*s:%.*s", (int)(hlen ? hlen : 9), hlen ? host : "localhost",
             (int)(plen ? plen : 4), plen ? port : "5432");
}

enum tm_code pgpool_server_name(const struct pgx_params *params, char *out, size_t n,
                                struct tm_err *err)
{
    char key[1024];
    enum tm_code rc = pgpool_server_key(params, key, sizeof(key), err);
    if (rc == TM_OK)
        display_of(key, out, n);
    return rc;
}

/* ---------------------------------------------------------------- pool */

struct pgpool *pgpool_new(const struct pgpool_opts *o)
{
    if (o && o->max_per_server < 0)
        return NULL;
    struct pgpool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->max = o && o->max_per_server > 0 ? o->max_per_server : PGPOOL_DEFAULT_MAX_PER_SERVER;
    p->idle_timeout_ms =
        o && o->idle_timeout_ms > 0 ? o->idle_timeout_ms : PGPOOL_DEFAULT_IDLE_TIMEOUT_MS;
    if (o) {
        p->clock = o->clock;
        p->on_wait = o->on_wait;
        p->on_wait_ctx = o->on_wait_ctx;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&p->mu, NULL) != 0 || pthread_cond_init(&p->freed, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        free(p);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    return p;
}

static void idle_free(struct idle_conn *ic)
{
    pgx_conn_free(ic->conn);
    free(ic->conn_key);
    free(ic);
}

void pgpool_free(struct pgpool *p)
{
    if (!p)
        return;
    for (struct pool_server *s = p->servers, *next; s; s = next) {
        next = s->next;
        for (struct idle_conn *ic = s->idle, *in; ic; ic = in) {
            in = ic->next;
            idle_free(ic);
        }
        free(s->key);
        free(s);
    }
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The server for key, created on first use.  Under mu. */
static struct pool_server *server_get(struct pgpool *p, const char *key)
{
    for (struct pool_server *s = p->servers; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    struct pool_server *s = calloc(1, sizeof(*s));
    if (!s || !(s->key = strdup(key))) {
        free(s);
        return NULL;
    }
    display_of(key, s->display, sizeof(s->display));
    s->next = p->servers;
    p->servers = s;
    return s;
}

/* Unlinks s's idle connections older than the timeout onto *closing (their slots stay
 * taken until close_all).  Under mu. */
static int take_expired(struct pgpool *p, struct pool_server *s, int64_t now,
                        struct idle_conn **closing)
{
    int n = 0;
    for (struct idle_conn **pp = &s->idle; *pp;) {
        struct idle_conn *ic = *pp;
        if (now - ic->since_ms >= p->idle_timeout_ms) {
            *pp = ic->next;
            ic->next = *closing;
            *closing = ic;
            n++;
        } else {
            pp = &ic->next;
        }
    }
    return n;
}

/* Unlinks s's least recently used idle connection onto *closing (its slot stays taken until
 * close_all); false when none.  Under mu. */
static bool take_oldest_idle(struct pool_server *s, struct idle_conn **closing)
{
    struct idle_conn **last = NULL;
    for (struct idle_conn **pp = &s->idle; *pp; pp = &(*pp)->next)
        last = pp;
    if (!last)
        return false;
    struct idle_conn *ic = *last;
    *last = NULL;
    ic->next = *closing;
    *closing = ic;
    return true;
}

/* Unlinks s's idle connection with conn_key, most recent first; NULL when none.  Under mu. */
static struct idle_conn *take_idle(struct pool_server *s, const char *conn_key)
{
    for (struct idle_conn **pp = &s->idle; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->conn_key, conn_key) == 0) {
            struct idle_conn *ic = *pp;
            *pp = ic->next;
            ic->next = NULL;
            return ic;
        }
    }
    return NULL;
}

/* How long a close waits for the server to end the session. */
#define CLOSE_WAIT_MS 2000

/* Closes c and waits (up to CLOSE_WAIT_MS) for the server to end the session: the server
 * counts a backend against max_connections until the backend exits, some time after the
 * client has gone, so a slot is free only then — else close-then-connect briefly holds one
 * session more than the bound (seen in pg_stat_activity under load).  The backend closes its
 * socket last, as it exits: EOF on a duplicate of the socket says it is gone. */
static void conn_close(struct pgx_conn *c)
{
    int fd = -1;
    if (c && PQsocket(pgx_conn_pg(c)) >= 0)
        fd = dup(PQsocket(pgx_conn_pg(c)));
    pgx_conn_free(c);
    if (fd < 0)
        return;
    int64_t deadline = tm_mono_ms() + CLOSE_WAIT_MS;
    char junk[512];
    for (;;) {
        int64_t left = deadline - tm_mono_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        if (read(fd, junk, sizeof(junk)) <= 0) /* EOF (or reset): the backend has exited */
            break;
    }
    close(fd);
}

/* Closes the listed idle connections (taken off their servers' idle lists, their slots still
 * counted in open), then gives their slots back.  Not under mu. */
static void close_all(struct pgpool *p, struct idle_conn *list)
{
    for (struct idle_conn *ic = list, *next; ic; ic = next) {
        next = ic->next;
        conn_close(ic->conn);
        pthread_mutex_lock(&p->mu);
        ic->srv->open--;
        pthread_cond_broadcast(&p->freed);
        pthread_mutex_unlock(&p->mu);
        free(ic->conn_key);
        free(ic);
    }
}

/* Whether an idle connection is fit to lend.  An idle session has nothing to say: when its
 * socket is readable, the server sent something unasked — the FATAL message before it closes
 * the connection (restart, pg_terminate_backend, idle timeout) — or already closed it. */
static bool still_open(struct pgx_conn *c)
{
    PGconn *pg = pgx_conn_pg(c);
    if (PQstatus(pg) != CONNECTION_OK || PQtransactionStatus(pg) != PQTRANS_IDLE)
        return false;
    struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
    return pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}

/* How many slots applies may hold at once on one server. */
static int apply_cap(const struct pgpool *p)
{
    return p->max >= 2 ? p->max - 1 : 1;
}

struct pgpool_lease *pgpool_acquire(struct pgpool *p, const struct pgx_params *params,
                                    enum pgpool_use use, int64_t wait_ms, struct tm_err *err)
{
    char skey[1024], ckey[1400];
    if (pgpool_server_key(params, skey, sizeof(skey), err) != TM_OK ||
        pgpool_conn_key(params, ckey, sizeof(ckey), err) != TM_OK)
        return NULL;
    struct pgpool_lease *l = calloc(1, sizeof(*l));
    if (!l || !(l->conn_key = strdup(ckey))) {
        free(l);
        tm_err_set(err, TM_E_NOMEM, "connect: out of memory");
        return NULL;
    }
    l->use = use;
    struct timespec deadline = tm_mono_deadline(wait_ms);
    struct idle_conn *closing = NULL;
    struct idle_conn *reuse = NULL;
    bool reserved = false, timed_out = false;

    pthread_mutex_lock(&p->mu);
    struct pool_server *s = server_get(p, skey);
    if (!s) {
        pthread_mutex_unlock(&p->mu);
        free(l->conn_key);
        free(l);
        tm_err_set(err, TM_E_NOMEM, "connect: out of memory");
        return NULL;
    }
    l->srv = s;
    bool counted_wait = false;
    bool slept = false; /* waited for a slot (not only for an idle connection to close) */
    for (;;) {
        take_expired(p, s, tm_clock_now(&p->clock), &closing);
        /* an observer lets a waiting apply go first, if that apply may take a slot at all */
        bool observer_yields = use == PGPOOL_OBSERVE && s->apply_waiters > 0 &&
                               s->applies < apply_cap(p);
        if (use == PGPOOL_OBSERVE && !observer_yields && (reuse = take_idle(s, ckey)) != NULL)
            break;
        bool apply_ok = use == PGPOOL_OBSERVE || s->applies < apply_cap(p);
        if (apply_ok && !observer_yields) {
            if (s->open >= p->max)
                take_oldest_idle(s, &closing); /* make room: idle of another database */
            if (s->open < p->max) {
                s->open++;
                if (use == PGPOOL_APPLY)
                    s->applies++;
                reserved = true;
                break;
            }
        }
        if (timed_out)
            break;
        if (!counted_wait) {
            counted_wait = true;
            s->waiters++;
            if (use == PGPOOL_APPLY)
                s->apply_waiters++;
        }
        if (closing) { /* close outside the lock before sleeping */
            pthread_mutex_unlock(&p->mu);
            close_all(p, closing);
            closing = NULL;
            pthread_mutex_lock(&p->mu);
            continue;
        }
        slept = true;
        if (wait_ms <= 0 || pthread_cond_timedwait(&p->freed, &p->mu, &deadline) != 0)
            timed_out = true; /* one more look, then give up */
    }
    if (counted_wait) {
        s->waiters--;
        if (use == PGPOOL_APPLY)
            s->apply_waiters--;
        /* a slot an apply passed over may now be an observer's */
        pthread_cond_broadcast(&p->freed);
    }
    int max = p->max, cap = apply_cap(p);
    pthread_mutex_unlock(&p->mu);
    close_all(p, closing);
    if (slept && p->on_wait)
        p->on_wait(p->on_wait_ctx, s->display, use); /* display never changes once set */

    if (reuse) {
        if (still_open(reuse->conn)) {
            l->conn = reuse->conn;
            free(reuse->conn_key);
            free(reuse);
            return l;
        }
        /* gone while idle: close it and connect anew in its slot */
        conn_close(reuse->conn);
        free(reuse->conn_key);
        free(reuse);
        reserved = true;
    }
    if (!reserved) {
        if (use == PGPOOL_APPLY)
            tm_err_setr(err, TM_E_TIMEOUT, TM_RETRY_WAITING,
                        "connect to %s: all %d apply sessions this server allows are in use "
                        "(--max-connections-per-server %d keeps one for observers); waited %lld ms",
                        s->display, cap, max, (long long)wait_ms);
        else
            tm_err_setr(err, TM_E_TIMEOUT, TM_RETRY_WAITING,
                        "connect to %s: all %d connections allowed to this server are in use "
                        "(--max-connections-per-server); waited %lld ms",
                        s->display, max, (long long)wait_ms);
        free(l->conn_key);
        free(l);
        return NULL;
    }
    l->conn = pgx_conn_new(params, err);
    if (!l->conn) {
        pthread_mutex_lock(&p->mu);
        s->open--;
        if (use == PGPOOL_APPLY)
            s->applies--;
        pthread_cond_broadcast(&p->freed);
        pthread_mutex_unlock(&p->mu);
        free(l->conn_key);
        free(l);
        return NULL;
    }
    return l;
}

struct pgx_conn *pgpool_conn(const struct pgpool_lease *l)
{
    return l ? l->conn : NULL;
}

void pgpool_release(struct pgpool *p, struct pgpool_lease *l, bool reusable)
{
    if (!l)
        return;
    bool keep = reusable && l->use == PGPOOL_OBSERVE && still_open(l->conn);
    struct idle_conn *ic = NULL;
    if (keep) {
        ic = calloc(1, sizeof(*ic));
        if (!ic)
            keep = false;
    }
    if (!keep) { /* the slot is free once the server ended the session */
        conn_close(l->conn);
        free(l->conn_key);
    }
    pthread_mutex_lock(&p->mu);
    struct pool_server *s = l->srv;
    if (l->use == PGPOOL_APPLY)
        s->applies--;
    if (keep) {
        ic->srv = s;
        ic->conn = l->conn;
        ic->conn_key = l->conn_key;
        ic->since_ms = tm_clock_now(&p->clock);
        ic->next = s->idle;
        s->idle = ic;
    } else {
        s->open--;
    }
    pthread_cond_broadcast(&p->freed);
    pthread_mutex_unlock(&p->mu);
    free(l);
}

int pgpool_reap(struct pgpool *p)
{
    struct idle_conn *closing = NULL;
    int n = 0;
    pthread_mutex_lock(&p->mu);
    int64_t now = tm_clock_now(&p->clock);
    for (struct pool_server *s = p->servers; s; s = s->next)
        n += take_expired(p, s, now, &closing);
    pthread_mutex_unlock(&p->mu);
    close_all(p, closing);
    return n;
}

size_t pgpool_stats(struct pgpool *p, void (*fn)(const struct pgpool_server_stats *s, void *ctx),
                    void *ctx)
{
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (struct pool_server *s = p->servers; s; s = s->next) {
        struct pgpool_server_stats st = {.open = s->open, .applies = s->applies,
                                         .waiting = s->waiters};
        snprintf(st.server, sizeof(st.server), "%s", s->display);
        for (struct idle_conn *ic = s->idle; ic; ic = ic->next)
            st.idle++;
        if (fn)
            fn(&st, ctx);
        n++;
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}
