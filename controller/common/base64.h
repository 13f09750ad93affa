/* tm_b64: the one base64 decoder of the process, for the dialects tidemark
 * reads.  OpenSSL does the decoding (EVP_DecodeBlock); this file only turns
 * a dialect into the strict, padded text OpenSSL takes and computes the
 * true length from the padding (EVP_DecodeBlock counts padding as zero bytes).
 *
 * A dialect is a set of flags; 0 is RFC 4648 section 4 as the Kubernetes API
 * writes Secret .data and ConfigMap .binaryData: the standard alphabet, a
 * length that is a multiple of 4, and '=' only as the last one or two
 * characters.  Every flag widens what is accepted, so a dialect says exactly
 * which inputs its caller takes.  Unused bits of the last character are not
 * checked (nor does any caller).  Decoded bytes and scratch copies are wiped
 * before they are freed on failure: the input may be a password.
 *
 * Not here: encoding (nothing in tidemark writes base64). */
#ifndef TM_COMMON_BASE64_H
#define TM_COMMON_BASE64_H

#include <stddef.h>

#include "common/err.h"

enum tm_b64_flag {
    TM_B64_STRICT = 0,             /* RFC 4648 section 4, as above */
    TM_B64_SKIP_SPACE = 1u << 0,   /* ' ', '\t', '\r', '\n' anywhere are ignored */
    TM_B64_URL_SAFE = 1u << 1,     /* '-' and '_' also read as '+' and '/' (section 5) */
    TM_B64_PAD_OPTIONAL = 1u << 2, /* any length; '=' padding may be missing or too
                                    * long, but only '=' may follow the first '=' */
    TM_B64_END_AT_PAD = 1u << 3,   /* the text ends at the first '=': what follows is
                                    * ignored unread; padding may be missing */
    TM_B64_DROP_PARTIAL = 1u << 4, /* a lone last character, which cannot hold a whole
                                    * byte, is ignored (if in the alphabet), not refused */
    TM_B64_NO_NUL = 1u << 5,       /* refuse a decoded NUL byte (the value is a C string) */
};

/* The dialects in use, named for what they read. */

/* kubeconfig's *-data fields (certificate-authority-data, ...), which people
 * paste by hand: both alphabets, line breaks anywhere, padding optional. */
#define TM_B64_KUBECONFIG (TM_B64_SKIP_SPACE | TM_B64_URL_SAFE | TM_B64_PAD_OPTIONAL)

/* A database connection Secret's text value (user, password, url), as the
 * reconcilers have always read it: everything from the first '=' ignored, a
 * dangling last character dropped, no NUL.  Wider than what the API server
 * writes (strict), so no Secret that worked before is refused now. */
#define TM_B64_LAX_TEXT (TM_B64_END_AT_PAD | TM_B64_DROP_PARTIAL | TM_B64_NO_NUL)

/* Decodes the C string in, read in dialect flags (enum tm_b64_flag, or'ed),
 * into *out: malloc'd, NUL-terminated (free() it), *out_len bytes (NULL ok),
 * never NULL on success even when empty.
 * Returns TM_E_PARSE when in is not base64 in that dialect (err says where),
 * TM_E_TOOBIG when the decoded value passes max_len bytes, TM_E_NOMEM.
 * On failure *out is NULL and *out_len 0.  Thread-safe. */
enum tm_code tm_b64_decode(const char *in, unsigned flags, size_t max_len, char **out,
                           size_t *out_len, struct tm_err *err) TM_MUST_CHECK;

#endif
