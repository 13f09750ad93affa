/* json_path: reading a cJSON document at a dotted path ("spec.schemaRef.name"),
 * the one walker for the store's indexes, the manager's secondary routes and
 * the reconcilers' field access, and whether an update changed a value at any
 * of a list of paths.  Paths name object members only (no array indexes);
 * a member name holds no dot.  Pure: no allocation, no I/O. */
#ifndef TM_COMMON_JSON_PATH_H
#define TM_COMMON_JSON_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* The value at path in obj, or NULL (obj NULL, a member missing, a step
 * through a non-object, an empty or over-long segment).  "" is obj itself. */
const cJSON *json_path(const cJSON *obj, const char *path);

/* The string at path, or NULL when absent or not a string. */
const char *json_path_str(const cJSON *obj, const char *path);

/* True when the value at one of paths[0..n) (a NULL entry ends the list
 * early) differs between a and b: present in one only, or present in both
 * and not equal (cJSON_Compare, case-sensitive).  Absent in both is equal. */
bool json_paths_changed(const char *const *paths, size_t n, const cJSON *a, const cJSON *b);

#endif
