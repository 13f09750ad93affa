/* rec_plan_event: an Event a decide function asks for, posted by the
 * reconciler's report step (rec_drive, drive.c).
 *
 * Design: held by value in each kind's plan (a small fixed array), so the
 * pure decide functions add Events without allocating; the note is cut to
 * REC_PLAN_EVENT_NOTE_MAX like a condition message.  Shared by
 * dbschema_decide.c, dbinstance_decide.c and dbrollout_decide.c.  No I/O. */
#ifndef TM_RECONCILERS_PLAN_EVENT_H
#define TM_RECONCILERS_PLAN_EVENT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define REC_PLAN_EVENT_NOTE_MAX 1024

struct rec_plan_event {
    const char *reason; /* CamelCase, static */
    bool warning;       /* type Warning, else Normal */
    char note[REC_PLAN_EVENT_NOTE_MAX];
};

/* Appends an Event to events[*n] when fewer than max are held (a plan asks
 * for few; one past the array is dropped, never an overflow) and counts it
 * in *n.  reason is borrowed (a string literal). */
void rec_plan_event_add(struct rec_plan_event *events, size_t max, size_t *n, const char *reason,
                        bool warning, const char *fmt, ...) TM_PRINTF(6, 7);
void rec_plan_event_vadd(struct rec_plan_event *events, size_t max, size_t *n, const char *reason,
                         bool warning, const char *fmt, va_list ap) TM_PRINTF(6, 0);

#endif
