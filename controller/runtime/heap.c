/* heap: periodic release of freed heap pages (see heap.h). */
#include "runtime/heap.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

void heap_trim_due(int64_t now_ms, int64_t *next_ms)
{
    if (*next_ms > now_ms)
        return;
    *next_ms = now_ms + HEAP_TRIM_EVERY_MS;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
