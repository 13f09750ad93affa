/* tag_from: the desired tag of a DBRollout taken from an image reference
 * (spec.tagFrom): the reference's tag, optionally passed through a pattern
 * with one capture group.  Pure: strings in, a tag or a message out. */
#ifndef TM_RECONCILERS_TAG_FROM_H
#define TM_RECONCILERS_TAG_FROM_H

#include <stdbool.h>
#include <stddef.h>

/* The tag of an image reference: after the last ':' that follows the last
 * '/', without a digest ("reg:5000/app:v1@sha256:..." -> "v1").  False (and
 * *tag, *len untouched) when the reference has no tag. */
bool tag_from_image_tag(const char *image, const char **tag, size_t *len);

/* The tag spec.tagFrom gives for image: its tag, or, with pattern (a POSIX
 * extended regex), the text its first capture group matched in the tag
 * (the whole match when it has none).  False with a message in err when the
 * image has no tag, the pattern does not compile, does not match, captures
 * nothing, or the result does not fit. */
bool tag_from_resolve(const char *image, const char *pattern, char *out, size_t n, char *err,
                      size_t errn);

#endif
