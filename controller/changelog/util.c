/* chlog util: the small text and array helpers every part of the changelog
 * module uses (declared in chlog_int.h): a leaf, it calls nothing else in
 * the module, so parsers, the builder and the node tree can all use it. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/chlog_int.h"

char *chlog_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool chlog_has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

void *chlog_grow(void *v, size_t n, size_t *alloc, size_t elem, size_t first)
{
    if (n < *alloc)
        return v;
    size_t na = *alloc ? *alloc * 2 : first;
    if (na > SIZE_MAX / elem)
        return NULL;
    void *nv = realloc(v, na * elem);
    if (nv)
        *alloc = na;
    return nv;
}

char *chlog_cut_line(char **p)
{
    char *l = *p;
    if (!*l)
        return NULL;
    char *nl = strchr(l, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = l + strlen(l);
    }
    return l;
}

static bool list_blank(char c, bool any_space)
{
    return any_space ? isspace((unsigned char)c) != 0 : c == ' ';
}

bool chlog_list_item(const char **p, const char *end, bool any_space, const char **item,
                     size_t *len)
{
    while (*p < end) {
        const char *s = *p, *e;
        while (*p < end && **p != ',')
            (*p)++;
        e = *p;
        if (*p < end)
            (*p)++;
        while (s < e && list_blank(*s, any_space))
            s++;
        while (e > s && list_blank(e[-1], any_space))
            e--;
        if (e > s) {
            *item = s;
            *len = (size_t)(e - s);
            return true;
        }
    }
    return false;
}

bool chlog_parse_bool(const char *s, bool *ok)
{
    *ok = true;
    if (s && strcasecmp(s, "true") == 0)
        return true;
    if (s && strcasecmp(s, "false") == 0)
        return false;
    *ok = false;
    return false;
}
