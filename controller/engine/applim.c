/* applim: the apply limiter's state (see applim.h for the rules): per-server counts of
 * running applies and reserved slots, and the FIFO of waiters.  Which waiters go next is
 * applim_pick's (applim_decide.c); this file keeps the books, expires reservations and
 * forgotten waiters, and calls the wake callback outside its lock. */
#include "engine/applim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct waiter {
    char *key;
    size_t server;
    int64_t ready_ms;    /* its first WAIT */
    int64_t seen_ms;     /* its last applim_enter */
    int64_t reserved_ms; /* when its slot was reserved (reserved only) */
    bool reserved;
};

struct server {
    char name[APPLIM_SERVER_MAX];
    int running;
    int reserved;
};

struct applim {
    pthread_mutex_t mu;
    struct applim_limits lim;
    int64_t hold_ms, forget_ms;
    struct tm_clock clock;
    void (*wake)(void *ctx, const char *key);
    void *wake_ctx;
    struct server *servers;
    size_t nservers, servers_alloc;
    struct waiter *w; /* FIFO: oldest first */
    size_t nw, walloc;
    int running, reserved; /* over all servers */
    /* applim_pick's inputs, grown with w and servers */
    struct applim_waiter_view *views;
    bool *pick;
    int *counts;
    size_t scratch_alloc, counts_alloc;
};

/* Keys to wake once the lock is dropped (owned). */
struct wake_list {
    char **keys;
    size_t n;
};

struct applim *applim_new(const struct applim_opts *o)
{
    struct applim *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return NULL;
    }
    if (o) {
        l->lim = o->limits;
        l->hold_ms = o->hold_ms;
        l->forget_ms = o->forget_ms;
        l->clock = o->clock;
        l->wake = o->wake;
        l->wake_ctx = o->wake_ctx;
    }
    if (l->hold_ms <= 0)
        l->hold_ms = APPLIM_DEFAULT_HOLD_MS;
    if (l->forget_ms <= 0)
        l->forget_ms = APPLIM_DEFAULT_FORGET_MS;
    return l;
}

void applim_free(struct applim *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nw; i++)
        free(l->w[i].key);
    free(l->w);
    free(l->servers);
    free(l->views);
    free(l->pick);
    free(l->counts);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The index of server, added on first use; (size_t)-1 when out of memory.  Under mu. */
static size_t server_index(struct applim *l, const char *name)
{
    for (size_t i = 0; i < l->nservers; i++)
        if (strcmp(l->servers[i].name, name) == 0)
            return i;
    if (l->nservers == l->servers_alloc) {
        size_t na = l->servers_alloc ? 2 * l->servers_alloc : 4;
        struct server *ns = realloc(l->servers, na * sizeof(*ns));
        if (!ns)
            return (size_t)-1;
        l->servers = ns;
        l->servers_alloc = na;
    }
    struct server *s = &l->servers[l->nservers];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    return l->nservers++;
}

static void waiter_remove(struct applim *l, size_t i)
{
    free(l->w[i].key);
    memmove(&l->w[i], &l->w[i + 1], (l->nw - i - 1) * sizeof(l->w[0]));
    l->nw--;
}

static void unreserve(struct applim *l, struct waiter *w)
{
    w->reserved = false;
    l->servers[w->server].reserved--;
    l->reserved--;
}

/* Reservations not taken within hold_ms go back to waiting; waiters not seen within
 * forget_ms are dropped.  Under mu. */
static void expire(struct applim *l, int64_t now)
{
    for (size_t i = 0; i < l->nw;) {
        struct waiter *w = &l->w[i];
        if (w->reserved && now - w->reserved_ms >= l->hold_ms)
            unreserve(l, w);
        if (!w->reserved && now - w->seen_ms >= l->forget_ms) {
            waiter_remove(l, i);
            continue;
        }
        i++;
    }
}

static bool scratch_fit(struct applim *l)
{
    if (l->scratch_alloc < l->nw) {
        size_t na = l->nw * 2;
        struct applim_waiter_view *v = realloc(l->views, na * sizeof(*v));
        if (!v)
            return false;
        l->views = v;
        bool *p = realloc(l->pick, na * sizeof(*p));
        if (!p)
            return false;
        l->pick = p;
        l->scratch_alloc = na;
    }
    if (l->counts_alloc < l->nservers) {
        int *c = realloc(l->counts, l->servers_alloc * sizeof(*c));
        if (!c)
            return false;
        l->counts = c;
        l->counts_alloc = l->servers_alloc;
    }
    return true;
}

/* Picks the waiters that may start (applim_pick) and reserves their slots.  The waiter at
 * index self (or (size_t)-1) is not woken: its caller is here; true when it was picked.
 * The others' keys go to wl.  Under mu. */
