/* applim_decide: which waiting applies may start now (applim.h's applim_pick).  Pure: no
 * state, clock or I/O; the limiter (applim.c) owns the counts and the FIFO and calls this
 * under its lock. */
#include "engine/applim.h"

static bool has_room(int limit, int count)
{
    return limit <= 0 || count < limit;
}

size_t applim_pick(const struct applim_limits *lim, int *total, int *server_running,
                   const struct applim_waiter_view *waiters, size_t n, bool *pick)
{
    size_t picked = 0;
    for (size_t i = 0; i < n; i++) {
        pick[i] = false;
        if (waiters[i].reserved)
            continue; /* its slot is already counted */
        if (!has_room(lim->total, *total))
            continue; /* the rest wait too, but pick[] must still be cleared */
        int *srv = &server_running[waiters[i].server];
        if (!has_room(lim->per_server, *srv))
            continue; /* its server is full: a later waiter on another server may go */
        pick[i] = true;
        (*total)++;
        (*srv)++;
        picked++;
    }
    return picked;
}
