/* heap: giving freed heap memory back to the operating system.
 *
 * glibc keeps what a thread frees in that thread's arena and returns memory
 * to the system only from the top of a heap.  An informer's list of 10,000
 * objects, parsed and then partly freed on one thread, left 70 MB free but
 * resident in one arena (malloc_stats at 10,000 DBInstances: 70 MB held,
 * 1.4 MB in use).  heap_trim releases the free pages of every arena
 * (glibc's malloc_trim); with another C library it does nothing.  The
 * manager calls it on its tick, at most every HEAP_TRIM_EVERY_MS. */
#ifndef TM_RUNTIME_HEAP_H
#define TM_RUNTIME_HEAP_H

#include <stdint.h>

#define HEAP_TRIM_EVERY_MS 30000

/* Releases free heap pages to the system when *next_ms <= now_ms, then sets
 * *next_ms to now_ms + HEAP_TRIM_EVERY_MS. */
void heap_trim_due(int64_t now_ms, int64_t *next_ms);

#endif
