/* Fuzz target: the source module's readers of API JSON (controller/source/
 * spec.c) — a DBSchema .spec (src_spec_parse, src_spec_summary, inline files
 * into a mem fs and its content revision), a ConfigMap (data + base64
 * binaryData), a Secret (base64 credentials), and the URL/ref validators that
 * guard git's argv.  The input is one JSON document used as all of them; its
 * "url" and "ref" strings (if any) go to the validators.  Invariants checked:
 * a failure always explains itself; an accepted URL never holds a shell
 * metacharacter, whitespace or a leading '-'; an accepted secret value has no
 * control byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

static void check_url(const char *url)
{
    struct tm_err err;
    tm_err_clear(&err);
    if (src_git_validate_url(url, true, &err) != TM_OK) {
        if (!err.msg[0])
            abort();
        return;
    }
    if (url[0] == '-' || strpbrk(url, " \t\r\n;&|$`'\"()<>\\*{}"))
        abort();
}

static void check_secret_value(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; v && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    struct tm_err err;

    struct src_spec spec;
    tm_err_clear(&err);
    if (src_spec_parse(j, &spec, &err) == TM_OK) {
        free(src_spec_summary(&spec));
        if (spec.kind == SRC_KIND_GIT)
            check_url(spec.git.url);
        if (spec.kind == SRC_KIND_INLINE) {
            struct chlog_fs fs;
            if (src_load_inline(spec.inline_files, &fs, &err) == TM_OK) {
                char rev[SRC_REVISION_MAX];
                if (src_content_revision(&fs, rev, &err) != TM_OK || strncmp(rev, "sha256:", 7) != 0)
                    abort();
                chlog_fs_mem_release(&fs);
            } else if (!err.msg[0]) {
                abort();
            }
        }
        src_spec_release(&spec);
    } else if (!err.msg[0]) {
        abort();
    }

    struct chlog_fs fs;
    tm_err_clear(&err);
    if (src_load_configmap(j, &fs, &err) == TM_OK)
        chlog_fs_mem_release(&fs);
    else if (!err.msg[0])
        abort();

    struct src_git_auth auth;
    tm_err_clear(&err);
    if (src_git_auth_from_secret(j, &auth, &err) == TM_OK) {
        check_secret_value(auth.username);
        check_secret_value(auth.password);
        check_secret_value(auth.bearer_token);
        src_git_auth_release(&auth);
    } else if (!err.msg[0]) {
        abort();
    }

    const cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "url");
    if (cJSON_IsString(url))
        check_url(url->valuestring);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(j, "ref");
    if (cJSON_IsString(ref)) {
        tm_err_clear(&err);
        if (src_git_validate_ref(ref->valuestring, NULL, NULL, &err) == TM_OK) {
            if (ref->valuestring[0] == '-' || strstr(ref->valuestring, ".."))
                abort();
        } else if (!err.msg[0]) {
            abort();
        }
    }
    cJSON_Delete(j);
    return 0;
}