static bool reserve_picked(struct applim *l, int64_t now, size_t self, struct wake_list *wl)
{
    if (l->nw == 0 || !scratch_fit(l))
        return false;
    for (size_t i = 0; i < l->nw; i++)
        l->views[i] = (struct applim_waiter_view){l->w[i].server, l->w[i].reserved};
    for (size_t s = 0; s < l->nservers; s++)
        l->counts[s] = l->servers[s].running + l->servers[s].reserved;
    int total = l->running + l->reserved;
    if (applim_pick(&l->lim, &total, l->counts, l->views, l->nw, l->pick) == 0)
        return false;
    bool self_picked = false;
    for (size_t i = 0; i < l->nw; i++) {
        if (!l->pick[i])
            continue;
        struct waiter *w = &l->w[i];
        w->reserved = true;
        w->reserved_ms = now;
        l->servers[w->server].reserved++;
        l->reserved++;
        if (i == self) {
            self_picked = true;
            continue;
        }
        if (!wl)
            continue;
        char **nk = realloc(wl->keys, (wl->n + 1) * sizeof(*nk));
        if (!nk)
            continue; /* its reservation stands; its own poll finds it */
        wl->keys = nk;
        if ((wl->keys[wl->n] = strdup(w->key)) != NULL)
            wl->n++;
    }
    return self_picked;
}

static void wake_all(struct applim *l, struct wake_list *wl)
{
    for (size_t i = 0; i < wl->n; i++) {
        if (l->wake)
            l->wake(l->wake_ctx, wl->keys[i]);
        free(wl->keys[i]);
    }
    free(wl->keys);
}

/* Turns waiter i's reservation into a running apply held by t, and drops the waiter. */
static void start_reserved(struct applim *l, size_t i, int64_t now, struct applim_ticket *t)
{
    struct waiter *w = &l->w[i];
    struct server *s = &l->servers[w->server];
    unreserve(l, w);
    s->running++;
    l->running++;
    t->held = true;
    snprintf(t->server, sizeof(t->server), "%s", s->name);
    t->waited_ms = now - w->ready_ms;
    waiter_remove(l, i);
}

enum applim_answer applim_enter(struct applim *l, const char *key, const char *server,
                                struct applim_ticket *t)
{
    struct wake_list wl = {0};
    enum applim_answer ans = APPLIM_WAIT;
    memset(t, 0, sizeof(*t));
    pthread_mutex_lock(&l->mu);
    int64_t now = tm_clock_now(&l->clock);
    expire(l, now);
    size_t srv = server_index(l, server);
    if (srv == (size_t)-1)
        goto out;
    size_t i = 0;
    while (i < l->nw && strcmp(l->w[i].key, key) != 0)
        i++;
    if (i == l->nw) { /* a new waiter, at the end of the line */
        if (l->nw == l->walloc) {
            size_t na = l->walloc ? 2 * l->walloc : 16;
            struct waiter *nwv = realloc(l->w, na * sizeof(*nwv));
            if (!nwv)
                goto out;
            l->w = nwv;
            l->walloc = na;
        }
        char *k = strdup(key);
        if (!k)
            goto out;
        l->w[l->nw++] = (struct waiter){.key = k, .server = srv, .ready_ms = now, .seen_ms = now};
    }
    struct waiter *w = &l->w[i];
    w->seen_ms = now;
    if (w->server != srv) { /* its instance moved to another server */
        if (w->reserved)
            unreserve(l, w);
        w->server = srv;
    }
    if (w->reserved || reserve_picked(l, now, i, &wl)) {
        start_reserved(l, i, now, t);
        ans = APPLIM_START;
    }
out:
    pthread_mutex_unlock(&l->mu);
    wake_all(l, &wl);
    return ans;
}

bool applim_waiting(struct applim *l, const char *key, struct applim_wait *out)
{
    bool waiting = false;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->nw; i++) {
        const struct waiter *w = &l->w[i];
        if (strcmp(w->key, key) != 0)
            continue;
        waiting = !w->reserved;
        if (waiting) {
            const struct server *sv = &l->servers[w->server];
            snprintf(out->server, sizeof(out->server), "%s", sv->name);
            out->running_server = sv->running + sv->reserved;
            out->running_total = l->running + l->reserved;
            out->limits = l->lim;
        }
        break;
    }
    pthread_mutex_unlock(&l->mu);
    return waiting;
}

void applim_leave(struct applim *l, struct applim_ticket *t)
{
    if (!t || !t->held)
        return;
    struct wake_list wl = {0};
    pthread_mutex_lock(&l->mu);
    int64_t now = tm_clock_now(&l->clock);
    size_t srv = server_index(l, t->server); /* present: t started there */
    if (srv != (size_t)-1 && l->servers[srv].running > 0) {
        l->servers[srv].running--;
        l->running--;
    }
    expire(l, now);
    reserve_picked(l, now, (size_t)-1, &wl);
    pthread_mutex_unlock(&l->mu);
    memset(t, 0, sizeof(*t));
    wake_all(l, &wl);
}

size_t applim_stats(struct applim *l, void (*fn)(const struct applim_server_stats *s, void *ctx),
                    void *ctx, int *running_total)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->nservers;
    for (size_t s = 0; fn && s < n; s++) {
        struct applim_server_stats st = {.server = l->servers[s].name,
                                         .running = l->servers[s].running,
                                         .reserved = l->servers[s].reserved};
        for (size_t i = 0; i < l->nw; i++)
            if (l->w[i].server == s && !l->w[i].reserved)
                st.waiting++;
        fn(&st, ctx);
    }
    if (running_total)
        *running_total = l->running;
    pthread_mutex_unlock(&l->mu);
    return n;
}
