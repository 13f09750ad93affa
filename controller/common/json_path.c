/* json_path: dotted-path reads of cJSON documents and change detection at
 * paths (see json_path.h). */
#include "common/json_path.h"

#include <string.h>

#define JSON_PATH_SEGMENT_MAX 256

const cJSON *json_path(const cJSON *obj, const char *path)
{
    char part[JSON_PATH_SEGMENT_MAX];
    const cJSON *cur = obj;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof(part) || !cJSON_IsObject(cur))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *json_path_str(const cJSON *obj, const char *path)
{
    const cJSON *v = json_path(obj, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool json_paths_changed(const char *const *paths, size_t n, const cJSON *a, const cJSON *b)
{
    for (size_t i = 0; i < n && paths[i]; i++) {
        const cJSON *x = json_path(a, paths[i]), *y = json_path(b, paths[i]);
        if (!x && !y)
            continue;
        if (!x || !y || !cJSON_Compare(x, y, 1))
            return true;
    }
    return false;
}
