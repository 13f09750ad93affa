/* Unit tests of controller/common/base64.c: RFC 4648's vectors in every
 * dialect, round trips against OpenSSL's encoder, and what each dialect
 * refuses (bad length, misplaced '=', blanks, the other alphabet, every
 * byte outside the alphabet at either end and in the middle, NUL in a text
 * value, the size limit). */
#include "../tm_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/base64.h"

/* Decodes in and compares with want (want_len bytes); returns true on match. */
static bool decodes_to(const char *in, unsigned flags, const char *want, size_t want_len)
{
    char *out = NULL;
    size_t len = 99;
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = tm_b64_decode(in, flags, SIZE_MAX, &out, &len, &err);
    bool ok = rc == TM_OK && out && len == want_len && memcmp(out, want, len) == 0 &&
              out[len] == '\0';
    if (!ok)
        fprintf(stderr, "  decode(\"%s\", %#x): rc %d len %zu err \"%s\"\n", in, flags, rc, len,
                err.msg);
    free(out);
    return ok;
}

/* True when in is refused with TM_E_PARSE, a message, and *out NULL. */
static bool refuses(const char *in, unsigned flags)
{
    char *out = (char *)"sentinel";
    size_t len = 99;
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = tm_b64_decode(in, flags, SIZE_MAX, &out, &len, &err);
    bool ok = rc == TM_E_PARSE && out == NULL && len == 0 && err.code == TM_E_PARSE &&
              err.msg[0] != '\0';
    if (!ok) {
        fprintf(stderr, "  \"%s\" (flags %#x) not refused: rc %d\n", in, flags, rc);
        if (rc == TM_OK)
            free(out);
    }
    return ok;
}

static const unsigned dialects[] = {TM_B64_STRICT, TM_B64_KUBECONFIG, TM_B64_LAX_TEXT};

TM_TEST(base64_rfc4648_vectors_decode_in_every_dialect)
{
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
    for (size_t d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++)
        for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++)
            TM_EXPECT(decodes_to(enc[i], dialects[d], "foobar", i));
}

TM_TEST(base64_round_trips_openssl_encoding_of_every_length)
{
    unsigned char bin[64];
    char enc[128];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 37 + 1); /* never 0: LAX_TEXT refuses NUL */
    for (size_t n = 0; n <= sizeof(bin); n++) {
        EVP_EncodeBlock((unsigned char *)enc, bin, (int)n);
        for (size_t d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++)
            TM_EXPECT(decodes_to(enc, dialects[d], (const char *)bin, n));
    }
}

TM_TEST(base64_decodes_binary_with_its_length)
{
    TM_EXPECT(decodes_to("AAEC/w==", TM_B64_STRICT, "\0\1\2\377", 4));
    TM_EXPECT(decodes_to("AAEC/w==", TM_B64_KUBECONFIG, "\0\1\2\377", 4));
    TM_EXPECT(refuses("AAEC/w==", TM_B64_LAX_TEXT)); /* a NUL in a text value */
    TM_EXPECT(refuses("AA==", TM_B64_NO_NUL));
    TM_EXPECT(decodes_to("Zm9v", TM_B64_NO_NUL, "foo", 3));
}

TM_TEST(base64_strict_refuses_bad_length_padding_and_blanks)
{
    static const char *const bad[] = {
        "Zg",       "Zg=",      "Zg===",   "Z===",      "====",     "Zm9v=",   "Zm9vY",
        "Zg==Zg==", "Zm=v",     "Zm9v ",   " Zm9v",     "Zm 9v",    "Zm9v\n",  "Zm9v\r\n",
        "\tZm9v",   "Zm9v-",    "Zm-v",    "Zm_v",      "-_8=",     "Zm*v",    "Zm9v\x0b",
        "Zm9v.",    "Zg==\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TM_EXPECT(refuses(bad[i], TM_B64_STRICT));
}

TM_TEST(base64_every_byte_outside_the_alphabet_is_refused_anywhere)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    for (int c = 1; c < 256; c++) {
        if (strchr(alphabet, c))
            continue;
        char start[] = {(char)c, 'm', '9', 'v', 'Y', 'm', 'F', 'y', '\0'};
        char mid[] = {'Z', 'm', '9', 'v', (char)c, 'm', 'F', 'y', '\0'};
        char end[] = {'Z', 'm', '9', 'v', 'Y', 'm', 'F', (char)c, '\0'};
        char after[] = {'Z', 'm', '9', 'v', 'Y', 'm', 'F', 'y', (char)c, '\0'};
        bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        bool url = c == '-' || c == '_';
        TM_EXPECT(refuses(start, TM_B64_STRICT));
        TM_EXPECT(refuses(mid, TM_B64_STRICT));
        TM_EXPECT(refuses(end, TM_B64_STRICT));
        TM_EXPECT(refuses(after, TM_B64_STRICT));
        TM_EXPECT(refuses(after, TM_B64_LAX_TEXT));
        if (!space && !url) {
            TM_EXPECT(refuses(start, TM_B64_KUBECONFIG));
            TM_EXPECT(refuses(mid, TM_B64_KUBECONFIG));
            TM_EXPECT(refuses(after, TM_B64_KUBECONFIG));
        }
    }
}

