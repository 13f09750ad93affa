/* tm_b64: base64 decoding in the dialects of base64.h, through OpenSSL.
 *
 * Two steps: normalise() reads the dialect and writes the strict text
 * OpenSSL's EVP_DecodeBlock takes (standard alphabet, padded to a multiple
 * of 4); EVP_DecodeBlock then decodes it and refuses any byte outside the
 * alphabet.  normalise() must itself handle every byte EVP_DecodeBlock would
 * silently trim at either end (blanks, line ends, '-'), or a strict dialect
 * would accept " YQ==" or "YQ==-". */
#include "common/base64.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static bool is_b64_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies the data characters of in (those before the first '=') to norm,
 * which has room for strlen(in) + 4 bytes, mapping the URL-safe alphabet and
 * dropping blanks as flags allow; *ndata gets their count and *npad the
 * number of '=' after them.  Characters outside the alphabet are copied for
 * EVP_DecodeBlock to refuse, except those it would trim, refused here. */
static enum tm_code copy_data(const char *in, unsigned flags, char *norm, size_t *ndata,
                              size_t *npad, struct tm_err *err)
{
    size_t n = 0, pad = 0;
    for (size_t i = 0; in[i]; i++) {
        char c = in[i];
        if (is_b64_space(c)) {
            if (flags & TM_B64_SKIP_SPACE)
                continue;
            return tm_err_set(err, TM_E_PARSE, "not base64: whitespace at offset %zu", i);
        }
        if (c == '=') {
            if (flags & TM_B64_END_AT_PAD)
                break;
            pad++;
            continue;
        }
        if (pad > 0)
            return tm_err_set(err, TM_E_PARSE, "not base64: data after '=' at offset %zu", i);
        if (c == '-' || c == '_') {
            if (!(flags & TM_B64_URL_SAFE))
                return tm_err_set(err, TM_E_PARSE,
                                  "not base64: URL-safe character '%c' at offset %zu", c, i);
            c = c == '-' ? '+' : '/';
        }
        norm[n++] = c;
    }
    *ndata = n;
    *npad = pad;
    return TM_OK;
}

/* Turns in into padded strict base64 in norm (room for strlen(in) + 4 bytes,
 * NUL-terminated); *nchars gets its length, *len the number of bytes the
 * input holds (what EVP_DecodeBlock writes less the padding's zero bytes). */
static enum tm_code normalise(const char *in, unsigned flags, char *norm, size_t *nchars,
                              size_t *len, struct tm_err *err)
{
    size_t ndata = 0, pad = 0;
    enum tm_code rc = copy_data(in, flags, norm, &ndata, &pad, err);
    if (rc != TM_OK)
        return rc;
    bool pad_optional = flags & (TM_B64_PAD_OPTIONAL | TM_B64_END_AT_PAD);
    if (!pad_optional && ((ndata + pad) % 4 != 0 || pad > 2))
        return tm_err_set(err, TM_E_PARSE,
                          "not base64: length %zu with %zu '=' is not padded to a multiple of 4",
                          ndata + pad, pad);
    if (ndata % 4 == 1 && !(flags & TM_B64_DROP_PARTIAL))
        return tm_err_set(err, TM_E_PARSE,
                          "not base64: a lone last character cannot hold a byte");
    /* 6 bits a character, whole bytes only; a lone last character is completed
     * with 'A' so that OpenSSL still checks it, and its byte left out */
    *len = ndata / 4 * 3 + ndata % 4 * 3 / 4;
    static const char *const fill[] = {"", "A==", "==", "="};
    size_t nfill = strlen(fill[ndata % 4]);
    memcpy(norm + ndata, fill[ndata % 4], nfill + 1);
    *nchars = ndata + nfill;
    return TM_OK;
}

enum tm_code tm_b64_decode(const char *in, unsigned flags, size_t max_len, char **out,
                           size_t *out_len, struct tm_err *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    size_t in_len = strlen(in);
    if (in_len > (size_t)INT_MAX - 4)
        return tm_err_set(err, TM_E_TOOBIG, "base64 text of %zu bytes is too long", in_len);
    char *norm = malloc(in_len + 5);
    if (!norm)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    char *bin = NULL;
    size_t nchars = 0, len = 0;
    enum tm_code rc = normalise(in, flags, norm, &nchars, &len, err);
    if (rc != TM_OK)
        goto out;
    if (len > max_len) {
        rc = tm_err_set(err, TM_E_TOOBIG, "decoded base64 of %zu bytes passes the limit of %zu",
                        len, max_len);
        goto out;
    }
    bin = malloc(nchars / 4 * 3 + 1);
    if (!bin) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (EVP_DecodeBlock((unsigned char *)bin, (const unsigned char *)norm, (int)nchars) < 0) {
        rc = tm_err_set(err, TM_E_PARSE, "not base64: a character outside the alphabet");
        goto out;
    }
    bin[len] = '\0';
    if ((flags & TM_B64_NO_NUL) && memchr(bin, '\0', len)) {
        rc = tm_err_set(err, TM_E_PARSE, "decoded base64 holds a NUL byte");
        goto out;
    }
    *out = bin;
    bin = NULL;
    if (out_len)
        *out_len = len;
out:
    if (bin) {
        OPENSSL_cleanse(bin, nchars / 4 * 3);
        free(bin);
    }
    OPENSSL_cleanse(norm, in_len + 5);
    free(norm);
    return rc;
}
