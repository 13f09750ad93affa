/* tm_json_yaml: a cJSON tree through libyaml's emitter (see json_yaml.h).
 * Event API: one event per node, emitted as the tree is walked depth first;
 * yaml_emitter_emit takes the event and frees it, failed or not. */
#include "common/json_yaml.h"

#include <stdbool.h>
#include <string.h>
#include <yaml.h>

#define JSON_YAML_MAX_DEPTH 256 /* deeper than any output; stops a cycle */

static enum tm_code emit(yaml_emitter_t *em, yaml_event_t *ev, bool made, struct tm_err *err)
{
    if (!made)
        return tm_err_set(err, TM_E_NOMEM, "yaml: out of memory building an event");
    if (!yaml_emitter_emit(em, ev))
        return tm_err_set(err, em->error == YAML_MEMORY_ERROR ? TM_E_NOMEM : TM_E_IO,
                          "yaml: %s", em->problem ? em->problem : "cannot write the output");
    return TM_OK;
}

/* A scalar: plain_ok lets the emitter write it plain (numbers, booleans,
 * null, keys); otherwise it must quote it (strings). */
static enum tm_code emit_scalar(yaml_emitter_t *em, const char *text, bool plain_ok,
                                struct tm_err *err)
{
    yaml_event_t ev;
    bool made = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text,
                                             (int)strlen(text), plain_ok, 1,
                                             YAML_ANY_SCALAR_STYLE) != 0;
    return emit(em, &ev, made, err);
}

static enum tm_code emit_node(yaml_emitter_t *em, const cJSON *n, int depth, struct tm_err *err)
{
    yaml_event_t ev;
    enum tm_code rc = TM_OK;
    if (depth > JSON_YAML_MAX_DEPTH)
        return tm_err_set(err, TM_E_TOOBIG, "yaml: nested deeper than %d", JSON_YAML_MAX_DEPTH);
    if (cJSON_IsObject(n)) {
        rc = emit(em, &ev,
                  yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                      YAML_BLOCK_MAPPING_STYLE) != 0,
                  err);
        for (const cJSON *k = n->child; k && rc == TM_OK; k = k->next) {
            rc = emit_scalar(em, k->string ? k->string : "", true, err);
            if (rc == TM_OK)
                rc = emit_node(em, k, depth + 1, err);
        }
        if (rc == TM_OK)
            rc = emit(em, &ev, yaml_mapping_end_event_initialize(&ev) != 0, err);
    } else if (cJSON_IsArray(n)) {
        rc = emit(em, &ev,
                  yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                       YAML_BLOCK_SEQUENCE_STYLE) != 0,
                  err);
        for (const cJSON *k = n->child; k && rc == TM_OK; k = k->next)
            rc = emit_node(em, k, depth + 1, err);
        if (rc == TM_OK)
            rc = emit(em, &ev, yaml_sequence_end_event_initialize(&ev) != 0, err);
    } else if (cJSON_IsString(n)) {
        rc = emit_scalar(em, n->valuestring ? n->valuestring : "", false, err);
    } else if (cJSON_IsNumber(n)) {
        char *num = cJSON_PrintUnformatted(n); /* JSON's spelling: 3, 1.5, 1e+30 */
        if (!num)
            return tm_err_set(err, TM_E_NOMEM, "yaml: out of memory printing a number");
        rc = emit_scalar(em, num, true, err);
        cJSON_free(num);
    } else if (cJSON_IsBool(n)) {
        rc = emit_scalar(em, cJSON_IsTrue(n) ? "true" : "false", true, err);
    } else {
        rc = emit_scalar(em, "null", true, err); /* null, and cJSON_Raw/invalid */
    }
    return rc;
}

enum tm_code tm_json_yaml_write(FILE *out, const cJSON *root, struct tm_err *err)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&em))
        return tm_err_set(err, TM_E_NOMEM, "yaml: out of memory starting the emitter");
    yaml_emitter_set_output_file(&em, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1); /* never fold a long line */
    enum tm_code rc =
        emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) != 0, err);
    if (rc == TM_OK)
        rc = emit(&em, &ev,
                  yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) != 0, err);
    if (rc == TM_OK)
        rc = emit_node(&em, root, 0, err);
    if (rc == TM_OK)
        rc = emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1) != 0, err);
    if (rc == TM_OK)
        rc = emit(&em, &ev, yaml_stream_end_event_initialize(&ev) != 0, err);
    if (rc == TM_OK && !yaml_emitter_flush(&em))
        rc = tm_err_set(err, TM_E_IO, "yaml: cannot write the output");
    yaml_emitter_delete(&em);
    return rc;
}