TM_TEST(base64_kubeconfig_skips_blanks_takes_url_safe_and_loose_padding)
{
    TM_EXPECT(decodes_to("Zm9v\nYmFy\n", TM_B64_KUBECONFIG, "foobar", 6));
    TM_EXPECT(decodes_to("  Zm9v YmE= \r\n", TM_B64_KUBECONFIG, "fooba", 5));
    TM_EXPECT(decodes_to("\tZm9vYg", TM_B64_KUBECONFIG, "foob", 4));
    TM_EXPECT(decodes_to("Zm9vYg=", TM_B64_KUBECONFIG, "foob", 4));
    TM_EXPECT(decodes_to("Zm9vYmE=====", TM_B64_KUBECONFIG, "fooba", 5));
    TM_EXPECT(decodes_to("Zm9v=", TM_B64_KUBECONFIG, "foo", 3));
    TM_EXPECT(decodes_to("Zg= =\n", TM_B64_KUBECONFIG, "f", 1));
    TM_EXPECT(decodes_to("=", TM_B64_KUBECONFIG, "", 0));
    TM_EXPECT(decodes_to("-_8=", TM_B64_KUBECONFIG, "\xfb\xff", 2));
    TM_EXPECT(decodes_to("+/8=", TM_B64_KUBECONFIG, "\xfb\xff", 2));
    TM_EXPECT(decodes_to("-/8", TM_B64_KUBECONFIG, "\xfb\xff", 2)); /* both alphabets */
    TM_EXPECT(refuses("Zm9vY", TM_B64_KUBECONFIG));                 /* a lone character */
    TM_EXPECT(refuses("Z", TM_B64_KUBECONFIG));
    TM_EXPECT(refuses("Z===", TM_B64_KUBECONFIG));
    TM_EXPECT(refuses("Zg==Zg==", TM_B64_KUBECONFIG)); /* data after '=' */
    TM_EXPECT(refuses("=Zm9v", TM_B64_KUBECONFIG));
    TM_EXPECT(refuses("Zm9v\x0b", TM_B64_KUBECONFIG));
}

TM_TEST(base64_lax_text_ends_at_the_first_pad_and_drops_a_dangling_character)
{
    TM_EXPECT(decodes_to("Zm9vY", TM_B64_LAX_TEXT, "foo", 3));
    TM_EXPECT(decodes_to("Zg", TM_B64_LAX_TEXT, "f", 1));
    TM_EXPECT(decodes_to("Z", TM_B64_LAX_TEXT, "", 0));
    TM_EXPECT(decodes_to("Zm9v=not base64!", TM_B64_LAX_TEXT, "foo", 3));
    TM_EXPECT(decodes_to("Zg==Zg==", TM_B64_LAX_TEXT, "f", 1));
    TM_EXPECT(decodes_to("=", TM_B64_LAX_TEXT, "", 0));
    TM_EXPECT(refuses("Zm9v YmFy", TM_B64_LAX_TEXT)); /* no blanks */
    TM_EXPECT(refuses("Zm9v\n", TM_B64_LAX_TEXT));
    TM_EXPECT(refuses("-_8=", TM_B64_LAX_TEXT)); /* no URL-safe alphabet */
    TM_EXPECT(refuses("AA", TM_B64_LAX_TEXT));   /* decodes to a NUL */
    TM_EXPECT(refuses("Zm9vAA==", TM_B64_LAX_TEXT));
}

TM_TEST(base64_refuses_a_value_past_the_limit)
{
    char *out = NULL;
    size_t len = 0;
    struct tm_err err;
    TM_EXPECT_INT(tm_b64_decode("Zm9vYmFy", TM_B64_STRICT, 6, &out, &len, NULL), TM_OK);
    TM_EXPECT_INT(len, 6);
    free(out);
    TM_EXPECT_INT(tm_b64_decode("Zm9vYmFy", TM_B64_STRICT, 5, &out, &len, &err), TM_E_TOOBIG);
    TM_EXPECT(out == NULL);
    TM_EXPECT_CONTAINS(err.msg, "limit of 5");
    TM_EXPECT_INT(tm_b64_decode("Zm9vYmE=", TM_B64_KUBECONFIG, 5, &out, NULL, NULL), TM_OK);
    TM_EXPECT_STR(out, "fooba");
    free(out);
}

TM_TEST(base64_error_says_what_is_wrong)
{
    char *out = NULL;
    struct tm_err err;
    TM_EXPECT_INT(tm_b64_decode("Zm 9v", TM_B64_STRICT, SIZE_MAX, &out, NULL, &err), TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "whitespace at offset 2");
    TM_EXPECT_INT(tm_b64_decode("Zg==Zg==", TM_B64_KUBECONFIG, SIZE_MAX, &out, NULL, &err),
                  TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "data after '=' at offset 4");
    TM_EXPECT_INT(tm_b64_decode("Zm9", TM_B64_STRICT, SIZE_MAX, &out, NULL, &err), TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "multiple of 4");
    TM_EXPECT_INT(tm_b64_decode("Zm*v", TM_B64_STRICT, SIZE_MAX, &out, NULL, &err), TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "outside the alphabet");
}

TM_TEST_MAIN()
