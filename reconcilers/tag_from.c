/* tag_from: resolve spec.tagFrom from an image reference (tag_from.h). */
#include "reconcilers/tag_from.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool tag_from_image_tag(const char *image, const char **tag, size_t *len)
{
    if (!image)
        return false;
    const char *at = strchr(image, '@');
    size_t end = at ? (size_t)(at - image) : strlen(image);
    size_t slash = 0;
    for (size_t i = 0; i < end; i++)
        if (image[i] == '/')
            slash = i + 1;
    const char *colon = NULL;
    for (size_t i = slash; i < end; i++)
        if (image[i] == ':')
            colon = image + i;
    if (!colon || (size_t)(colon - image) + 1 >= end)
        return false;
    *tag = colon + 1;
    *len = end - (size_t)(colon + 1 - image);
    return true;
}

bool tag_from_resolve(const char *image, const char *pattern, char *out, size_t n, char *err,
                      size_t errn)
{
    const char *t;
    size_t len;
    if (!tag_from_image_tag(image, &t, &len)) {
        snprintf(err, errn, "image %s has no tag", image ? image : "(none)");
        return false;
    }
    char *tag = strndup(t, len);
    if (!tag) {
        snprintf(err, errn, "out of memory");
        return false;
    }
    const char *from = tag;
    size_t flen = len;
    bool ok = true;
    regex_t re;
    bool compiled = false;
    if (pattern && pattern[0]) {
        int rc = regcomp(&re, pattern, REG_EXTENDED);
        if (rc != 0) {
            char why[128];
            regerror(rc, &re, why, sizeof(why));
            snprintf(err, errn, "pattern %s: %s", pattern, why);
            ok = false;
            goto out;
        }
        compiled = true;
        regmatch_t m[2];
        if (regexec(&re, tag, 2, m, 0) != 0) {
            snprintf(err, errn, "tag %s of image %s does not match pattern %s", tag, image,
                     pattern);
            ok = false;
            goto out;
        }
        regmatch_t g = re.re_nsub >= 1 ? m[1] : m[0];
        if (g.rm_so < 0 || g.rm_eo <= g.rm_so) {
            snprintf(err, errn, "pattern %s captures nothing of tag %s", pattern, tag);
            ok = false;
            goto out;
        }
        from = tag + g.rm_so;
        flen = (size_t)(g.rm_eo - g.rm_so);
    }
    if (flen + 1 > n) {
        snprintf(err, errn, "tag from image %s is longer than %zu characters", image, n - 1);
        ok = false;
        goto out;
    }
    memcpy(out, from, flen);
    out[flen] = '\0';
out:
    if (compiled)
        regfree(&re);
    free(tag);
    return ok;
}
