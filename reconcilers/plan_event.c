/* rec_plan_event: Events a decide function asks for (see plan_event.h). */
#include "reconcilers/plan_event.h"

#include <stdarg.h>
#include <stdio.h>

void rec_plan_event_vadd(struct rec_plan_event *events, size_t max, size_t *n, const char *reason,
                         bool warning, const char *fmt, va_list ap)
{
    if (*n >= max)
        return;
    struct rec_plan_event *e = &events[(*n)++];
    e->reason = reason;
    e->warning = warning;
    vsnprintf(e->note, sizeof(e->note), fmt, ap);
}

void rec_plan_event_add(struct rec_plan_event *events, size_t max, size_t *n, const char *reason,
                        bool warning, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rec_plan_event_vadd(events, max, n, reason, warning, fmt, ap);
    va_end(ap);
}
